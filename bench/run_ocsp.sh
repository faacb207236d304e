#!/bin/sh
# OCSP benchmark (part of make bench): wrk on loopback, one run, side by side:
#   ours     pcad's responder, pre-signed, POST and GET
#   openssl  `openssl ocsp -index ... -port` on the same certificates
#            (RSA-2048 delegated signer; restarted per run because it wedges
#            after a load run; inside `unshare -n` since it binds every
#            interface, so wrk runs in that namespace too)
#   cfssl    `cfssl ocspserve` on our pre-signed responses (POST only: its
#            GET is broken in Debian's 2016 build)
#   ceiling  bench/ocsp_ceiling: libmicrohttpd returning a fixed 1.5 KB body
# Prints req/s, p99 and the ratios against the targets; asserts nothing
# except that our responder still answers after the run.
. "$(dirname "$0")/lib.sh"
SECS=${BENCH_SECONDS:-10}
CONNS=${OCSP_CONNS:-64}
NCERTS=${OCSP_CERTS:-40}
T=$(mktemp -d /tmp/openpca-bench-ocsp.XXXXXX)
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	[ -n "${OCSP_BENCH_KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT INT TERM
free_port() {
	python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'
}
for tool in wrk cfssl openssl unshare; do
	command -v $tool >/dev/null || { echo "run_ocsp: $tool missing (make deps)"; exit 1; }
done

echo "== OCSP: pcad responder vs openssl ocsp vs cfssl ocspserve vs MHD ceiling"
echo "   (wrk -t2 -c$CONNS -d${SECS}s, loopback, $NCERTS certificates)"
HP=$(free_port)
"$BIN/pcactl" init "$T/app" --api-port "$(free_port)" --http-port "$HP" >/dev/null || exit 1
export PCACTL_CONFIG="$T/app/pcad.conf"
URL="http://127.0.0.1:$HP"
echo '{"OcspConfiguration":{"Enabled":true}}' >"$T/rev.json"
CA=$("$BIN/pcactl" ca create --type ROOT --key-alg RSA_2048 \
    --signing-alg SHA256WITHRSA --subject "CN=Bench Root,O=OpenPCA,C=US" \
    --revocation-json "$T/rev.json") || exit 1
"$BIN/pcactl" ca csr "$CA" --out "$T/root.csr" &&
    "$BIN/pcactl" issue --ca "$CA" --csr "$T/root.csr" --signing-alg SHA256WITHRSA \
	--validity 10y --template RootCACertificate --out "$T/root.pem" >/dev/null &&
    "$BIN/pcactl" ca import "$CA" --cert "$T/root.pem" >/dev/null || exit 1
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/leaf.key" -subj /CN=bench.example.com -out "$T/leaf.csr" 2>/dev/null
: >"$T/index.txt"
echo "unique_subject = no" >"$T/index.txt.attr" # same subject, many serials
i=1
while [ $i -le "$NCERTS" ]; do
	"$BIN/pcactl" issue --ca "$CA" --csr "$T/leaf.csr" --signing-alg SHA256WITHRSA \
	    --validity 30d --out "$T/c$i.pem" >/dev/null || exit 1
	s=$(openssl x509 -in "$T/c$i.pem" -noout -serial | cut -d= -f2)
	e=$(date -u -d "$(openssl x509 -in "$T/c$i.pem" -noout -enddate | cut -d= -f2)" +%y%m%d%H%M%SZ)
	if [ $((i % 10)) -eq 0 ]; then
		"$BIN/pcactl" revoke --ca "$CA" --serial "$s" --reason KEY_COMPROMISE >/dev/null
		printf 'R\t%s\t%s,keyCompromise\t%s\tunknown\t/CN=bench.example.com\n' \
		    "$e" "$(date -u +%y%m%d%H%M%SZ)" "$s" >>"$T/index.txt"
	else
		printf 'V\t%s\t\t%s\tunknown\t/CN=bench.example.com\n' "$e" "$s" >>"$T/index.txt"
	fi
	i=$((i + 1))
done
# a software RSA responder for openssl ocsp, certified by our CA
openssl req -new -newkey rsa:2048 -nodes -keyout "$T/rsp.key" \
    -subj /CN=openssl-ocsp -out "$T/rsp.csr" 2>/dev/null
"$BIN/pcactl" issue --ca "$CA" --csr "$T/rsp.csr" --signing-alg SHA256WITHRSA \
    --validity 30d --template OCSPSigningCertificate --out "$T/rsp.pem" >/dev/null || exit 1

"$BIN/pcad" --config "$T/app/pcad.conf" >"$T/pcad.log" 2>&1 &
PCAD=$!
PIDS="$PCAD"
i=0
until curl -s "$URL/metrics" | grep -q "^pcad_ocsp_presigned_entries $((NCERTS + 2))" ||
    [ $i -ge 300 ]; do sleep 0.1; i=$((i + 1)); done
openssl ocsp -issuer "$T/root.pem" -cert "$T/c1.pem" -reqout "$T/req.der" -no_nonce >/dev/null 2>&1
GETPATH=/$(python3 -c "import base64,sys,urllib.parse;print(urllib.parse.quote(base64.b64encode(open(sys.argv[1],'rb').read()).decode(),safe=''))" "$T/req.der")
# the pre-signed responses, one base64 DER per line, for cfssl
i=1
while [ $i -le "$NCERTS" ]; do
	openssl ocsp -issuer "$T/root.pem" -cert "$T/c$i.pem" -url "$URL" -no_nonce \
	    -noverify -respout "$T/r.der" >/dev/null 2>&1 && base64 -w0 "$T/r.der" >>"$T/dump.b64" &&
	    echo >>"$T/dump.b64"
	i=$((i + 1))
done

cat >"$T/post.lua" <<EOF
local f = io.open("$T/req.der", "rb")
wrk.method = "POST"
wrk.body = f:read("*all")
f:close()
wrk.headers["Content-Type"] = "application/ocsp-request"
-- no connect probe: it wedges openssl ocsp (openssl#31129)
function wrk.resolve(host, service) wrk.addrs = wrk.lookup(host, service) end
EOF
cat >"$T/get.lua" <<EOF
wrk.method = "GET"
function wrk.resolve(host, service) wrk.addrs = wrk.lookup(host, service) end
EOF

# run NAME SCRIPT URL [netns-prefix]: "req/s p99ms non2xx" into $T/NAME
run() {
	wrk --latency -t2 -c"$CONNS" -d"${SECS}s" -s "$2" "$3" >"$T/$1.wrk" 2>&1
	summarize "$1"
}
summarize() {
	rps=$(awk '/^Requests\/sec/{print int($2)}' "$T/$1.wrk")
	p99=$(awk '$1=="99%"{v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000}
		else if (v ~ /ms$/) sub(/ms/,"",v); else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}
		printf "%.2f", v}' "$T/$1.wrk")
	bad=$(awk '/Non-2xx/{print $NF}' "$T/$1.wrk")
	echo "${rps:-0} ${p99:-0} ${bad:-0}" >"$T/$1"
}

run ours_post "$T/post.lua" "$URL/"
run ours_get "$T/get.lua" "$URL$GETPATH"
after=$(openssl ocsp -issuer "$T/root.pem" -cert "$T/c1.pem" -url "$URL" \
    -CAfile "$T/root.pem" -no_nonce 2>&1)
printf '%s' "$after" | grep -q "c1.pem: good" &&
    printf '%s' "$after" | grep -q "Response verify OK" && ALIVE=yes || ALIVE=NO

CP=$(free_port)
"$BUILD/bench/ocsp_ceiling" "$CP" 2 >/dev/null &
PIDS="$PIDS $!"
sleep 0.3
run ceiling_post "$T/post.lua" "http://127.0.0.1:$CP/"

FP=$(free_port)
cfssl ocspserve -address 127.0.0.1 -port "$FP" -responses "$T/dump.b64" \
    >"$T/cfssl.log" 2>&1 &
PIDS="$PIDS $!"
sleep 0.5
run cfssl_post "$T/post.lua" "http://127.0.0.1:$FP/"

# openssl ocsp in its own network namespace, restarted for each run
for m in post get; do
	s=$T/post.lua; path=/
	[ $m = get ] && s=$T/get.lua && path=$GETPATH
	unshare -n sh -c "ip link set lo up
		openssl ocsp -index '$T/index.txt' -port 18001 -rsigner '$T/rsp.pem' \
		    -rkey '$T/rsp.key' -CA '$T/root.pem' -ignore_err >/dev/null 2>&1 &
		o=\$!; sleep 0.5
		wrk --latency -t2 -c$CONNS -d${SECS}s -s '$s' 'http://127.0.0.1:18001$path' \
		    >'$T/openssl_$m.wrk' 2>&1
		kill -9 \$o" 2>/dev/null
	summarize "openssl_$m"
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf("%.1f", a / b); else print "n/a" }'; }
printf '\n%-22s %10s %9s %8s\n' "server" "req/s" "p99 ms" "non-2xx"
for n in ours_post ours_get ceiling_post cfssl_post openssl_post openssl_get; do
	set -- $(cat "$T/$n")
	printf '%-22s %10s %9s %8s\n' "$n" "$1" "$2" "$3"
done
set -- $(cat "$T/ours_post"); OP=$1; OP99=$2
set -- $(cat "$T/ours_get"); OG=$1; OG99=$2
set -- $(cat "$T/ceiling_post"); CE=$1
set -- $(cat "$T/cfssl_post"); CF=$1
set -- $(cat "$T/openssl_post"); OS=$1
echo
pct() { awk -v a="$1" -v b="$2" 'BEGIN{ printf "%.0f%%", (b > 0 ? 100 * a / b : 0) }'; }
echo "ours POST / ceiling      $(pct "$OP" "$CE")   (target >= 60%)"
echo "ours GET  / ceiling      $(pct "$OG" "$CE")"
echo "ours POST / openssl ocsp $(ratio "$OP" "$OS")x   (target >= 25x)"
echo "ours POST / cfssl        $(ratio "$OP" "$CF")x   (target >= 4x)"
echo "ours p99 POST / GET      ${OP99} / ${OG99} ms at $CONNS connections   (target < 5 ms)"
echo "responder answers after the load run: $ALIVE"
[ "$ALIVE" = yes ]
