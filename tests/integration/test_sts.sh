#!/bin/sh
# sts:GetCallerIdentity on the API endpoint (AWS Query protocol, XML):
# unmodified aws-cli and boto3's STS client print the key's account and
# ARN; the XML is shaped as AWS's; every other action, a bad or missing
# signature and a signature scoped to another service answer STS's XML
# errors; the ACM-PCA JSON API is unchanged next to it; both also with
# [process] separate = no.
. "$(dirname "$0")/lib.sh"

new_appliance "$A" || { not_ok "pcactl init"; finish; exit 1; }
EP=$(api_url "$A/pcad.conf")
# sts_pcad: pcad on $A/pcad.conf, its API answering within 20 s
sts_pcad() {
	"$PCAD" --config "$A/pcad.conf" >>"$A/pcad.log" 2>&1 &
	PCAD_PID=$!
	wait_up "$PCAD_PID" 200 curl -s --cacert "$A/tls/ca.pem" -o /dev/null \
	    "$EP/"
}
sts_pcad
# the appliance's settings, not the machine's (AWS_CA_BUNDLE wins over the
# config file's ca_bundle)
unset AWS_CA_BUNDLE AWS_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY \
    AWS_SESSION_TOKEN AWS_DEFAULT_REGION AWS_REGION
export AWS_SHARED_CREDENTIALS_FILE="$A/credentials"
export AWS_CONFIG_FILE="$A/aws-config"
AKID=$(sed -n 's/^aws_access_key_id *= *//p' "$A/credentials")

out=$(aws sts get-caller-identity --endpoint-url "$EP" \
    --ca-bundle "$A/tls/ca.pem" --output json 2>&1)
if printf '%s' "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
akid = sys.argv[1]
assert d["Account"] == "123456789012", d
assert d["UserId"] == akid, d
assert d["Arn"] == "arn:aws:iam::123456789012:user/" + akid, d
' "$AKID" 2>/dev/null; then
	ok "aws sts get-caller-identity prints the key's account and ARN"
else
	not_ok "aws sts get-caller-identity prints the key's account and ARN" \
	    "$out"
fi

# the appliance's aws-config alone (endpoint_url, ca_bundle) is enough
out=$(aws sts get-caller-identity --query Account --output text 2>&1)
[ "$out" = 123456789012 ] &&
    ok "aws sts get-caller-identity with only the appliance's aws-config" ||
    not_ok "aws sts get-caller-identity with only the appliance's aws-config" \
	"$out"

# a key of another account reports that account
"$PCACTL" key create --role auditor --account 210987654321 \
    >"$TMP/other.cred" 2>/dev/null
OAKID=$(sed -n 's/^aws_access_key_id *= *//p' "$TMP/other.cred")
OSECRET=$(sed -n 's/^aws_secret_access_key *= *//p' "$TMP/other.cred")

PCA_EP="$EP" PCA_CA="$A/tls/ca.pem" OAKID="$OAKID" OSECRET="$OSECRET" \
    python3 "$(dirname "$0")/sts/sts_test.py" >"$TMP/py.out" 2>&1 ||
    echo "FAIL sts_test.py exited non-zero" >>"$TMP/py.out"
grep -q '^PASS\|^FAIL' "$TMP/py.out" ||
    echo "FAIL sts_test.py ran no checks" >>"$TMP/py.out"
while IFS= read -r line; do
	case "$line" in
	PASS\ *) ok "${line#PASS }" ;;
	FAIL\ *) not_ok "${line#FAIL }" "$(cat "$TMP/py.out")" ;;
	esac
done <"$TMP/py.out"
stop_pcad

# in one process ([process] separate = no) the signing keys come from the
# same hsm_sigv4_key, in process
printf '\n[process]\nseparate = no\n' >>"$A/pcad.conf"
sts_pcad
out=$(aws sts get-caller-identity --query Account --output text 2>&1)
[ "$out" = 123456789012 ] &&
    ok "separate = no: aws sts get-caller-identity" ||
    not_ok "separate = no: aws sts get-caller-identity" "$out"
out=$(aws acm-pca list-certificate-authorities --output json 2>&1)
printf '%s' "$out" | grep -q CertificateAuthorities &&
    ok "separate = no: aws acm-pca list-certificate-authorities" ||
    not_ok "separate = no: aws acm-pca list-certificate-authorities" "$out"
stop_pcad
finish
