#!/bin/sh
# CRLs, S3 publication and audit reports end to end (issue 4): moto_server
# on a free loopback port as the S3 endpoint, pcad, boto3 and the openssl
# CLI.  CRL_OUTAGE_S (default 60) is how long S3 stays down.  TAP lines.
# crl/crl_test.py makes the appliance in $CRL_TMP/app and starts, stops and
# restarts moto_server itself (crl/s3env.py), as the outage checks need.
. "$(dirname "$0")/lib.sh"

need_built "$PCAD" "$PCACTL"
command -v moto_server >/dev/null || die "needs moto_server"
need_python boto3 cryptography moto
CRL_TMP=$TMP
export CRL_TMP
py_suite "$HERE/crl/crl_test.py"
