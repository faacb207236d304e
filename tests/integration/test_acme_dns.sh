#!/bin/sh
# ACME dns-01 (RFC 8555 8.4), wildcards and CAA (RFC 8659) end to end with
# real parts from Debian: knotd serves the zone "test." on a loopback port
# and takes TSIG-signed dynamic updates (RFC 2136); certbot
# (python3-certbot-dns-rfc2136) and lego (rfc2136 provider) publish their
# TXT records through it and obtain certificates, wildcards included; pcad
# validates through c-ares with [acme] resolver pointed at knotd and checks
# CAA with [acme] caa_identities.  Chains are checked with openssl verify;
# both clients then renew and revoke, and the revoked serials are looked up
# with openssl ocsp and in the CRL (acme/lifecycle.sh).
# CAA: another CA named (at the name and at a parent), our identity named,
# issuewild restrictions, an unknown critical property, a SERVFAIL, the
# RFC 8657 validationmethods parameter.  Then acme/dns_client.py: what
# wildcard authorizations offer, a wrong TXT value, a resolver that does
# not answer (bounded).  TAP lines.
. "$(dirname "$0")/lib.sh"
. "$HERE/acme/lifecycle.sh"

need_built "$PCAD" "$PCACTL"
unset AWS_CA_BUNDLE
KNOTD=$(command -v knotd || echo /usr/sbin/knotd)
if [ ! -x "$KNOTD" ] || ! command -v knsupdate >/dev/null; then
	skip "ACME dns-01 and CAA" "knot (knotd, knsupdate) is not installed"
	finish
	exit 0
fi
python3 -c 'import cryptography' 2>/dev/null ||
    die "python3 lacks cryptography (make deps)"

# ---- knotd: zone test., TSIG key acme-key may update it ----
KP=$(free_port)
KS=$(head -c 32 /dev/urandom | base64)
K=$TMP/knot
mkdir -p "$K/run" "$K/db" "$K/zones"
cat >"$K/knot.conf" <<EOC
server:
    rundir: "$K/run"
    listen: 127.0.0.1@$KP
database:
    storage: "$K/db"
key:
  - id: acme-key
    algorithm: hmac-sha256
    secret: $KS
acl:
  - id: update
    key: acme-key
    action: update
template:
  - id: default
    storage: "$K/zones"
    file: "%s.zone"
    zonefile-sync: -1
zone:
  - domain: test
    acl: update
  - domain: broken.test
log:
  - target: stderr
    any: warning
EOC
cat >"$K/zones/test.zone" <<'EOZ'
$ORIGIN test.
$TTL 1
@ SOA ns.test. hostmaster.test. 1 60 60 3600 1
@ NS ns.test.
ns A 127.0.0.1
alias._acme-challenge.cname.test. CNAME _acme-challenge.target.test.
_acme-challenge.cname.test. CNAME alias._acme-challenge.cname.test.
EOZ
# (broken.test has no zone file: knotd answers SERVFAIL below it)
"$KNOTD" -c "$K/knot.conf" >"$K/knot.log" 2>&1 &
KNOT_PID=$!
CLEANUP="${CLEANUP:+$CLEANUP; }kill $KNOT_PID 2>/dev/null; wait $KNOT_PID 2>/dev/null"
i=0
until kdig_ok=$(kdig +short +timeout=1 @127.0.0.1 -p "$KP" SOA test. 2>/dev/null) &&
    [ -n "$kdig_ok" ] || [ $i -ge 50 ]; do
	sleep 0.2
	i=$((i + 1))
done
[ -n "$kdig_ok" ] || die "knotd did not start" "$(cat "$K/knot.log")"
nsup() {
	{
		echo "server 127.0.0.1 $KP"
		echo "zone test."
		echo "key hmac-sha256:acme-key $KS"
		for l in "$@"; do echo "$l"; done
		echo send
		echo quit
	} | knsupdate
}
export KNOT_PORT=$KP KNOT_SECRET=$KS

# ---- pcad ----
api_appliance
H01=$(free_port)
acme_conf "$H01" 3 "resolver = 127.0.0.1:$KP" \
    "caa_identities = pki.openpca.test"
sed 's/^resolver = .*/resolver = dns.example:53/' "$A/pcad.conf" >"$A/bad1.conf"
check_fails "a resolver that is not IP[:port]: one error line" \
    "\[acme\] resolver must be" "$PCAD" --config "$A/bad1.conf" --check-config
sed 's/^caa_identities = .*/caa_identities = *.example.net/' "$A/pcad.conf" \
    >"$A/bad2.conf"
check_fails "caa_identities that are not DNS names: one error line" \
    "\[acme\] caa_identities must be" "$PCAD" --config "$A/bad2.conf" \
    --check-config
acme_start "ACME DNS Root" acme-dns-crl

check "the directory lists meta.caaIdentities" sh -c \
    "curl -sf --cacert '$CABUNDLE' '$DIR' | grep -q '\"caaIdentities\":\[\"pki.openpca.test\"\]'"

# ---- certbot (dns-rfc2136): a name and its wildcard ----
CB=$TMP/certbot
cat >"$TMP/rfc2136.ini" <<EOC
dns_rfc2136_server = 127.0.0.1
dns_rfc2136_port = $KP
dns_rfc2136_name = acme-key
dns_rfc2136_secret = $KS
dns_rfc2136_algorithm = HMAC-SHA256
EOC
chmod 600 "$TMP/rfc2136.ini"
cb() {
	REQUESTS_CA_BUNDLE=$CABUNDLE timeout 240 certbot --non-interactive \
	    --config-dir "$CB/etc" --work-dir "$CB/work" --logs-dir "$CB/log" \
	    --server "$DIR" --agree-tos -m ops@example.test "$@"
}
if command -v certbot >/dev/null &&
    /usr/bin/python3 -c 'import certbot_dns_rfc2136' 2>/dev/null; then
	if out=$(cb certonly --authenticator dns-rfc2136 \
	    --dns-rfc2136-credentials "$TMP/rfc2136.ini" \
	    --dns-rfc2136-propagation-seconds 1 \
	    -d cb.test -d '*.cb.test' 2>&1); then
		ok "certbot obtains cb.test and *.cb.test by dns-01 (RFC 2136 updates to knotd)"
	else
		not_ok "certbot obtains cb.test and *.cb.test by dns-01" "$out
$(tail -20 "$A/pcad.log")"
	fi
	check "certbot's chain verifies with openssl verify" \
	    openssl verify -CAfile "$ROOT" -untrusted \
	    "$CB/etc/live/cb.test/chain.pem" "$CB/etc/live/cb.test/cert.pem"
	check "the certificate names DNS:*.cb.test" sh -c \
	    "openssl x509 -in '$CB/etc/live/cb.test/cert.pem' -noout -ext subjectAltName | grep -q 'DNS:\*\.cb\.test'"
	CBC=$CB/etc/live/cb.test/cert.pem
	S1=$(cert_serial "$CBC")
	check "certbot renews by dns-01 (--force-renewal)" cb renew \
	    --force-renewal --no-random-sleep-on-renew
	check_renewed "certbot's renewal is a new certificate" "$S1" "$CBC"
	check "certbot revokes" cb revoke --cert-path "$CBC" \
	    --reason keycompromise --no-delete-after-revoke
	check_revoked "certbot (dns-01)" "$CBC"
else
	skip "certbot dns-01" "certbot or python3-certbot-dns-rfc2136 missing"
fi

# ---- lego (rfc2136 provider) ----
LG=$TMP/lego
lego_run() {
	RFC2136_NAMESERVER=127.0.0.1:$KP RFC2136_TSIG_KEY=acme-key \
	    RFC2136_TSIG_SECRET=$KS RFC2136_TSIG_ALGORITHM=hmac-sha256. \
	    RFC2136_TTL=1 RFC2136_PROPAGATION_TIMEOUT=60 \
	    RFC2136_POLLING_INTERVAL=1 LEGO_CA_CERTIFICATES=$CABUNDLE \
	    timeout 240 lego --server "$DIR" --path "$LG" --accept-tos \
	    --email ops@example.test --dns rfc2136 \
	    --dns.resolvers "127.0.0.1:$KP" --dns.disable-cp "$@"
}
# lego_caa NAME DOMAIN...: the order fails with the caa problem
lego_caa() {
	lc_name=$1
	shift
	if out=$(lego_run "$@" run 2>&1); then
		not_ok "$lc_name" "issued"
	elif printf '%s' "$out" | grep -q 'urn:ietf:params:acme:error:caa'; then
		ok "$lc_name"
	else
		not_ok "$lc_name" "$out"
	fi
}
if command -v lego >/dev/null; then
	check "lego obtains lg.test and *.lg.test by dns-01" lego_run \
	    -d lg.test -d '*.lg.test' run
	check "lego's chain verifies with openssl verify" openssl verify \
	    -CAfile "$ROOT" "$LG/certificates/lg.test.crt"
	check "lego's certificate names DNS:*.lg.test" sh -c \
	    "openssl x509 -in '$LG/certificates/lg.test.crt' -noout -ext subjectAltName | grep -q 'DNS:\*\.lg\.test'"
	LGC=$LG/certificates/lg.test.crt
	S1=$(cert_serial "$LGC")
	check "lego renews by dns-01 (--days 400)" lego_run -d lg.test \
	    -d '*.lg.test' renew --days 400 --no-random-sleep
	check_renewed "lego's renewal is a new certificate" "$S1" "$LGC"
	check "lego revokes" lego_run -d lg.test revoke --keep
	check_revoked "lego (dns-01)" "$LGC"
	check "dns-01 follows a CNAME chain at _acme-challenge" lego_run \
	    -d cname.test run
	# CAA, tree climbing from the validated name
	nsup 'update add other.test. 1 CAA 0 issue "letsencrypt.org"' \
	    'update add ours.test. 1 CAA 0 issue "pki.openpca.test"' \
	    'update add wildonly.test. 1 CAA 0 issue "pki.openpca.test"' \
	    'update add wildonly.test. 1 CAA 0 issuewild ";"' \
	    'update add wildok.test. 1 CAA 0 issue "letsencrypt.org"' \
	    'update add wildok.test. 1 CAA 0 issuewild "pki.openpca.test"' \
	    'update add crit.test. 1 CAA 128 tbs "unknown"' \
	    'update add crit.test. 1 CAA 0 issue "pki.openpca.test"' \
	    'update add methods.test. 1 CAA 0 issue "pki.openpca.test; validationmethods=http-01"' ||
	    not_ok "knsupdate adds the CAA records"
	lego_caa "CAA naming another CA: the order fails with the caa problem" \
	    -d other.test
	lego_caa "a parent's CAA applies to a child (x.y.other.test)" \
	    -d x.y.other.test
	check "CAA naming our identity: issued" lego_run -d ours.test run
	check "a parent's CAA naming us: a child is issued" lego_run \
	    -d a.ours.test run
	lego_caa "issuewild \";\" forbids *.wildonly.test" -d '*.wildonly.test'
	check "issuewild \";\" leaves wildonly.test to issue" lego_run \
	    -d wildonly.test run
	check "issuewild naming us allows *.wildok.test" lego_run \
	    -d '*.wildok.test' run
	lego_caa "issue naming another CA still forbids wildok.test" \
	    -d wildok.test
	lego_caa "an unknown critical CAA property forbids" -d crit.test
	lego_caa "validationmethods=http-01 (RFC 8657) forbids dns-01" \
	    -d methods.test
	if out=$(LEGO_CA_CERTIFICATES=$CABUNDLE timeout 120 lego \
	    --server "$DIR" --path "$LG" --accept-tos --email ops@example.test \
	    --http --http.port "127.0.0.1:$H01" -d h.broken.test run 2>&1); then
		not_ok "a CAA SERVFAIL is an error, not a pass" "issued"
	elif printf '%s' "$out" | grep -q 'error:caa.*SERVFAIL'; then
		ok "a CAA SERVFAIL is an error, not a pass (caa problem)"
	else
		not_ok "a CAA SERVFAIL is an error, not a pass" "$out"
	fi
	# a wildcard is judged by the EAB key's name suffixes as written
	EAB=$("$PCACTL" acme eab create --ca "$ARN" --names eabw.test)
	KID=$(printf '%s\n' "$EAB" | awk '/^kid /{print $2}')
	HK=$(printf '%s\n' "$EAB" | awk '/^hmac_key /{print $2}')
	LG=$TMP/lego-eab
	check "EAB names eabw.test: *.x.eabw.test is issued" lego_run --eab \
	    --kid "$KID" --hmac "$HK" -d '*.x.eabw.test' run
	if out=$(lego_run -d '*.test' run 2>&1); then
		not_ok "EAB names eabw.test: *.test is rejectedIdentifier" "issued"
	elif printf '%s' "$out" | grep -q 'rejectedIdentifier'; then
		ok "EAB names eabw.test: *.test is rejectedIdentifier"
	else
		not_ok "EAB names eabw.test: *.test is rejectedIdentifier" "$out"
	fi
	LG=$TMP/lego
	check "pcad logged the CAA decision with the name it was found at" \
	    grep -q 'CAA at other.test (for x.y.other.test)' "$A/pcad.log"
else
	skip "lego dns-01 and CAA" "lego missing"
fi

# ---- the python client: offers, a wrong TXT, a resolver down ----
pyc() {
	acme_py "the python ACME client ran ($1)" dns_client.py "$DIR" \
	    "$CABUNDLE" "$@"
}
pyc offer offer.test
pyc wrong wrong.test

check "metrics count dns-01 validations" sh -c \
    "curl -sf '$URL/metrics' > '$TMP/m' && \
    grep -q 'pcad_acme_validations_total{type=\"dns-01\",result=\"valid\"} [1-9]' '$TMP/m' && \
    grep -q 'pcad_acme_validations_total{type=\"dns-01\",result=\"invalid\"} [1-9]' '$TMP/m'"

# ---- CAA found at validation serves 8 hours, then finalize checks again ----
pyc validate fresh.test,stale.test,staleok.test "$TMP/state.json"
nsup 'update add fresh.test. 1 CAA 0 issue "letsencrypt.org"' \
    'update add stale.test. 1 CAA 0 issue "letsencrypt.org"' ||
    not_ok "knsupdate adds the CAA records"
pyc finalize fresh.test "$TMP/state.json" valid
stop_pcad
OFFSET=$((9 * 3600))
pcad_env() { fake_env; }
echo "--- pcad restarted, clock +9 h" >>"$A/pcad.log"
start_pcad || die "pcad did not restart (+9 h)" "$(tail -20 "$A/pcad.log")"
pyc finalize stale.test "$TMP/state.json" caa
pyc finalize staleok.test "$TMP/state.json" valid
stop_pcad
OFFSET=0
pcad_env() { :; }
echo "--- pcad restarted, clock now" >>"$A/pcad.log"
start_pcad || die "pcad did not restart" "$(tail -20 "$A/pcad.log")"

# ---- a resolver that never answers: the failure is bounded ----
DP=$(free_port)
python3 -c 'import socket,sys,time
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)
s.bind(("127.0.0.1",int(sys.argv[1])))
time.sleep(900)' "$DP" &
SINK_PID=$!
CLEANUP="${CLEANUP:+$CLEANUP; }kill $SINK_PID 2>/dev/null"
sed -i "s/^resolver = .*/resolver = 127.0.0.1:$DP/;s/^caa_identities = .*/caa_identities = pki.openpca.test,down.openpca.test/" \
    "$A/pcad.conf"
kill -HUP "$PCAD_PID"
i=0
until curl -sf --cacert "$CABUNDLE" "$DIR" | grep -q down.openpca.test ||
    [ $i -ge 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
# timeout_s 3: two attempts of 3 s and a second between; generous bound
pyc down down.test 30
check "no ACME answer was a 5xx" sh -c \
    "! grep -E 'acme: .*: 5[0-9][0-9] ' '$A/pcad.log'"
kill "$SINK_PID" 2>/dev/null
wait "$SINK_PID" 2>/dev/null
finish
