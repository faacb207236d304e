#!/bin/sh
# test_signer_ipc.sh - a separated signer judges what it signs and ends a
# front that sends malformed frames: build/tools/signer_drive talks to
# signers (forked as pcad's, on a real appliance and SoftHSM token) with
# TBS the CA would not sign (wrong issuer, another CA's key, cA=TRUE
# without a CA grant, validity beyond the CA, a lint failure, unknown
# labels) and with malformed frames; with the admin key's sealed secret it
# gets today's SigV4 signing key (equal to AWS's chain over the secret) and
# nothing else: far dates, other labels and the plain unseal refused.
. "$(dirname "$0")/lib.sh"
need_built "$PCACTL" "$TOOLS/signer_drive"
new_appliance "$A" 2>"$TMP/init.log" || die "pcactl init failed" \
    "$(cat "$TMP/init.log")"
root=$(make_root "$TMP" EC_prime256v1 SHA256WITHECDSA "Drive Root") ||
    die "root CA"
mkdir -p "$TMP/o"
other=$(make_root "$TMP/o" EC_prime256v1 SHA256WITHECDSA "Other Root") ||
    die "second root CA"
ec_csr "$TMP/ee.csr" ee.example
ec_csr "$TMP/sub.csr" sub-ca.example
"$PCACTL" issue --ca "$root" --csr "$TMP/ee.csr" --validity 30d \
    --signing-alg SHA256WITHECDSA --out "$TMP/ee.pem" >/dev/null ||
    die "issue EE"
"$PCACTL" issue --ca "$root" --csr "$TMP/sub.csr" --validity 1y \
    --signing-alg SHA256WITHECDSA \
    --template SubordinateCACertificate_PathLen0 --out "$TMP/sub.pem" \
    >/dev/null || die "issue sub CA"
openssl x509 -in "$TMP/ee.pem" -outform DER -out "$TMP/ee.der"
openssl x509 -in "$TMP/sub.pem" -outform DER -out "$TMP/sub.der"
"$TOOLS/signer_drive" "$A/pcad.conf" SHA256WITHECDSA "pca-${root##*/}" \
    "$TMP/ee.der" "$TMP/sub.der" "pca-${other##*/}" >"$TMP/drive.out" \
    2>"$TMP/drive.err"
rc=$?
while read -r verdict rest; do
	case $verdict in
	PASS) ok "$rest" ;;
	*) not_ok "$rest" ;;
	esac
done <"$TMP/drive.out"
check "signer_drive ran every check (exit $rc)" [ "$rc" -le 1 ] &&
    [ "$(wc -l <"$TMP/drive.out")" -ge 18 ]
[ "$rc" -le 1 ] || sed 's/^/# /' "$TMP/drive.err"
finish
