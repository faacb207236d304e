#!/bin/sh
# Issuance policies (policy/) and the pre-signing lint gate (x509/lint_cert.c),
# end to end: a fresh appliance, pcad, boto3 (tests/integration/policy/
# test_policy.py).  One TAP line per check.
. "$(dirname "$0")/lib.sh"

need_python boto3 cryptography
api_appliance
py_suite "$HERE/policy/test_policy.py"
