#!/bin/sh
# IssueCertificate IdempotencyToken (issue 15 defects 5 and 6): 20 parallel
# calls with one token give one certificate, a token reused with other
# arguments is InvalidArgs, tokens are scoped per calling account, and
# entries in the pre-scope format still answer.  boto3 against a fresh
# appliance; the checks are in idem/test_idem.py.
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
if ! python3 -c 'import boto3, cryptography' 2>/dev/null; then
	not_ok "test_idempotency: python3 lacks boto3 or cryptography"
	finish
	exit 1
fi
if ! command -v mdb_load >/dev/null; then
	not_ok "test_idempotency: mdb_load (lmdb-utils) missing"
	finish
	exit 1
fi
if ! "$PCACTL" init "$TMP/app" --api-port "$(free_port)" \
    --http-port "$(free_port)" --region us-east-1 \
    --account-id 111122223333 >"$TMP/init.log" 2>&1; then
	not_ok "test_idempotency: pcactl init" "$(cat "$TMP/init.log")"
	finish
	exit 1
fi
export BIN
PCA_DIR="$TMP/app" python3 "$HERE/idem/test_idem.py"
rc=$?
if [ "$rc" -ne 0 ]; then
	echo "# pcad log (tail):"
	tail -30 "$TMP/app/pcad.log" | sed 's/^/# /'
fi
exit "$rc"
