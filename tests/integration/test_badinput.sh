#!/bin/sh
# Bad input through pcactl: a clear one-line error, a non-zero exit, and
# nothing stored (the certificate count and the store check are unchanged).
. "$(dirname "$0")/lib.sh"

A=$TMP/app
new_appliance "$A" || { not_ok "init"; finish; exit 1; }
ROOT=$(make_root "$TMP" EC_prime256v1 SHA256WITHECDSA)
INT=$("$PCACTL" ca create --type SUBORDINATE --key-alg EC_prime256v1 \
    --signing-alg SHA256WITHECDSA --subject "CN=Int,O=T,C=US" --revocation none)
"$PCACTL" ca csr "$INT" --out "$TMP/int.csr"
"$PCACTL" issue --ca "$ROOT" --csr "$TMP/int.csr" \
    --signing-alg SHA256WITHECDSA --validity 5y \
    --template SubordinateCACertificate_PathLen0 --out "$TMP/int.pem" >/dev/null
"$PCACTL" ca import "$INT" --cert "$TMP/int.pem" --chain "$TMP/root.pem"
[ -n "$ROOT" ] && [ -n "$INT" ] && ok "setup" || not_ok "setup"

count() { "$PCACTL" --json cert list | grep -c '"Serial"'; }
BEFORE=$(count)
issue() { # issue CSR [extra args]; --validity 30d unless given
	csr=$1
	shift
	case " $* " in *" --validity "*) v="" ;; *) v="--validity 30d" ;; esac
	# shellcheck disable=SC2086
	"$PCACTL" issue --ca "$INT" --csr "$csr" --signing-alg SHA256WITHECDSA \
	    $v "$@"
}

ec_csr "$TMP/good.csr" good.example.com
openssl req -in "$TMP/good.csr" -outform DER -out "$TMP/good.der" 2>/dev/null

# bad signature: flip one byte inside the signature (the last bytes)
python3 - "$TMP/good.der" "$TMP/badsig.der" <<'PY'
import sys
d = bytearray(open(sys.argv[1], 'rb').read())
d[-5] ^= 0x01
open(sys.argv[2], 'wb').write(d)
PY
check_fails "CSR with a bad signature" "signature" issue "$TMP/badsig.der"
head -c 100 "$TMP/good.der" >"$TMP/trunc.der"
check_fails "truncated DER CSR" "CSR|DER|parse" issue "$TMP/trunc.der"
{ cat "$TMP/good.csr"; echo "garbage after the end"; } >"$TMP/trail.pem"
check_fails "PEM with trailing garbage" "after|trailing" issue "$TMP/trail.pem"
{ cat "$TMP/good.csr" "$TMP/good.csr"; } >"$TMP/two.pem"
check_fails "PEM with two CSRs" "after|one|PEM" issue "$TMP/two.pem"
head -c 1048576 /dev/urandom | base64 >"$TMP/big.b64"
{ echo "-----BEGIN CERTIFICATE REQUEST-----"; cat "$TMP/big.b64"
  echo "-----END CERTIFICATE REQUEST-----"; } >"$TMP/big.pem"
check_fails "a 1 MiB CSR" "at most 32768" issue "$TMP/big.pem"
openssl req -new -newkey rsa:1024 -nodes -keyout "$TMP/r1024.key" \
    -subj /CN=weak -out "$TMP/r1024.csr" 2>/dev/null
check_fails "an RSA-1024 key" "1024|2048" issue "$TMP/r1024.csr"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:secp256k1 -nodes \
    -keyout "$TMP/k1.key" -subj /CN=k1 -out "$TMP/k1.csr" 2>/dev/null
check_fails "an unsupported curve (secp256k1)" "curve|secp256k1" \
    issue "$TMP/k1.csr"
check_fails "root template on a subordinate CA" "ROOT|template" \
    issue "$TMP/good.csr" --template RootCACertificate
check_fails "CA template under a pathLen 0 CA" "pathLen|template" \
    issue "$TMP/good.csr" --template SubordinateCACertificate_PathLen0
check_fails "unknown template" "template" \
    issue "$TMP/good.csr" --template NoSuchTemplate
check_fails "RSA signing algorithm on an EC CA" "SigningAlgorithm|fit" \
    "$PCACTL" issue --ca "$INT" --csr "$TMP/good.csr" \
    --signing-alg SHA256WITHRSA --validity 30d
check_fails "validity beyond the CA certificate" "exceeds|validity" \
    issue "$TMP/good.csr" --validity 50y
check_fails "END_DATE in the past" "future|past" \
    issue "$TMP/good.csr" --validity end:20200101000000
check_fails "malformed --validity" "validity" \
    issue "$TMP/good.csr" --validity forever
check_fails "CA ARN of another account" "ARN|account" \
    "$PCACTL" issue --ca "$(echo "$INT" | sed 's/:[0-9]\{12\}:/:999999999999:/')" \
    --csr "$TMP/good.csr" --signing-alg SHA256WITHECDSA --validity 30d
check_fails "unknown CA" "does not exist" \
    "$PCACTL" issue --ca 00000000-0000-4000-8000-000000000000 \
    --csr "$TMP/good.csr" --signing-alg SHA256WITHECDSA --validity 30d
check_fails "importing a certificate of another key" "key|match" \
    "$PCACTL" ca import "$INT" --cert "$TMP/root.pem"
check_fails "revoking an unknown serial" "not issued|does not exist" \
    "$PCACTL" revoke --ca "$INT" --serial 0102030405 --reason SUPERSEDED
check_fails "unknown revocation reason" "RevocationReason|reason" \
    "$PCACTL" revoke --ca "$INT" --serial 0102030405 --reason BECAUSE
check_fails "unsupported key algorithm" "KeyAlgorithm|supported" \
    "$PCACTL" ca create --type ROOT --key-alg ML_DSA_44 \
    --signing-alg ML_DSA_44 --subject "CN=x"
check_fails "key and signing algorithm mismatch" "SigningAlgorithm" \
    "$PCACTL" ca create --type ROOT --key-alg EC_prime256v1 \
    --signing-alg SHA256WITHRSA --subject "CN=x"
check_fails "unknown command" "unknown" "$PCACTL" frobnicate
check_fails "an option given twice" "twice" issue "$TMP/good.csr" \
    --template EndEntityCertificate --template CodeSigningCertificate
AFTER=$(count)
if [ "$BEFORE" = "$AFTER" ]; then ok "nothing stored by the refused requests"
else not_ok "nothing stored by the refused requests" "$BEFORE -> $AFTER"; fi
check "a good CSR still issues" issue "$TMP/good.csr" --out "$TMP/g.pem"
check "store verify is clean" "$PCACTL" store verify
finish
