#!/bin/sh
# test_inventory.sh - OpenPCA.ListCertificates and "pcactl cert list" over
# a store of 10,000 certificates (written by tests/tools/inv_fill): every
# filter, through the API (paginated) and pcactl, returns exactly the set
# the fill manifest predicts.
. "$(dirname "$0")/lib.sh"

FILL="$TOOLS/inv_fill"
need_built "$FILL"
need_python boto3
api_appliance
for n in 1 2; do
	"$PCACTL" ca create --type ROOT --key-alg EC_prime256v1 \
	    --signing-alg SHA256WITHECDSA --subject "CN=Inv Root $n" --revocation none \
	    >"$TMP/ca$n" || die "ca create"
done
CA1=$(sed 's|.*/||' "$TMP/ca1")
CA2=$(sed 's|.*/||' "$TMP/ca2")
NOW=$(date +%s)
"$FILL" "$A/data" 10000 "$NOW" "$TMP/manifest" "$CA1" "$CA2" ||
    die "inv_fill failed"
MANIFEST=$TMP/manifest
export MANIFEST
py_suite "$HERE/inventory/test_inventory.py"
