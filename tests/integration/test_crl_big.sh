#!/bin/sh
# test_crl_big.sh - a CRL bigger than the signer IPC's old single 32 MiB
# frame limit is signed with [process] separate = yes (the default): a CA
# with CRL_BIG_CERTS (default 850,000) revoked certificates, written by
# tests/tools/inv_fill (all unexpired: 850,000 entries of ~42 bytes,
# ~35.7 MB of TBSCertList), gets a complete CRL that openssl verifies against
# the root and that lists every unexpired revoked certificate.  Before the
# per-type IPC limits pcad logged "ipc: field too big" and published none.
# About 5 minutes of both cores: run by `make check-long` (CHECK_LONG=1),
# skipped by `make check`.
if [ "${CHECK_LONG:-0}" != 1 ]; then
	echo "ok 1 - CRL over the old IPC limit # SKIP long test: make check-long"
	echo "1..1"
	exit 0
fi
. "$(dirname "$0")/lib.sh"

FILL="$TOOLS/inv_fill"
NCERT=${CRL_BIG_CERTS:-850000}
need_built "$FILL" "$PCAD" "$PCACTL"
new_appliance "$A" || die "pcactl init failed"
grep -q '^separate *= *no' "$A/pcad.conf" && die "expects separate = yes"
URL=$(http_url "$A/pcad.conf")
echo '{"CrlConfiguration":{"Enabled":true,"S3BucketName":"openpca-big"}}' \
    >"$TMP/rev.json"
ROOT=$(make_root "$TMP" EC_prime256v1 SHA256WITHECDSA "Big CRL Root" \
    --revocation-json "$TMP/rev.json") || die "root CA"
UUID=${ROOT##*/}
"$FILL" "$A/data" "$NCERT" "$(date +%s)" "$TMP/manifest" --no-pending \
    --revoke-every 1 "$UUID" >/dev/null || die "inv_fill failed"
WANT=$(awk '$3 == "REVOKED"' "$TMP/manifest" | wc -l)
rm -f "$TMP/manifest"
ok "setup: $NCERT certificates, $WANT revoked and unexpired"

start_pcad || { not_ok "start" "$(tail -20 "$A/pcad.log")"; finish; exit 1; }
grep -q "signer" "$A/pcad.log" &&
    ok "pcad runs with a separate signer" ||
    not_ok "pcad runs with a separate signer" "$(head -20 "$A/pcad.log")"
i=0
until curl -sf "$URL/crl/$UUID.crl" -o "$TMP/big.crl" || [ $i -ge 900 ]; do
	sleep 1
	i=$((i + 1))
done
SZ=$(stat -c %s "$TMP/big.crl" 2>/dev/null || echo 0)
[ "$SZ" -gt $((32 * 1024 * 1024)) ] &&
    ok "CRL of $SZ bytes published after ${i} s (over the old 32 MiB limit)" ||
    not_ok "CRL over 32 MiB published" "$SZ bytes after $i s; $(grep crl "$A/pcad.log" | tail -3)"
openssl x509 -in "$TMP/root.pem" -out "$TMP/root.pem" 2>/dev/null
out=$(openssl crl -inform DER -in "$TMP/big.crl" -CAfile "$TMP/root.pem" \
    -noout 2>&1)
case "$out" in *"verify OK"*) ok "openssl crl -CAfile: verify OK" ;;
*) not_ok "openssl crl -CAfile: verify OK" "$out" ;; esac
NENT=$(openssl crl -inform DER -in "$TMP/big.crl" -noout -text 2>/dev/null |
    grep -c '^ *Serial Number:')
[ "$NENT" = "$WANT" ] && ok "the CRL lists all $WANT revoked certificates" ||
    not_ok "the CRL lists all $WANT revoked certificates" "$NENT"
grep -q "ipc: field too big\|over the limit" "$A/pcad.log" &&
    not_ok "no IPC size error logged" "$(grep -m1 'over the limit\|too big' "$A/pcad.log")" ||
    ok "no IPC size error logged"
rm -f "$TMP/big.crl"
stop_pcad
finish
