#!/bin/sh
# A backward clock jump (issue 15, defect 8), with libfaketime: pcad runs
# with its clock 2 years ahead and signs OCSP answers and a CRL dated then,
# and a 1-year root expires; restarted at the real time, within seconds the
# OCSP answer and the CRL are dated now again (re-signed, not served with a
# thisUpdate two years ahead), the delegated OCSP signer issued in the
# future is replaced (openssl ocsp -verify at the real time accepts the
# answer) and the 1-year root, valid again, is ACTIVE (EXPIRED follows the
# clock; it is not a latch).  Then the same with the clock stepping back
# under a running pcad.
. "$(dirname "$0")/lib.sh"


if [ ! -r "$FAKELIB" ]; then
	echo "ok 1 # SKIP libfaketime not installed"
	echo "1..1"
	exit 0
fi
FAKE_ASAN="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
fake_now() { echo $(($(date +%s) + OFFSET)); }
pcad_env() { fake_env; }
# ocsp_this: thisUpdate (epoch s) of the leaf's OCSP answer, or nothing.
ocsp_this() {
	t=$(openssl ocsp -issuer "$TMP/root.pem" -cert "$TMP/leaf.pem" \
	    -url "$URL" -no_nonce -noverify -resp_text 2>/dev/null |
	    sed -n 's/^ *This Update: //p' | head -1)
	[ -n "$t" ] && date -u -d "$t" +%s
}
# crl_last: lastUpdate (epoch s) of root A's CRL, or nothing.
crl_last() {
	curl -sf "$URL/crl/${ROOT##*/}.crl" -o "$TMP/a.crl" || return 0
	t=$(openssl crl -inform DER -in "$TMP/a.crl" -noout -lastupdate \
	    2>/dev/null | sed 's/^lastUpdate=//')
	[ -n "$t" ] && date -u -d "$t" +%s
}
status_of() { shifted "$PCACTL" ca list | awk -v a="$1" '$1 == a {print $3}'; }
# wait_until SECONDS CMD...: CMD succeeds within SECONDS.
wait_until() {
	n=$(($1 * 5))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.2
		n=$((n - 1))
	done
	return 1
}
# dated_near WHICH: the answer (ocsp_this or crl_last) is within the hour
# before the (shifted) clock and not ahead of it by more than 5 minutes.
dated_near() {
	v=$($1)
	[ -n "$v" ] && [ "$v" -ge $(($(fake_now) - 3700)) ] &&
	    [ "$v" -le $(($(fake_now) + 300)) ]
}

# -------- setup at the real time --------
new_appliance "$A" || { not_ok "init"; finish; exit 1; }
URL=$(http_url "$A/pcad.conf")
echo '{"OcspConfiguration":{"Enabled":true},"CrlConfiguration":{"Enabled":true,"S3BucketName":"openpca-clockback"}}' >"$TMP/rev.json"
ROOT=$(make_root "$TMP" EC_prime256v1 SHA256WITHECDSA "Clock Root" \
    --revocation-json "$TMP/rev.json")
SHORT=$("$PCACTL" ca create --type ROOT --key-alg EC_prime256v1 \
    --signing-alg SHA256WITHECDSA --subject "CN=One Year Root,O=OpenPCA Test,C=US" \
    --revocation none)
if [ -n "$ROOT" ] && [ -n "$SHORT" ] &&
    "$PCACTL" ca csr "$SHORT" --out "$TMP/short.csr" &&
    "$PCACTL" issue --ca "$SHORT" --csr "$TMP/short.csr" \
	--signing-alg SHA256WITHECDSA --validity 365d \
	--template RootCACertificate --out "$TMP/short.pem" >/dev/null &&
    "$PCACTL" ca import "$SHORT" --cert "$TMP/short.pem" >/dev/null &&
    ec_csr "$TMP/leaf.csr" leaf.example.com &&
    "$PCACTL" issue --ca "$ROOT" --csr "$TMP/leaf.csr" \
	--signing-alg SHA256WITHECDSA --validity 1200d \
	--out "$TMP/leaf.pem" >/dev/null &&
    ec_csr "$TMP/gone.csr" gone.example.com &&
    "$PCACTL" issue --ca "$ROOT" --csr "$TMP/gone.csr" \
	--signing-alg SHA256WITHECDSA --validity 1200d \
	--out "$TMP/gone.pem" >/dev/null &&
    "$PCACTL" revoke --ca "$ROOT" --serial "$(openssl x509 -in "$TMP/gone.pem" \
	-noout -serial | sed 's/^serial=//')" --reason KEY_COMPROMISE >/dev/null; then
	ok "setup: a 10-year root with OCSP and CRL, a leaf, a revoked one, a 1-year root"
else
	not_ok "setup"
	finish
	exit 1
fi

# -------- 2 years ahead --------
OFFSET=$((2 * 365 * 86400))
start_pcad || { not_ok "pcad starts 2 years ahead" "$(tail -20 "$A/pcad.log")"; finish; exit 1; }
wait_until 30 dated_near ocsp_this &&
    ok "2 years ahead: the OCSP answer is dated then" ||
    not_ok "2 years ahead: the OCSP answer is dated then" "thisUpdate $(ocsp_this), clock $(fake_now)"
wait_until 30 dated_near crl_last &&
    ok "2 years ahead: the CRL is dated then" ||
    not_ok "2 years ahead: the CRL is dated then" "lastUpdate $(crl_last), clock $(fake_now)"
[ "$(status_of "$SHORT")" = EXPIRED ] &&
    ok "2 years ahead: the 1-year root is EXPIRED" ||
    not_ok "2 years ahead: the 1-year root is EXPIRED" "$(status_of "$SHORT")"
stop_pcad

# -------- back at the real time --------
OFFSET=0
start_pcad || { not_ok "pcad starts at the real time" "$(tail -20 "$A/pcad.log")"; finish; exit 1; }
wait_until 20 dated_near ocsp_this &&
    ok "real time again: the OCSP answer is re-signed, dated now" ||
    not_ok "real time again: the OCSP answer is re-signed, dated now" \
	"thisUpdate $(ocsp_this), now $(date +%s)"
out=$(openssl ocsp -issuer "$TMP/root.pem" -cert "$TMP/leaf.pem" -url "$URL" \
    -no_nonce -CAfile "$TMP/root.pem" 2>&1)
printf '%s' "$out" | grep -q "Response verify OK" &&
    printf '%s' "$out" | grep -q ": good\$" &&
    ok "real time again: openssl ocsp -verify accepts it (a signer valid now)" ||
    not_ok "real time again: openssl ocsp -verify accepts it" "$out"
wait_until 20 dated_near crl_last &&
    ok "real time again: the CRL is rebuilt, dated now" ||
    not_ok "real time again: the CRL is rebuilt, dated now" \
	"lastUpdate $(crl_last), now $(date +%s)"
sn=$(openssl x509 -in "$TMP/gone.pem" -noout -serial | sed 's/^serial=//')
openssl crl -inform DER -in "$TMP/a.crl" -noout -text 2>/dev/null |
    grep -qi "Serial Number: $sn" &&
    ok "real time again: the revoked certificate is still listed" ||
    not_ok "real time again: the revoked certificate is still listed"
[ "$(status_of "$SHORT")" = ACTIVE ] &&
    ok "real time again: the 1-year root, valid again, is ACTIVE" ||
    not_ok "real time again: the 1-year root is ACTIVE" "$(status_of "$SHORT")"
grep -q "valid again" "$A/pcad.log" &&
    ok "pcad itself moved the root back (logged)" ||
    not_ok "pcad itself moved the root back (logged)" "$(grep -i expire "$A/pcad.log" | tail -3)"
stop_pcad

# -------- the clock steps back under a running pcad --------
# libfaketime re-reads the offset from a file: pcad starts 3 years ahead,
# then its clock steps back to the real time while it runs.
OFFSET=$((3 * 365 * 86400))
echo "+$OFFSET" >"$TMP/faketime"
echo "--- pcad start, clock +$OFFSET s (from a file)" >>"$A/pcad.log"
ASAN_OPTIONS=$FAKE_ASAN LD_PRELOAD=$FAKELIB FAKETIME_TIMESTAMP_FILE="$TMP/faketime" \
    FAKETIME_NO_CACHE=1 "$PCAD" --config "$A/pcad.conf" >>"$A/pcad.log" 2>&1 &
PCAD_PID=$!
wait_until 20 curl -sf "$URL/health" -o /dev/null ||
    not_ok "pcad starts 3 years ahead" "$(tail -20 "$A/pcad.log")"
wait_until 30 dated_near ocsp_this && wait_until 30 dated_near crl_last &&
    ok "3 years ahead: the OCSP answer and the CRL are dated then" ||
    not_ok "3 years ahead: the OCSP answer and the CRL are dated then" \
	"thisUpdate $(ocsp_this), lastUpdate $(crl_last), clock $(fake_now)"
echo "+0" >"$TMP/faketime"
OFFSET=0
wait_until 30 dated_near ocsp_this &&
    ok "stepped back while running: the OCSP answer is re-signed, dated now" ||
    not_ok "stepped back while running: the OCSP answer is re-signed" \
	"thisUpdate $(ocsp_this), now $(date +%s)"
verified() {
	openssl ocsp -issuer "$TMP/root.pem" -cert "$TMP/leaf.pem" -url "$URL" \
	    -no_nonce -CAfile "$TMP/root.pem" 2>&1 | grep -q "Response verify OK"
}
wait_until 30 verified &&
    ok "stepped back while running: a signer valid now (openssl ocsp -verify)" ||
    not_ok "stepped back while running: openssl ocsp -verify" \
	"$(openssl ocsp -issuer "$TMP/root.pem" -cert "$TMP/leaf.pem" -url "$URL" \
	    -no_nonce -CAfile "$TMP/root.pem" 2>&1)"
wait_until 30 dated_near crl_last &&
    ok "stepped back while running: the CRL is rebuilt, dated now" ||
    not_ok "stepped back while running: the CRL is rebuilt" \
	"lastUpdate $(crl_last), now $(date +%s)"
kill -0 "$PCAD_PID" 2>/dev/null && ok "pcad still running" ||
    not_ok "pcad still running" "$(tail -20 "$A/pcad.log")"
stop_pcad
finish
