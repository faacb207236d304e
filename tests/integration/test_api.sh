#!/bin/sh
# pcad end to end: a fresh appliance (pcactl init) on free ports, the boto3
# suite (tests/integration/test_api.py, which starts and restarts pcad) and an
# aws-cli smoke run.  One TAP line per case.
set -u
BIN=${BIN:-bin}
case "$BIN" in /*) ;; *) BIN=$(pwd)/$BIN ;; esac
export BIN
HERE=$(cd "$(dirname "$0")" && pwd)
if [ ! -x "$BIN/pcad" ] || [ ! -x "$BIN/pcactl" ]; then
	echo "not ok 1 - test_api: $BIN/pcad or $BIN/pcactl not built"
	exit 1
fi
if ! python3 -c 'import boto3, cryptography' 2>/dev/null; then
	echo "not ok 1 - test_api: python3 lacks boto3 or cryptography"
	exit 1
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pcad-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM
ports=$(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')
set -- $ports
if ! "$BIN/pcactl" init "$TMP/app" --api-port "$1" --http-port "$2" \
    --region us-east-1 --account-id 111122223333 ${PCA_P11_MODULE:+\
    --pkcs11-module "$PCA_P11_MODULE" --token-label "$PCA_P11_TOKEN" \
    --pin-file "$PCA_P11_PIN_FILE"} >"$TMP/init.log" 2>&1; then
	echo "not ok 1 - test_api: pcactl init failed"
	cat "$TMP/init.log"
	exit 1
fi
PCA_DIR="$TMP/app" python3 "$HERE/test_api.py"
rc=$?
if [ "$rc" -ne 0 ]; then
	echo "# pcad log (tail):"
	tail -40 "$TMP/app/pcad.log" | sed 's/^/# /'
fi
exit "$rc"
