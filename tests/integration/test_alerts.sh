#!/bin/sh
# Anomaly alerts end to end: pcad with [alerts] follows the change feed;
# a principal issuing one certificate per window and then a burst of 12
# raises one issuance_rate alert; a CA-template issuance raises one
# ca_template_issuance alert; each first use of a template one
# first_template_use alert.  The webhook receiver gets each exactly once,
# also across a pcad restart; pcactl alerts list|ack and /metrics show them.
# OCSP questions about a serial we never issued raise one
# ocsp_unknown_serial alert (not again on repeats nor after a restart); a
# flood of 500 random serials at most ocsp_unknown_per_min a minute plus one
# ocsp_unknown_flood alert a minute, and nothing else in the store.  A burst
# of revocations by a CA raises one revocation_burst alert.
# Refusals: a principal refused by one policy rule once a window, then ten
# times in one window (ten pcactl runs at once, each refused), raises one
# refusal_spike alert, not again after a pcad restart (nor for refusals
# counted while pcad was down).  An ACME account (acme/acme_lib.py)
# ordering 7 certificates at once raises one issuance_rate alert naming the
# account; an auditor key denied IssueCertificate 7 times at once raises
# one refusal_spike (iam:OP).
. "$(dirname "$0")/lib.sh"

need_built "$PCAD" "$PCACTL"
A=$TMP/app
W=8 # seconds per rate window
H01=$(free_port)
RX_PID=""
CLEANUP='[ -n "$RX_PID" ] && kill "$RX_PID" 2>/dev/null'

issue() { # issue NAME: one end-entity certificate
	ec_csr "$TMP/$1.csr" "$1.example.com" &&
	    "$PCACTL" issue --ca "$ROOT" --csr "$TMP/$1.csr" --signing-alg \
		SHA256WITHECDSA --validity 365d >/dev/null
}
burst_issue() { # issue, retried: SoftHSM may refuse under 12 at once
	for try in 1 2 3; do
		issue "$1" 2>/dev/null && return 0
		sleep 0.2
	done
	return 1
}
window_start() { # sleeps until 1 s into the next rate window
	now=$(date +%s)
	sleep $((W - now % W + 1))
}
lines() { wc -l <"$TMP/rx.log" 2>/dev/null || echo 0; }
wait_lines() { # wait_lines N: the receiver logged N POSTs (20 s at most)
	i=0
	while [ $i -lt 200 ] && [ "$(lines)" -lt "$1" ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ "$(lines)" -ge "$1" ]
}

new_appliance "$A" || { not_ok "pcactl init"; finish; exit 1; }
URL=$(http_url "$A/pcad.conf")
ROOT=$(make_root "$TMP" EC_prime256v1 SHA256WITHECDSA) ||
    { not_ok "root CA"; finish; exit 1; }
python3 "$HERE/webhook/receiver.py" "$TMP/rx.port" "$TMP/rx.log" &
RX_PID=$!
i=0
while [ ! -s "$TMP/rx.port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
cat >>"$A/pcad.conf" <<EOC

[webhook]
url = http://127.0.0.1:$(cat "$TMP/rx.port")/hook
interval_s = 1

[alerts]
enabled = yes
window_s = $W
history = 4
sigma = 3
floor = 3
interval_s = 1
ocsp_unknown_per_min = 5
refusal_sigma = 3
refusal_floor = 3

[acme]
enabled = yes
http01_port = $H01
validation_addr = 127.0.0.1
timeout_s = 5
EOC
check "pcad --check-config accepts [alerts]" "$PCAD" --config \
    "$A/pcad.conf" --check-config
printf '\n[alerts]\nsigma = 0\n' >"$TMP/bad"
cat "$A/pcad.conf" "$TMP/bad" >"$A/bad.conf"
check_fails "pcad --check-config refuses sigma 0" "sigma" "$PCAD" --config \
    "$A/bad.conf" --check-config
start_pcad && ok "pcad starts" || not_ok "pcad starts" "$(tail "$A/pcad.log")"

# the baseline: one certificate in each of two windows
window_start
issue base1 && window_start && issue base2 &&
    ok "baseline: one issuance per window" ||
    not_ok "baseline: one issuance per window"
wait_lines 1 && grep -q "^first_template_use first/pcactl|EndEntity" \
    "$TMP/rx.log" && ok "first use of a template by a principal" ||
    not_ok "first use of a template by a principal" "$(cat "$TMP/rx.log")"
# the burst: 12 at once in the next window (12x the baseline)
window_start
BP=""
for k in 1 2 3 4 5 6 7 8 9 10 11 12; do burst_issue "burst$k" & BP="$BP $!"; done
for p in $BP; do wait "$p"; done
wait_lines 2 && sleep 2 &&
    [ "$(grep -c '^issuance_rate rate/pcactl/' "$TMP/rx.log")" = 1 ] &&
    ok "a burst of 12 (baseline 1) raises one issuance_rate alert" ||
    not_ok "a burst of 12 (baseline 1) raises one issuance_rate alert" \
	"$(cat "$TMP/rx.log"; tail -5 "$A/pcad.log")"

# a CA-template issuance: a subordinate CA signed by the root
SUB=$("$PCACTL" ca create --type SUBORDINATE --key-alg EC_prime256v1 \
    --signing-alg SHA256WITHECDSA --subject "CN=Sub,O=OpenPCA Test,C=US" \
    --revocation none) && "$PCACTL" ca csr "$SUB" --out "$TMP/sub.csr" &&
    "$PCACTL" issue --ca "$ROOT" --csr "$TMP/sub.csr" --signing-alg \
	SHA256WITHECDSA --validity 365d --template \
	SubordinateCACertificate_PathLen0/V1 >/dev/null &&
    ok "subordinate CA certificate issued" ||
    not_ok "subordinate CA certificate issued"
wait_lines 4 && sleep 2 &&
    [ "$(grep -c '^ca_template_issuance ' "$TMP/rx.log")" = 1 ] &&
    ok "a CA-template issuance raises one alert" ||
    not_ok "a CA-template issuance raises one alert" "$(cat "$TMP/rx.log")"
[ "$(lines)" = 4 ] && ! grep -q '^BAD' "$TMP/rx.log" &&
    [ "$(sort -u "$TMP/rx.log" | wc -l)" = 4 ] &&
    ok "webhook: 4 alerts, each POSTed once" ||
    not_ok "webhook: 4 alerts, each POSTed once" "$(cat "$TMP/rx.log")"
curl -sf "$URL/metrics" >"$TMP/m1" &&
    grep -q '^pcad_alerts_raised_total{kind="issuance_rate"} 1$' "$TMP/m1" &&
    grep -q '^pcad_alerts_unacknowledged 4$' "$TMP/m1" &&
    grep -q '^pcad_alerts_undelivered 0$' "$TMP/m1" &&
    ok "metrics: raised, unacknowledged, undelivered" ||
    not_ok "metrics: raised, unacknowledged, undelivered" \
	"$(grep alert "$TMP/m1")"

stop_pcad
start_pcad && sleep 4 && [ "$(lines)" = 4 ] &&
    ok "after a restart nothing is raised or sent again" ||
    not_ok "after a restart nothing is raised or sent again" \
	"$(cat "$TMP/rx.log")"
"$PCACTL" --json alerts list >"$TMP/l.json" &&
    [ "$(python3 -c 'import json,sys
j = json.load(open(sys.argv[1]))["Alerts"]
print(len(j), sorted(a["kind"] for a in j).count("first_template_use"))' \
    "$TMP/l.json")" = "4 2" ] && ok "pcactl alerts list: the 4 alerts" ||
    not_ok "pcactl alerts list: the 4 alerts" "$(cat "$TMP/l.json")"
ID=$(grep '^issuance_rate' "$TMP/rx.log" | cut -d' ' -f2)
"$PCACTL" alerts ack "$ID" >/dev/null &&
    "$PCACTL" alerts list | grep -q "^$ID	issuance_rate	acked$" &&
    ok "pcactl alerts ack" || not_ok "pcactl alerts ack" \
	"$("$PCACTL" alerts list 2>&1)"
check_fails "pcactl alerts ack: unknown id" "no alert record" "$PCACTL" \
    alerts ack rate/nobody/0
curl -sf "$URL/metrics" | grep -q '^pcad_alerts_unacknowledged 3$' &&
    ok "metrics: 3 unacknowledged after the ack" ||
    not_ok "metrics: 3 unacknowledged after the ack"
stop_pcad

# OCSP: a CA with a responder, and questions about serials it never issued
kind_count() { grep -c "^$1 " "$TMP/rx.log"; }
mkdir -p "$TMP/o"
echo '{"OcspConfiguration":{"Enabled":true}}' >"$TMP/ocsp.json"
OROOT=$(make_root "$TMP/o" EC_prime256v1 SHA256WITHECDSA "OCSP Root" \
    --revocation-json "$TMP/ocsp.json") && start_pcad &&
    ok "an OCSP-enabled CA, pcad restarted" ||
    not_ok "an OCSP-enabled CA, pcad restarted" "$(tail "$A/pcad.log")"
SER="5$(openssl rand -hex 11)0" # 12 bytes, no leading zero
ask() { # ask: openssl ocsp for serial $SER; the answer must be "unknown"
	i=0
	while [ $i -lt 30 ]; do
		openssl ocsp -issuer "$TMP/o/root.pem" -serial "0x$SER" \
		    -url "$URL" -no_nonce -noverify 2>&1 | grep -q ": unknown$" &&
		    return 0
		sleep 0.5 # no OCSP signer yet: tryLater
		i=$((i + 1))
	done
	return 1
}
ask && ask && ask && ok "OCSP: a serial we never issued is unknown" ||
    not_ok "OCSP: a serial we never issued is unknown"
SERU=$SER
wait_lines 5 && sleep 3 && [ "$(kind_count ocsp_unknown_serial)" = 1 ] &&
    grep -qi "^ocsp_unknown_serial unknown/.*/$SERU$" "$TMP/rx.log" &&
    ok "three questions about it raise one ocsp_unknown_serial alert" ||
    not_ok "three questions about it raise one ocsp_unknown_serial alert" \
	"$(cat "$TMP/rx.log")"
stop_pcad
start_pcad && ask && sleep 4 && [ "$(kind_count ocsp_unknown_serial)" = 1 ] &&
    ok "asked again after a restart: not raised again" ||
    not_ok "asked again after a restart: not raised again" \
	"$(cat "$TMP/rx.log")"
NB=$("$PCACTL" --json alerts list | python3 -c \
    'import json,sys; print(len(json.load(sys.stdin)["Alerts"]))')
M0=$(($(date +%s) / 60))
NU=$(python3 "$HERE/alerts/ocsp_flood.py" "$TMP/o/root.pem" "$URL/" 500)
M1=$(($(date +%s) / 60))
K=$((M1 - M0 + 1)) # minutes the flood spanned
sleep 4
"$PCACTL" --json alerts list >"$TMP/l2.json"
set -- $(python3 -c 'import json,sys
j = json.load(open(sys.argv[1]))["Alerts"]
k = [a["kind"] for a in j]
f = sum(a["detail"]["count"] for a in j if a["kind"] == "ocsp_unknown_flood")
print(len(j), k.count("ocsp_unknown_serial"), k.count("ocsp_unknown_flood"), f)
' "$TMP/l2.json")
# $1 alerts stored, $2 unknown-serial alerts, $3 flood alerts, $4 counted
[ "${NU:-0}" -ge 100 ] && [ "$2" -ge 2 ] && [ "$2" -le $((1 + 5 * K)) ] &&
    [ "$3" -ge 1 ] && [ "$3" -le "$K" ] && [ "$1" = $((NB + $2 - 1 + $3)) ] &&
    [ $(($2 - 1 + $4)) -ge "$NU" ] &&
    ok "500 unknown serials: <= 5 a minute + one flood alert a minute" ||
    not_ok "500 unknown serials: <= 5 a minute + one flood alert a minute" \
	"unknown answers $NU, minutes $K, stored/serial/flood/counted $*"
wait_lines "$((NB + $2 - 1 + $3))" && sleep 2 &&
    [ "$(lines)" = "$(sort -u "$TMP/rx.log" | wc -l)" ] &&
    [ "$(kind_count ocsp_unknown_flood)" = "$3" ] &&
    ok "webhook: each OCSP alert POSTed once" ||
    not_ok "webhook: each OCSP alert POSTed once" "$(cat "$TMP/rx.log")"
curl -sf "$URL/metrics" |
    grep -q '^pcad_alerts_raised_total{kind="ocsp_unknown_flood"} [1-9]' &&
    ok "metrics: ocsp_unknown_flood counted" ||
    not_ok "metrics: ocsp_unknown_flood counted"

# a revocation burst: 5 revocations by the OCSP CA in one window (floor 3)
RV=""
for k in 1 2 3 4 5; do
	ec_csr "$TMP/rv$k.csr" "rv$k.example.com" &&
	    "$PCACTL" issue --ca "$OROOT" --csr "$TMP/rv$k.csr" --signing-alg \
		SHA256WITHECDSA --validity 30d --out "$TMP/rv$k.pem" \
		>/dev/null && RV="$RV $k"
done
window_start
for k in $RV; do
	"$PCACTL" revoke --ca "$OROOT" --serial "$(openssl x509 -in \
	    "$TMP/rv$k.pem" -noout -serial | cut -d= -f2)" --reason \
	    KEY_COMPROMISE >/dev/null
done
sleep 4
[ "$RV" = " 1 2 3 4 5" ] && [ "$(kind_count revocation_burst)" = 1 ] &&
    grep -q "^revocation_burst revrate/" "$TMP/rx.log" &&
    ok "a burst of 5 revocations raises one revocation_burst alert" ||
    not_ok "a burst of 5 revocations raises one revocation_burst alert" \
	"$RV $(cat "$TMP/rx.log")"

# refusals: a policy bound to a CA of its own refuses validities over 10
# days; every pcactl issue below is refused (principal "pcactl")
mkdir -p "$TMP/r"
RROOT=$(make_root "$TMP/r" EC_prime256v1 SHA256WITHECDSA "Refusing Root") ||
    not_ok "a CA for the refusals"
cat >"$A/policies.conf" <<EOP
[policy tenday]
base = web_server
max_validity_days = 10

[bind]
$RROOT = tenday
EOP
printf '\n[policy]\nfile = %s\n' "$A/policies.conf" >>"$A/pcad.conf"
refuse() { # refuse N: N refused issuances at once; 0 if all were refused
	rp=""
	for k in $(seq "$1"); do
		ec_csr "$TMP/rf$k.csr" "rf$k.example.com" &&
		    "$PCACTL" issue --ca "$RROOT" --csr "$TMP/rf$k.csr" \
			--signing-alg SHA256WITHECDSA --validity 365d \
			>/dev/null 2>"$TMP/rf$k.err" &
		rp="$rp $!"
	done
	rf=0
	for p in $rp; do wait "$p" && rf=1; done
	# each refused by the rule, none failing on the token first (SoftHSM
	# rewrites its token file on every login: hsm_open tries again)
	[ $rf = 0 ] && [ "$(grep -l "rule validity.max_days" \
	    $(seq -f "$TMP/rf%g.err" "$1") | wc -l)" = "$1" ]
}
spikes() { grep -c '^refusal_spike refrate/pcactl|tenday:validity.max_days' \
    "$TMP/rx.log"; }
window_start
refuse 1 && window_start && refuse 1 &&
    ok "refusals: a policy rule refuses once a window" ||
    not_ok "refusals: a policy rule refuses once a window" \
	"$(cat "$TMP/rf1.err")"
sleep 3
[ "$(spikes)" = 0 ] && ok "a refusal a window raises nothing" ||
    not_ok "a refusal a window raises nothing" "$(cat "$TMP/rx.log")"
window_start
refuse 10 && ok "ten pcactl runs at once: each refused by the rule" ||
    not_ok "ten pcactl runs at once: each refused by the rule" \
	"$(cat "$TMP"/rf*.err | sort | uniq -c)"
sleep 4
[ "$(spikes)" = 1 ] && [ "$(kind_count refusal_spike)" = 1 ] &&
    ok "ten refusals in a window (baseline 1) raise one refusal_spike" ||
    not_ok "ten refusals in a window (baseline 1) raise one refusal_spike" \
	"$(cat "$TMP/rx.log"; tail -5 "$A/pcad.log")"
stop_pcad
refuse 3 # counted while pcad is down, read after the restart
start_pcad && sleep 4 && [ "$(kind_count refusal_spike)" = 1 ] &&
    [ "$(lines)" = "$(sort -u "$TMP/rx.log" | wc -l)" ] &&
    ok "after a restart no refusal_spike is raised or sent again" ||
    not_ok "after a restart no refusal_spike is raised or sent again" \
	"$(cat "$TMP/rx.log")"
"$PCACTL" --json alerts list >"$TMP/l3.json" && python3 -c 'import json,sys
a = [x for x in json.load(open(sys.argv[1]))["Alerts"]
     if x["kind"] == "refusal_spike"]
d = a[0]["detail"]
assert len(a) == 1 and d["principal"] == "pcactl", a
assert d["rule"].startswith("tenday:validity.max_days") and d["count"] >= 4, d
' "$TMP/l3.json" && curl -sf "$URL/metrics" |
    grep -q '^pcad_alerts_raised_total{kind="refusal_spike"} 0$' &&
    ok "the alert names principal, rule and count; metrics since start" ||
    not_ok "the alert names principal, rule and count; metrics since start" \
	"$(cat "$TMP/l3.json")"

# an ACME account: 7 orders at once (floor 3, no baseline) raise one
# issuance_rate alert, in whichever window holds more than 3 of them
API=https://$(awk '/^\[api\]/{s=1} s&&/^listen/{print $3; exit}' \
    "$A/pcad.conf")
CAID=${OROOT##*/}
window_start
set -- $(unset AWS_CA_BUNDLE; python3 "$HERE/alerts/acme_burst.py" \
    "$API/acme/$CAID/directory" "$A/tls/ca.pem" "$H01" 7 2>"$TMP/acme.err")
ACCT=${1:-none}
sleep 4
[ "${2:-0}" = 7 ] &&
    [ "$(grep -c "^issuance_rate rate/acme:$ACCT/" "$TMP/rx.log")" = 1 ] &&
    [ "$(grep -c "^first_template_use first/acme:$ACCT|" "$TMP/rx.log")" = 1 ] &&
    ok "an ACME account's burst of 7 raises one issuance_rate alert" ||
    not_ok "an ACME account's burst of 7 raises one issuance_rate alert" \
	"account $ACCT issued ${2:-0}: $(cat "$TMP/acme.err"; cat "$TMP/rx.log")"
"$PCACTL" --json alerts list | python3 -c 'import json,sys
a = [x for x in json.load(sys.stdin)["Alerts"] if x["kind"] ==
     "issuance_rate" and x["detail"]["principal"] == "acme:" + sys.argv[1]]
assert len(a) == 1 and a[0]["detail"]["acme_account"] == sys.argv[1], a
' "$ACCT" && ok "the alert names the ACME account" ||
    not_ok "the alert names the ACME account"

# IAM denials: an auditor key asking 7 times at once to issue is denied
# each time (AccessDeniedException); with no baseline (floor 3) that raises
# one refusal_spike for (key, iam:IssueCertificate)
"$PCACTL" key create --role auditor --json >"$TMP/aud.json" 2>&1 ||
    not_ok "an auditor key" "$(cat "$TMP/aud.json")"
AUD=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["AccessKeyId"])' \
    "$TMP/aud.json")
window_start
(unset AWS_CA_BUNDLE; python3 - "$TMP/aud.json" "$API" "$A/tls/ca.pem" \
    "$RROOT" "$TMP/rf1.csr" <<'PY'
import json, sys, threading
import boto3, botocore
k = json.load(open(sys.argv[1]))
c = boto3.client("acm-pca", region_name="us-east-1", endpoint_url=sys.argv[2],
                 verify=sys.argv[3], aws_access_key_id=k["AccessKeyId"],
                 aws_secret_access_key=k["SecretAccessKey"])
csr = open(sys.argv[5], "rb").read()
denied = []
def one():
    try:
        c.issue_certificate(CertificateAuthorityArn=sys.argv[4], Csr=csr,
                            SigningAlgorithm="SHA256WITHECDSA",
                            Validity={"Value": 5, "Type": "DAYS"})
    except botocore.exceptions.ClientError as e:
        denied.append(e.response["Error"]["Code"])
ts = [threading.Thread(target=one) for _ in range(7)]
for t in ts: t.start()
for t in ts: t.join()
sys.exit(0 if denied == ["AccessDeniedException"] * 7 else 1)
PY
) >"$TMP/iam.err" 2>&1 && ok "an auditor key is denied IssueCertificate 7 times" ||
    not_ok "an auditor key is denied IssueCertificate 7 times" \
	"$(cat "$TMP/iam.err")"
sleep 4
[ "$(grep -c "^refusal_spike refrate/$AUD|iam:IssueCertificate/" \
    "$TMP/rx.log")" = 1 ] &&
    ok "7 IAM denials of a key raise one refusal_spike" ||
    not_ok "7 IAM denials of a key raise one refusal_spike" \
	"$AUD $(cat "$TMP/rx.log")"
stop_pcad
finish
