#!/bin/sh
# Issuance policies (policy/) and the pre-signing lint gate (ca/lint.c),
# end to end: a fresh appliance, pcad, boto3 (tests/integration/policy/
# test_policy.py).  One TAP line per check.
. "$(dirname "$0")/lib.sh"

need_built "$PCAD" "$PCACTL"
need_python boto3 cryptography
new_appliance "$A" --region us-east-1 --account-id 111122223333 \
    2>"$TMP/init.log" || die "pcactl init failed" "$(cat "$TMP/init.log")"
py_suite "$HERE/policy/test_policy.py"
