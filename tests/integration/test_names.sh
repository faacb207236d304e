#!/bin/sh
# Names from CSRs and ApiPassthrough (issue 15 defect 7): NULs, oversize
# and non-ASCII names, bad SAN syntax, too many SANs, unknown critical CSR
# extensions and a ValidityNotBefore before the CA are refused with the
# right exception naming the rule.  boto3 against a fresh
# appliance; the checks are in names/test_names.py.
. "$(dirname "$0")/lib.sh"

need_python boto3 cryptography
api_appliance
py_suite "$HERE/names/test_names.py"
