#!/bin/sh
# Publishing pre-signed OCSP responses to S3 (part of make bench; issue 16):
# PUBLISH_CERTS (default 5000) certificates filled by tests/tools/inv_fill,
# pcad with [ocsp] publish to moto_server: how long the responses take to
# sign, how fast the outbox drains (PUT/s, three PUTs per certificate), the
# largest outbox seen and pcad's anonymous memory while it drains.  Prints
# numbers; asserts only that the outbox empties.
TOP=$(cd "$(dirname "$0")/.." && pwd)
case "${BIN:-bin}" in /*) ;; *) BIN="$TOP/${BIN:-bin}" ;; esac
case "${BUILD:-build}" in /*) ;; *) BUILD="$TOP/${BUILD:-build}" ;; esac
. "$TOP/tests/integration/lib.sh"

FILL="$TOOLS/inv_fill"
NCERT=${PUBLISH_CERTS:-5000}
need_built "$FILL" "$PCAD" "$PCACTL"
command -v moto_server >/dev/null || die "needs moto_server"
start_moto || die "moto_server does not start"
curl -sf -X PUT "$MOTO_URL/ocsp-bench" >/dev/null || die "bucket"
new_appliance "$A" || die "pcactl init failed"
URL=$(http_url "$A/pcad.conf")
printf '[default]\naws_access_key_id = test\naws_secret_access_key = test\n' \
    >"$A/s3.cred"
sed -i 's|^\[ocsp\]$|[ocsp]\npublish = s3://ocsp-bench/b|' "$A/pcad.conf"
printf '\n[s3]\nendpoint = %s\nregion = us-east-1\ncredentials_file = s3.cred\n' \
    "$MOTO_URL" >>"$A/pcad.conf"
echo '{"OcspConfiguration":{"Enabled":true}}' >"$TMP/rev.json"
ROOT=$(make_root "$TMP" EC_prime256v1 SHA256WITHECDSA "Publish Root" \
    --revocation-json "$TMP/rev.json") || die "root CA"
"$FILL" "$A/data" "$NCERT" "$(date +%s)" "$TMP/manifest" "${ROOT##*/}" \
    >/dev/null || die "inv_fill failed"
metric() { curl -sf "$URL/metrics" | awk -v k="$1" '$1 == k {print $2}'; }
anon_kb() { awk '/^RssAnon:/{print $2}' "/proc/$1/status"; }
t0=$(date +%s)
start_pcad || die "pcad does not start" "$(tail -20 "$A/pcad.log")"
LIVE=$(awk '$3 == "ISSUED" || $3 == "REVOKED"' "$TMP/manifest" | wc -l)
max_q=0 max_anon=0 signed_at="" i=0
while [ $i -lt 36000 ]; do
	q=$(metric pcad_s3_outbox_queued)
	p=$(metric pcad_s3_puts_total)
	a=$(anon_kb "$PCAD_PID")
	[ "${q:-0}" -gt "$max_q" ] && max_q=$q
	[ "${a:-0}" -gt "$max_anon" ] && max_anon=$a
	[ -z "$signed_at" ] && [ "$(metric pcad_ocsp_presigned_entries)" -ge \
	    "$LIVE" ] && signed_at=$(($(date +%s) - t0))
	# two objects per certificate (SHA-1 with its GET key, SHA-256)
	[ -n "$signed_at" ] && [ "${p:-0}" -ge $((2 * LIVE)) ] && break
	sleep 1
	i=$((i + 1))
done
dt=$(($(date +%s) - t0))
p=$(metric pcad_s3_puts_total)
echo "# $NCERT certificates: signed in ${signed_at:-?} s, outbox empty after" \
    "$dt s; $p objects, $((3 * p / 2)) PUTs = $((3 * p / 2 / (dt > 0 ? dt : 1)))" \
    "PUT/s; outbox peak $max_q entries; pcad RssAnon peak $((max_anon / 1024)) MiB"
[ "${p:-0}" -ge $((2 * LIVE)) ] && ok "outbox drained" ||
    not_ok "outbox drained" "$p of $((2 * LIVE)) objects published"
finish
