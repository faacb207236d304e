#!/bin/sh
# ACME beyond the core (test_acme.sh): EAB keys bound to an issuance policy
# and to profiles (draft-ietf-acme-profiles: meta.profiles, newOrder
# "profile", invalidProfile), judged before any challenge and again by the
# engine at finalize; EAB HMAC keys sealed by the token; alternate chains
# across a root rotation (Link rel="alternate"); ARI "replaces" linked in
# the inventory; pruning of old orders, authorizations and accounts; uacme.
# Clients: acme/acme_lib.py (python cryptography), uacme.  TAP lines.
. "$(dirname "$0")/lib.sh"
. "$HERE/acme/lifecycle.sh"

need_built "$PCAD" "$PCACTL"
python3 -c 'import cryptography' 2>/dev/null || {
	echo "ok 1 # SKIP python3 lacks cryptography"
	echo "1..1"
	exit 0
}
unset AWS_CA_BUNDLE
api_appliance
H01=$(free_port)
cat >"$A/policies.conf" <<EOP
[policy narrow_web]
base = web_server
dns_suffix_allow = ok.example.test
max_validity_days = 100
EOP
printf '\n[policy]\nfile = %s\n' "$A/policies.conf" >>"$A/pcad.conf"
acme_conf "$H01" 5
acme_start "ACME More Root" acme-crl

# py_checks NAME SUITE ARGS...: more_checks.py's lines as TAP lines
py_checks() {
	pc_name=$1
	pc_suite=$2
	shift 2
	acme_py "$pc_name ran" more_checks.py "$pc_suite" "$DIR" "$CABUNDLE" \
	    "$H01" "$@"
}

# ---- profiles and policy-bound EAB keys ----
check "pcactl acme profile set (5-day narrow)" "$PCACTL" acme profile set \
    --ca "$ARN" --name narrow --policy narrow_web --validity-days 5
check "pcactl acme profile set (7-day web, a template)" "$PCACTL" acme \
    profile set --ca "$CAID" --name short --policy web_server \
    --validity-days 7 --description "seven days for the web" \
    --template arn:aws:acm-pca:::template/EndEntityServerAuthCertificate/V1
check "pcactl acme profile set (over its policy's validity)" "$PCACTL" \
    acme profile set --ca "$ARN" --name toolong --policy narrow_web \
    --validity-days 200
check_fails "a profile of an unknown policy is refused" "no issuance policy" \
    "$PCACTL" acme profile set --ca "$ARN" --name x --policy nosuch
check_fails "a profile of a CA not on the appliance is refused" \
    "no certificate authority" "$PCACTL" acme profile set --ca \
    0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d --name x --policy web_server
check_fails "an EAB key of a CA not on the appliance is refused" \
    "no certificate authority" "$PCACTL" acme eab create --ca \
    0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
check_fails "a bad profile name is refused" "not a profile name" \
    "$PCACTL" acme profile set --ca "$ARN" --name 'a b' --policy web_server
check "pcactl acme profile list shows them" sh -c \
    "'$PCACTL' acme profile list --ca '$ARN' | grep -q '^short.*policy=web_server.*validity_days=7'"
check_fails "an EAB key with an unknown policy is refused" \
    "no issuance policy" "$PCACTL" acme eab create --ca "$ARN" \
    --policy nosuch
E1=$("$PCACTL" acme eab create --ca "$ARN" --policy narrow_web)
K1=$(printf '%s\n' "$E1" | awk '/^kid /{print $2}')
H1=$(printf '%s\n' "$E1" | awk '/^hmac_key /{print $2}')
E2=$("$PCACTL" acme eab create --ca "$ARN" --profiles short)
K2=$(printf '%s\n' "$E2" | awk '/^kid /{print $2}')
H2=$(printf '%s\n' "$E2" | awk '/^hmac_key /{print $2}')
check "EAB keys with --policy and --profiles" test -n "$K1" -a -n "$K2"
# the HMAC key is stored sealed: its bytes are nowhere in the store
HRAW=$(printf '%s' "$H1" | tr '_-' '/+' | python3 -c 'import sys,base64
s=sys.stdin.read().strip(); print(base64.b64decode(s+"="*(-len(s)%4)).hex())')
if grep -rqa "$H1" "$A/data" 2>/dev/null ||
    python3 - "$A/data" "$HRAW" <<'EOP'
import os, sys
raw = bytes.fromhex(sys.argv[2])
for d, _, fs in os.walk(sys.argv[1]):
    for f in fs:
        with open(os.path.join(d, f), "rb") as fh:
            if raw in fh.read():
                sys.exit(0)
sys.exit(1)
EOP
then
	not_ok "the EAB HMAC key is not in the store in the clear"
else
	ok "the EAB HMAC key is not in the store in the clear (sealed)"
fi
py_checks "the profiles suite" profiles "$K1" "$H1" "$K2" "$H2"

# ---- ARI: replaces links old and new certificates ----
O=$TMP/ari
mkdir -p "$O"
curl -sf "$URL/metrics" >"$O/metrics0.txt"
py_checks "the replaces suite" replaces "$O"
curl -sf "$URL/metrics" >"$O/metrics1.txt"
read -r SA SB <"$O/serials" 2>/dev/null
# the same links through the inventory API (OpenPCA.ListCertificates,
# signed as botocore signs), next to a certificate not issued by ACME
ec_csr "$O/plain.csr" plain.example.test
PLAIN=$("$PCACTL" issue --ca "$ARN" --csr "$O/plain.csr" \
    --signing-alg SHA256WITHECDSA --validity 30d --out "$O/plain.pem" \
    2>&1) || not_ok "a certificate issued by pcactl" "$PLAIN"
PLAIN=$(openssl x509 -in "$O/plain.pem" -noout -serial 2>/dev/null)
out=$(python3 - "$HERE/api" "$ARN" "$SA" "$SB" "${PLAIN#serial=}" <<'PY' 2>&1
import sys
sys.path.insert(0, sys.argv[1])
import pcaclient as P
arn = sys.argv[2]
sa, sb, plain = [a.upper() for a in sys.argv[3:6]]
def page(body):
    items, tok = [], None
    while True:
        b = dict(body, CertificateAuthorityArn=arn, MaxResults=2)
        if tok:
            b["NextToken"] = tok
        st, _, r = P.raw("ListCertificates", b, headers={
            "X-Amz-Target": "OpenPCA.ListCertificates"})
        assert st == 200, (st, r)
        items += r["Certificates"]
        tok = r.get("NextToken")
        if not tok:
            return {i["Serial"].upper(): i for i in items}
every = page({})
acme = page({"IssuedThroughAcme": True})
assert sa in every and sb in every and plain in every, (sa, sb, plain,
                                                        list(every))
assert "Acme" not in every[plain], every[plain]
assert plain not in acme and sa in acme and sb in acme, list(acme)
assert all(i["RequestedBy"].startswith("acme:") and "Acme" in i
           for i in acme.values()), acme
a, b = every[sa]["Acme"], every[sb]["Acme"]
assert b["Replaces"].upper() == sa and "ReplacedBy" not in b, b
assert a["ReplacedBy"].upper() == sb and "Replaces" not in a, a
assert a["AccountId"] == b["AccountId"] and a["OrderId"] != b["OrderId"], \
    (a, b)
assert every[sb]["RequestedBy"] == "acme:" + b["AccountId"], every[sb]
w = b["SuggestedWindow"]
nb, na = every[sb]["NotBefore"], every[sb]["NotAfter"]
assert w["Start"] == nb + (na - nb) * 2 // 3 and w["End"] < na, (w, nb, na)
assert b["RenewalRequestedEarly"] is False, b
st, _, r = P.raw("ListCertificates", {"CertificateAuthorityArn": arn,
                                      "Serial": sb}, headers={
    "X-Amz-Target": "OpenPCA.ListCertificates"})
assert st == 200 and r["Certificates"] == [every[sb]], (st, r)
print("ok")
PY
)
if [ "$out" = ok ]; then
	ok "OpenPCA.ListCertificates: Acme account, order, Replaces/ReplacedBy and window of ACME certificates; IssuedThroughAcme filters them; Serial reads one"
else
	not_ok "OpenPCA.ListCertificates shows the ACME records" "$out"
fi
check "pcactl acme cert: the new certificate names the one it replaces" \
    sh -c "'$PCACTL' acme cert --serial '$SB' | grep -qi '^replaces $SA\$'"
check "pcactl acme cert: the old certificate names its replacement" \
    sh -c "'$PCACTL' acme cert --serial '$SA' | grep -qi '^replaced_by $SB\$'"
check_fails "pcactl acme cert of a certificate not issued by ACME" \
    "not issued through ACME" "$PCACTL" acme cert --serial 0123456789
# inv_early SERIAL: "RenewalRequestedEarly End-now" of a certificate of
# the CA in OpenPCA.ListCertificates (its Acme member)
inv_early() {
	python3 - "$HERE/api" "$ARN" "$1" <<'PY' 2>&1
import sys, time
sys.path.insert(0, sys.argv[1])
import pcaclient as P
tok, want = None, sys.argv[3].upper()
while True:
    b = {"CertificateAuthorityArn": sys.argv[2], "IssuedThroughAcme": True}
    if tok:
        b["NextToken"] = tok
    st, _, r = P.raw("ListCertificates", b, headers={
        "X-Amz-Target": "OpenPCA.ListCertificates"})
    for i in r.get("Certificates", []) if st == 200 else []:
        if i["Serial"].upper() == want:
            a = i["Acme"]
            print(a["RenewalRequestedEarly"],
                  a["SuggestedWindow"]["End"] - int(time.time()))
            sys.exit(0)
    tok = r.get("NextToken") if st == 200 else None
    if not tok:
        print("not listed", st, r)
        sys.exit(0)
PY
}
report_early() { # the compliance report's RFC 9773 early renewals
	"$PCACTL" --json report | python3 -c 'import json, sys
d = json.load(sys.stdin)
print(d["Summary"]["RenewalRequestedEarly"], " ".join(
    i["Serial"] for i in d["RenewalRequestedEarly"]))'
}
check "the compliance report lists no early renewal yet" sh -c \
    "'$PCACTL' --json report | grep -q '\"RenewalRequestedEarly\": *0'"
"$PCACTL" cert renew-early --ca "$ARN" --serial "$SB" >/dev/null
E=$(report_early)
case "$E" in
"1 $SB"|"1 $(echo "$SB" | tr 'A-F' 'a-f')") ok "after pcactl cert renew-early the compliance report shows it (RenewalRequestedEarly)" ;;
*) not_ok "after pcactl cert renew-early the compliance report shows it" "$E / $SB" ;;
esac
check "the report's table has the ARI lines" sh -c \
    "'$PCACTL' report | grep -q 'ACME renewal requested early *1'"
E=$(inv_early "$SB")
case "$E" in
"True -"[0-9]*|"True 0") ok "OpenPCA.ListCertificates: after renew-early the certificate's window is in the past (RenewalRequestedEarly)" ;;
*) not_ok "OpenPCA.ListCertificates: after renew-early the window moves" "$E" ;;
esac
E=$(inv_early "$SA")
case "$E" in
"False "[0-9]*) ok "OpenPCA.ListCertificates: another certificate's window stays ahead" ;;
*) not_ok "OpenPCA.ListCertificates: another certificate's window stays ahead" "$E" ;;
esac

# ---- pruning of expired orders and authorizations ----
O=$TMP/prune
mkdir -p "$O"
py_checks "the prune suite (before)" prune-before "$O"
if [ -f "$FAKELIB" ]; then
	stop_pcad
	echo "keep_days = 1" >>"$A/pcad.conf"
	OFFSET=$((9 * 86400))	# orders expire after 7 days
	pcad_env() { fake_env; }
	check "pcactl acme prune --keep-days 30 keeps an order expired 2 days" \
	    sh -c "$(fake_env) '$PCACTL' acme prune --keep-days 30 | \
	    grep -q 'pruned 0 orders'"
	start_pcad || die "pcad did not restart" "$(tail "$A/pcad.log")"
	py_checks "the prune suite (after)" prune-after "$O" 1
	check "pcactl acme prune: nothing left to prune" sh -c \
	    "$(fake_env) '$PCACTL' acme prune | grep -q 'pruned 0 orders'"
	stop_pcad
	OFFSET=0
	start_pcad || die "pcad did not restart" "$(tail "$A/pcad.log")"
else
	skip "pruning" "libfaketime not installed"
fi

# ---- uacme: http-01 through its hook, obtain, renew, revoke ----
# uacme (libcurl-gnutls) trusts only the system bundle: it runs in a mount
# namespace of its own where the appliance's bundle is that file.
with_bundle() {
	if [ "$(id -u)" -eq 0 ]; then set -- unshare -m "$@"; else
		set -- unshare -rm "$@"; fi
	"$@"
}
if command -v uacme >/dev/null && with_bundle true 2>/dev/null; then
	UA=$TMP/uacme
	mkdir -p "$UA/conf" "$UA/www/.well-known/acme-challenge"
	cat >"$UA/hook.sh" <<EOH
#!/bin/sh
# uacme hook: METHOD TYPE IDENT TOKEN AUTH (http-01 only)
[ "\$2" = http-01 ] || exit 1
case "\$1" in
begin) printf '%s' "\$5" >"$UA/www/.well-known/acme-challenge/\$4" ;;
done|failed) rm -f "$UA/www/.well-known/acme-challenge/\$4" ;;
*) exit 1 ;;
esac
EOH
	chmod +x "$UA/hook.sh"
	python3 -m http.server "$H01" --bind 127.0.0.1 \
	    --directory "$UA/www" >/dev/null 2>&1 &
	UWWW=$!
	CLEANUP="${CLEANUP:+$CLEANUP; }kill $UWWW 2>/dev/null"
	sleep 1
	ua() {
		with_bundle sh -c 'mount --bind "$0" \
		    /etc/ssl/certs/ca-certificates.crt && exec timeout 180 \
		    uacme "$@"' "$CABUNDLE" -a "$DIR" -c "$UA/conf" -y -t EC \
		    -h "$UA/hook.sh" "$@"
	}
	check "uacme registers an account" ua new ops@example.test
	check "uacme obtains a certificate (http-01 via its hook)" ua issue \
	    u.uacme.example.test
	UC=$UA/conf/u.uacme.example.test/cert.pem
	check "uacme's chain verifies with openssl verify" openssl verify \
	    -CAfile "$ROOT" "$UC"
	U1=$(openssl x509 -in "$UC" -noout -serial 2>/dev/null)
	check "uacme renews (--force)" ua -f issue u.uacme.example.test
	U2=$(openssl x509 -in "$UC" -noout -serial 2>/dev/null)
	if [ -n "$U2" ] && [ "$U1" != "$U2" ]; then
		ok "uacme's renewal is a new certificate"
	else
		not_ok "uacme's renewal is a new certificate" "$U1 / $U2"
	fi
	cp "$UC" "$UA/issued.pem"	# uacme renames what it revoked
	check "uacme revokes" ua revoke "$UC"
	UC=$UA/issued.pem
	check "OCSP says uacme's certificate is revoked" sh -c "i=0; \
	    while [ \$i -lt 100 ]; do openssl ocsp -issuer '$ROOT' \
	    -cert '$UC' -url '$URL' -CAfile '$ROOT' -no_nonce \
	    >'$TMP/ocsp.out' 2>&1; grep -q ': revoked' '$TMP/ocsp.out' && \
	    exit 0; sleep 0.2; i=\$((i+1)); done; cat '$TMP/ocsp.out'; \
	    openssl x509 -in '$UC' -noout -serial -issuer; exit 1"
	check "the CRL lists it" sh -c "i=0; while [ \$i -lt 100 ]; do \
	    curl -sf '$URL/crl/$CAID.crl' -o '$TMP/ca.crl' && \
	    openssl crl -inform DER -in '$TMP/ca.crl' -noout -text | \
	    grep -qi 'Serial Number: *${U2#serial=}' && exit 0; sleep 0.2; \
	    i=\$((i+1)); done; exit 1"
	kill "$UWWW" 2>/dev/null
	wait "$UWWW" 2>/dev/null
	HAVE_UACME=1
else
	HAVE_UACME=0
	skip "uacme" "uacme not installed or no mount namespace"
fi

# ---- alternate chains across a root rotation ----
O=$TMP/chains
mkdir -p "$O"
SUB=$("$PCACTL" ca create --type SUBORDINATE --key-alg EC_prime256v1 \
    --signing-alg SHA256WITHECDSA --subject "CN=ACME More Sub,C=US") &&
    "$PCACTL" ca csr "$SUB" --out "$TMP/sub.csr" &&
    "$PCACTL" issue --ca "$ARN" --csr "$TMP/sub.csr" \
	--signing-alg SHA256WITHECDSA --validity 5y \
	--template SubordinateCACertificate_PathLen0 --out "$TMP/sub.pem" \
	>/dev/null &&
    "$PCACTL" ca import "$SUB" --cert "$TMP/sub.pem" --chain "$ROOT" \
	>/dev/null || not_ok "a subordinate CA under the root"
SUBDIR=$API/acme/${SUB##*/}/directory
py_checks "the chains suite (before)" chains-before "$O" "$SUBDIR"
NEW=$("$PCACTL" ca rotate "$ARN" 2>"$TMP/rot.err") ||
    not_ok "pcactl ca rotate" "$(cat "$TMP/rot.err")"
NEWDIR=$API/acme/${NEW##*/}/directory
py_checks "the chains suite (after)" chains-after "$O" "$NEWDIR"
# uacme --alternate 1 (RFC 8555 7.4.2): the chain through the old root
if [ "$HAVE_UACME" = 1 ]; then
	python3 -m http.server "$H01" --bind 127.0.0.1 \
	    --directory "$UA/www" >/dev/null 2>&1 &
	UWWW=$!
	CLEANUP="${CLEANUP:+$CLEANUP; }kill $UWWW 2>/dev/null"
	sleep 1
	ua2() {
		with_bundle sh -c 'mount --bind "$0" \
		    /etc/ssl/certs/ca-certificates.crt && exec timeout 180 \
		    uacme "$@"' "$CABUNDLE" -a "$NEWDIR" -c "$UA/conf2" -y \
		    -t EC -h "$UA/hook.sh" "$@"
	}
	mkdir -p "$UA/conf2"
	check "uacme registers with the successor root's directory" ua2 new
	check "uacme --alternate 1 obtains the alternate chain" ua2 -l 1 \
	    issue alt.uacme.example.test
	mkdir -p "$O/ualt"
	awk -v d="$O/ualt" '/BEGIN CERT/{n++} n{print > (d "/c" n ".pem")}' \
	    "$UA/conf2/alt.uacme.example.test/cert.pem"
	check "uacme's alternate chain verifies under the old root alone" \
	    openssl verify -CAfile "$ROOT" -untrusted "$O/ualt/c2.pem" \
	    "$O/ualt/c1.pem"
	kill "$UWWW" 2>/dev/null
	wait "$UWWW" 2>/dev/null
fi
# split PEM: c1.pem (leaf), c2.pem ...
split_pem() {
	rm -f "$2"/c*.pem
	awk -v d="$2" '/BEGIN CERT/{n++} n{print > (d "/c" n ".pem")}' "$1"
}
for f in old-default old-alt new-default new-alt sub-alt; do
	mkdir -p "$O/$f"
	split_pem "$O/$f.pem" "$O/$f"
done
cp "$O/new-default/c2.pem" "$O/root1.pem" 2>/dev/null
check "the new root is not the old one" sh -c \
    "! cmp -s '$O/root1.pem' '$ROOT'"
check "old leaf, default chain: verifies under the old root" \
    openssl verify -CAfile "$ROOT" "$O/old-default/c1.pem"
check "old leaf, alternate chain: verifies under the new root alone" \
    openssl verify -CAfile "$O/root1.pem" -untrusted "$O/old-alt/c2.pem" \
    "$O/old-alt/c1.pem"
check "old leaf without the alternate's link: not under the new root" \
    sh -c "! openssl verify -CAfile '$O/root1.pem' '$O/old-alt/c1.pem' \
    >/dev/null 2>&1"
E=$(inv_early "$SA")
case "$E" in
"True -"[0-9]*|"True 0") ok "OpenPCA.ListCertificates: after the rotation the old root's certificates are due early" ;;
*) not_ok "OpenPCA.ListCertificates: after the rotation the old root's certificates are due early" "$E" ;;
esac
E=$(report_early)
case "$E" in
"1 "*) not_ok "after the rotation every live certificate of the old root is due early" "$E" ;;
[0-9]*) ok "after the rotation every live certificate of the old root is due early (report)" ;;
*) not_ok "after the rotation the report lists the old root's certificates" "$E" ;;
esac
cat "$O/sub-alt/c2.pem" "$O/sub-alt/c3.pem" >"$O/sub-alt/untrusted.pem" \
    2>/dev/null
check "a subordinate's leaf, alternate chain: verifies under the new root alone" \
    openssl verify -CAfile "$O/root1.pem" -untrusted \
    "$O/sub-alt/untrusted.pem" "$O/sub-alt/c1.pem"
check "new leaf, default chain: verifies under the new root" \
    openssl verify -CAfile "$O/root1.pem" "$O/new-default/c1.pem"
check "new leaf, alternate chain: verifies under the old root alone" \
    openssl verify -CAfile "$ROOT" -untrusted "$O/new-alt/c2.pem" \
    "$O/new-alt/c1.pem"

# ---- metrics: failures by problem type, records kept ----
curl -sf "$URL/metrics" >"$TMP/metrics0.txt"
py_checks "the failing suite" failing
curl -sf "$URL/metrics" >"$TMP/metrics.txt"
PY=python3
python3 -c 'import prometheus_client' 2>/dev/null || PY=/usr/bin/python3
if "$PY" -c 'import prometheus_client' 2>/dev/null; then
	out=$("$PY" - "$TMP/metrics.txt" "$TMP/metrics0.txt" \
	    "$TMP/ari/metrics0.txt" "$TMP/ari/metrics1.txt" <<'PY' 2>&1
import sys
from prometheus_client.parser import text_string_to_metric_families
def families(path):
    fams = {}
    for f in text_string_to_metric_families(open(path).read()):
        assert f.name not in fams, "family %s split in two" % f.name
        fams[f.name] = f
    return fams
def by_state(path):
    return {s.labels["state"]: s.value
            for s in families(path)["pcad_acme_orders"].samples}
def delta(a, b):
    x, y = by_state(a), by_state(b)
    assert sorted(y) == sorted(["pending", "ready", "processing", "valid",
                                "invalid"]), y
    return {k: y[k] - x.get(k, 0) for k in y}
# the replaces suite: two orders through to valid, the refused ones none
d = delta(sys.argv[3], sys.argv[4])
assert d == {"pending": 2, "ready": 2, "processing": 2, "valid": 2,
             "invalid": 0}, ("replaces suite", d)
# the failing suite: one order, invalid
d = delta(sys.argv[2], sys.argv[1])
assert d == {"pending": 1, "ready": 0, "processing": 0, "valid": 0,
             "invalid": 1}, ("failing suite", d)
fams = families(sys.argv[1])
assert fams["pcad_acme_orders_invalid"].samples[0].value == \
    by_state(sys.argv[1])["invalid"]
v = {tuple(sorted(s.labels.items())): s.value
     for s in fams["pcad_acme_validation_failures"].samples}
assert v[(("problem", "incorrectResponse"),)] + \
    v[(("problem", "connection"),)] >= 1, v
assert fams["pcad_acme_orders_invalid"].samples[0].value >= 1
r = {s.labels["kind"]: s.value for s in fams["pcad_acme_records"].samples}
assert r["accounts"] >= 5 and r["orders"] >= 5 and r["authorizations"] >= 5, r
print("ok")
PY
)
	if [ "$out" = ok ]; then
		ok "/metrics: orders by state (the replaces and failing suites' orders exactly), validation failures by problem, invalid orders, records kept (prometheus_client parses it)"
	else
		not_ok "/metrics: ACME families" "$out"
	fi
else
	skip "/metrics parsed" "no prometheus_client"
fi

check "no ACME answer was a 5xx" sh -c \
    "! grep -E 'acme: .*: 5[0-9][0-9] ' '$A/pcad.log'"
finish
