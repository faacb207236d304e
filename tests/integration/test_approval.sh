#!/bin/sh
# M-of-N approvals of CA-level operations end to end: a fresh appliance
# (pcactl init) on free ports, then tests/integration/approval/
# approval_test.py (which starts pcad).  One TAP line per check.
. "$(dirname "$0")/lib.sh"

need_python boto3 cryptography
api_appliance
py_suite "$HERE/approval/approval_test.py"
