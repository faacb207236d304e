#!/bin/sh
# Root (EC P-384) -> intermediate (RSA-3072) -> leaf (EC P-256 CSR from
# openssl req), all through pcactl on SoftHSM; judged by openssl and
# pkcs11-tool, never by our own parser.
. "$(dirname "$0")/lib.sh"

A=$TMP/app
if out=$(new_appliance "$A" 2>&1); then ok "pcactl init lays out an appliance"
else not_ok "pcactl init lays out an appliance" "$out"; fi
PCACTL_CONFIG="$A/pcad.conf"
export PCACTL_CONFIG
OWN=""	# the SoftHSM token the appliance made itself
[ -z "${PCA_P11_MODULE:-}" ] && OWN="hsm/softhsm2.conf hsm/user.pin"
PINF=${PCA_P11_PIN_FILE:-$A/hsm/user.pin}
for f in pcad.conf credentials tls/ca.pem tls/server.pem tls/server.key \
    $OWN data; do
	if [ -e "$A/$f" ]; then ok "init made $f"; else not_ok "init made $f"; fi
done
if [ "$(stat -c %a "$PINF")" = 600 ] &&
    [ "$(stat -c %a "$A/credentials")" = 600 ] &&
    [ "$(stat -c %a "$A/tls/server.key")" = 600 ]; then
	ok "PIN, credentials and TLS key are 0600"
else
	not_ok "PIN, credentials and TLS key are 0600"
fi
check_fails "init refuses an existing appliance" "refusing|exists" \
    "$PCACTL" init "$A"
check "API TLS certificate verifies against tls/ca.pem" \
    openssl verify -CAfile "$A/tls/ca.pem" "$A/tls/server.pem"

RALG=EC_secp384r1 RSIG=SHA384WITHECDSA
[ -n "${PCA_TEST_RSA_ONLY:-}" ] && RALG=RSA_2048 RSIG=SHA256WITHRSA
ROOT=$(make_root "$TMP" $RALG $RSIG)
if [ -n "$ROOT" ]; then ok "root CA created and activated"; else
	not_ok "root CA created and activated"; fi
check "root is self-signed and verifies" \
    openssl verify -x509_strict -CAfile "$TMP/root.pem" "$TMP/root.pem"

INT=$("$PCACTL" ca create --type SUBORDINATE --key-alg RSA_3072 \
    --signing-alg SHA256WITHRSA --subject "CN=Intermediate,O=OpenPCA Test,C=US" \
    --revocation none)
check "intermediate CSR" "$PCACTL" ca csr "$INT" --out "$TMP/int.csr"
check "intermediate CSR verifies (openssl req -verify)" \
    openssl req -verify -noout -in "$TMP/int.csr"
check "root signs the intermediate" "$PCACTL" issue --ca "$ROOT" \
    --csr "$TMP/int.csr" --signing-alg $RSIG --validity 5y \
    --template SubordinateCACertificate_PathLen0 --out "$TMP/int.pem"
check "intermediate imported with its chain" "$PCACTL" ca import "$INT" \
    --cert "$TMP/int.pem" --chain "$TMP/root.pem"
check "intermediate verifies under the root" \
    openssl verify -x509_strict -CAfile "$TMP/root.pem" "$TMP/int.pem"

ec_csr "$TMP/leaf.csr" leaf.example.com
check "leaf issued by the intermediate" "$PCACTL" issue --ca "$INT" \
    --csr "$TMP/leaf.csr" --signing-alg SHA256WITHRSA --validity 90d \
    --out "$TMP/leaf.pem" --chain-out "$TMP/leaf-chain.pem"
check "openssl verify -CAfile root -untrusted int leaf" \
    openssl verify -x509_strict -CAfile "$TMP/root.pem" \
    -untrusted "$TMP/int.pem" "$TMP/leaf.pem"
check "leaf key matches the CSR key" sh -c \
    "[ \"\$(openssl x509 -in $TMP/leaf.pem -noout -pubkey)\" = \
    \"\$(openssl pkey -in $TMP/leaf.csr.key -pubout)\" ]"
if [ "$(grep -c 'BEGIN CERTIFICATE' "$TMP/leaf-chain.pem")" = 2 ] &&
    openssl verify -CAfile "$TMP/root.pem" -untrusted "$TMP/leaf-chain.pem" \
	"$TMP/leaf.pem" >/dev/null 2>&1; then
	ok "GetCertificate chain is intermediate then root"
else
	not_ok "GetCertificate chain is intermediate then root"
fi
TXT=$(openssl x509 -in "$TMP/leaf.pem" -noout -text)
for want in "Digital Signature, Key Encipherment" \
    "TLS Web Server Authentication, TLS Web Client Authentication" \
    "DNS:leaf.example.com" "CA:FALSE" "Subject Key Identifier" \
    "Authority Key Identifier" "X509v3 Key Usage: critical"; do
	if printf '%s' "$TXT" | grep -q "$want"; then ok "leaf has '$want'"
	else not_ok "leaf has '$want'" "$TXT"; fi
done
INT_SKI=$(openssl x509 -in "$TMP/int.pem" -noout -ext subjectKeyIdentifier |
    tail -1 | tr -d ' ')
LEAF_AKI=$(openssl x509 -in "$TMP/leaf.pem" -noout -ext authorityKeyIdentifier |
    tail -1 | tr -d ' ' | sed 's/^keyid://')
if [ -n "$INT_SKI" ] && [ "$INT_SKI" = "$LEAF_AKI" ]; then
	ok "leaf AKI equals intermediate SKI"
else
	not_ok "leaf AKI equals intermediate SKI" "$INT_SKI vs $LEAF_AKI"
fi
SER=$(openssl x509 -in "$TMP/leaf.pem" -noout -serial | cut -d= -f2)
if [ ${#SER} -eq 32 ]; then ok "serial is 128 bits"; else
	not_ok "serial is 128 bits" "$SER"; fi

# Keys in the token: sensitive, never extractable (pkcs11-tool reads them).
LIST=$(SOFTHSM2_CONF="$A/hsm/softhsm2.conf" PIN=$(cat "$PINF") \
    sh -c 'export PIN; pkcs11-tool --module '"${PCA_P11_MODULE:-$SOFTHSM}"' \
    --token-label '"${PCA_P11_TOKEN:-openpca}"' \
    --login --pin env:PIN --list-objects --type privkey 2>/dev/null')
NKEYS=$(printf '%s\n' "$LIST" | grep -c 'Private Key Object')
NSAFE=$(printf '%s\n' "$LIST" | grep 'Access:' |
    grep 'sensitive, always sensitive, never extractable' | grep -c local)
if [ "$NKEYS" -ge 2 ] && [ "$NKEYS" = "$NSAFE" ]; then
	ok "all $NKEYS CA private keys: sensitive, never extractable, local"
else
	not_ok "CA private keys sensitive and never extractable" "$LIST"
fi

check "revoke the leaf" "$PCACTL" revoke --ca "$INT" --serial "$SER" \
    --reason KEY_COMPROMISE
check_fails "revoking twice is refused" "already revoked" \
    "$PCACTL" revoke --ca "$INT" --serial "$SER" --reason KEY_COMPROMISE
check_fails "revoking the root's own certificate is refused" \
    "Self-signed certificate can not be revoked" "$PCACTL" revoke \
    --ca "$ROOT" --serial "$(openssl x509 -in "$TMP/root.pem" -noout \
    -serial | cut -d= -f2)" --reason SUPERSEDED
if [ -n "$SER" ] && "$PCACTL" cert list --status REVOKED | grep -qi "$SER"; then
	ok "cert list --status REVOKED shows the leaf"
else
	not_ok "cert list --status REVOKED shows the leaf"
fi
N3=$("$PCACTL" --json cert list --ca "$INT" | grep -c '"Serial"')
if [ "$N3" = 1 ]; then ok "cert list --ca filters by CA"; else
	not_ok "cert list --ca filters by CA" "$N3"; fi
NE=$("$PCACTL" --json cert list --expiring-days 100) &&
    NA=$("$PCACTL" --json cert list --expiring-days 100000)
if [ "$(printf '%s' "$NE" | grep -c '"Serial"')" = 0 ] &&
    [ "$(printf '%s' "$NA" | grep -c '"Serial"')" = 2 ]; then
	ok "cert list --expiring-days: the revoked leaf is not listed, both CA certs are"
else not_ok "cert list --expiring-days" "$NE $NA"; fi
check "pcactl ca list" sh -c "'$PCACTL' ca list | grep -c ACTIVE | grep -qx 2"
check "pcactl ca show reports a non-extractable key" sh -c \
    "'$PCACTL' --json ca show '$INT' | grep -q '\"Extractable\": false'"
check "disable then enable the intermediate" sh -c \
    "'$PCACTL' ca disable '$INT' && '$PCACTL' ca enable '$INT'"
check "pcactl store verify is clean" "$PCACTL" store verify
finish
