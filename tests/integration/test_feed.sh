#!/bin/sh
# The store's change feed, end to end: with pcad running, the offline CLI
# (another process, writing the store directly) revokes and issues, and
# pcad's OCSP responder answers revoked / good within seconds, the CRL lists
# the revocation and /metrics counts the changes, all learnt from the typed
# feed; `pcactl store verify`
# checks the feed; and no module reads the wording of audit-log lines.
. "$(dirname "$0")/lib.sh"

# status CERT: good / revoked / unknown as pcad's OCSP responder answers.
status() {
	openssl ocsp -issuer "$TMP/root.pem" -cert "$1" -url "$URL" \
	    -no_nonce -CAfile "$TMP/root.pem" 2>/dev/null |
	    sed -n "s|^$1: ||p" | head -1
}
# within SECONDS CERT WANT: prints the milliseconds it took, or fails.
within() {
	t0=$(date +%s%N)
	end=$(($(date +%s) + $1))
	while [ "$(date +%s)" -le "$end" ]; do
		if [ "$(status "$2")" = "$3" ]; then
			echo $((($(date +%s%N) - t0) / 1000000))
			return 0
		fi
		sleep 0.1
	done
	return 1
}
metric() {
	curl -sf "$URL/metrics" |
	    awk -v k="pcad_certificates{ca=\"$UUID\",status=\"$1\"}" \
		'$1 == k {print $2}'
}

new_appliance "$A" || { not_ok "init"; finish; exit 1; }
URL=$(http_url "$A/pcad.conf")
echo '{"OcspConfiguration":{"Enabled":true},"CrlConfiguration":{"Enabled":true,"S3BucketName":"openpca-feed"}}' >"$TMP/ocsp.json"
ROOT=$(make_root "$TMP" EC_prime256v1 SHA256WITHECDSA "Feed Root" \
    --revocation-json "$TMP/ocsp.json")
UUID=${ROOT##*/}
if [ -n "$ROOT" ] && ec_csr "$TMP/a.csr" a.example.com &&
    "$PCACTL" issue --ca "$ROOT" --csr "$TMP/a.csr" \
	--signing-alg SHA256WITHECDSA --validity 30d --out "$TMP/a.pem" >/dev/null; then
	ok "setup: a root with OCSP and one leaf, made offline"
else
	not_ok "setup"
	finish
	exit 1
fi
start_pcad || { not_ok "pcad starts" "$(tail -20 "$A/pcad.log")"; finish; exit 1; }
ms=$(within 20 "$TMP/a.pem" good) && ok "pcad answers good for the leaf" ||
    not_ok "pcad answers good for the leaf" "$(status "$TMP/a.pem")"
presigned() { curl -sf "$URL/metrics" | awk '$1 == "pcad_ocsp_presigned_entries" {print $2}'; }
# the root's own certificate, the delegated OCSP signer's and the leaf
i=0
until [ "$(metric active)" = 3 ] || [ $i -ge 50 ]; do sleep 0.2; i=$((i + 1)); done
P0=$(presigned)
[ "$(metric active)" = 3 ] && [ "$(metric revoked)" = 0 ] &&
    ok "metrics: 3 active (root, OCSP signer, leaf), $P0 pre-signed" ||
    not_ok "metrics: 3 active after the first count" "$(metric active)"

# -------- pcactl, a second process, while pcad runs --------
SER=$(openssl x509 -in "$TMP/a.pem" -noout -serial | sed 's/^serial=//')
if "$PCACTL" revoke --ca "$ROOT" --serial "$SER" --reason KEY_COMPROMISE >/dev/null &&
    ms=$(within 5 "$TMP/a.pem" revoked); then
	ok "offline pcactl revoke: OCSP answers revoked (after $ms ms)"
else
	not_ok "offline pcactl revoke: OCSP answers revoked within 5 s" "$(status "$TMP/a.pem")"
fi
if ec_csr "$TMP/b.csr" b.example.com &&
    "$PCACTL" issue --ca "$ROOT" --csr "$TMP/b.csr" --signing-alg SHA256WITHECDSA \
	--validity 30d --out "$TMP/b.pem" >/dev/null &&
    ms=$(within 5 "$TMP/b.pem" good) &&
    [ "$(presigned)" = $((P0 + 1)) ]; then
	ok "offline pcactl issue: pre-signed good (after $ms ms)"
else
	not_ok "offline pcactl issue: pre-signed good within 5 s" \
	    "$(status "$TMP/b.pem"); pre-signed $(presigned), was $P0"
fi
# crl_lists SERIAL: the CA's CRL served by pcad lists it.
crl_lists() {
	curl -sf "$URL/crl/$UUID.crl" -o "$TMP/c.crl" &&
	    openssl crl -inform DER -in "$TMP/c.crl" -noout -text 2>/dev/null |
	    grep -qi "Serial Number: $1"
}
i=0
until crl_lists "$SER" || [ $i -ge 50 ]; do sleep 0.1; i=$((i + 1)); done
crl_lists "$SER" && ok "offline pcactl revoke: in the CRL (after ~$((i * 100)) ms)" ||
    not_ok "offline pcactl revoke: in the CRL within 5 s"
[ "$(metric active)" = 3 ] && [ "$(metric revoked)" = 1 ] &&
    ok "metrics follow the offline changes (3 active, 1 revoked), no recount" ||
    not_ok "metrics follow the offline changes" "active $(metric active), revoked $(metric revoked)"

# -------- the store: feed checked, pruned behind the followers --------
out=$("$PCACTL" store verify 2>&1) &&
    ok "pcactl store verify (feed included) is clean" ||
    not_ok "pcactl store verify is clean" "$out"
stop_pcad

# -------- a revocation made while pcad is down --------
SERB=$(openssl x509 -in "$TMP/b.pem" -noout -serial | sed 's/^serial=//')
"$PCACTL" revoke --ca "$ROOT" --serial "$SERB" --reason SUPERSEDED >/dev/null ||
    not_ok "pcactl revoke while pcad is down"
start_pcad || not_ok "pcad restarts" "$(tail -20 "$A/pcad.log")"
i=0
until crl_lists "$SERB" || [ $i -ge 50 ]; do sleep 0.1; i=$((i + 1)); done
crl_lists "$SERB" && [ "$(status "$TMP/b.pem")" = revoked ] &&
    ok "revoked while pcad was down: in the CRL and OCSP soon after the start" ||
    not_ok "revoked while pcad was down: in the CRL and OCSP soon after the start" \
	"OCSP: $(status "$TMP/b.pem")"
stop_pcad

# -------- nothing reads audit text --------
# (crl/audit.c's report and the console's audit page show lines verbatim)
cd "$ROOTDIR" || exit 1
hits=$(grep -rnE 'str(n?cmp|str)\([^;]*"(op=|[ ]?(ca|serial)=)' \
    --include=*.c --include=*.h . | grep -v '^./tests/' || true)
users=$(grep -rln 'store_audit_foreach' --include=*.c . |
    grep -v -e '^./store/' -e '^./tests/' -e '^./crl/audit.c$' \
	-e '^./console/pages.c$' || true)
if [ -z "$hits" ] && [ -z "$users" ]; then
	ok "no code matches audit-line wording; only audit reports walk the log"
else
	not_ok "no code matches audit-line wording" "$hits $users"
fi
finish
