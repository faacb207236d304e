#!/bin/sh
# The web console (/console/ on the API port) in a real browser: a store
# seeded through pcactl (a root, a subordinate, end-entity certificates
# expiring in 3, 10 and 40 days and in 200 days), an auditor key and a key
# whose policy denies the inventory and the audit log; then headless
# Chromium driven by python3-selenium (tests/integration/test_console.py):
# sign-in, every page, the refusals, the timeline's bars, no browser console
# errors, cookie flags, CSRF and Origin checks; the alerts and discovery
# pages (escaping of a certificate subject made of markup).  Screenshots of each page go
# to $BUILD/test-artifacts/console/.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3	# Debian's python3-selenium
if ! $PY -c 'import selenium' 2>/dev/null ||
    ! command -v chromedriver >/dev/null ||
    ! command -v chromium >/dev/null; then
	die "chromium, chromium-driver and python3-selenium are needed (make deps)"
fi
api_appliance
URL=$(http_url "$A/pcad.conf")
API=https://$(awk '/^\[api\]/{s=1} s&&/^listen/{print $3; exit}' "$A/pcad.conf")

# CRLs only: no delegated OCSP signer certificates join the inventory
ROOT=$(make_root "$TMP" EC_prime256v1 SHA256WITHECDSA "Console Root" \
    --revocation crl) ||
    die "root CA"
# anomaly alerts: a first pcad run registers the alert feed's cursor, so
# the seeding below (a CA-template issuance, first template uses) raises
# alerts when pcad runs again
printf '\n[alerts]\nenabled = yes\ninterval_s = 1\n' >>"$A/pcad.conf"
start_pcad || die "pcad did not start" "$(tail -20 "$A/pcad.log")"
sleep 3
stop_pcad
SUB=$("$PCACTL" ca create --type SUBORDINATE --key-alg EC_prime256v1 \
    --signing-alg SHA256WITHECDSA --revocation crl \
    --subject "CN=Console Sub,O=OpenPCA Test,C=US") || die "sub CA"
"$PCACTL" ca csr "$SUB" --out "$TMP/sub.csr" >/dev/null &&
    "$PCACTL" issue --ca "$ROOT" --csr "$TMP/sub.csr" \
	--signing-alg SHA256WITHECDSA --validity 5y \
	--template SubordinateCACertificate_PathLen0 \
	--out "$TMP/sub.pem" >/dev/null &&
    "$PCACTL" ca import "$SUB" --cert "$TMP/sub.pem" \
	--chain "$TMP/root.pem" >/dev/null || die "sub CA activated"
leaf() { # leaf CA CN VALIDITY
	ec_csr "$TMP/$2.csr" "$2" &&
	    "$PCACTL" issue --ca "$1" --csr "$TMP/$2.csr" \
		--signing-alg SHA256WITHECDSA --validity "$3" \
		--out "$TMP/$2.pem" >/dev/null ||
	    die "leaf $2"
}
# bars (CA, week from now): root w1, root w2 (two), sub w1, sub w6 = 4;
# the 200-day leaf is beyond the timeline's 12 weeks
leaf "$ROOT" a3.console.test 3d
leaf "$ROOT" b10.console.test 10d
leaf "$ROOT" c10.console.test 10d
leaf "$SUB" d3.console.test 3d
leaf "$SUB" e40.console.test 40d
leaf "$SUB" f200.console.test 200d
ok "store seeded: 2 CAs, 6 end-entity certificates"

# discovery results: an expired certificate of an unknown issuer, a
# self-signed RSA-1024/SHA-1 one whose subject is markup (the network is
# attacker-controlled), and one of ours (imported from a file)
mkdir -p "$TMP/disc" "$TMP/imp"
python3 "$HERE/discover/certs.py" "$TMP/disc" || die "discover/certs.py"
openssl req -x509 -newkey rsa:1024 -sha1 -nodes -keyout "$TMP/evil.key" \
    -out "$TMP/imp/evil.pem" -days 30 \
    -subj '/CN=<script>alert("x")<\/script>/O=it'"'"'s "quoted" & <b>co<\/b>' \
    2>/dev/null || die "evil certificate"
cp "$TMP/disc/expired.pem" "$TMP/a3.console.test.pem" "$TMP/imp/"
"$PCACTL" cert import "$TMP/imp" >"$TMP/imp.out" 2>&1 &&
    grep -q "1 of ours, 2 external" "$TMP/imp.out" &&
    ok "discovery seeded: 2 external certificates, 1 of ours" ||
    not_ok "discovery seeded: 2 external certificates, 1 of ours" \
	"$(cat "$TMP/imp.out")"

key() { "$PCACTL" key create --json "$@"; }
AUD=$(key --role auditor) || die "auditor key"
cat >"$TMP/deny.json" <<'POL'
{"Version": "2012-10-17", "Statement": [
 {"Sid": "See", "Effect": "Allow", "Action": ["acm-pca:List*",
  "acm-pca:Describe*", "acm-pca:Get*"], "Resource": "*"},
 {"Sid": "NoInventory", "Effect": "Deny",
  "Action": ["openpca:ListCertificates", "openpca:GetAuditLog",
   "openpca:ListAlerts"],
  "Resource": "*"}]}
POL
DENY=$(key --policy "$TMP/deny.json") || die "denied key"
printf '%s\n' "$AUD" >"$TMP/auditor.json"
printf '%s\n' "$DENY" >"$TMP/denied.json"

start_pcad || die "pcad did not start" "$(tail -20 "$A/pcad.log")"

# the alerts of the seeding; one acknowledged
alerts() {
	"$PCACTL" --json alerts list >"$TMP/alerts.json" 2>/dev/null &&
	    grep -q ca_template_issuance "$TMP/alerts.json"
}
wait_up "$PCAD_PID" 200 alerts
sleep 2
alerts
ALERTS_N=$(python3 -c 'import json,sys
print(len(json.load(open(sys.argv[1]))["Alerts"]))' "$TMP/alerts.json")
ACK=$(python3 -c 'import json,sys
print([a["id"] for a in json.load(open(sys.argv[1]))["Alerts"]
       if a["kind"] == "first_template_use"][0])' "$TMP/alerts.json")
"$PCACTL" alerts ack "$ACK" >/dev/null && [ "$ALERTS_N" -ge 2 ] &&
    ok "alerts raised ($ALERTS_N), one acknowledged" ||
    not_ok "alerts raised ($ALERTS_N), one acknowledged" \
	"$(cat "$TMP/alerts.json")"
export ALERTS_N

hdrs=$(curl -sk -i "$API/console/login" | tr -d '\r')
printf '%s\n' "$hdrs" | grep -qi "^content-security-policy: default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'" &&
    printf '%s\n' "$hdrs" | grep -qi '^x-content-type-options: nosniff' &&
    ok "curl -i: CSP and nosniff on the sign-in page" ||
    not_ok "curl -i: CSP and nosniff on the sign-in page" "$hdrs"

ART=$BUILD/test-artifacts/console
mkdir -p "$ART"
$PY "$HERE/test_console.py" "$API" "$TMP/auditor.json" "$TMP/denied.json" \
    "$ART" "$N"
rc=$?
if [ "$rc" -ne 0 ]; then
	echo "# pcad log (tail):"
	tail -30 "$A/pcad.log" | sed 's/^/# /'
fi
exit "$rc"
