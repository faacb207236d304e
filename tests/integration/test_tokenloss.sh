#!/bin/sh
# Token loss: the appliance reaches its token through p11-kit's remoting
# (p11-kit-client.so -> "p11-kit server" -> SoftHSM), as it would reach a
# network HSM.  The server is killed mid-loop and started again: callers get
# a retryable error while it is gone, and issuance resumes in the same
# process, without a restart.
#
# First, the token directory of a local SoftHSM is moved away for 6 s
# during an issue loop (issue 15, defect 1): the module still answers but
# shows no key.  That is token trouble too: retryable errors only, /health
# 503, recovery without a restart, and no PENDING record left behind.
. "$(dirname "$0")/lib.sh"

CLIENT=/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so
A=$TMP/app
new_appliance "$A" || { not_ok "init"; finish; exit 1; }
# with a local CRL: pcad must build it again once the token is back
if [ -n "${PCA_TEST_RSA_ONLY:-}" ]; then
	ROOT=$(make_root "$TMP" RSA_2048 SHA256WITHRSA "Root RSA_2048" \
	    --revocation crl)
	LOOP_SIGALG=SHA256WITHRSA
	export LOOP_SIGALG
else
	ROOT=$(make_root "$TMP" EC_prime256v1 SHA256WITHECDSA \
	    "Root EC_prime256v1" --revocation crl)
fi
[ -n "$ROOT" ] && ok "setup" || not_ok "setup"
ec_csr "$TMP/leaf.csr" loss.example.com
cp "$A/pcad.conf" "$A/pcad-direct.conf"
TOKENDIR=$A/hsm/tokens

# "store: ... N certificates (P pending) ..." -> P
pending() { "$PCACTL" store verify 2>&1 | sed -n 's/.*(\([0-9]*\) pending).*/\1/p'; }
CLEANUP='[ -d "$TOKENDIR.away" ] && mv "$TOKENDIR.away" "$TOKENDIR"'

# -- the token directory moved away under an in-process issue loop --
# (a SoftHSM token directory: another module keeps its token elsewhere)
if [ -n "${PCA_P11_MODULE:-}" ]; then
	skip "token directory gone under an issue loop" "not a SoftHSM token"
else
# the file exists before the loop starts: a grep of a missing file made
# the wait end at once, and the token went before the loop had opened it
: >"$TMP/dir.out"
"$TOOLS/issue_loop" "$A/pcad.conf" "$ROOT" "$TMP/leaf.csr" 600 2 \
    >>"$TMP/dir.out" 2>"$TMP/dir.err" &
LOOP=$!
i=0
while [ "$(grep -c '^issued ' "$TMP/dir.out")" -lt 50 ] && [ $i -lt 400 ]; do
	sleep 0.05
	i=$((i + 1))
done
mv "$TOKENDIR" "$TOKENDIR.away"
sleep 6
GONE=$(grep -c '^issued ' "$TMP/dir.out")
mv "$TOKENDIR.away" "$TOKENDIR"
wait "$LOOP"
RC=$?
DONE=$(grep -c '^issued ' "$TMP/dir.out")
RETRIES=$(grep -c '^retry ' "$TMP/dir.out")
if [ "$RC" -eq 0 ] && [ "$DONE" -eq 600 ]; then
	ok "token directory gone 6 s: the loop finished all 600 without a restart ($((DONE - GONE)) after the return)"
else
	not_ok "token directory gone 6 s: the loop finished without a restart" \
	    "rc=$RC issued=$DONE; $(tail -3 "$TMP/dir.err")"
fi
if [ "$RETRIES" -gt 0 ] && ! grep -q 'ResourceNotFound\|no private key' "$TMP/dir.err"; then
	ok "token directory gone: $RETRIES retryable errors, none permanent"
else
	not_ok "token directory gone: retryable errors only" \
	    "retries=$RETRIES; $(tail -3 "$TMP/dir.err")"
fi
if grep '^retry ' "$TMP/dir.out" | head -1 | grep -q 'token'; then
	ok "the retryable error names the token"
else
	not_ok "the retryable error names the token" "$(grep '^retry ' "$TMP/dir.out" | head -1)"
fi
check "token directory gone: store verify is clean" "$PCACTL" store verify
P=$(pending)
if [ "$P" = "0" ]; then ok "token directory gone: no PENDING record left behind"
else not_ok "token directory gone: no PENDING record left behind" "pending=$P"; fi
fi

SOCK=$TMP/p11.sock
sed -e '/^module_env = /d' \
    -e "s|^module = .*|module = $CLIENT\nmodule_env = P11_KIT_SERVER_ADDRESS=unix:path=$SOCK|" \
    "$A/pcad.conf" >"$A/pcad-remote.conf"
chmod 600 "$A/pcad-remote.conf"

SERVER=""
start_server() {
	rm -f "$SOCK"
	SOFTHSM2_CONF="$A/hsm/softhsm2.conf" setsid p11-kit server -f \
	    --provider "${PCA_P11_MODULE:-$SOFTHSM}" -n "$SOCK" \
	    "pkcs11:token=${PCA_P11_TOKEN:-openpca}" \
	    >/dev/null 2>&1 &
	SERVER=$!
	i=0
	while [ ! -S "$SOCK" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	[ -S "$SOCK" ]
}
stop_server() { [ -n "$SERVER" ] && kill -9 "-$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; SERVER=""; }
CLEANUP="stop_server; $CLEANUP"

# 0 before the loop has opened its output (a loaded machine starts it late)
count_issued() {
	c=$(grep -c '^issued ' "$TMP/loop.out" 2>/dev/null)
	echo "${c:-0}"
}
if start_server; then ok "p11-kit server exposes the token"
else not_ok "p11-kit server exposes the token"; fi
"$TOOLS/issue_loop" "$A/pcad-remote.conf" "$ROOT" "$TMP/leaf.csr" 3000 2 \
    >"$TMP/loop.out" 2>"$TMP/loop.err" &
LOOP=$!
i=0
while [ "$(count_issued)" -lt 200 ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i + 1)); done
BEFORE=$(count_issued)
[ "$BEFORE" -ge 200 ] && ok "issuing through the remote token ($BEFORE so far)" ||
    not_ok "issuing through the remote token" "$(cat "$TMP/loop.err")"

stop_server		# the token disappears mid-loop
if pgrep -f "p11-kit server -f .*$SOCK" >/dev/null ||
    pgrep -f "server -f .*$SOCK" >/dev/null; then
	not_ok "the p11-kit server is gone"
else
	ok "the p11-kit server is gone"
fi
sleep 1
DOWN1=$(count_issued)
sleep 1
DOWN2=$(count_issued)
RETRIES=$(grep -c '^retry ' "$TMP/loop.out")
if [ "$DOWN1" = "$DOWN2" ] && [ "$RETRIES" -gt 0 ]; then
	ok "while the token is gone: no issuance, $RETRIES retryable errors"
else
	not_ok "while the token is gone: no issuance, retryable errors" \
	    "issued $DOWN1 -> $DOWN2, retries $RETRIES"
fi
if kill -0 "$LOOP" 2>/dev/null; then ok "the issuing process survived the token loss"
else not_ok "the issuing process survived the token loss" "$(cat "$TMP/loop.err")"; fi
if grep '^retry ' "$TMP/loop.out" | head -1 | grep -qi 'unavail\|token\|CKR'; then
	ok "the retryable error names the token"
else
	not_ok "the retryable error names the token" "$(grep '^retry ' "$TMP/loop.out" | head -1)"
fi

if start_server; then ok "the token comes back"
else not_ok "the token comes back"; fi
wait "$LOOP"
RC=$?
TOTAL=$(count_issued)
if [ "$RC" -eq 0 ] && [ "$TOTAL" -eq 3000 ]; then
	ok "issuance resumed without a restart: all 3000 issued ($((TOTAL - DOWN2)) after the return)"
else
	not_ok "issuance resumed without a restart" "rc=$RC issued=$TOTAL; $(tail -3 "$TMP/loop.err")"
fi
stop_server
check "store verify is clean" "$PCACTL" store verify

# The daemon on the same remote token: retryable errors and 503 while it is
# gone, recovery without a restart.
cp "$A/pcad-remote.conf" "$A/pcad.conf"
PCA_DIR=$A P11_SOCK=$SOCK ROOT_ARN=$ROOT BIN=$BIN \
    SOFTHSM2_CONF="$A/hsm/softhsm2.conf" \
    python3 "$(dirname "$0")/tokenloss/pcad_remote.py" >"$TMP/remote.tap" 2>&1
relay_tap "$TMP/remote.tap" "pcad" "pcad on the remote token ran"

# pcad on the local SoftHSM while its token directory is moved away.
if [ -n "${PCA_P11_MODULE:-}" ]; then
	skip "pcad, token directory gone" "not a SoftHSM token"
else
cp "$A/pcad-direct.conf" "$A/pcad.conf"
PCA_DIR=$A TOKENDIR=$TOKENDIR ROOT_ARN=$ROOT BIN=$BIN \
    python3 "$(dirname "$0")/tokenloss/pcad_tokendir.py" >"$TMP/dir.tap" 2>&1
relay_tap "$TMP/dir.tap" "pcad, token directory" "pcad, token directory: ran"
check "pcad, token directory: store verify is clean" "$PCACTL" store verify
P=$(pending)
if [ "$P" = "0" ]; then ok "pcad, token directory: no PENDING record left behind"
else not_ok "pcad, token directory: no PENDING record left behind" "pending=$P"; fi
fi
finish
