#!/bin/sh
# The HTTP server under attack (issue 15, defects 2, 3, 4, 9, 10) and CRL
# caching (issue 11), against a real pcad on loopback:
# - connection exhaustion: 300 slowloris connections, 2,000 idle TCP
#   connections, 300 half ClientHellos (from 127.0.0.2.., so the
#   per-source cap does not hide the capacity) while a normal request from
#   127.0.0.1 must answer within a second, on both ports; a trickled head
#   is cut off at [http] header_timeout_s; one source beyond
#   per_ip_connections is refused; with a small max_connections the oldest
#   slow connection makes room;
# - RFC 9112 6.3 framing shapes answer 400 and close, nothing smuggled;
# - a second pcad on the same ports fails to start with one clear line;
# - OCSP GET under the [ocsp] url's path; 64 KiB+ OCSP bodies get 413;
# - CRLs carry ETag/Last-Modified/Expires/Cache-Control from the CRL and
#   conditional GETs get 304.
. "$(dirname "$0")/lib.sh"

ATTACK="python3 $ROOTDIR/tests/integration/http/attack.py"
# attack ARGS...: each PASS/FAIL line of attack.py becomes a TAP line.
attack() {
	$ATTACK "$@" >"$TMP/attack.out" 2>&1
	grep -q '^PASS\|^FAIL' "$TMP/attack.out" ||
	    not_ok "attack.py $1 $2" "$(cat "$TMP/attack.out")"
	while IFS= read -r line; do
		case "$line" in
		PASS*) ok "${line#PASS }" ;;
		FAIL*) not_ok "${line#FAIL }" "$(grep '^#' "$TMP/attack.out")" ;;
		esac
	done <"$TMP/attack.out"
}
# set_key SECTION KEY VALUE: replaces or adds KEY in [SECTION] of pcad.conf.
set_key() {
	python3 - "$A/pcad.conf" "$1" "$2" "$3" <<'EOF'
import re, sys
path, sect, key, val = sys.argv[1:]
lines = open(path).read().split("\n")
out, cur, done = [], None, False
for l in lines:
    m = re.match(r"\[(\w+)\]", l)
    if m:
        if cur == sect and not done:
            out.append("%s = %s" % (key, val)); done = True
        cur = m.group(1)
    elif cur == sect and re.match(r"%s\s*=" % key, l):
        l = "%s = %s" % (key, val); done = True
    out.append(l)
if not done:
    if cur != sect:
        out.append("[%s]" % sect)
    out.append("%s = %s" % (key, val))
open(path, "w").write("\n".join(out) + "\n")
EOF
}

new_appliance "$A" || { not_ok "init"; finish; exit 1; }
AP=$(awk '/^\[api\]/{s=1} s&&/^listen/{print $3; exit}' "$A/pcad.conf")
AP=${AP##*:}
HP=$(awk '/^\[http\]/{s=1} s&&/^listen/{print $3; exit}' "$A/pcad.conf")
HP=${HP##*:}
URL=http://127.0.0.1:$HP # start_pcad waits for its /health
set_key http header_timeout_s 4
set_key http per_ip_connections 150
set_key ocsp url "http://127.0.0.1:$HP/ocsp"
pcad_up "pcad up (API $AP, HTTP $HP)"

# ---- defect 2: connection slots ----
attack flood slowloris --port "$HP" --count 300 --probe-port "$HP" \
    --probe health
attack flood slowloris --port "$HP" --count 300 --probe-port "$HP" \
    --probe ocsp
attack flood idle --port "$HP" --count 2000 --probe-port "$HP" --probe health
attack flood idle --port "$AP" --count 2000 --probe-port "$AP" --probe api
attack flood hello --port "$AP" --count 300 --probe-port "$AP" --probe api
attack flood slowloris --tls --port "$AP" --count 300 --probe-port "$AP" \
    --probe api --hold 2
attack deadline --port "$HP" --within 7
attack deadline --tls --port "$AP" --within 7
attack percap --port "$HP" --cap 150

# ---- defect 3: framing, both ports ----
attack framing --port "$HP"
attack framing --tls --port "$AP"

# ---- SigV4: X-Amz-Target must be signed (no replay as another op) ----
python3 - "$A" "$AP" <<'EOF' >"$TMP/sig.out" 2>&1
import configparser, http.client, json, os, ssl, sys
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
d, port = sys.argv[1], sys.argv[2]
cp = configparser.ConfigParser()
cp.read(os.path.join(d, "credentials"))
cred = Credentials(cp["default"]["aws_access_key_id"],
                   cp["default"]["aws_secret_access_key"])
def send(target, signed):
    url = "https://127.0.0.1:%s/" % port
    h = {"Content-Type": "application/x-amz-json-1.1"}
    if signed:
        h["X-Amz-Target"] = target
    req = AWSRequest(method="POST", url=url, data=b"{}", headers=h)
    SigV4Auth(cred, "acm-pca", "us-east-1").add_auth(req)
    if not signed:
        req.headers["X-Amz-Target"] = target   # added after signing
    c = http.client.HTTPSConnection("127.0.0.1", int(port), timeout=10,
        context=ssl.create_default_context(
            cafile=os.path.join(d, "tls", "ca.pem")))
    c.request("POST", "/", body=b"{}", headers=dict(req.headers.items()))
    r = c.getresponse()
    body = r.read()
    try:
        body = json.loads(body).get("__type")
    except ValueError:
        pass
    return r.status, body
op = "ACMPrivateCA.ListCertificateAuthorities"
print("signed", *send(op, True))
print("unsigned", *send(op, False))
EOF
if grep -q '^signed 200' "$TMP/sig.out" &&
    grep -q '^unsigned 400 IncompleteSignatureException' "$TMP/sig.out"; then
	ok "SigV4: X-Amz-Target outside SignedHeaders is refused (signed: 200)"
else
	not_ok "SigV4: X-Amz-Target outside SignedHeaders is refused" \
	    "$(cat "$TMP/sig.out")"
fi

# ---- defect 4: a second pcad on the same ports ----
B=$TMP/app2
if "$PCACTL" init "$B" --api-port "$AP" --http-port "$HP" >/dev/null 2>&1; then
	out=$(timeout 60 "$PCAD" --config "$B/pcad.conf" 2>&1 >/dev/null)
	rc=$?
	lines=$(printf '%s\n' "$out" | wc -l)
	if [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ "$lines" -eq 1 ] &&
	    printf '%s' "$out" | grep -q 'cannot listen' &&
	    printf '%s' "$out" | grep -q "127.0.0.1:$AP\|127.0.0.1:$HP"; then
		ok "a second pcad on the same ports exits $rc with one line: $out"
	else
		not_ok "a second pcad on the same ports fails at start" \
		    "rc $rc: $out"
	fi
else
	not_ok "init of a second appliance"
fi
attack flood idle --port "$AP" --count 1 --probe-port "$AP" --probe api

# ---- defects 9 and 10: OCSP under the configured path, big bodies ----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$TMP/x.key" -subj /CN=x -days 2 -out "$TMP/x.pem" 2>/dev/null
openssl ocsp -issuer "$TMP/x.pem" -cert "$TMP/x.pem" -no_nonce \
    -reqout "$TMP/req.der" >/dev/null 2>&1
ocsp_status() { # ocsp_status METHOD PATH: HTTP status and OCSP status
	python3 - "$1" "http://127.0.0.1:$HP$2" "$TMP/req.der" <<'EOF'
import base64, sys, urllib.parse, urllib.request
from cryptography.x509 import ocsp
method, url, req = sys.argv[1], sys.argv[2], open(sys.argv[3], "rb").read()
if method == "GET":
    r = urllib.request.Request(url + "/" + urllib.parse.quote(
        base64.b64encode(req).decode(), safe=""))
else:
    r = urllib.request.Request(url, data=req, headers={
        "Content-Type": "application/ocsp-request"})
try:
    with urllib.request.urlopen(r, timeout=10) as f:
        st, body = f.status, f.read()
except urllib.error.HTTPError as e:
    print(e.code, "-"); sys.exit(0)
print(st, ocsp.load_der_ocsp_response(body).response_status.name)
EOF
}
for m in GET:/ocsp POST:/ocsp GET: POST:/; do
	got=$(ocsp_status "${m%%:*}" "${m#*:}" 2>&1)
	if [ "$got" = "200 UNAUTHORIZED" ]; then
		ok "OCSP ${m%%:*} ${m#*:}/...: answered (unauthorized for an unknown issuer)"
	else
		not_ok "OCSP ${m%%:*} ${m#*:}/...: answered" "$got"
	fi
done
attack bigbody --port "$HP"

# ---- issue 11: CRL caching headers and conditional GETs ----
echo '{"CrlConfiguration":{"Enabled":true,"S3BucketName":"crl-bucket"}}' \
    >"$TMP/crl.json"
ROOT=$(root_ca EC_prime256v1 SHA256WITHECDSA "CN=Cache Root,O=OpenPCA Test" \
    5y "$TMP/root.pem" --revocation-json "$TMP/crl.json")
CURL="http://127.0.0.1:$HP/crl/${ROOT##*/}.crl"
i=0
while [ $i -lt 100 ] && ! curl -sf -o "$TMP/crl.der" "$CURL"; do
	sleep 0.2
	i=$((i + 1))
done
python3 - "$CURL" "$TMP/crl.der" <<'EOF' >"$TMP/cache.out" 2>&1
import email.utils, sys, urllib.request
from cryptography import x509
url, der = sys.argv[1], open(sys.argv[2], "rb").read()
crl = x509.load_der_x509_crl(der)
def get(headers):
    r = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(r, timeout=10) as f:
            return f.status, f.headers, f.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()
st, h, body = get({})
def check(ok, name, detail=""):
    print(("PASS " + name) if ok else ("FAIL %s: %s" % (name, detail)))
lm = email.utils.parsedate_to_datetime(h.get("Last-Modified", "x, 1 Jan 1970"))
ex = email.utils.parsedate_to_datetime(h.get("Expires", "x, 1 Jan 1970"))
cc = h.get("Cache-Control", "")
check(st == 200 and body == der, "the CRL is served", st)
tu = crl.last_update_utc if hasattr(crl, "last_update_utc") else crl.last_update
nu = crl.next_update_utc if hasattr(crl, "next_update_utc") else crl.next_update
check(lm.timestamp() == tu.replace(tzinfo=lm.tzinfo).timestamp() and
      ex.timestamp() == nu.replace(tzinfo=ex.tzinfo).timestamp(),
      "Last-Modified is thisUpdate, Expires is nextUpdate",
      "%s %s vs %s %s" % (lm, ex, tu, nu))
age = [int(p.split("=")[1]) for p in cc.replace(" ", "").split(",")
       if p.startswith("max-age=")]
left = (nu.replace(tzinfo=None) - __import__("datetime").datetime.utcnow()
        ).total_seconds()
check(age and 0 < age[0] <= left + 5 and "public" in cc,
      "Cache-Control max-age runs to nextUpdate (%s)" % cc, cc)
etag = h.get("ETag", "")
check(len(etag) > 2 and etag.startswith('"'), "a strong ETag", etag)
st2, _, b2 = get({"If-None-Match": etag})
check(st2 == 304 and b2 == b"", "If-None-Match with the ETag: 304", st2)
st3, _, _ = get({"If-None-Match": '"other"'})
check(st3 == 200, "If-None-Match with another ETag: 200", st3)
st4, _, _ = get({"If-Modified-Since": h.get("Last-Modified")})
check(st4 == 304, "If-Modified-Since thisUpdate: 304", st4)
st5, _, _ = get({"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})
check(st5 == 200, "If-Modified-Since long before: 200", st5)
EOF
while IFS= read -r line; do
	case "$line" in
	PASS*) ok "CRL: ${line#PASS }" ;;
	FAIL*) not_ok "CRL: ${line#FAIL }" ;;
	*) not_ok "CRL check" "$line" ;;
	esac
done <"$TMP/cache.out"

# ---- a full listener makes room: the oldest slow head goes ----
stop_pcad
set_key api max_connections 100
set_key http per_ip_connections 0
if start_pcad; then
	attack flood slowloris --port "$HP" --count 200 --probe-port "$HP" \
	    --probe health
else
	not_ok "pcad up with max_connections 100" "$(tail -5 "$A/pcad.log")"
fi
stop_pcad
finish
