#!/bin/sh
# pcad end to end: a fresh appliance (pcactl init) on free ports, the boto3
# suite (tests/integration/test_api.py, which starts and restarts pcad) and an
# aws-cli smoke run.  One TAP line per case.
. "$(dirname "$0")/lib.sh"

need_python boto3 cryptography
api_appliance
py_suite "$HERE/test_api.py"
