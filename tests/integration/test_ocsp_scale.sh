#!/bin/sh
# test_ocsp_scale.sh - pre-signed OCSP responses live in the store, not in
# pcad's memory: a CA with 20,000 certificates (tests/tools/inv_fill) is
# pre-signed once; a restart then loads none of them (no signature made,
# healthy and answering at once, anonymous memory far below what holding
# 20,000 certificates' responses takes), and answers from the store.
. "$(dirname "$0")/lib.sh"

FILL="$TOOLS/inv_fill"
NCERT=${OCSP_SCALE_CERTS:-20000}
need_built "$FILL" "$PCAD" "$PCACTL"
new_appliance "$A" || die "pcactl init failed"
URL="http://$(awk '/^\[http\]/{s=1} s&&/^listen/{print $3; exit}' "$A/pcad.conf")"
echo '{"OcspConfiguration":{"Enabled":true}}' >"$TMP/rev.json"
ROOT=$(make_root "$TMP" EC_prime256v1 SHA256WITHECDSA "Scale Root" \
    --revocation-json "$TMP/rev.json") || die "root CA"
UUID=${ROOT##*/}
"$FILL" "$A/data" "$NCERT" "$(date +%s)" "$TMP/manifest" "$UUID" >/dev/null ||
    die "inv_fill failed"
# answered for: issued and live, or revoked (+ the root's own certificate and
# the delegated OCSP signer's)
LIVE=$(awk '$3 == "ISSUED" || $3 == "REVOKED"' "$TMP/manifest" | wc -l)
WANT=$((LIVE + 2))
GOOD=$(awk '$3 == "ISSUED" {print $2; exit}' "$TMP/manifest")
REV=$(awk '$3 == "REVOKED" {print $2; exit}' "$TMP/manifest")
metric() { curl -sf "$URL/metrics" | awk -v k="$1" '$1 == k {print $2}'; }
anon_kb() { awk '/^RssAnon:/{print $2}' "/proc/$1/status"; }
ocsp_status() { # SERIAL_HEX: good / revoked / ...
	openssl ocsp -issuer "$TMP/root.pem" -serial "0x$1" -url "$URL" \
	    -no_nonce -noverify 2>/dev/null | awk -F': ' 'NR==1{print $2}'
}
ok "setup: $NCERT certificates filled ($LIVE to answer for)"

# first start: the refresher signs them all, in the background
t0=$(date +%s%N)
start_pcad || { not_ok "first start" "$(tail -20 "$A/pcad.log")"; finish; exit 1; }
ms=$((($(date +%s%N) - t0) / 1000000))
ok "first start: healthy after $ms ms while the responses are still to sign"
i=0
# both responses (SHA-1 and SHA-256 CertIDs) of each signed
until [ "$(metric pcad_ocsp_presigned_entries)" = "$WANT" ] &&
    [ "$(metric pcad_ocsp_signatures_total)" -ge $((2 * WANT)) ] ||
    [ $i -ge 3000 ]; do
	sleep 0.2
	i=$((i + 1))
done
[ "$(metric pcad_ocsp_presigned_entries)" = "$WANT" ] &&
    ok "first start: all $WANT pre-signed after $((i / 5)) s" ||
    not_ok "first start: all $WANT pre-signed" "$(metric pcad_ocsp_presigned_entries)"
A1=$(anon_kb "$PCAD_PID")
stop_pcad

# restart: nothing is loaded nor signed again
t0=$(date +%s%N)
start_pcad || { not_ok "restart" "$(tail -20 "$A/pcad.log")"; finish; exit 1; }
st=$(ocsp_status "$GOOD")
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$st" = good ] && [ "$ms" -lt 10000 ] &&
    ok "restart: healthy and answering good from the store in $ms ms" ||
    not_ok "restart: answers good at once" "status '$st' after $ms ms"
[ "$(ocsp_status "$REV")" = revoked ] &&
    ok "restart: a revoked one answers revoked" ||
    not_ok "restart: a revoked one answers revoked"
sleep 2
SIGS=$(metric pcad_ocsp_signatures_total)
[ "${SIGS:-x}" = 0 ] && [ "$(metric pcad_ocsp_presigned_entries)" = "$WANT" ] &&
    ok "restart: no response signed again ($WANT still pre-signed)" ||
    not_ok "restart: no response signed again" "signatures ${SIGS:-?}"
A2=$(anon_kb "$PCAD_PID")
# 15,000 certificates' two responses take ~20 MB when held in memory (an
# ASan build's own allocator and quarantine make the figure meaningless)
if ldd "$PCAD" 2>/dev/null | grep -q libasan; then
	skip "restart: anonymous memory under 10 MB (${A2} kB)" "ASan build"
elif [ "$A2" -lt 10240 ]; then
	ok "restart: anonymous memory ${A2} kB (first run ${A1} kB)"
else
	not_ok "restart: anonymous memory under 10 MB" "${A2} kB"
fi
[ "$(metric pcad_ocsp_cache_misses_total)" -ge 1 ] 2>/dev/null &&
    [ "$(metric pcad_ocsp_cache_entries)" -le 4 ] 2>/dev/null &&
    ok "restart: answers came from the store into the cache" ||
    not_ok "restart: answers came from the store" \
	"$(curl -s "$URL/metrics" | grep pcad_ocsp_cache)"
stop_pcad
finish
