#!/bin/sh
# CA renewal and key rotation end to end (issue 12):
#   - rotation/rotate.py: a root and an intermediate rotated through
#     OpenPCA.RotateCertificateAuthority while boto3 threads issue (zero
#     failed issuances; callers of an old CA are told its successor), a
#     same-key renewal of the new intermediate under load, the refusals;
#   - openssl verify: leaves of the old and the new chains, and across them
#     through the link certificates served on the HTTP port;
#   - the old intermediate's CRL (openssl crl, verify -crl_check) and OCSP
#     (openssl ocsp) keep answering, the renewed CA's CRL and OCSP verify;
#   - the link certificates published to S3 (moto_server) by the outbox;
#   - pcactl: ca rotate under an external parent (the successor waits for
#     its certificate; an abandoned one does not block), policy bindings
#     following the rotation, scheduled rotation (ca schedule, ca rotate --due),
#     the mass re-issue run of docs/rotation.md, store verify;
#   - libfaketime: pcad started 3 days later disables the old intermediate
#     once its last certificate has expired (the old root, whose
#     certificates still live, stays).
. "$(dirname "$0")/lib.sh"

A=$TMP/app
O=$TMP/out
pcad_env() { fake_env; }
# field CA PYEXPR: a value of "pcactl --json ca show CA" (d is the object)
field() {
	shifted "$PCACTL" --json ca show "$1" |
	    python3 -c "import json,sys; d=json.load(sys.stdin); print($2)"
}
# vfy NAME CAFILE UNTRUSTED LEAF: openssl verify (-x509_strict) succeeds
vfy() {
	if out=$(openssl verify -x509_strict -CAfile "$O/$2" ${3:+-untrusted "$O/$3"} \
	    "$O/$4" 2>&1); then ok "$1"; else not_ok "$1" "$out"; fi
}

if ! python3 -c 'import boto3, cryptography' 2>/dev/null; then
	echo "not ok 1 - test_rotation: python3 lacks boto3 or cryptography"
	exit 1
fi

# -------- rotation under API load (boto3) --------
new_appliance "$A" || { not_ok "init"; finish; exit 1; }
URL=$(http_url "$A/pcad.conf")
mkdir -p "$O"
PCA_DIR=$A BIN=$BIN OUT=$O python3 "$ROOTDIR/tests/integration/rotation/rotate.py" \
    >"$TMP/py.out" 2>"$TMP/py.err"
while IFS= read -r line; do
	case "$line" in
	"PASS "*) ok "${line#PASS }" ;;
	"FAIL "*) not_ok "${line#FAIL }" ;;
	*) echo "#   $line" ;;
	esac
done <"$TMP/py.out"
if [ ! -s "$O/ids.env" ]; then
	not_ok "rotate.py ran to the end" "$(tail -20 "$TMP/py.err")"
	finish
	exit 1
fi
. "$O/ids.env"
I0=${INT0##*/}
I1=${INT1##*/}
R0=${ROOT0##*/}

# -------- chains, old and new and across the link certificates --------
start_pcad || not_ok "pcad starts" "$(tail -20 "$A/pcad.log")"
n=0
for l in $LINKS; do
	n=$((n + 1))
	curl -sf -D "$TMP/h$n" "$URL$l" -o "$O/link$n.der" &&
	    grep -qi '^content-type: application/pkix-cert' "$TMP/h$n" &&
	    openssl x509 -inform DER -in "$O/link$n.der" -out "$O/link$n.pem" &&
	    ok "link certificate served over HTTP: $l" ||
	    not_ok "link certificate served over HTTP: $l" "$(cat "$TMP/h$n")"
done
case "$LINKS" in
*new-signed-by-old.crt*old-signed-by-new.crt*) ;;
*) not_ok "both link certificates listed" "$LINKS" ;;
esac
cp "$O/link1.pem" "$O/nso.pem" 2>/dev/null # new key, signed by the old
cp "$O/link2.pem" "$O/osn.pem" 2>/dev/null # old key, signed by the new
cat "$O/int0.pem" "$O/osn.pem" >"$O/u_old.pem"
cat "$O/int1.pem" "$O/nso.pem" >"$O/u_new.pem"
vfy "old chain: leaf of the old intermediate under the old root" root0.pem int0.pem leaf_int0.pem
vfy "new chain: leaf of the new (renewed) intermediate under the new root" root1.pem int1.pem leaf_int1.pem
vfy "renewal: the first certificate of the new intermediate still verifies its leaves" \
    root1.pem int1_first.pem leaf_int1.pem
vfy "cross: an old leaf under the new root via old-signed-by-new" root1.pem u_old.pem leaf_int0.pem
vfy "cross: a new leaf under the old root via new-signed-by-old" root0.pem u_new.pem leaf_int1.pem
vfy "cross: the old root's leaf under the new root" root1.pem osn.pem leaf_root0.pem
vfy "cross: the new root's leaf under the old root" root0.pem nso.pem leaf_root1.pem
if openssl verify -CAfile "$O/root1.pem" -untrusted "$O/int0.pem" \
    "$O/leaf_int0.pem" >/dev/null 2>&1; then
	not_ok "without the link an old leaf does not verify under the new root"
else
	ok "without the link an old leaf does not verify under the new root"
fi

# -------- the old intermediate's CRL and OCSP keep answering --------
serial=$(openssl x509 -in "$O/leaf_int0.pem" -noout -serial | sed 's/serial=//')
i=0
until curl -sf "$URL/crl/$I0.crl" -o "$O/int0.crl" &&
    openssl crl -inform DER -in "$O/int0.crl" -noout -text 2>/dev/null |
    grep -qi "Serial Number: *$serial"; do
	i=$((i + 1))
	[ $i -ge 50 ] && break
	sleep 0.2
done
if out=$(openssl crl -inform DER -in "$O/int0.crl" -CAfile "$O/int0.pem" -noout 2>&1) &&
    printf '%s' "$out" | grep -q "verify OK" && [ $i -lt 50 ]; then
	ok "old intermediate: its CRL lists the leaf revoked after the rotation (openssl crl verify OK)"
else
	not_ok "old intermediate: CRL with the revoked leaf" "$out"
fi
openssl crl -inform DER -in "$O/int0.crl" -out "$O/int0.crl.pem" 2>/dev/null
if out=$(openssl verify -crl_check -CRLfile "$O/int0.crl.pem" -CAfile "$O/root0.pem" \
    -untrusted "$O/int0.pem" "$O/leaf_int0.pem" 2>&1); then
	not_ok "openssl verify -crl_check: the old leaf is revoked" "$out"
elif printf '%s' "$out" | grep -q "certificate revoked"; then
	ok "openssl verify -crl_check: the old leaf is revoked"
else
	not_ok "openssl verify -crl_check: the old leaf is revoked" "$out"
fi
# ocsp NAME ISSUER LEAF ROOT STATUS
ocsp() {
	j=0
	while :; do
		out=$(openssl ocsp -issuer "$O/$2" -cert "$O/$3" -url "$URL" \
		    -CAfile "$O/$4" -verify_other "$O/$2" -no_nonce 2>&1)
		printf '%s' "$out" | grep -q "Response verify OK" &&
		    printf '%s' "$out" | grep -q ": $5" && { ok "$1"; return; }
		j=$((j + 1))
		[ $j -ge 25 ] && break
		sleep 0.2
	done
	not_ok "$1" "$out"
}
ocsp "old intermediate: OCSP answers revoked (openssl ocsp, verified)" int0.pem leaf_int0.pem root0.pem revoked
ocsp "old root: OCSP answers for its leaf (good)" root0.pem leaf_root0.pem root0.pem good
ocsp "renewed intermediate: OCSP good, verified against the new certificate" int1.pem leaf_int1.pem root1.pem good
i=0
until curl -sf "$URL/crl/$I1.crl" -o "$O/int1.crl"; do
	i=$((i + 1))
	[ $i -ge 50 ] && break
	sleep 0.2
done
if out=$(openssl crl -inform DER -in "$O/int1.crl" -CAfile "$O/int1.pem" -noout 2>&1) &&
    printf '%s' "$out" | grep -q "verify OK" &&
    [ "$(openssl crl -inform DER -in "$O/int1.crl" -noout -issuer)" = \
	"issuer=$(openssl x509 -in "$O/int1.pem" -noout -subject | sed 's/^subject=//')" ]; then
	ok "renewed intermediate: its CRL verifies under the new certificate and names it"
else
	not_ok "renewed intermediate: CRL under the new certificate" "$out"
fi
stop_pcad

# -------- link certificates published to S3 (moto_server) --------
if command -v moto_server >/dev/null && python3 -c 'import moto' 2>/dev/null; then
	ROT_TMP=$TMP BIN=$BIN python3 "$ROOTDIR/tests/integration/rotation/s3_links.py" \
	    >"$TMP/s3.out" 2>"$TMP/s3.err"
	grep -q '^PASS' "$TMP/s3.out" || not_ok "S3 link publication ran" "$(tail -20 "$TMP/s3.err")"
	while IFS= read -r line; do
		case "$line" in
		"PASS "*) ok "${line#PASS }" ;;
		"FAIL "*) not_ok "${line#FAIL }" ;;
		esac
	done <"$TMP/s3.out"
else
	N=$((N + 1))
	echo "ok $N # SKIP moto_server not installed: S3 publication of link certificates"
fi

# -------- pcactl: a subordinate under an external parent --------
cat >"$TMP/ext.cnf" <<'EOF'
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
ext_sign() { # ext_sign CSR OUT
	openssl x509 -req -in "$1" -CA "$TMP/ext.pem" -CAkey "$TMP/ext.key" \
	    -set_serial "0x$(openssl rand -hex 8)" -days 365 \
	    -extfile "$TMP/ext.cnf" -out "$2" 2>/dev/null
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$TMP/ext.key" -subj "/CN=External Root" -days 3650 \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$TMP/ext.pem" 2>/dev/null
X=$("$PCACTL" ca create --type SUBORDINATE --key-alg EC_prime256v1 \
    --signing-alg SHA256WITHECDSA --subject "CN=Ext Issuing,O=OpenPCA Test,C=US" \
    --revocation none)
"$PCACTL" ca csr "$X" --out "$TMP/x.csr" && ext_sign "$TMP/x.csr" "$TMP/x.pem" &&
    "$PCACTL" ca import "$X" --cert "$TMP/x.pem" --chain "$TMP/ext.pem" >/dev/null ||
    not_ok "external parent: setup"
ec_csr "$TMP/leaf.csr" leaf.example.com
X1=$("$PCACTL" ca rotate "$X" 2>"$TMP/err") &&
    [ "$(field "$X1" 'd["Status"]')" = PENDING_CERTIFICATE ] &&
    [ "$(field "$X" 'd["OpenPCA"]["PendingSuccessorArn"]')" = "$X1" ] &&
    ok "external parent: ca rotate makes a successor waiting for its certificate" ||
    not_ok "external parent: ca rotate" "$(cat "$TMP/err")"
check "external parent: the old CA keeps issuing while the successor waits" \
    "$PCACTL" issue --ca "$X" --csr "$TMP/leaf.csr" --signing-alg SHA256WITHECDSA --validity 1d
"$PCACTL" ca csr "$X1" --out "$TMP/x1.csr" && ext_sign "$TMP/x1.csr" "$TMP/x1.pem"
check "external parent: the successor's certificate is imported" \
    "$PCACTL" ca import "$X1" --cert "$TMP/x1.pem" --chain "$TMP/ext.pem"
check_fails "external parent: then the old CA refuses, naming the successor" \
    "rotated.*successor $X1" \
    "$PCACTL" issue --ca "$X" --csr "$TMP/leaf.csr" --signing-alg SHA256WITHECDSA --validity 1d
if "$PCACTL" issue --ca "$X1" --csr "$TMP/leaf.csr" --signing-alg SHA256WITHECDSA \
    --validity 1d --out "$TMP/x1leaf.pem" >/dev/null &&
    cat "$TMP/x1.pem" >"$TMP/x1chain.pem" &&
    out=$(openssl verify -CAfile "$TMP/ext.pem" -untrusted "$TMP/x1chain.pem" "$TMP/x1leaf.pem" 2>&1); then
	ok "external parent: the successor issues; openssl verify OK"
else
	not_ok "external parent: the successor issues" "$out"
fi
# a policy bound to the first CA binds its successors too
printf '[policy short]\nbase = internal_service\nmax_validity_days = 3\n\n[bind]\n%s = short\n' \
    "${X##*/}" >"$A/rot-policies.conf"
printf '\n[policy]\nfile = rot-policies.conf\n' >>"$A/pcad.conf"
check_fails "policy bindings follow the rotation: the successor is judged by its predecessor's policy" \
    "exceeds the maximum of 3 days" \
    "$PCACTL" issue --ca "$X1" --csr "$TMP/leaf.csr" --signing-alg SHA256WITHECDSA --validity 5d
check "policy bindings follow the rotation: within the policy the successor issues" \
    "$PCACTL" issue --ca "$X1" --csr "$TMP/leaf.csr" --signing-alg SHA256WITHECDSA --validity 2d
sed -i '/^\[policy\]$/d; /^file = rot-policies.conf$/d' "$A/pcad.conf"
X2=$("$PCACTL" ca rotate "$X1" 2>/dev/null)
check_fails "external parent: a second rotation waits for the pending successor" \
    "rotated already; its successor is $X2" "$PCACTL" ca rotate "$X1"
"$PCACTL" ca delete "$X2" --days 7 >/dev/null
X3=$("$PCACTL" ca rotate "$X1" 2>"$TMP/err") && [ "$X3" != "$X2" ] &&
    [ "$(field "$X1" 'd["OpenPCA"]["PendingSuccessorArn"]')" = "$X3" ] &&
    ok "external parent: a deleted (abandoned) pending successor does not block a new rotation" ||
    not_ok "external parent: an abandoned pending successor" "$(cat "$TMP/err")"
check_fails "ca rotate of an unknown CA: one error line" "does not exist" \
    "$PCACTL" ca rotate 01234567-89ab-cdef-0123-456789abcdef
check_fails "ca rotate without a CA: one error line" "missing argument" \
    "$PCACTL" ca rotate

# -------- scheduled rotation --------
# (the root is backdated too: a CA certificate nests in its issuer's)
S=$("$PCACTL" ca create --type ROOT --key-alg EC_prime256v1 \
    --signing-alg SHA256WITHECDSA --subject "CN=Scheduled Root,O=OpenPCA Test,C=US" \
    --revocation none)
"$PCACTL" ca csr "$S" --out "$TMP/s.csr" &&
    "$PCACTL" issue --ca "$S" --csr "$TMP/s.csr" --signing-alg SHA256WITHECDSA \
	--not-before $(($(date +%s) - 1728000)) --validity 10y \
	--template RootCACertificate --out "$TMP/root.pem" >/dev/null &&
    "$PCACTL" ca import "$S" --cert "$TMP/root.pem" >/dev/null ||
    not_ok "scheduled: the root"
SU=$("$PCACTL" ca create --type SUBORDINATE --key-alg EC_prime256v1 \
    --signing-alg SHA256WITHECDSA --subject "CN=Scheduled,O=OpenPCA Test,C=US" \
    --revocation none)
# a 30-day certificate with 20 days left
"$PCACTL" ca csr "$SU" --out "$TMP/su.csr" &&
    "$PCACTL" issue --ca "$S" --csr "$TMP/su.csr" --signing-alg SHA256WITHECDSA \
	--not-before $(($(date +%s) - 864000)) --validity 20d \
	--template SubordinateCACertificate_PathLen0 --out "$TMP/su.pem" >/dev/null &&
    "$PCACTL" ca import "$SU" --cert "$TMP/su.pem" --chain "$TMP/root.pem" >/dev/null ||
    not_ok "scheduled: setup"
check_fails "ca schedule: a window as long as the certificate is refused" \
    "not shorter than the certificate" \
    "$PCACTL" ca schedule "$SU" --rotate-before-days 31
check "ca schedule: rotate 25 days before expiry" \
    "$PCACTL" ca schedule "$SU" --rotate-before-days 25
out=$("$PCACTL" --json ca rotate --due 2>&1)
SU1=$(field "$SU" 'd["OpenPCA"]["SuccessorArn"]' 2>/dev/null)
if printf '%s' "$out" | grep -q '"Rotated": 1' && [ -n "$SU1" ] &&
    [ "$(field "$SU1" 'd["Status"]')" = ACTIVE ] &&
    [ "$(field "$SU1" 'd["OpenPCA"]["RotateBeforeDays"]')" = 25 ]; then
	ok "ca rotate --due: the CA within its window is rotated; the successor keeps the schedule"
else
	not_ok "ca rotate --due rotates the CA within its window" "$out"
fi
out=$("$PCACTL" --json ca rotate --due 2>&1)
printf '%s' "$out" | grep -q '"Rotated": 0' &&
    ok "ca rotate --due again: nothing more is due (the successor has 30 days)" ||
    not_ok "ca rotate --due again: nothing more is due" "$out"
printf '[ca]\nrotate_before_days = 30\n' >>"$A/pcad.conf"
check "[ca] rotate_before_days: pcad --check-config accepts it" \
    "$PCAD" --config "$A/pcad.conf" --check-config
sed -i 's/^rotate_before_days = 30$/rotate_before_days = soon/' "$A/pcad.conf"
if "$PCAD" --config "$A/pcad.conf" --check-config >/dev/null 2>&1; then
	not_ok "[ca] rotate_before_days: a bad value is refused"
else
	ok "[ca] rotate_before_days: a bad value is refused"
fi
sed -i '/^\[ca\]$/d; /^rotate_before_days = soon$/d' "$A/pcad.conf"

# -------- the mass re-issue run of docs/rotation.md --------
mkdir -p "$TMP/csrs"
ec_csr "$TMP/csrs/a.example.com.csr" a.example.com
ec_csr "$TMP/csrs/b.example.com.csr" b.example.com
ec_csr "$TMP/c.csr" c.example.com # its owner kept no CSR here
for f in "$TMP/csrs/a.example.com.csr" "$TMP/csrs/b.example.com.csr" "$TMP/c.csr"; do
	"$PCACTL" issue --ca "$SU1" --csr "$f" --signing-alg SHA256WITHECDSA \
	    --validity 5d >/dev/null || not_ok "re-issue run: setup"
done
SU2=$("$PCACTL" ca rotate "$SU1")
PCACTL="$PCACTL" sh "$ROOTDIR/tests/integration/rotation/reissue.sh" "$SU1" "$SU2" \
    "$TMP/csrs" "$TMP/renewed" >"$TMP/re.out" 2>"$TMP/re.err"
if [ "$(grep -c '^reissued' "$TMP/re.out")" -eq 2 ] &&
    grep -q "no CSR for serial .*CN=c.example.com" "$TMP/re.err" &&
    [ -s "$TMP/renewed/a.example.com.pem" ] &&
    [ "$(openssl x509 -in "$TMP/renewed/a.example.com.pem" -noout -issuer)" = \
	"$(openssl x509 -in "$TMP/su.pem" -noout -subject | sed 's/^subject/issuer/')" ]; then
	ok "re-issue run: cert list --json feeds it; 2 re-issued by the successor, 1 without CSR reported"
else
	not_ok "re-issue run" "$(cat "$TMP/re.out" "$TMP/re.err")"
fi
check "store verify: clean after the rotations" "$PCACTL" store verify

# -------- 3 days later: the old intermediate retires --------
if [ ! -r "$FAKELIB" ]; then
	echo "ok $((N + 1)) # SKIP libfaketime not installed"
	N=$((N + 1))
	finish
	exit $?
fi
[ "$(field "$INT0" 'd["Status"]')" = ACTIVE ] &&
    ok "real time: the rotated intermediate is still ACTIVE (its leaves live)" ||
    not_ok "real time: the rotated intermediate is still ACTIVE"
OFFSET=$((3 * 86400))
start_pcad || not_ok "pcad starts 3 days later" "$(tail -20 "$A/pcad.log")"
i=0
until [ "$(field "$INT0" 'd["Status"]')" = DISABLED ]; do
	i=$((i + 1))
	[ $i -ge 100 ] && break
	sleep 0.2
done
if [ "$(field "$INT0" 'd["Status"]')" = DISABLED ] &&
    [ -n "$(field "$INT0" 'd["OpenPCA"]["RetiredAt"]')" ]; then
	ok "3 days later: pcad's maintenance disabled the old intermediate (last certificate expired)"
else
	not_ok "3 days later: the old intermediate is disabled" "$(tail -5 "$A/pcad.log")"
fi
[ "$(field "$ROOT0" 'd["Status"]')" = ACTIVE ] &&
    ok "3 days later: the old root stays ACTIVE (the old intermediate's certificate lives)" ||
    not_ok "3 days later: the old root stays ACTIVE"
[ "$(field "$INT1" 'd["Status"]')" = ACTIVE ] &&
    ok "3 days later: the successor is untouched" ||
    not_ok "3 days later: the successor is untouched"
shifted "$PCACTL" store verify >/dev/null 2>&1 || true
grep -q "RetireCertificateAuthority.*$I0" "$A/pcad.log" 2>/dev/null ||
    grep -q "its last certificate expired: disabled" "$A/pcad.log" &&
    ok "the retirement is logged" || not_ok "the retirement is logged"
stop_pcad
finish
