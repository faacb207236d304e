#!/bin/sh
# IAM key policies end to end: a fresh appliance (pcactl init) on free ports,
# then tests/integration/test_iam.py (which starts pcad): the decision table
# of tests/unit/iam/cases.json through boto3 and through pcactl key policy
# simulate, an issuer key against every template, and the CLI.  One TAP line
# per case.
. "$(dirname "$0")/lib.sh"

need_python boto3 cryptography
api_appliance
py_suite "$HERE/test_iam.py"
