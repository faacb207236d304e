#!/bin/sh
# Backups to S3 and restores from it, against moto_server with SigV4
# (tests/integration/backup/s3_test.py).
HERE=$(cd "$(dirname "$0")" && pwd)
ROOTDIR=$(cd "$HERE/../.." && pwd)
BIN=${BIN:-bin}
case "$BIN" in /*) ;; *) BIN="$ROOTDIR/$BIN" ;; esac
export BIN
if ! command -v moto_server >/dev/null ||
    ! python3 -c 'import boto3, moto' 2>/dev/null; then
	echo "not ok 1 - test_backup_s3: needs moto_server and boto3"
	exit 1
fi
BK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/pcad-backup.XXXXXX")
export BK_TMP
trap 'rm -rf "$BK_TMP"' EXIT INT TERM
python3 "$HERE/backup/s3_test.py"
