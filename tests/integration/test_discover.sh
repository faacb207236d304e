#!/bin/sh
# Certificate discovery end to end: openssl s_server on loopback presenting
# one of our certificates (with our root), an external chain, a self-signed
# and an expired certificate, plus a port where nothing listens and a
# recording listener outside the configured ports.  pcactl discover finds
# exactly those four, imports them (ours matched to its record, externals
# recorded once however often seen), pcactl cert import adds files; the
# inventory, the compliance report and the expiry webhook show them; pcad's
# [discovery] job scans on its own; OpenPCA.ListCertificates lists them
# (Origin EXTERNAL/ALL, discover/api_ext.py); the outside port is never
# contacted.
. "$(dirname "$0")/lib.sh"

need_built "$PCAD" "$PCACTL"
need_python cryptography
need_python boto3
A=$TMP/app
PIDS=""
CLEANUP='for p in $PIDS; do kill "$p" 2>/dev/null; done'

# serve PORT CERT KEY [CHAIN]: s_server on 127.0.0.1:PORT (log PORT.log)
serve() {
	openssl s_server -accept "127.0.0.1:$1" -cert "$2" -key "$3" \
	    ${4:+-cert_chain "$4"} -www </dev/null >"$TMP/$1.log" 2>&1 &
	PIDS="$PIDS $!"
}
listening() { # listening PORT: a TCP connect succeeds
	python3 -c 'import socket,sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$1"
}
wait_posts() { wait_lines "$TMP/rx.log" "$1" 200; } # N POSTs within 20 s
jq_py() { # jq_py FILE EXPR: python expression over j (the JSON of FILE)
	python3 -c 'import json,sys
j = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(" ".join(map(str, v)) if isinstance(v, tuple) else v)' "$1" "$2"
}

new_appliance "$A" || { not_ok "pcactl init"; finish; exit 1; }
URL=$(http_url "$A/pcad.conf")
ROOT=$(make_root "$TMP" EC_prime256v1 SHA256WITHECDSA) ||
    { not_ok "root CA"; finish; exit 1; }
CAID=${ROOT##*/}
ec_csr "$TMP/ours.csr" ours.example.com
"$PCACTL" issue --ca "$ROOT" --csr "$TMP/ours.csr" --signing-alg \
    SHA256WITHECDSA --validity 365d --out "$TMP/ours.pem" >/dev/null &&
    python3 "$HERE/discover/certs.py" "$TMP" && ok "certificates made" ||
    { not_ok "certificates made"; finish; exit 1; }
OURS_SERIAL=$(openssl x509 -in "$TMP/ours.pem" -noout -serial |
    sed 's/serial=//' | tr 'A-F' 'a-f')

P_OURS=$(free_port)
P_EXT=$(free_port)
P_SELF=$(free_port)
P_OLD=$(free_port)
P_NONE=$(free_port)
P_OUT=$(free_port)
P_JOB=$(free_port)
serve "$P_OURS" "$TMP/ours.pem" "$TMP/ours.csr.key" "$TMP/root.pem"
serve "$P_EXT" "$TMP/ext_leaf.pem" "$TMP/ext_leaf.key" "$TMP/ext_root.pem"
serve "$P_SELF" "$TMP/selfsigned.pem" "$TMP/selfsigned.key"
serve "$P_OLD" "$TMP/expired.pem" "$TMP/expired.key"
# the outside port: a listener that records every connection it accepts
python3 -c 'import socket,sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
while True:
    c, a = s.accept()
    open(sys.argv[2], "a").write("connection from %s:%d\n" % a)
    c.close()' "$P_OUT" "$TMP/outside.log" &
PIDS="$PIDS $!"
for p in $P_OURS $P_EXT $P_SELF $P_OLD $P_OUT; do
	wait_up "$$" 100 listening "$p" || { not_ok "servers listen"; finish
	    exit 1; }
done
ok "TLS servers listen"

rm -f "$TMP/outside.log" # our own readiness probe above
check_fails "discover: a bad target is refused" "host:port" "$PCACTL" \
    discover 127.0.0.1:notaport
check_fails "discover: --ports without --cidr is refused" "with --cidr" \
    "$PCACTL" discover --ports 443
check_fails "discover: a CIDR range wider than /16 is refused" "/16" \
    "$PCACTL" discover --cidr 10.0.0.0/8 --ports 443

printf '# scan list\n127.0.0.1:%s\n127.0.0.1:%s\n\n127.0.0.1:%s\n' \
    "$P_OURS" "$P_EXT" "$P_SELF" >"$TMP/targets"
"$PCACTL" --json discover --targets "$TMP/targets" 127.0.0.1:"$P_OLD" \
    127.0.0.1:"$P_NONE" --timeout-ms 3000 >"$TMP/d0.json" 2>"$TMP/d0.err" &&
    [ "$(jq_py "$TMP/d0.json" 'j["Up"], j["Scanned"], j["Imported"]')" = \
    "4 5 False" ] && ok "discover: 4 of the 5 configured endpoints answer" ||
    not_ok "discover: 4 of the 5 configured endpoints answer" \
	"$(cat "$TMP/d0.json" "$TMP/d0.err")"
[ "$(jq_py "$TMP/d0.json" '[e["Endpoint"].split(":")[1] for e in
    j["Endpoints"] if not e["Ok"]]')" = "['$P_NONE']" ] &&
    ok "discover: the port with nothing is reported down" ||
    not_ok "discover: the port with nothing is reported down"
"$PCACTL" --json cert list --external >"$TMP/l0.json" &&
    [ "$(jq_py "$TMP/l0.json" 'len(j["Certificates"])')" = 0 ] &&
    ok "discover without --import records nothing" ||
    not_ok "discover without --import records nothing" "$(cat "$TMP/l0.json")"

"$PCACTL" --json discover --targets "$TMP/targets" 127.0.0.1:"$P_OLD" \
    127.0.0.1:"$P_NONE" --import >"$TMP/d1.json" 2>"$TMP/d1.err" &&
    [ "$(jq_py "$TMP/d1.json" 'j["Ours"], j["External"], j["NewExternal"]')" \
    = "2 4 4" ] && ok "discover --import: 2 of ours, 4 external" ||
    not_ok "discover --import: 2 of ours, 4 external" \
	"$(cat "$TMP/d1.json" "$TMP/d1.err")"
"$PCACTL" --json discover --cidr 127.0.0.1/32 --ports "$P_EXT,$P_SELF" \
    --import --sni ext.example.com >"$TMP/d2.json" 2>&1 &&
    [ "$(jq_py "$TMP/d2.json" 'j["Up"], j["NewExternal"]')" = "2 0" ] &&
    ok "discover --cidr: seen again, nothing duplicated" ||
    not_ok "discover --cidr: seen again, nothing duplicated" \
	"$(cat "$TMP/d2.json")"

"$PCACTL" --json cert list --external >"$TMP/l1.json" 2>&1
[ "$(jq_py "$TMP/l1.json" 'sorted(c["Subject"].split("CN=")[1].split("/")[0]
    for c in j["Certificates"])')" = \
    "['Ext Root', 'ext.example.com', 'old.example.com', 'self.example.com']" ] &&
    ok "inventory: the 4 external certificates" ||
    not_ok "inventory: the 4 external certificates" "$(cat "$TMP/l1.json")"
[ "$(jq_py "$TMP/l1.json" '[(c["Source"], len(c["SeenAt"]),
    sorted(e["sni"] for e in c["SeenAt"])) for c in j["Certificates"]
    if "ext.example.com" in c["Subject"]]')" = \
    "[('EXTERNAL', 2, ['', 'ext.example.com'])]" ] &&
    ok "inventory: where and with which SNI it was seen, once each" ||
    not_ok "inventory: where and with which SNI it was seen, once each" \
	"$(cat "$TMP/l1.json")"
[ "$(jq_py "$TMP/l1.json" 'sorted((c["Subject"].split("CN=")[1].split("/")[0],
    c["Status"], sorted(c["Findings"])) for c in j["Certificates"]
    if c["Findings"])')" = "[('Ext Root', 'ISSUED', ['SELF_SIGNED']), \
('old.example.com', 'EXPIRED', ['EXPIRED']), \
('self.example.com', 'ISSUED', ['SELF_SIGNED'])]" ] &&
    ok "inventory: expired and self-signed findings" ||
    not_ok "inventory: expired and self-signed findings" \
	"$(cat "$TMP/l1.json")"
"$PCACTL" --json cert list --external --status EXPIRED >"$TMP/l2.json" &&
    [ "$(jq_py "$TMP/l2.json" 'len(j["Certificates"])')" = 1 ] &&
    ok "inventory: --status EXPIRED filter" ||
    not_ok "inventory: --status EXPIRED filter" "$(cat "$TMP/l2.json")"
"$PCACTL" --json cert show --ca "$ROOT" --serial "$OURS_SERIAL" \
    >"$TMP/ours.json" 2>&1 &&
    [ "$(jq_py "$TMP/ours.json" '[e["where"] for e in j["SeenAt"]]')" = \
    "['127.0.0.1:$P_OURS']" ] &&
    ok "ours: matched to its record, the endpoint added" ||
    not_ok "ours: matched to its record, the endpoint added" \
	"$(cat "$TMP/ours.json")"
"$PCACTL" --json cert list --ca "$ROOT" >"$TMP/ol.json" &&
    [ "$(jq_py "$TMP/ol.json" 'len(j if isinstance(j, list) else
    j.get("Certificates", []))')" = 2 ] &&
    ok "ours: no duplicate record" ||
    not_ok "ours: no duplicate record" "$(cat "$TMP/ol.json")"

mkdir "$TMP/imp"
cp "$TMP/imported.der" "$TMP/imp/a.der"
cat "$TMP/ext_leaf.pem" "$TMP/ext_root.pem" >"$TMP/imp/chain.pem"
"$PCACTL" --json cert import "$TMP/imp" >"$TMP/i1.json" 2>&1 &&
    [ "$(jq_py "$TMP/i1.json" 'j["External"], j["NewExternal"]')" = "3 1" ] &&
    ok "cert import DIR: DER and a PEM chain" ||
    not_ok "cert import DIR: DER and a PEM chain" "$(cat "$TMP/i1.json")"
"$PCACTL" cert import "$TMP/ours.pem" >"$TMP/i2.out" 2>&1 &&
    grep -q "1 of ours, 0 external" "$TMP/i2.out" &&
    ok "cert import FILE: ours recognised" ||
    not_ok "cert import FILE: ours recognised" "$(cat "$TMP/i2.out")"
printf 'garbage\n' >"$TMP/bad.pem"
check_fails "cert import: garbage is refused" "bad.pem" "$PCACTL" cert \
    import "$TMP/bad.pem"

"$PCACTL" --json report >"$TMP/rep.json" 2>&1 &&
    [ "$(jq_py "$TMP/rep.json" 'j["Summary"]["ExternalCertificates"]')" = 5 ] &&
    ok "report: 5 external certificates" ||
    not_ok "report: 5 external certificates" "$(cat "$TMP/rep.json")"
[ "$(jq_py "$TMP/rep.json" 'sorted(f for c in j["External"]
    if "old.example.com" in c["Subject"] for f in c["Findings"])')" = \
    "['EXPIRED', 'UNKNOWN_ISSUER']" ] &&
[ "$(jq_py "$TMP/rep.json" 'sorted(f for c in j["External"]
    if "ext.example.com" in c["Subject"] for f in c["Findings"])')" = \
    "['EXPIRING_SOON']" ] &&
    ok "report: unknown issuer, expired, expiring soon" ||
    not_ok "report: unknown issuer, expired, expiring soon" \
	"$(cat "$TMP/rep.json")"
"$PCACTL" report | grep -q "External certificates (5)" &&
    ok "report: table lists external certificates" ||
    not_ok "report: table lists external certificates"

# pcad: the expiry webhook and the scheduled [discovery] job
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$TMP/job.key" -subj "/CN=job.example.com" -days 100 \
    -out "$TMP/job.pem" 2>/dev/null
serve "$P_JOB" "$TMP/job.pem" "$TMP/job.key"
wait_up "$$" 100 listening "$P_JOB" || not_ok "job server listens"
python3 "$HERE/webhook/receiver.py" "$TMP/rx.port" "$TMP/rx.log" &
PIDS="$PIDS $!"
i=0
while [ ! -s "$TMP/rx.port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
cat >>"$A/pcad.conf" <<EOC

[webhook]
url = http://127.0.0.1:$(cat "$TMP/rx.port")/hook
thresholds_days = 30,7,1
interval_s = 1

[discovery]
targets = 127.0.0.1:$P_JOB, 127.0.0.1:$P_NONE
interval_s = 3600
concurrency = 2
timeout_ms = 2000
rate = 5
EOC
check "pcad --check-config accepts [discovery]" "$PCAD" --config \
    "$A/pcad.conf" --check-config
printf '\n[discovery]\ncidr = 10.0.0.0/8\nports = 443\n' >"$TMP/bad.conf"
cat "$A/pcad.conf" "$TMP/bad.conf" >"$A/bad.conf"
check_fails "pcad --check-config refuses a /8 range" "discovery" "$PCAD" \
    --config "$A/bad.conf" --check-config
start_pcad && ok "pcad starts" || not_ok "pcad starts" "$(tail "$A/pcad.log")"
# ext.example.com (20 days) and self.example.com (15): each once, at 30
wait_posts 2 && sleep 2 &&
    [ "$(grep -c '^external/' "$TMP/rx.log")" = 2 ] &&
    [ "$(sort -u "$TMP/rx.log" | wc -l)" = "$(wc -l <"$TMP/rx.log")" ] &&
    ok "webhook: the 2 external certificates expiring within 30 days" ||
    not_ok "webhook: the 2 external certificates expiring within 30 days" \
	"$(cat "$TMP/rx.log")"
i=0
while [ $i -lt 100 ]; do
	"$PCACTL" --json cert list --external --subject job.example.com \
	    >"$TMP/job.json" 2>/dev/null &&
	    [ "$(jq_py "$TMP/job.json" 'len(j["Certificates"])')" = 1 ] && break
	sleep 0.2
	i=$((i + 1))
done
[ $i -lt 100 ] && ok "[discovery] job: pcad found the scheduled target" ||
    not_ok "[discovery] job: pcad found the scheduled target" \
	"$(tail "$A/pcad.log")"
# OpenPCA.ListCertificates with Origin (discover/api_ext.py, signed calls)
python3 "$HERE/discover/api_ext.py" "$N" "$ROOT" "$OURS_SERIAL" \
    "127.0.0.1:$P_OURS" >"$TMP/api_ext.tap" 2>&1
rc=$?
cat "$TMP/api_ext.tap"
N=$((N + $(grep -c '^\(not \)\{0,1\}ok ' "$TMP/api_ext.tap")))
[ "$rc" -eq 0 ] || FAILS=$((FAILS + 1))
stop_pcad
start_pcad && sleep 3 && [ "$(grep -c '^external/' "$TMP/rx.log")" = 2 ] &&
    ok "webhook: not sent again after a restart" ||
    not_ok "webhook: not sent again after a restart" "$(cat "$TMP/rx.log")"
stop_pcad
[ ! -s "$TMP/outside.log" ] &&
    ok "the port outside the configuration was never contacted" ||
    not_ok "the port outside the configuration was never contacted" \
	"$(cat "$TMP/outside.log")"
finish
