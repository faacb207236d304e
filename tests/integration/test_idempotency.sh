#!/bin/sh
# IssueCertificate IdempotencyToken (issue 15 defects 5 and 6): 20 parallel
# calls with one token give one certificate, a token reused with other
# arguments is InvalidArgs, tokens are scoped per calling account, and
# entries in the pre-scope format still answer.  boto3 against a fresh
# appliance; the checks are in idem/test_idem.py.
. "$(dirname "$0")/lib.sh"

need_python boto3 cryptography
command -v mdb_load >/dev/null || die "mdb_load (lmdb-utils) missing"
api_appliance
py_suite "$HERE/idem/test_idem.py"
