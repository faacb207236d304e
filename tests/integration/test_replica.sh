#!/bin/sh
# The read path through S3 (issue 16): a primary pcad publishes every
# pre-signed OCSP response to moto_server ([ocsp] publish); two
# `pcad --role responder` replicas answer from that layout with their own
# LMDB cache; nginx (Debian) serves RFC 5019 GETs straight from the bucket
# by a rewrite.  Checked with `openssl ocsp` (POST to the replicas, -respin
# for what nginx returns), verified against the root.  Then S3 goes away:
# the replicas keep answering and say "degraded"; it comes back: they catch
# up.  REPLICA_BOUND_S (default 5) is how long a revocation may take to
# reach both replicas.  TAP lines.
. "$(dirname "$0")/lib.sh"

need_built "$PCAD" "$PCACTL"
command -v moto_server >/dev/null || die "needs moto_server"
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] ||
    die "needs nginx (make deps)"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
BOUND=${REPLICA_BOUND_S:-5}
BUCKET=ocsp-pub
R1_PID=""
R2_PID=""
NG_PID=""
CLEANUP='for p in $R1_PID $R2_PID $NG_PID; do kill $p 2>/dev/null; wait $p 2>/dev/null; done'

# status URL CERT [ARGS]: (ARGS before -cert: -sha256) the status word openssl ocsp prints after a
# verified answer ("" when it is not verified)
status() {
	st_url=$1
	st_cert=$2
	shift 2
	out=$(openssl ocsp -issuer "$TMP/root.pem" "$@" -cert "$st_cert" \
	    -url "$st_url" -CAfile "$TMP/root.pem" -no_nonce 2>&1)
	printf '%s' "$out" | grep -q "Response verify OK" || { echo; return; }
	printf '%s\n' "$out" | sed -n "s|^$st_cert: ||p" | head -1
}
# expect NAME WANT URL CERT [ARGS]
expect() {
	ex_name=$1
	ex_want=$2
	shift 2
	# a replica follows S3 within 5 s (issue 16): asks for 10 s at most
	ex_i=0
	while got=$(status "$@") && [ "$got" != "$ex_want" ] &&
	    [ $ex_i -lt 50 ]; do
		sleep 0.2
		ex_i=$((ex_i + 1))
	done
	[ "$got" = "$ex_want" ] && ok "$ex_name" ||
	    not_ok "$ex_name" "wanted $ex_want, got '$got'"
}
mk_bucket() {
	curl -sf -X PUT "$MOTO_URL/$BUCKET" >/dev/null
}
# moto on a fixed port (a restart keeps the replicas' endpoint)
moto_up() {
	moto_server -H 127.0.0.1 -p "$MOTO_PORT" >>"$TMP/moto.log" 2>&1 &
	MOTO_PID=$!
	wait_up "$MOTO_PID" 300 python3 -c 'import socket,sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' \
	    "$MOTO_PORT" && mk_bucket
}
health() { curl -s "http://$1/health"; }

start_moto && mk_bucket || die "moto_server does not start"
new_appliance "$A" || die "pcactl init failed"
URL=$(http_url "$A/pcad.conf")
printf '[default]\naws_access_key_id = test\naws_secret_access_key = test\n' \
    >"$A/s3.cred"
sed -i "s|^\[ocsp\]\$|[ocsp]\npublish = s3://$BUCKET/pfx|" "$A/pcad.conf"
cat >>"$A/pcad.conf" <<EOF

[s3]
endpoint = $MOTO_URL
region = us-east-1
credentials_file = s3.cred
timeout_s = 2
retry_max_s = 2
EOF
echo '{"OcspConfiguration":{"Enabled":true},"CrlConfiguration":{"Enabled":true,"ExpirationInDays":7,"S3BucketName":"'$BUCKET'"}}' >"$TMP/ocsp.json"
ROOT=$(make_root "$TMP" EC_prime256v1 SHA256WITHECDSA "Replica Root" \
    --revocation-json "$TMP/ocsp.json")
if [ -n "$ROOT" ] && issue_leaf "$ROOT" leaf1 && issue_leaf "$ROOT" leaf2 &&
    issue_leaf "$ROOT" leaf3; then
	ok "setup: root CA with OCSP and CRLs, three leaves, [ocsp] publish to moto"
else
	not_ok "setup"
	finish
	exit 1
fi
pcad_up "primary pcad starts"

# replicas: the primary's configuration, other ports, a cache of their own
for r in r1 r2; do
	sed -e "/^\[api\]/,/^\[/s|^listen = .*|listen = 127.0.0.1:$(free_port)|" \
	    -e "/^\[http\]/,/^\[/s|^listen = .*|listen = 127.0.0.1:$(free_port)|" \
	    "$A/pcad.conf" >"$A/$r.conf"
	printf '\n[responder]\ncache = %s-cache\npoll_ms = 300\n' "$r" \
	    >>"$A/$r.conf"
done
R1=$(awk '/^\[http\]/{s=1} s&&/^listen/{print $3; exit}' "$A/r1.conf")
R2=$(awk '/^\[http\]/{s=1} s&&/^listen/{print $3; exit}' "$A/r2.conf")
"$PCAD" --role responder --config "$A/r1.conf" >>"$A/r1.log" 2>&1 &
R1_PID=$!
"$PCAD" --role responder --config "$A/r2.conf" >>"$A/r2.log" 2>&1 &
R2_PID=$!
if wait_up "$R1_PID" 200 curl -sf "http://$R1/health" &&
    wait_up "$R2_PID" 200 curl -sf "http://$R2/health"; then
	ok "two pcad --role responder replicas start"
else
	not_ok "two replicas start" "$(tail -5 "$A/r1.log" "$A/r2.log")"
	finish
	exit 1
fi

# the layout in S3: per-CA manifest, CertID keys (SHA-1 and SHA-256), GET
# keys; waits (30 s at most) until all of them are there, since the outbox
# drains in the background
sn1=$(cert_serial "$TMP/leaf1.pem" | tr 'A-F' 'a-f' | sed 's/^00//')
layout_ok() {
	keys=$(curl -s "$MOTO_URL/$BUCKET?list-type=2&prefix=pfx/ocsp/" |
	    grep -o '<Key>[^<]*</Key>' | sed 's/<[^>]*>//g')
	printf '%s\n' "$keys" | grep -q '^pfx/ocsp/manifest/.*\.json$' &&
	    printf '%s\n' "$keys" |
	    grep -Eq "^pfx/ocsp/[0-9a-f]{40}/[0-9a-f]{40}/$sn1\$" &&
	    printf '%s\n' "$keys" |
	    grep -Eq "^pfx/ocsp/[0-9a-f]{64}/[0-9a-f]{64}/$sn1\$" &&
	    printf '%s\n' "$keys" | grep -q '^pfx/ocsp/get/MF'
}
i=0
until layout_ok || [ $i -ge 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
if layout_ok; then
	ok "S3 layout: manifest, CertID keys (SHA-1, SHA-256), GET keys"
else
	not_ok "S3 layout" "$keys"
fi

for r in "$R1" "$R2"; do
	expect "replica $r: good (POST, SHA-1), verified" good "http://$r" \
	    "$TMP/leaf1.pem"
done
expect "replica: good for a SHA-256 CertID" good "http://$R1" \
    "$TMP/leaf2.pem" -sha256
out=$(openssl ocsp -issuer "$TMP/root.pem" -serial 0x1234567 \
    -url "http://$R2" -no_nonce 2>&1)
printf '%s' "$out" | grep -q "unauthorized (6)" &&
    ok "replica: a serial never published is unauthorized (no signing)" ||
    not_ok "replica: unknown serial" "$out"

# a revocation on the primary reaches both replicas within BOUND seconds
t0=$(date +%s%N)
"$PCACTL" revoke --ca "$ROOT" --serial "$(cert_serial "$TMP/leaf1.pem")" \
    --reason KEY_COMPROMISE >/dev/null || not_ok "pcactl revoke"
d1="" d2=""
i=0
while [ $i -lt $((BOUND * 20 + 40)) ] && { [ -z "$d1" ] || [ -z "$d2" ]; }; do
	now=$((($(date +%s%N) - t0) / 1000000))
	[ -z "$d1" ] && [ "$(status "http://$R1" "$TMP/leaf1.pem")" = revoked ] &&
	    d1=$now
	[ -z "$d2" ] && [ "$(status "http://$R2" "$TMP/leaf1.pem")" = revoked ] &&
	    d2=$now
	sleep 0.05
	i=$((i + 1))
done
if [ -n "$d1" ] && [ -n "$d2" ] && [ "$d1" -le $((BOUND * 1000)) ] &&
    [ "$d2" -le $((BOUND * 1000)) ]; then
	ok "revocation answered revoked by both replicas (${d1} ms, ${d2} ms)"
else
	not_ok "revocation reaches both replicas within ${BOUND} s" \
	    "r1: ${d1:-never} ms, r2: ${d2:-never} ms"
fi

# CRLs from the bucket through the replicas
CAID=${ROOT##*/}
i=0
until curl -sf -o "$TMP/r.crl" "http://$R1/crl/$CAID.crl" &&
    openssl crl -inform DER -in "$TMP/r.crl" -noout -text 2>/dev/null |
    grep -q "$(cert_serial "$TMP/leaf1.pem")" || [ $i -ge 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
if [ $i -lt 100 ] && openssl crl -inform DER -in "$TMP/r.crl" \
    -CAfile "$TMP/root.pem" -noout 2>&1 | grep -q "verify OK"; then
	ok "replica GET /crl/<CA id>.crl: the CRL from S3, verified, lists the revocation"
else
	not_ok "replica CRL" "$(curl -s "http://$R1/crl/$CAID.crl" | head -c 200)"
fi

# nginx in front of the bucket: GET /ocsp/<base64> -> pfx/ocsp/get/<base64>
NG_PORT=$(free_port)
mkdir -p "$TMP/ng"
cat >"$TMP/ng/nginx.conf" <<EOF
worker_processes 1;
pid $TMP/ng/nginx.pid;
error_log $TMP/ng/error.log;
events { worker_connections 64; }
http {
	access_log $TMP/ng/access.log;
	client_body_temp_path $TMP/ng/body;
	proxy_temp_path $TMP/ng/proxy;
	fastcgi_temp_path $TMP/ng/fastcgi;
	uwsgi_temp_path $TMP/ng/uwsgi;
	scgi_temp_path $TMP/ng/scgi;
	server {
		listen 127.0.0.1:$NG_PORT;
		merge_slashes off;
$(sed -n '/^# BEGIN nginx/,/^# END nginx/p' "$ROOTDIR/docs/readpath.md" |
    sed '1d;$d' | sed "s|http://S3|$MOTO_URL|; s|BUCKET/PREFIX|$BUCKET/pfx|")
	}
}
EOF
"$NGINX" -c "$TMP/ng/nginx.conf" -p "$TMP/ng" -e "$TMP/ng/error.log" \
    -g 'daemon off;' \
    >>"$TMP/ng/stderr.log" 2>&1 &
NG_PID=$!
wait_up "$NG_PID" 100 curl -s -o /dev/null "http://127.0.0.1:$NG_PORT/" ||
    not_ok "nginx starts" "$(cat "$TMP/ng/stderr.log" "$TMP/ng/error.log")"
# get NAME CERT WANT: the canonical request, base64, URL-encoded (RFC 5019)
get() {
	openssl ocsp -issuer "$TMP/root.pem" -cert "$2" -no_nonce \
	    -reqout "$TMP/req.der" >/dev/null 2>&1
	enc=$(python3 -c 'import base64,sys,urllib.parse
print(urllib.parse.quote(base64.b64encode(open(sys.argv[1],"rb").read()).decode(), safe=""))' \
	    "$TMP/req.der")
	rm -f "$TMP/resp.der"
	code=$(curl -s -o "$TMP/resp.der" -w '%{http_code}' \
	    "http://127.0.0.1:$NG_PORT/ocsp/$enc")
	out=$(openssl ocsp -respin "$TMP/resp.der" -issuer "$TMP/root.pem" \
	    -cert "$2" -CAfile "$TMP/root.pem" 2>&1)
	if [ "$code" = 200 ] &&
	    printf '%s' "$out" | grep -q "Response verify OK" &&
	    printf '%s' "$out" | grep -q ": $3\$"; then
		ok "$1"
	else
		not_ok "$1" "HTTP $code; $out; $(tail -3 "$TMP/ng/access.log")"
	fi
}
get "nginx GET /ocsp/<base64> from the S3 layout: good, openssl accepts" \
    "$TMP/leaf2.pem" good
get "nginx GET after the revocation: revoked, openssl accepts" \
    "$TMP/leaf1.pem" revoked

# S3 goes away: the replicas answer what they hold and say degraded
for r in "$R1" "$R2"; do
	status "http://$r" "$TMP/leaf2.pem" >/dev/null # held from here on
done
stop_moto
i=0
until health "$R1" | grep -q '"degraded"' &&
    health "$R2" | grep -q '"degraded"' || [ $i -ge 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ $i -lt 100 ] && ok "S3 down: /health of both replicas says degraded" ||
    not_ok "S3 down: /health degraded" "$(health "$R1") $(health "$R2")"
for r in "$R1" "$R2"; do
	expect "S3 down: replica $r still answers revoked" revoked \
	    "http://$r" "$TMP/leaf1.pem"
	expect "S3 down: replica $r still answers good" good \
	    "http://$r" "$TMP/leaf2.pem"
done

# S3 comes back (empty: moto keeps nothing); the next change is followed
moto_up || not_ok "moto_server restarts"
i=0
until health "$R1" | grep -q '"status":"ok"' &&
    health "$R2" | grep -q '"status":"ok"' || [ $i -ge 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ $i -lt 100 ] && ok "S3 back: /health ok again" ||
    not_ok "S3 back: /health ok" "$(health "$R1") $(health "$R2")"
"$PCACTL" revoke --ca "$ROOT" --serial "$(cert_serial "$TMP/leaf3.pem")" \
    --reason SUPERSEDED >/dev/null || not_ok "pcactl revoke (2)"
i=0
until [ "$(status "http://$R1" "$TMP/leaf3.pem")" = revoked ] &&
    [ "$(status "http://$R2" "$TMP/leaf3.pem")" = revoked ] ||
    [ $i -ge $((BOUND * 10 + 100)) ]; do
	sleep 0.1
	i=$((i + 1))
done
[ $i -lt $((BOUND * 10 + 100)) ] &&
    ok "S3 back: a new revocation reaches both replicas" ||
    not_ok "S3 back: new revocation" "$(tail -5 "$A/r1.log")"
expect "S3 back: the earlier revocation still answered" revoked \
    "http://$R2" "$TMP/leaf1.pem"
# moto came back empty: the CRL is in the bucket again once the primary
# has republished it for the new revocation (the OCSP objects may land
# first); a replica answers 404 meanwhile, as the bucket does
i=0
until curl -sf -o "$TMP/r2.crl" "http://$R2/crl/$CAID.crl" &&
    openssl crl -inform DER -in "$TMP/r2.crl" -noout -text 2>/dev/null |
    grep -q "$(cert_serial "$TMP/leaf3.pem")" ||
    [ $i -ge $((BOUND * 10 + 100)) ]; do
	sleep 0.1
	i=$((i + 1))
done
[ $i -lt $((BOUND * 10 + 100)) ] && openssl crl -inform DER \
    -in "$TMP/r2.crl" -CAfile "$TMP/root.pem" -noout 2>&1 |
    grep -q "verify OK" &&
    ok "S3 down and back: the replica serves the republished CRL" ||
    not_ok "replica CRL after the outage" \
	"$(curl -s -o /dev/null -w '%{http_code}' "http://$R2/crl/$CAID.crl")"

# the primary's outbox drained, and how fast moto took the PUTs
m=$(curl -s "$URL/metrics")
puts=$(printf '%s\n' "$m" | sed -n 's/^pcad_s3_puts_total //p')
printf '%s\n' "$m" | grep -q '^pcad_s3_put_failures_total' &&
    ok "primary: ${puts:-0} objects published through the outbox" ||
    not_ok "primary S3 metrics" "$m"
finish
