#!/bin/sh
# Soak test (make soak; not in make check): API issuance and OCSP load
# together against one pcad for SOAK_SECONDS (default 600), sampling pcad's
# memory (VmRSS, RssAnon from /proc/<pid>/status) and open descriptors every
# SOAK_SAMPLE seconds (default 10).  Prints the samples, the growth after
# the warm-up (SOAK_WARMUP seconds, default 60, at most a quarter of the
# run), the issuance rate and p99 (bench/api_load) and OCSP req/s and p99
# (wrk over SOAK_OCSP_CERTS certificates' requests, POST).
# Fails (exit 1) when anonymous memory grew 5% or more after the warm-up
# (SOAK_MAX_GROWTH_PCT), when descriptors grew by more than 32, or when a
# load generator reported errors.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-bin}
BUILD=${BUILD:-build}
case "$BIN" in /*) ;; *) BIN="$ROOT/$BIN" ;; esac
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
SECS=${SOAK_SECONDS:-600}
STEP=${SOAK_SAMPLE:-10}
WARM=${SOAK_WARMUP:-60}
[ "$WARM" -gt $((SECS / 4)) ] && WARM=$((SECS / 4))
MAXG=${SOAK_MAX_GROWTH_PCT:-5}
API_CONNS=${SOAK_API_CONNS:-8}
OCSP_CONNS=${SOAK_OCSP_CONNS:-32}
NCERTS=${SOAK_OCSP_CERTS:-20}
LOAD="$BUILD/bench/api_load"
T=$(mktemp -d /tmp/openpca-soak.XXXXXX)
PIDS=""

stop_pid() {
	kill -TERM "$1" 2>/dev/null || return 0
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}
cleanup() {
	for p in $PIDS; do stop_pid "$p"; done
	PIDS=""
	[ -n "${SOAK_KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
free_ports() {
	python3 -c '
import socket, sys
s = [socket.socket() for _ in range(int(sys.argv[1]))]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))' "$1"
}
for f in "$BIN/pcad" "$BIN/pcactl" "$LOAD"; do
	[ -x "$f" ] || { echo "soak: $f not built" >&2; exit 2; }
done
command -v wrk >/dev/null || { echo "soak: wrk missing (make deps)" >&2; exit 2; }

# shellcheck disable=SC2046 # two words wanted
set -- $(free_ports 2)
API_PORT=$1
HTTP_PORT=$2
"$BIN/pcactl" init "$T/app" --api-port "$API_PORT" --http-port "$HTTP_PORT" \
    >"$T/init.log" 2>&1 || { cat "$T/init.log" >&2; exit 2; }
export PCACTL_CONFIG="$T/app/pcad.conf"
URL="http://127.0.0.1:$HTTP_PORT"
REGION=$(sed -n 's/^region *= *//p' "$T/app/pcad.conf" | head -1)
echo '{"OcspConfiguration":{"Enabled":true}}' >"$T/rev.json"
CA=$("$BIN/pcactl" ca create --type ROOT --key-alg EC_prime256v1 \
    --signing-alg SHA256WITHECDSA --subject "CN=Soak Root,O=OpenPCA,C=US" \
    --revocation-json "$T/rev.json") &&
    "$BIN/pcactl" ca csr "$CA" --out "$T/root.csr" &&
    "$BIN/pcactl" issue --ca "$CA" --csr "$T/root.csr" \
	--signing-alg SHA256WITHECDSA --validity 10y \
	--template RootCACertificate --out "$T/root.pem" >/dev/null &&
    "$BIN/pcactl" ca import "$CA" --cert "$T/root.pem" >/dev/null ||
    { echo "soak: CA set-up failed" >&2; exit 2; }
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/leaf.key" -subj /CN=soak.example.com \
    -addext subjectAltName=DNS:soak.example.com -out "$T/leaf.csr" 2>/dev/null
i=1
while [ $i -le "$NCERTS" ]; do
	"$BIN/pcactl" issue --ca "$CA" --csr "$T/leaf.csr" \
	    --signing-alg SHA256WITHECDSA --validity 30d --out "$T/c$i.pem" \
	    >/dev/null || { echo "soak: issuing failed" >&2; exit 2; }
	openssl ocsp -issuer "$T/root.pem" -cert "$T/c$i.pem" -no_nonce \
	    -reqout "$T/req$i.der" >/dev/null 2>&1
	i=$((i + 1))
done
# wrk: POST the requests of the NCERTS certificates in turn
{
	echo 'local reqs = {}'
	i=1
	while [ $i -le "$NCERTS" ]; do
		echo "do local f = io.open(\"$T/req$i.der\", \"rb\");" \
		    "reqs[#reqs + 1] = f:read(\"*all\"); f:close() end"
		i=$((i + 1))
	done
	cat <<'LUA'
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/ocsp-request"
request = function()
	n = n + 1
	return wrk.format(nil, "/", nil, reqs[(n % #reqs) + 1])
end
LUA
} >"$T/post.lua"

"$BIN/pcad" --config "$T/app/pcad.conf" >"$T/pcad.log" 2>&1 &
PCAD=$!
PIDS="$PCAD"
i=0
until [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/health")" = 200 ] ||
    [ $i -ge 300 ]; do sleep 0.1; i=$((i + 1)); done
kill -0 "$PCAD" 2>/dev/null || { tail -20 "$T/pcad.log" >&2; exit 2; }
sleep 2

echo "== soak: ${SECS}s of API issuance ($API_CONNS connections) and OCSP" \
    "($OCSP_CONNS connections, $NCERTS certificates), samples every ${STEP}s," \
    "warm-up ${WARM}s"
"$LOAD" --endpoint "https://127.0.0.1:$API_PORT/" --cacert "$T/app/tls/ca.pem" \
    --creds "$T/app/credentials" --region "$REGION" --ca-arn "$CA" \
    --csr "$T/leaf.csr" --seconds "$SECS" --conns "$API_CONNS" --label soak \
    >"$T/api.out" 2>"$T/api.err" &
APIL=$!
wrk --latency -t1 -c"$OCSP_CONNS" -d"${SECS}s" -s "$T/post.lua" "$URL/" \
    >"$T/wrk.out" 2>&1 &
WRK=$!
PIDS="$APIL $WRK $PCAD"

sample() { # t: "t rss_kb anon_kb fds"
	rss=$(awk '/^VmRSS:/{print $2}' "/proc/$PCAD/status" 2>/dev/null)
	anon=$(awk '/^RssAnon:/{print $2}' "/proc/$PCAD/status" 2>/dev/null)
	fds=$(ls "/proc/$PCAD/fd" 2>/dev/null | wc -l)
	echo "$1 ${rss:-0} ${anon:-0} $fds"
}
printf '%6s %10s %10s %5s\n' t_s rss_kb anon_kb fds
t=0
: >"$T/samples"
while [ $t -lt "$SECS" ] && kill -0 "$PCAD" 2>/dev/null; do
	sample "$t" | tee -a "$T/samples" | awk '{printf "%6d %10d %10d %5d\n", $1, $2, $3, $4}'
	sleep "$STEP"
	t=$((t + STEP))
done
wait "$APIL"
API_RC=$?
wait "$WRK"
PIDS="$PCAD"
certs=$(curl -s "$URL/metrics" | awk '$1 == "pcad_ocsp_presigned_entries" {print $2}')
hit=$(curl -s "$URL/metrics" | awk '$1 == "pcad_ocsp_cache_hit_ratio" {print $2}')
kill -0 "$PCAD" 2>/dev/null && ALIVE=1 || ALIVE=0

rc=0
awk -v warm="$WARM" -v maxg="$MAXG" '
	$1 >= warm && !base { base = 1; a0 = $3; r0 = $2; f0 = $4 }
	{ a1 = $3; r1 = $2; f1 = $4; amax = $3 > amax ? $3 : amax }
	END {
		if (!base || a0 == 0) { print "soak: no sample after the warm-up"; exit 1 }
		ga = 100 * (a1 - a0) / a0
		printf "memory after warm-up: RssAnon %d -> %d kB (%+.1f%%, peak %d kB)," \
		    " VmRSS %d -> %d kB (%+.1f%%), fds %d -> %d\n", a0, a1, ga, amax,
		    r0, r1, 100 * (r1 - r0) / r0, f0, f1
		exit (ga >= maxg || f1 - f0 > 32) ? 1 : 0
	}' "$T/samples" || rc=1
sed 's/^api soak /api issuance: /' "$T/api.out"
[ "$API_RC" = 0 ] || { echo "soak: api_load failed:"; tail -5 "$T/api.err"; rc=1; }
rps=$(awk '/^Requests\/sec/{print int($2)}' "$T/wrk.out")
p99=$(awk '$1=="99%"{print $2}' "$T/wrk.out")
bad=$(awk '/Non-2xx/{print $NF}' "$T/wrk.out")
echo "ocsp: req/s=${rps:-0} p99=${p99:-?} non2xx=${bad:-0}" \
    "pre-signed certificates=${certs:-?} cache hit ratio=${hit:-?}"
[ -z "$bad" ] || rc=1
[ "$ALIVE" = 1 ] || { echo "soak: pcad died"; tail -20 "$T/pcad.log"; rc=1; }
[ $rc = 0 ] && echo "soak: PASS" || echo "soak: FAIL"
exit $rc
