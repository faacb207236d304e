#!/bin/sh
# scale.sh (make bench-scale; neither in make check nor in make bench):
# issue 16's 10M simulation.  Fills one appliance's store with
# BENCH_SCALE_N certificates (default 10,000,000) of one EC P-256 root CA
# with OCSP and a COMPLETE CRL, every BENCH_SCALE_REVOKE_EVERY-th revoked
# (default 10: 1,000,000 revocations in 10M), through the store's record
# path (tests/tools/inv_fill: reserve, complete, revoke; the certificate
# bytes are one certificate signed once, --same-der), then measures and
# prints a table:
#   bytes per certificate on disk, fill rate, inventory page latency
#   (target < 50 ms), store verify and backup times, pcad's start-up time
#   (to /health 200), the CRL (entries, size, build time after start) and
#   the partition size that follows from it (the partitions are by count,
#   [crl] partition_size, default 100,000 certificates), the pre-signing
#   rate pcad reaches (BENCH_SCALE_SIGN_SECONDS, default 60) against the
#   rate needed to keep every live certificate's two responses fresh, and
#   OCSP req/s and p99 (wrk, BENCH_SCALE_OCSP_SECONDS, default 20) over a
#   working set of every pre-signed certificate, with [ocsp] cache_mb =
#   BENCH_SCALE_CACHE_MB (default 1) so that it is larger than the cache.
# Needs about 1.3 GB of disk per million certificates under TMPDIR.
# Asserts nothing but the fill; exit 1 when a step cannot run.
. "$(dirname "$0")/lib.sh"
N=${BENCH_SCALE_N:-10000000}
REV=${BENCH_SCALE_REVOKE_EVERY:-10}
CACHE_MB=${BENCH_SCALE_CACHE_MB:-1}
SIGN_S=${BENCH_SCALE_SIGN_SECONDS:-60}
OCSP_S=${BENCH_SCALE_OCSP_SECONDS:-20}
FILL="$BUILD/tools/inv_fill"
PAGE="$BUILD/bench/inventory_page"
T=$(mktemp -d "${TMPDIR:-/tmp}/openpca-scale.XXXXXX")
PCAD=""
cleanup() {
	if [ -n "$PCAD" ]; then
		kill -TERM "$PCAD" 2>/dev/null
		wait "$PCAD" 2>/dev/null
	fi
	[ -n "${BENCH_SCALE_KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
bench_need bench-scale "$BIN/pcad" "$BIN/pcactl" "$FILL" "$PAGE" wrk ||
    exit 2
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# ms since $1 as seconds with 2 decimals
secs_since() { awk -v a="$1" -v b="$(now_ms)" 'BEGIN {printf "%.2f", (b - a) / 1000}'; }
row() { printf '%-44s %s\n' "$1" "$2"; }

bench_appliance "$T/app" || exit 1
sed -i "s/^\[ocsp\]\$/[ocsp]\ncache_mb = $CACHE_MB/" "$T/app/pcad.conf"
cat >"$T/rev.json" <<'EOF'
{"OcspConfiguration":{"Enabled":true},"CrlConfiguration":{"Enabled":true,
 "ExpirationInDays":7,"S3BucketName":"bench-scale-crl","CrlType":"COMPLETE"}}
EOF
CA=$(bench_root "CN=Scale Root,O=OpenPCA,C=US" \
    --revocation-json "$T/rev.json") ||
    { echo "bench-scale: CA set-up failed" >&2; exit 1; }
UUID=${CA##*/}
NOW=$(date +%s)
NREV=0
[ "$REV" -gt 0 ] && NREV=$(((N + REV - 1) / REV))
echo "== bench-scale: $N certificates, $NREV revoked, one CA (EC P-256)," \
    "OCSP cache ${CACHE_MB} MiB"

# ---- fill, size on disk
t0=$(now_ms)
"$FILL" "$T/app/data" "$N" "$NOW" - --same-der --no-pending \
    --revoke-every "$REV" "$UUID" >"$T/fill.log" 2>&1 ||
    { cat "$T/fill.log" >&2; exit 1; }
fs=$(secs_since "$t0")
bytes=$(du -B1 "$T/app/data/data.mdb" | cut -f1)
row "fill (record path, no signing)" "$fs s, $(awk -v n="$N" -v s="$fs" 'BEGIN {printf "%d", n / s}') certificates/s"
row "store on disk" "$(awk -v b="$bytes" -v n="$N" 'BEGIN {printf "%.1f MB, %d bytes per certificate", b / 1e6, b / n}')"

# ---- inventory page (in-process, the handler pcad runs)
inv=$("$PAGE" "$T/app/data" "$NOW" 100 20 "$UUID" 2>&1 | tail -1 |
    sed 's/^inventory page (expiring within 30 days, \([0-9]*\) items): /\1 items expiring within 30 days: /')
row "inventory page (target < 50 ms)" "$inv"

# ---- store verify, backup (pcad not running)
VMAX=${BENCH_SCALE_VERIFY_MAX:-600}
t0=$(now_ms)
timeout "$VMAX" "$BIN/pcactl" store verify >"$T/verify.log" 2>&1
vrc=$?
vs=$(secs_since "$t0")
vl=$(grep -c . "$T/verify.log")
if [ "$vrc" = 124 ] && [ "$vl" -eq 0 ]; then
	row "pcactl store verify" "not done after $VMAX s (BENCH_SCALE_VERIFY_MAX; nothing printed yet)"
elif [ "$vrc" = 124 ]; then
	row "pcactl store verify" "stopped after $VMAX s (BENCH_SCALE_VERIFY_MAX) with $vl findings: about $(awk -v l="$vl" -v s="$vs" 'BEGIN {printf "%d", l / s}') certificates/s, so $(awk -v l="$vl" -v s="$vs" -v n="$N" 'BEGIN {printf "%.0f", (l > 0 ? n * s / l : 0)}') s for the whole store"
else
	row "pcactl store verify" "$vs s (exit $vrc; $vl findings: the fill's certificates are not signed by the CA)"
fi
t0=$(now_ms)
if "$BIN/pcactl" backup --to "$T/backup.tar" >"$T/backup.log" 2>&1; then
	row "pcactl backup" "$(secs_since "$t0") s, $(du -B1 "$T/backup.tar" | awk '{printf "%.1f MB", $1 / 1e6}')"
	rm -f "$T/backup.tar"
else
	row "pcactl backup" "failed: $(tail -1 "$T/backup.log")"
fi

# ---- start-up
metric() { curl -s -m 10 "$URL/metrics" | awk -v k="$1" '$1 == k {print $2; exit}'; }
t0=$(now_ms)
# past 60 s without /health, the row says how long it took
bench_pcad 600 || kill -0 "$PCAD" 2>/dev/null || exit 1
row "pcad start-up (to /health 200)" "$(secs_since "$t0") s"

# ---- CRL: the complete CRL of NREV entries, built by pcad after its start
crl_key="crl/$UUID.crl"
i=0
until curl -sf -o "$T/ca.crl" "$URL/$crl_key" || [ $i -ge 1200 ]; do
	sleep 0.5
	i=$((i + 1))
done
if [ -s "$T/ca.crl" ]; then
	cs=$(secs_since "$t0")
	csz=$(wc -c <"$T/ca.crl")
	ce=$(openssl crl -inform DER -in "$T/ca.crl" -noout -text 2>/dev/null |
	    grep -c 'Serial Number:')
	PS=100000
	row "CRL (complete)" "$ce entries, $(awk -v b="$csz" 'BEGIN {printf "%.1f MB", b / 1e6}'), served $cs s after the start"
	row "CRL partition (by count, $PS certificates)" "$(awk -v b="$csz" -v e="$ce" -v ps="$PS" -v r="$REV" 'BEGIN {
	    per = (r > 0 ? ps / r : 0); sz = (e > 0 ? b / e * per : 0);
	    printf "%d revoked, about %.2f MB each (%.1f bytes per entry)%s", per, sz / 1e6,
	    (e > 0 ? b / e : 0), (sz > 1048576 ? ": over 1 MB, a smaller partition_size is needed" : "")}')"
else
	row "CRL (complete)" "not served within 600 s: $(grep -i crl "$T/pcad.log" | tail -1)"
fi

# ---- pre-signing: the refresher walks the CA after the start
s0=$(metric pcad_ocsp_signatures_total)
t1=$(now_ms)
sleep "$SIGN_S"
s1=$(metric pcad_ocsp_signatures_total)
P=$(metric pcad_ocsp_presigned_entries)
vh=$(sed -n 's/^validity_hours *= *//p' "$T/app/pcad.conf" | head -1)
row "pre-signing (refresher, measured ${SIGN_S} s)" "$(awk -v a="${s0:-0}" -v b="${s1:-0}" -v ms="$(( $(now_ms) - t1 ))" 'BEGIN {printf "%.0f signatures/s", (b - a) * 1000 / ms}'), ${P:-0} certificates pre-signed so far"
row "pre-signing needed (2 responses each)" "$(awk -v n="$N" -v r="$REV" -v vh="${vh:-24}" 'BEGIN {
    live = n; per = 2 * live / (vh / 2 * 3600);
    printf "%.0f signatures/s to re-sign %d certificates every %g h (half the %g h validity)", per, live, vh / 2, vh}')"

# ---- OCSP over every pre-signed certificate (the walk goes in serial
# order: inv_fill's index 0 first), a working set larger than the cache
P=$(metric pcad_ocsp_presigned_entries)
WS=$(( ${P:-0} * 9 / 10 ))
if [ "$WS" -lt 100 ]; then
	row "OCSP" "too few pre-signed responses (${P:-0}) to measure"
	exit 0
fi
openssl ocsp -issuer "$T/root.pem" -serial 0x010000000000000000 -no_nonce \
    -reqout "$T/tmpl.der" >/dev/null 2>&1 || { echo "bench-scale: openssl ocsp" >&2; exit 1; }
cat >"$T/ocsp.lua" <<EOF
local f = io.open("$T/tmpl.der", "rb")
local tmpl = f:read("*all")
f:close()
local at = tmpl:find(string.char(2, 9, 1, 0, 0, 0, 0, 0, 0, 0, 0), 1, true)
local pre, post = tmpl:sub(1, at + 2), tmpl:sub(at + 11)
local ws = $WS
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/ocsp-request"
math.randomseed(42)
request = function()
	local i = math.random(0, ws - 1)
	local b = {}
	for k = 8, 1, -1 do
		b[k] = string.char(i % 256)
		i = math.floor(i / 256)
	end
	return wrk.format(nil, "/", nil, pre .. table.concat(b) .. post)
end
EOF
wrk --latency -t1 -c32 -d"${OCSP_S}s" -s "$T/ocsp.lua" "$URL/" >"$T/wrk.out" 2>&1
rps=$(awk '/^Requests\/sec/{print int($2)}' "$T/wrk.out")
p99=$(awk '$1=="99%"{print $2}' "$T/wrk.out")
bad=$(awk '/Non-2xx/{print $NF}' "$T/wrk.out")
hit=$(metric pcad_ocsp_cache_hit_ratio)
row "OCSP POST (wrk, 32 connections, ${OCSP_S} s)" "${rps:-0} req/s, p99 ${p99:-?}, non-2xx ${bad:-0}; working set $WS certificates (about $(awk -v w="$WS" 'BEGIN {printf "%.0f", w * 0.45 / 1024}') MiB of responses) over a ${CACHE_MB} MiB cache, hit ratio since start ${hit:-?}"
# one answer checked by openssl: index 1 (good) and index 0 (revoked)
st=$(openssl ocsp -issuer "$T/root.pem" -serial 0x010000000000000001 \
    -url "$URL" -no_nonce -noverify 2>/dev/null | awk -F': ' 'NR==1{print $2}')
st0=$(openssl ocsp -issuer "$T/root.pem" -serial 0x010000000000000000 \
    -url "$URL" -no_nonce -noverify 2>/dev/null | awk -F': ' 'NR==1{print $2}')
row "openssl ocsp check" "index 1: ${st:-?}, index 0: ${st0:-?}"
