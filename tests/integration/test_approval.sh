#!/bin/sh
# M-of-N approvals of CA-level operations end to end: a fresh appliance
# (pcactl init) on free ports, then tests/integration/approval/
# approval_test.py (which starts pcad).  One TAP line per check.
set -u
BIN=${BIN:-bin}
case "$BIN" in /*) ;; *) BIN=$(pwd)/$BIN ;; esac
export BIN
HERE=$(cd "$(dirname "$0")" && pwd)
if [ ! -x "$BIN/pcad" ] || [ ! -x "$BIN/pcactl" ]; then
	echo "not ok 1 - test_approval: $BIN/pcad or $BIN/pcactl not built"
	exit 1
fi
if ! python3 -c 'import boto3, cryptography' 2>/dev/null; then
	echo "not ok 1 - test_approval: python3 lacks boto3 or cryptography"
	exit 1
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pcad-approval.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM
ports=$(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')
set -- $ports
if ! "$BIN/pcactl" init "$TMP/app" --api-port "$1" --http-port "$2" \
    --region us-east-1 --account-id 111122223333 >"$TMP/init.log" 2>&1; then
	echo "not ok 1 - test_approval: pcactl init failed"
	cat "$TMP/init.log"
	exit 1
fi
PCA_DIR="$TMP/app" python3 "$HERE/approval/approval_test.py"
rc=$?
if [ "$rc" -ne 0 ]; then
	echo "# pcad log (tail):"
	tail -40 "$TMP/app/pcad.log" | sed 's/^/# /'
fi
exit "$rc"
