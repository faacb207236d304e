#!/bin/sh
# Names from CSRs and ApiPassthrough (issue 15 defect 7): NULs, oversize
# and non-ASCII names, bad SAN syntax, too many SANs, unknown critical CSR
# extensions and a ValidityNotBefore before the CA are refused with the
# right exception naming the rule.  boto3 against a fresh
# appliance; the checks are in names/test_names.py.
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
if ! python3 -c 'import boto3, cryptography' 2>/dev/null; then
	not_ok "test_names: python3 lacks boto3 or cryptography"
	finish
	exit 1
fi
if ! "$PCACTL" init "$TMP/app" --api-port "$(free_port)" \
    --http-port "$(free_port)" --region us-east-1 \
    --account-id 111122223333 >"$TMP/init.log" 2>&1; then
	not_ok "test_names: pcactl init" "$(cat "$TMP/init.log")"
	finish
	exit 1
fi
export BIN
PCA_DIR="$TMP/app" python3 "$HERE/names/test_names.py"
rc=$?
if [ "$rc" -ne 0 ]; then
	echo "# pcad log (tail):"
	tail -30 "$TMP/app/pcad.log" | sed 's/^/# /'
fi
exit "$rc"
