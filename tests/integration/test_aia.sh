#!/bin/sh
# pcactl ca create's default revocation (issue 11, "Real names"): a CA made
# without revocation options gets a local CRL and OCSP, both served by pcad,
# and its certificates carry the CDP, AIA OCSP and AIA caIssuers
# (<base>/ca/<CA id>.crt, the CA certificate in DER on pcad's plain-HTTP
# port) under the appliance's public base; --revocation narrows it, the API
# keeps AWS's rules.  Judged by openssl, python cryptography, curl, boto3.
. "$(dirname "$0")/lib.sh"

need_python boto3 cryptography
api_appliance
URL=$(http_url "$A/pcad.conf")
TOOL="python3 $HERE/aia/aia_tool.py"

# make_ca NAME [ARGS...]: a root CA made by pcactl ca create ARGS and
# installed; its certificate in $TMP/NAME.ca.pem; prints its ARN.
make_ca() {
	mc=$1
	shift
	root_ca EC_prime256v1 SHA256WITHECDSA "CN=AIA $mc,O=OpenPCA Test" 5y \
	    "$TMP/$mc.ca.pem" "$@"
}
# ossl_urls CERT: the same "cdp|ocsp|issuers URL" lines from openssl -text
ossl_urls() {
	openssl x509 -in "$1" -noout -text | awk '
	    /X509v3 CRL Distribution Points/ {s = "cdp"; next}
	    /Authority Information Access/ {s = "aia"; next}
	    /X509v3|Signature Algorithm/ {s = ""}
	    s == "cdp" && /URI:/ {sub(/.*URI:/, ""); print "cdp", $1}
	    s == "aia" && /OCSP - URI:/ {sub(/.*URI:/, ""); print "ocsp", $1}
	    s == "aia" && /CA Issuers - URI:/ {sub(/.*URI:/, "");
		print "issuers", $1}'
}
# urls_are NAME CERT EXPECTED: openssl and cryptography both read EXPECTED
urls_are() {
	got_o=$(ossl_urls "$2")
	got_p=$($TOOL urls "$2" 2>&1)
	if [ "$got_o" = "$3" ] && [ "$got_p" = "$3" ]; then ok "$1"
	else not_ok "$1" "want: $3
openssl: $got_o
cryptography: $got_p"; fi
}

# ---- the default: a local CRL and OCSP ----
DEF=$(make_ca Default 2>"$TMP/def.err")
DEFID=${DEF##*/}
if [ -n "$DEF" ] && [ ! -s "$TMP/def.err" ] && issue_leaf "$DEF" dleaf; then
	ok "pcactl ca create without revocation options, quietly; a leaf"
else
	die "setup: default CA and leaf" "$(cat "$TMP/def.err")"
fi
"$PCACTL" --json ca show "$DEF" >"$TMP/def.json"
rc=$(python3 -c 'import json,sys
r = json.load(open(sys.argv[1]))["RevocationConfiguration"]
print(json.dumps(r, sort_keys=True))' "$TMP/def.json")
[ "$rc" = '{"CrlConfiguration": {"Enabled": true}, "OcspConfiguration": {"Enabled": true}}' ] &&
    ok "describe: CRL (local, no S3 bucket) and OCSP enabled" ||
    not_ok "describe: CRL (local, no S3 bucket) and OCSP enabled" "$rc"
urls_are "the leaf: CDP, AIA OCSP and caIssuers under the public base" \
    "$TMP/dleaf.pem" "cdp $URL/crl/$DEFID.crl
ocsp $URL
issuers $URL/ca/$DEFID.crt"
urls_are "a root certificate carries neither CDP nor AIA" \
    "$TMP/Default.ca.pem" ""

# ---- the opt-outs ----
NONE=$(make_ca None --revocation none) && issue_leaf "$NONE" nleaf &&
    urls_are "--revocation none: no CDP, no AIA" "$TMP/nleaf.pem" "" ||
    not_ok "--revocation none: no CDP, no AIA"
OC=$(make_ca Ocsp --revocation ocsp) && issue_leaf "$OC" oleaf &&
    urls_are "--revocation ocsp: AIA OCSP and caIssuers, no CDP" \
	"$TMP/oleaf.pem" "ocsp $URL
issuers $URL/ca/${OC##*/}.crt" ||
    not_ok "--revocation ocsp: AIA OCSP and caIssuers, no CDP"
CR=$(make_ca Crl --revocation crl) && issue_leaf "$CR" cleaf &&
    urls_are "--revocation crl: a CDP, no AIA" "$TMP/cleaf.pem" \
	"cdp $URL/crl/${CR##*/}.crl" ||
    not_ok "--revocation crl: a CDP, no AIA"
BK=$(make_ca Bucket --revocation crl,ocsp --crl-bucket openpca-aia) &&
    "$PCACTL" --json ca show "$BK" | grep -q '"S3BucketName": "openpca-aia"' &&
    "$PCACTL" --json ca show "$BK" | grep -q '"S3ObjectAcl": "PUBLIC_READ"' &&
    ok "--crl-bucket: the CRL is also published to that bucket" ||
    not_ok "--crl-bucket: the CRL is also published to that bucket"
cc() { "$PCACTL" ca create --type ROOT --key-alg EC_prime256v1 \
    --signing-alg SHA256WITHECDSA --subject CN=x "$@"; }
check_fails "--revocation with a bad value" "crl,ocsp, crl, ocsp or none" \
    cc --revocation crl,crl
check_fails "--crl-bucket without a CRL" "needs a CRL" \
    cc --revocation ocsp --crl-bucket b
echo '{"OcspConfiguration":{"Enabled":true}}' >"$TMP/o.json"
check_fails "--revocation-json with --revocation" "cannot be combined" \
    cc --revocation-json "$TMP/o.json" --revocation none

# ---- pcad serves what the certificates point at ----
if start_pcad; then ok "pcad starts"; else
	die "pcad starts" "$(tail -20 "$A/pcad.log")"
fi
OCSP=$(ossl_urls "$TMP/dleaf.pem" | sed -n 's/^ocsp //p')
CDP=$(ossl_urls "$TMP/dleaf.pem" | sed -n 's/^cdp //p')
ISS=$(ossl_urls "$TMP/dleaf.pem" | sed -n 's/^issuers //p')
i=0
until out=$(openssl ocsp -issuer "$TMP/Default.ca.pem" -cert "$TMP/dleaf.pem" \
    -url "$OCSP" -CAfile "$TMP/Default.ca.pem" -no_nonce 2>&1) &&
    printf '%s' "$out" | grep -q ': good$' || [ $i -ge 150 ]; do
	sleep 0.2
	i=$((i + 1))
done
printf '%s' "$out" | grep -q ': good$' &&
    printf '%s' "$out" | grep -q 'Response verify OK' &&
    ok "openssl ocsp at the stamped URL: good, verified" ||
    not_ok "openssl ocsp at the stamped URL: good, verified" "$out"
i=0
until curl -sf -o "$TMP/d.crl" "$CDP" || [ $i -ge 150 ]; do
	sleep 0.2
	i=$((i + 1))
done
out=$(openssl crl -inform DER -in "$TMP/d.crl" -CAfile "$TMP/Default.ca.pem" \
    -noout 2>&1)
printf '%s' "$out" | grep -q 'verify OK' &&
    ok "the CDP URL serves a CRL signed by the CA (openssl crl)" ||
    not_ok "the CDP URL serves a CRL signed by the CA (openssl crl)" \
	"$out
$CDP: $(curl -s -o /dev/null -w '%{http_code}' "$CDP")
$(tail -30 "$A/pcad.log")"
hdr=$(curl -s -D - -o "$TMP/iss.der" "$ISS" | tr -d '\r')
$TOOL cacert "$DEF" "$TMP/api.der" 2>"$TMP/tool.err"
if printf '%s\n' "$hdr" | head -1 | grep -q ' 200' &&
    cmp -s "$TMP/iss.der" "$TMP/api.der"; then
	ok "the caIssuers URL serves GetCertificateAuthorityCertificate in DER"
else
	not_ok "the caIssuers URL serves GetCertificateAuthorityCertificate in DER" \
	    "$hdr $(cat "$TMP/tool.err")"
fi
printf '%s\n' "$hdr" | grep -qi '^content-type: application/pkix-cert$' &&
    printf '%s\n' "$hdr" | grep -qi '^cache-control: max-age=[1-9][0-9]*, public' &&
    printf '%s\n' "$hdr" | grep -qi '^last-modified: ' &&
    ok "caIssuers: application/pkix-cert, cacheable" ||
    not_ok "caIssuers: application/pkix-cert, cacheable" "$hdr"
etag=$(printf '%s\n' "$hdr" | sed -n 's/^[Ee][Tt][Aa][Gg]: //p')
code=$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$ISS")
[ -n "$etag" ] && [ "$code" = 304 ] && ok "caIssuers: If-None-Match gives 304" ||
    not_ok "caIssuers: If-None-Match gives 304" "etag '$etag' code $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -I "$ISS")
[ "$code" = 200 ] && ok "caIssuers: HEAD" || not_ok "caIssuers: HEAD" "$code"
bad=""
for p in "ca/00000000-0000-4000-8000-000000000000.crt" "ca/$DEFID.pem" \
    "ca/$DEFID" "ca/" "ca/../crl/$DEFID.crl"; do
	code=$(curl -s --path-as-is -o /dev/null -w "%{http_code}" "$URL/$p")
	[ "$code" = 404 ] || bad="$bad [$p: $code]"
done
[ -z "$bad" ] && ok "caIssuers: 404 for an unknown CA or a bad name" ||
    not_ok "caIssuers: 404 for an unknown CA or a bad name" "$bad"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL/ca/$DEFID.crt")
[ "$code" = 405 ] && ok "caIssuers: POST gives 405" ||
    not_ok "caIssuers: POST gives 405" "$code"
check "the API keeps AWS's rules (no RevocationConfiguration: none; a CRL needs S3BucketName)" \
    $TOOL api-rules
stop_pcad

# ---- init --public-url: that base only ----
B=$TMP/pub
new_appliance "$B" --public-url https://pki.example.net/ >/dev/null ||
    die "init --public-url"
PUB=$(make_ca Pub) && issue_leaf "$PUB" pleaf &&
    urls_are "--public-url: CDP, OCSP and caIssuers under that base only" \
	"$TMP/pleaf.pem" "cdp https://pki.example.net/crl/${PUB##*/}.crl
ocsp https://pki.example.net
issuers https://pki.example.net/ca/${PUB##*/}.crt" ||
    not_ok "--public-url: CDP, OCSP and caIssuers under that base only"

# ---- an appliance that uploads to S3: the CRL needs its bucket ----
S=$TMP/s3
AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
    new_appliance "$S" --s3-endpoint http://127.0.0.1:9 >/dev/null ||
    die "init --s3-endpoint"
S3D=$(make_ca S3Default 2>"$TMP/s3.err") &&
    "$PCACTL" --json ca show "$S3D" >"$TMP/s3.json" &&
    python3 -c 'import json,sys
r = json.load(open(sys.argv[1]))["RevocationConfiguration"]
assert r["OcspConfiguration"]["Enabled"] and not r["CrlConfiguration"]["Enabled"]' \
	"$TMP/s3.json" && grep -q "note: no CRL.*--crl-bucket" "$TMP/s3.err" &&
    ok "[s3] endpoint: by default OCSP, and a note that the CRL needs --crl-bucket" ||
    not_ok "[s3] endpoint: by default OCSP, and a note that the CRL needs --crl-bucket" \
	"$(cat "$TMP/s3.err")"
check_fails "[s3] endpoint: --revocation crl without --crl-bucket" \
    "revocation crl: no CRL.*crl-bucket" cc --revocation crl

finish
