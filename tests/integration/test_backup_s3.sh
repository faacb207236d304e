#!/bin/sh
# Backups to S3 and restores from it, against moto_server with SigV4
# (tests/integration/backup/s3_test.py, which starts moto itself).
. "$(dirname "$0")/lib.sh"

need_built "$PCACTL"
command -v moto_server >/dev/null || die "needs moto_server"
need_python boto3 moto
BK_TMP=$TMP
export BK_TMP
py_suite "$HERE/backup/s3_test.py"
