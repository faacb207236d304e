#!/bin/sh
# Soak test (make soak; not in make check): API issuance and OCSP load
# together against one pcad for SOAK_SECONDS (default 600), while a feeder
# (tests/tools/inv_fill --pace, the store's own record path: reserve and
# complete, change feed, then pcad's OCSP pre-signing and monitor follow
# them like any issuance) tops the CA's certificates up so that at least
# SOAK_CERTS (default 1,000,000; 0: no feeder) are added over the run,
# whatever rate the API reaches on this machine.  Every SOAK_SAMPLE seconds
# (default 10) it samples the pcad front process: VmRSS and RssAnon
# (/proc/<pid>/status), open descriptors, threads, and the allocator's
# in-use and free bytes (pcad_malloc_* on /metrics); the signer process's
# RssAnon is shown alongside.  Prints the samples, the growth after the
# warm-up (SOAK_WARMUP seconds, default 60, at most a quarter of the run),
# the certificates added (API and feeder), the issuance rate and p99
# (bench/api_load) and OCSP req/s and p99 (wrk over SOAK_OCSP_CERTS
# certificates' requests, POST).
# Fails (exit 1) when anonymous memory grew 5% or more after the warm-up
# (SOAK_MAX_GROWTH_PCT; the mean of the last minute's samples against the
# mean of the first minute's after the warm-up; the peak and the trend over
# the second half of the run are printed too), when descriptors grew by more than 32, when fewer
# than SOAK_CERTS certificates were added, or when a load generator
# reported errors.
. "$(dirname "$0")/lib.sh"
SECS=${SOAK_SECONDS:-600}
STEP=${SOAK_SAMPLE:-10}
WARM=${SOAK_WARMUP:-60}
[ "$WARM" -gt $((SECS / 4)) ] && WARM=$((SECS / 4))
MAXG=${SOAK_MAX_GROWTH_PCT:-5}
API_CONNS=${SOAK_API_CONNS:-8}
OCSP_CONNS=${SOAK_OCSP_CONNS:-32}
NCERTS=${SOAK_OCSP_CERTS:-20}
CERTS=${SOAK_CERTS:-1000000}
LOAD="$BUILD/bench/api_load"
FILL="$BUILD/tools/inv_fill"
T=$(mktemp -d /tmp/openpca-soak.XXXXXX)
PIDS=""

cleanup() {
	for p in $PIDS; do stop_pid "$p"; done
	PIDS=""
	[ -n "${SOAK_KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
bench_need soak "$BIN/pcad" "$BIN/pcactl" "$LOAD" "$FILL" wrk || exit 2

bench_appliance "$T/app" || exit 2
REGION=$(sed -n 's/^region *= *//p' "$T/app/pcad.conf" | head -1)
echo '{"OcspConfiguration":{"Enabled":true}}' >"$T/rev.json"
CA=$(bench_root "CN=Soak Root,O=OpenPCA,C=US" \
    --revocation-json "$T/rev.json") ||
    { echo "soak: CA set-up failed" >&2; exit 2; }
bench_csr "$T" soak.example.com
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

bench_pcad 300
rc=$?
PIDS="$PCAD"
[ "$rc" -eq 0 ] || kill -0 "$PCAD" 2>/dev/null || exit 2
SIGNER=""
sleep 2
# the signer: the front's grandchild (front -> keeper -> signer)
for k in $(cat "/proc/$PCAD/task/$PCAD/children" 2>/dev/null); do
	SIGNER=$(cat "/proc/$k/task/$k/children" 2>/dev/null | awk '{print $1}')
done

echo "== soak: ${SECS}s of API issuance ($API_CONNS connections) and OCSP" \
    "($OCSP_CONNS connections, $NCERTS certificates), feeder to" \
    "$CERTS certificates, samples every ${STEP}s, warm-up ${WARM}s"
FEED=""
if [ "$CERTS" -gt 0 ]; then
	"$FILL" "$T/app/data" "$CERTS" "$(date +%s)" - --same-der \
	    --no-pending --revoke-every 0 --start 1000 --pace "$SECS" \
	    "${CA##*/}" >"$T/feed.out" 2>&1 &
	FEED=$!
fi
"$LOAD" --endpoint "https://127.0.0.1:$API_PORT/" --cacert "$T/app/tls/ca.pem" \
    --creds "$T/app/credentials" --region "$REGION" --ca-arn "$CA" \
    --csr "$T/leaf.csr" --seconds "$SECS" --conns "$API_CONNS" --label soak \
    >"$T/api.out" 2>"$T/api.err" &
APIL=$!
wrk --latency -t1 -c"$OCSP_CONNS" -d"${SECS}s" -s "$T/post.lua" "$URL/" \
    >"$T/wrk.out" 2>&1 &
WRK=$!
PIDS="$APIL $WRK $FEED $PCAD"

# t rss_kb anon_kb fds threads malloc_in_use_kb malloc_free_kb signer_anon_kb
sample() {
	st="/proc/$PCAD/status"
	rss=$(awk '/^VmRSS:/{print $2}' "$st" 2>/dev/null)
	anon=$(awk '/^RssAnon:/{print $2}' "$st" 2>/dev/null)
	thr=$(awk '/^Threads:/{print $2}' "$st" 2>/dev/null)
	fds=$(ls "/proc/$PCAD/fd" 2>/dev/null | wc -l)
	sa=$(awk '/^RssAnon:/{print $2}' "/proc/${SIGNER:-0}/status" 2>/dev/null)
	mal=$(curl -s -m 5 "$URL/metrics" | awk '
	    $1 == "pcad_malloc_in_use_bytes" { u = int($2 / 1024) }
	    $1 == "pcad_malloc_free_bytes" { f = int($2 / 1024) }
	    END { print (u == "" ? "-" : u), (f == "" ? "-" : f) }')
	echo "$1 ${rss:-0} ${anon:-0} $fds ${thr:-0} $mal ${sa:--}"
}
printf '%6s %10s %10s %5s %4s %10s %10s %10s\n' t_s rss_kb anon_kb fds thr \
    heap_used heap_free signer_anon
T0=$(date +%s)
t=0
: >"$T/samples"
while [ $t -lt "$SECS" ] && kill -0 "$PCAD" 2>/dev/null; do
	sample "$t" | tee -a "$T/samples" |
	    awk '{printf "%6d %10d %10d %5d %4d %10s %10s %10s\n", $1, $2, $3,
		$4, $5, $6, $7, $8}'
	# the next sample STEP seconds after this one began (wall clock)
	next=$((t + STEP))
	while [ $(($(date +%s) - T0)) -lt $next ]; do sleep 1; done
	t=$(($(date +%s) - T0))
done
wait "$APIL"
API_RC=$?
wait "$WRK"
FEED_RC=0
if [ -n "$FEED" ]; then
	wait "$FEED"
	FEED_RC=$?
fi
PIDS="$PCAD"
certs=$(curl -s "$URL/metrics" | awk '$1 == "pcad_ocsp_presigned_entries" {print $2}')
hit=$(curl -s "$URL/metrics" | awk '$1 == "pcad_ocsp_cache_hit_ratio" {print $2}')
kill -0 "$PCAD" 2>/dev/null && ALIVE=1 || ALIVE=0

rc=0
awk -v warm="$WARM" -v maxg="$MAXG" -v step="$STEP" -v half=$((SECS / 2)) '
	$1 >= warm { n++; t[n] = $1; a[n] = $3; r[n] = $2; f[n] = $4; h[n] = $6
		amax = $3 > amax ? $3 : amax }
	function mean(v, from, to,   i, s) {
		for (i = from; i <= to; i++) s += v[i]
		return s / (to - from + 1)
	}
	END {
		if (n < 2 || a[1] == 0) { print "soak: no sample after the warm-up"; exit 1 }
		# one minute of samples at each end (a quarter of them at most),
		# so that one sample taken during a transient allocation (a
		# CRL build, a recount) neither hides nor fakes a trend
		k = int(60 / step); if (k > int(n / 4)) k = int(n / 4); if (k < 1) k = 1
		a0 = mean(a, 1, k); a1 = mean(a, n - k + 1, n)
		ga = 100 * (a1 - a0) / a0
		printf "memory after warm-up (t>=%ds, %d samples): RssAnon %.0f -> %.0f kB" \
		    " (%+.1f%%; means of the first and last %d samples; single samples" \
		    " %d -> %d kB, peak %d kB = %+.1f%%), heap in use %.0f -> %.0f kB," \
		    " VmRSS %d -> %d kB (file-backed store pages included)," \
		    " fds %d -> %d\n", warm, n, a0, a1, ga, k, a[1], a[n], amax,
		    100 * (amax - a0) / a0, mean(h, 1, k), mean(h, n - k + 1, n),
		    r[1], r[n], f[1], f[n]
		# the trend over the second half of the run (plateau or not)
		for (i = 1; i <= n && t[i] < half; i++) ;
		if (n - i + 1 >= 2 * k) {
			b0 = mean(a, i, i + k - 1)
			printf "second half (t>=%ds): RssAnon %.0f -> %.0f kB (%+.1f%%)\n",
			    half, b0, a1, 100 * (a1 - b0) / b0
		}
		exit (ga >= maxg || f[n] - f[1] > 32) ? 1 : 0
	}' "$T/samples" || rc=1
sed 's/^api soak /api issuance: /' "$T/api.out"
[ "$API_RC" = 0 ] || { echo "soak: api_load failed:"; tail -5 "$T/api.err"; rc=1; }
pairs=$(awk '{for (i = 1; i <= NF; i++) if ($i ~ /^pairs=/) print substr($i, 7)}' "$T/api.out")
if [ -n "$FEED" ]; then
	cat "$T/feed.out"
	added=$(awk '/reserved under/ {print $4}' "$T/feed.out")
	fs=$(awk '/reserved under/ {print $2}' "$T/feed.out")
	echo "certificates added: ${added:-0} in ${fs:-?} s" \
	    "(API ${pairs:-0}, the rest by the feeder; wanted $CERTS in" \
	    "${SECS} s: a feeder slower than that catches up after the run)"
	[ "$FEED_RC" = 0 ] && [ "${added:-0}" -ge "$CERTS" ] ||
	    { echo "soak: fewer than $CERTS certificates added"; rc=1; }
else
	echo "certificates added: ${pairs:-0} by the API (no feeder)"
fi
rps=$(awk '/^Requests\/sec/{print int($2)}' "$T/wrk.out")
p99=$(awk '$1=="99%"{print $2}' "$T/wrk.out")
bad=$(awk '/Non-2xx/{print $NF}' "$T/wrk.out")
echo "ocsp: req/s=${rps:-0} p99=${p99:-?} non2xx=${bad:-0}" \
    "pre-signed certificates=${certs:-?} cache hit ratio=${hit:-?}"
[ -z "$bad" ] || rc=1
[ "$ALIVE" = 1 ] || { echo "soak: pcad died"; tail -20 "$T/pcad.log"; rc=1; }
[ $rc = 0 ] && echo "soak: PASS" || echo "soak: FAIL"
exit $rc
