#!/bin/sh
# The OCSP responder over time, end to end, with libfaketime: pcad restarted
# with its clock shifted forward (the store, the token and the certificates
# stay as they are).  [ocsp] validity_hours = 8 and signer_days = 2 keep the
# shifts small: responses are due for refresh after 4 h (half their
# validity), and the delegated signer rolls over when it has 1 day left
# (max(3 x validity, signer_days / 3), ocsp/refresh.c min_left).
#   real time: the pre-signed response and the first delegated signer;
#   4 h later, a few seconds before half the validity: the stored response
#     is served as signed, then re-signed by the running pcad once half its
#     validity has passed, by the same signer;
#   just past the signer's rollover point: a new signer (new serial, new
#     key, issued by the CA, OCSPSigning, nocheck) signs fresh responses
#     that `openssl ocsp -verify` (run at the same shifted time) accepts;
#   restarted again at that time: the new signer is kept.
. "$(dirname "$0")/lib.sh"

TOOL="python3 $ROOTDIR/tests/integration/ocsp/rollover_tool.py"
FAKELIB=/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1
A=$TMP/app
OFFSET=0 # seconds pcad's (and openssl's) clock is ahead of the real one

if [ ! -r "$FAKELIB" ]; then
	echo "ok 1 # SKIP libfaketime not installed"
	echo "1..1"
	exit 0
fi

fake_now() { echo $(($(date +%s) + OFFSET)); }
# pcad_env (start_pcad's hook): pcad's clock shifted by OFFSET.
pcad_env() {
	echo "--- pcad start, clock +$OFFSET s" >>"$A/pcad.log"
	fake_env
}
# snap OUT: a verified snapshot of leaf's pre-signed answer (retried 10 s
# while pcad is still signing).
snap() {
	si=0
	until out=$(PCA_DIR=$A $TOOL snap "$URL" "$TMP/root.pem" "$TMP/leaf.pem" 2>&1); do
		si=$((si + 1))
		[ $si -ge 50 ] && { printf '%s\n' "$out" >"$1"; return 1; }
		sleep 0.2
	done
	printf '%s\n' "$out" >"$1"
	printf '%s\n' "$out" | sed 's/^/# /'
}
g() { $TOOL get "$TMP/$1.json" "$2"; } # g SNAP FIELD
# ossl NAME ARGS...: openssl ocsp at pcad's shifted time, verified against
# the root CA only (the delegated signer must chain to it): good for leaf.
ossl() {
	os_name=$1
	shift
	ocsp_check "$os_name" good "$@" -cert "$TMP/leaf.pem" -no_nonce
}
# within NAME VALUE LOW HIGH
within() {
	if [ "$2" -ge "$3" ] && [ "$2" -le "$4" ]; then ok "$1"; else
		not_ok "$1" "$2 not in [$3, $4]"
	fi
}

# -------- setup: appliance, root CA with OCSP, one leaf (30 days) --------
new_appliance "$A" || { not_ok "init"; finish; exit 1; }
URL=$(http_url "$A/pcad.conf")
sed -i 's/^\[ocsp\]/[ocsp]\nvalidity_hours = 8\nsigner_days = 2/' "$A/pcad.conf"
echo '{"OcspConfiguration":{"Enabled":true}}' >"$TMP/ocsp.json"
ROOT=$(make_root "$TMP" EC_prime256v1 SHA256WITHECDSA "Rollover Root" \
    --revocation-json "$TMP/ocsp.json")
if [ -n "$ROOT" ] &&
    ec_csr "$TMP/leaf.csr" leaf.example.com &&
    "$PCACTL" issue --ca "$ROOT" --csr "$TMP/leaf.csr" \
	--signing-alg SHA256WITHECDSA --validity 30d \
	--out "$TMP/leaf.pem" >/dev/null; then
	ok "setup: root CA with OCSP, a leaf, validity_hours 8, signer_days 2"
else
	not_ok "setup"
	finish
	exit 1
fi

# -------- real time --------
pcad_up "pcad starts (real time)"
if snap "$TMP/s0.json"; then
	ok "real time: pre-signed good from a delegated signer (cryptography)"
else
	not_ok "real time: pre-signed good from a delegated signer" "$(cat "$TMP/s0.json")"
	finish
	exit 1
fi
within "real time: response valid 8 h" $(($(g s0 next) - $(g s0 this))) 28800 28800
# (notBefore is backdated 1 h by the CA engine: notAfter is issuance + 2 d)
within "real time: signer valid until its issuance + 2 days" \
    $(($(g s0 signer_na) - $(g s0 produced))) 172790 172800
ossl "real time: openssl ocsp -verify against the root"
stop_pcad

# -------- 4 h later: across half the validity, pcad running --------
# pcad starts 12 s before the response is due (produced + 4 h), serves it
# as stored, then re-signs it while running.
HALF=$(($(g s0 produced) + 4 * 3600))
OFFSET=$((HALF - 12 - $(date +%s)))
start_pcad || not_ok "pcad starts 4 h later" "$(tail -20 "$A/pcad.log")"
if snap "$TMP/s1.json" && [ "$(g s1 this)" -eq "$(g s0 this)" ] &&
    [ "$(fake_now)" -lt "$HALF" ]; then
	ok "before half the validity: the stored response is served as signed"
else
	not_ok "before half the validity: the stored response is served as signed" \
	    "$(cat "$TMP/s1.json"); fake now $(fake_now), due $HALF"
fi
i=0
while snap "$TMP/s2.json" >/dev/null && [ "$(g s2 this)" -eq "$(g s0 this)" ] &&
    [ $i -lt 40 ]; do
	sleep 0.25
	i=$((i + 1))
done
sed 's/^/# /' "$TMP/s2.json"
within "past half the validity: re-signed by the running pcad (thisUpdate - due, s)" \
    $(($(g s2 this) - HALF)) 0 10
within "past half the validity: nextUpdate = thisUpdate + 8 h" \
    $(($(g s2 next) - $(g s2 this))) 28800 28800
[ "$(g s2 signer_serial)" = "$(g s0 signer_serial)" ] &&
    [ "$(g s2 signer_key)" = "$(g s0 signer_key)" ] &&
    ok "1 day+ left on the signer: not rolled over (same serial and key)" ||
    not_ok "1 day+ left on the signer: not rolled over" \
	"$(g s0 signer_serial) -> $(g s2 signer_serial)"
ossl "4 h later: openssl ocsp -verify (at the shifted time)"
stop_pcad

# -------- just past the rollover point: the signer has < 1 day left --------
ROLL=$(($(g s0 signer_na) - 86400))
OFFSET=$((ROLL + 60 - $(date +%s)))
echo "# clock +$OFFSET s: 60 s past the rollover point"
start_pcad || not_ok "pcad starts past the rollover point" "$(tail -20 "$A/pcad.log")"
if snap "$TMP/s3.json"; then
	ok "past the rollover point: good, signed by a delegated signer issued by the CA, OCSPSigning, nocheck"
else
	not_ok "past the rollover point: good from a delegated signer" "$(cat "$TMP/s3.json")"
fi
[ "$(g s3 signer_serial)" != "$(g s0 signer_serial)" ] &&
    [ "$(g s3 signer_key)" != "$(g s0 signer_key)" ] &&
    ok "rolled over: a new responder certificate and key ($(g s0 signer_serial) -> $(g s3 signer_serial))" ||
    not_ok "rolled over: a new responder certificate and key" \
	"$(g s0 signer_serial) -> $(g s3 signer_serial)"
within "the new signer was issued at the shifted time (notAfter - 2 d - rollover point, s)" \
    $(($(g s3 signer_na) - 172800 - ROLL)) 0 180
within "the new signer's notBefore is 1 h before its issuance (backdated)" \
    $(($(g s3 signer_na) - $(g s3 signer_nb))) 176400 176400
within "the response was re-signed at the shifted time (thisUpdate - rollover point, s)" \
    $(($(g s3 this) - ROLL)) 0 180
ossl "past the rollover point: openssl ocsp -verify against the root"
ossl "past the rollover point: openssl ocsp -verify, SHA-256 CertID" -sha256
out=$(shifted openssl ocsp -issuer "$TMP/root.pem" -url "$URL" -cert "$TMP/leaf.pem" \
    -no_nonce -resp_text -noverify 2>&1)
if printf '%s' "$out" | grep -q "OCSP No Check" &&
    printf '%s' "$out" | grep -q "OCSP Signing" &&
    printf '%s' "$out" | grep -qi "$(g s3 signer_serial | sed 's/../&:/g; s/:$//')"; then
	ok "openssl sees the new responder certificate (OCSP Signing, OCSP No Check)"
else
	not_ok "openssl sees the new responder certificate" "$(printf '%s' "$out" | head -40)"
fi
# two signers so far: the first (real time) and the rollover
[ "$(grep -c "new delegated signer" "$A/pcad.log")" -eq 2 ] &&
    ! grep -q "could not destroy old signer key" "$A/pcad.log" &&
    ok "pcad logged the rollover and destroyed the old signer key" ||
    not_ok "pcad logged the rollover and destroyed the old signer key" \
	"$(grep OCSP "$A/pcad.log" | tail -5)"
stop_pcad

# -------- restarted at that time: the new signer is kept --------
OFFSET=$((ROLL + 90 - $(date +%s)))
start_pcad || not_ok "pcad restarts past the rollover point" "$(tail -20 "$A/pcad.log")"
if snap "$TMP/s4.json" && [ "$(g s4 signer_serial)" = "$(g s3 signer_serial)" ] &&
    [ "$(grep -c "new delegated signer" "$A/pcad.log")" -eq 2 ]; then
	ok "restarted: the rolled-over signer is kept (no second rollover)"
else
	not_ok "restarted: the rolled-over signer is kept" "$(cat "$TMP/s4.json")"
fi
kill -0 "$PCAD_PID" 2>/dev/null && ok "pcad still running under the shifted clock" ||
    not_ok "pcad still running under the shifted clock" "$(tail -20 "$A/pcad.log")"
stop_pcad
finish
