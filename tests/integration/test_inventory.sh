#!/bin/sh
# test_inventory.sh - OpenPCA.ListCertificates and "pcactl cert list" over
# a store of 10,000 certificates (written by tests/tools/inv_fill): every
# filter, through the API (paginated) and pcactl, returns exactly the set
# the fill manifest predicts.
set -u
BIN=${BIN:-bin}
BUILD=${BUILD:-build}
case "$BIN" in /*) ;; *) BIN=$(pwd)/$BIN ;; esac
case "$BUILD" in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
export BIN BUILD
HERE=$(cd "$(dirname "$0")" && pwd)
FILL="$BUILD/tools/inv_fill"
for f in "$BIN/pcad" "$BIN/pcactl" "$FILL"; do
	[ -x "$f" ] || { echo "not ok 1 - test_inventory: $f not built"; exit 1; }
done
python3 -c 'import boto3' 2>/dev/null ||
    { echo "not ok 1 - test_inventory: python3 lacks boto3"; exit 1; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pcad-inv.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM
set -- $(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')
"$BIN/pcactl" init "$TMP/app" --api-port "$1" --http-port "$2" \
    --region us-east-1 --account-id 111122223333 >"$TMP/init.log" 2>&1 ||
    { echo "not ok 1 - test_inventory: pcactl init failed"; exit 1; }
export PCACTL_CONFIG="$TMP/app/pcad.conf"
for n in 1 2; do
	"$BIN/pcactl" ca create --type ROOT --key-alg EC_prime256v1 \
	    --signing-alg SHA256WITHECDSA --subject "CN=Inv Root $n" \
	    >"$TMP/ca$n" || { echo "not ok 1 - test_inventory: ca create"; exit 1; }
done
CA1=$(sed 's|.*/||' "$TMP/ca1")
CA2=$(sed 's|.*/||' "$TMP/ca2")
NOW=$(date +%s)
"$FILL" "$TMP/app/data" 10000 "$NOW" "$TMP/manifest" "$CA1" "$CA2" ||
    { echo "not ok 1 - test_inventory: inv_fill failed"; exit 1; }
PCA_DIR="$TMP/app" MANIFEST="$TMP/manifest" \
    python3 "$HERE/inventory/test_inventory.py"
rc=$?
[ "$rc" -ne 0 ] && tail -20 "$TMP/app/pcad.log" | sed 's/^/# /'
exit "$rc"
