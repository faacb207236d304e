#!/bin/sh
# CRLs, S3 publication and audit reports end to end (issue 4): moto_server
# on a free loopback port as the S3 endpoint, pcad, boto3 and the openssl
# CLI.  CRL_OUTAGE_S (default 60) is how long S3 stays down.  TAP lines.
set -u
BIN=${BIN:-bin}
case "$BIN" in /*) ;; *) BIN=$(pwd)/$BIN ;; esac
export BIN
HERE=$(cd "$(dirname "$0")" && pwd)
if [ ! -x "$BIN/pcad" ] || [ ! -x "$BIN/pcactl" ]; then
	echo "not ok 1 - test_crl: $BIN/pcad or $BIN/pcactl not built"
	exit 1
fi
if ! command -v moto_server >/dev/null ||
    ! python3 -c 'import boto3, cryptography, moto' 2>/dev/null; then
	echo "not ok 1 - test_crl: needs moto_server, boto3 and cryptography"
	exit 1
fi
CRL_TMP=$(mktemp -d "${TMPDIR:-/tmp}/pcad-crl.XXXXXX")
export CRL_TMP
trap 'rm -rf "$CRL_TMP"' EXIT INT TERM
python3 "$HERE/crl/crl_test.py"
rc=$?
if [ "$rc" -ne 0 ]; then
	echo "# pcad log (tail):"
	tail -30 "$CRL_TMP/app/pcad.log" 2>/dev/null | sed 's/^/# /'
fi
exit "$rc"
