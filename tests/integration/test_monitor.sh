#!/bin/sh
# Monitoring end to end: certificates with known properties issued offline
# (an RSA-2048 five-year certificate under what becomes a code_signing CA,
# P-384 ones expiring in 3 days and in 20, one revoked), then pcad with a webhook
# receiver: /metrics counts, the compliance report (pcactl report), and
# each (certificate, threshold) notified once across a pcad restart.
. "$(dirname "$0")/lib.sh"

A=$TMP/app
RX_PID=""
CLEANUP='[ -n "$RX_PID" ] && kill "$RX_PID" 2>/dev/null'
wait_posts() { wait_lines "$TMP/rx.log" "$1" 100; } # N POSTs within 10 s
metric() { # metric REGEX: the value of the one matching sample
	curl -sf "$URL/metrics" | grep -E "^$1 " | awk '{print $2}'
}
end_in() { # end_in SECONDS: --validity end:... that far from now
	date -u -d "@$(($(date +%s) + $1))" +end:%Y%m%d%H%M%S
}
issue() { # issue CSR VALIDITY: prints the serial (hex)
	"$PCACTL" issue --ca "$ROOT" --csr "$1" --signing-alg SHA256WITHECDSA \
	    --validity "$2" --out "$1.pem" >/dev/null || return 1
	openssl x509 -in "$1.pem" -noout -serial | sed 's/serial=//' |
	    tr 'A-F' 'a-f'
}

new_appliance "$A" || { not_ok "pcactl init"; finish; exit 1; }
URL="http://$(sed -n 's/^listen *= *//p' "$A/pcad.conf" | tail -1)"
ROOT=$(make_root "$TMP" EC_prime256v1 SHA256WITHECDSA) ||
    { not_ok "root CA"; finish; exit 1; }
CAID=${ROOT##*/}
openssl req -new -newkey rsa:2048 -nodes -keyout "$TMP/rsa.key" \
    -subj "/CN=signer.example.com" -out "$TMP/rsa.csr" 2>/dev/null
ec_csr "$TMP/e3.csr" three.example.com P-384
ec_csr "$TMP/e20.csr" twenty.example.com P-384
ec_csr "$TMP/e1y.csr" year.example.com P-384
S_RSA=$(issue "$TMP/rsa.csr" 5y) && S3=$(issue "$TMP/e3.csr" \
    "$(end_in $((3 * 86400)))") && S20=$(issue "$TMP/e20.csr" \
    "$(end_in $((20 * 86400)))") && S1Y=$(issue "$TMP/e1y.csr" 365d) &&
    "$PCACTL" revoke --ca "$ROOT" --serial "$S1Y" --reason KEY_COMPROMISE \
	>/dev/null && ok "certificates issued offline" ||
    { not_ok "certificates issued offline"; finish; exit 1; }

python3 "$HERE/webhook/receiver.py" "$TMP/rx.port" \
    "$TMP/rx.log" &
RX_PID=$!
i=0
while [ ! -s "$TMP/rx.port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
printf '[bind]\n%s = code_signing\n' "$CAID" >"$A/policies.conf"
cat >>"$A/pcad.conf" <<EOC

[policy]
file = policies.conf

[webhook]
url = http://127.0.0.1:$(cat "$TMP/rx.port")/hook
thresholds_days = 30,7,1
interval_s = 1
timeout_s = 5
EOC
check "pcad --check-config accepts [webhook]" "$PCAD" --config \
    "$A/pcad.conf" --check-config

start_pcad && ok "pcad starts" || not_ok "pcad starts" "$(tail "$A/pcad.log")"
wait_posts 2 && ok "webhook: first notifications arrive" ||
    not_ok "webhook: first notifications arrive" "$(cat "$TMP/rx.log")"
sleep 1
M='pcad_certificates\{ca="'$CAID'",status='
# the root's self-issued certificate is the fourth
[ "$(metric "$M\"active\"\}")" = 4 ] && ok "metrics: 4 active" ||
    not_ok "metrics: 4 active" "$(curl -s "$URL/metrics" | grep cert)"
[ "$(metric "$M\"revoked\"\}")" = 1 ] && ok "metrics: 1 revoked" ||
    not_ok "metrics: 1 revoked"
E='pcad_certificates_expiring\{ca="'$CAID'",within='
[ "$(metric "$E\"7d\"\}")" = 1 ] && [ "$(metric "$E\"30d\"\}")" = 2 ] &&
    ok "metrics: expiring within 7 / 30 days" ||
    not_ok "metrics: expiring within 7 / 30 days"
v=$(metric 'pcad_ca_certificate_expiry_seconds\{ca="'$CAID'"\}')
[ -n "$v" ] && [ "$v" -gt $((9 * 365 * 86400)) ] &&
    ok "metrics: CA certificate expiry" || not_ok "metrics: CA expiry ($v)"
[ -n "$(metric 'pcad_issuance_duration_seconds_count')" ] &&
    [ "$(metric 'pcad_hsm_healthy')" = 1 ] &&
    curl -sf "$URL/metrics" | grep -q '^# TYPE pcad_policy_refusals_total' &&
    ok "metrics: latency histogram, HSM health, refusals" ||
    not_ok "metrics: latency histogram, HSM health, refusals"

stop_pcad
start_pcad && ok "pcad restarts" || not_ok "pcad restarts"
sleep 3
stop_pcad
want=$(printf '%s\n' "$CAID/$S20/30" "$CAID/$S3/7" | sort)
got=$(sort "$TMP/rx.log")
[ "$got" = "$want" ] && ok "webhook: each threshold once across a restart" ||
    not_ok "webhook: each threshold once across a restart" \
	"want: $want
got: $got"

"$PCACTL" report --json >"$TMP/rep.json" 2>&1 && ok "pcactl report --json" ||
    not_ok "pcactl report --json" "$(cat "$TMP/rep.json")"
python3 - "$TMP/rep.json" "$S_RSA" "$S3" "$S20" "$S1Y" <<'EOP' &&
import json, sys
r = json.load(open(sys.argv[1]))
rsa, s3, s20, s1y = sys.argv[2:]
ser = lambda k: sorted(x["Serial"] for x in r[k])
assert ser("WeakKeys") == [rsa], r["WeakKeys"]
assert "key.rsa_min_bits" in r["WeakKeys"][0]["Reason"], r["WeakKeys"]
assert ser("OutlivingPolicy") == [rsa], r["OutlivingPolicy"]
assert ser("ExpiringSoon") == sorted([s3, s20]), r["ExpiringSoon"]
assert ser("Sha1") == [], r["Sha1"]
assert r["CaCertificatesExpiring"] == [], r["CaCertificatesExpiring"]
assert r["Summary"]["LiveCertificates"] == 4, r["Summary"]
EOP
    ok "report: weak key, outliving policy, expiring soon" ||
    not_ok "report: weak key, outliving policy, expiring soon"
"$PCACTL" report | grep -q "weak keys  *1" && ok "pcactl report: table" ||
    not_ok "pcactl report: table" "$("$PCACTL" report 2>&1 | head)"
finish
