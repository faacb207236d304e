#!/bin/sh
# From demo to production: "make install" into a DESTDIR (FHS layout), the
# man pages (rendered by man -l; pcad.conf(5) against the parser's own key
# table, both directions), the systemd unit (systemd-analyze verify and
# security --offline), and real names: a certificate issued after
# "init --public-url" carries only that base in CDP and AIA/OCSP (judged by
# openssl x509 -text), and the API answers with a certificate that
# "openssl s_client -verify_hostname" accepts for an --api-name name.
. "$(dirname "$0")/lib.sh"

MK="make --no-print-directory -C $ROOTDIR BIN=$BIN BUILD=$BUILD"

# ---- make install ----
D=$TMP/destdir
if out=$($MK install DESTDIR="$D" PREFIX=/usr/local 2>&1); then
	ok "make install DESTDIR=... PREFIX=/usr/local"
else
	not_ok "make install DESTDIR=... PREFIX=/usr/local" "$out"
fi
for f in sbin/pcad:755 bin/pcactl:755 share/man/man8/pcad.8:644 \
    share/man/man8/pcactl.8:644 share/man/man5/pcad.conf.5:644 \
    share/doc/openpca/examples/pcad.conf.example:644 \
    share/doc/openpca/examples/policies.example:644 \
    share/doc/openpca/production.md:644 \
    lib/systemd/system/pcad.service:644 \
    lib/systemd/system/pcad-tls-renew.service:644 \
    lib/systemd/system/pcad-tls-renew.timer:644 \
    lib/sysusers.d/openpca.conf:644 \
    lib/tmpfiles.d/openpca.conf:644; do
	p=$D/usr/local/${f%:*}
	if [ -f "$p" ] && [ "$(stat -c %a "$p")" = "${f#*:}" ]; then
		ok "installed ${f%:*} (mode ${f#*:})"
	else
		not_ok "installed ${f%:*} (mode ${f#*:})" "$(ls -l "$p" 2>&1)"
	fi
done
if grep -q '^ExecStart=/usr/local/sbin/pcad --config ' \
    "$D/usr/local/lib/systemd/system/pcad.service"; then
	ok "the installed unit runs \$PREFIX/sbin/pcad"
else
	not_ok "the installed unit runs \$PREFIX/sbin/pcad"
fi
check "the installed pcad runs (--list-config-keys)" \
    "$D/usr/local/sbin/pcad" --list-config-keys

# ---- man pages ----
for m in man8/pcad.8 man8/pcactl.8 man5/pcad.conf.5; do
	page=$D/usr/local/share/man/$m
	if ! command -v man >/dev/null 2>&1; then
		echo "ok $((N = N + 1)) - man -l $m # SKIP man-db is not installed"
		continue
	fi
	txt=$(MANWIDTH=80 man -l --warnings "$page" 2>"$TMP/man.err")
	if printf '%s' "$txt" | grep -q '^NAME' &&
	    printf '%s' "$txt" | grep -q '^SEE ALSO' &&
	    ! grep -qiE 'warning|error' "$TMP/man.err"; then
		ok "man -l renders $m"
	else
		not_ok "man -l renders $m" "$(cat "$TMP/man.err")"
	fi
done
# The keys of pcad.conf(5): ".SS [section]" then ".TP" / ".B key".
awk '/^\.SS "\[/ { s = $2; gsub(/[]"[]/, "", s) }
    /^\.TP/ { tp = 1; next }
    tp && /^\.B / && s != "" { print s "." $2 }
    { tp = 0 }
    /^\.SH / && !/KEYS/ { s = "" }' "$ROOTDIR/man/pcad.conf.5" |
    sort >"$TMP/man.keys"
"$PCAD" --list-config-keys | sort >"$TMP/parser.keys"
MISSING=$(comm -23 "$TMP/parser.keys" "$TMP/man.keys" | tr '\n' ' ')
EXTRA=$(comm -13 "$TMP/parser.keys" "$TMP/man.keys" | tr '\n' ' ')
if [ -s "$TMP/parser.keys" ] && [ -z "$MISSING" ]; then
	ok "every key the parser knows ($(wc -l <"$TMP/parser.keys")) is in pcad.conf(5)"
else
	not_ok "every key the parser knows is in pcad.conf(5)" "missing: $MISSING"
fi
if [ -s "$TMP/man.keys" ] && [ -z "$EXTRA" ]; then
	ok "pcad.conf(5) lists no key the parser does not know"
else
	not_ok "pcad.conf(5) lists no key the parser does not know" "extra: $EXTRA"
fi

# ---- the systemd unit ----
# verify needs the unit's binaries and Documentation= pages where it says:
# an install with PREFIX inside TMP (no DESTDIR), found through MANPATH.
P=$TMP/prefix
if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "ok $((N = N + 1)) - systemd-analyze verify # SKIP systemd-analyze is not installed"
	echo "ok $((N = N + 1)) - systemd-analyze security # SKIP systemd-analyze is not installed"
else
	$MK install PREFIX="$P" >/dev/null 2>&1
	U=$P/lib/systemd/system/pcad.service
	if out=$(MANPATH=$P/share/man systemd-analyze verify "$U" \
	    "$P/lib/systemd/system/pcad-tls-renew.service" \
	    "$P/lib/systemd/system/pcad-tls-renew.timer" 2>&1) &&
	    [ -z "$out" ]; then
		ok "systemd-analyze verify accepts pcad.service and the renewal timer"
	else
		not_ok "systemd-analyze verify accepts the units" "$out"
	fi
	out=$(systemd-analyze security --offline=true "$U" 2>&1)
	EXP=$(printf '%s\n' "$out" |
	    sed -n 's/.*Overall exposure level for pcad.service: \([0-9.]*\).*/\1/p')
	if [ -n "$EXP" ] && awk "BEGIN { exit !($EXP <= 2.0) }"; then
		ok "systemd-analyze security --offline: exposure $EXP <= 2.0"
	else
		not_ok "systemd-analyze security --offline: exposure <= 2.0" \
		    "$(printf '%s\n' "$out" | tail -5)"
	fi
	for want in "User=openpca" "NoNewPrivileges=yes" \
	    "ProtectSystem=strict" "PrivateTmp=yes" "ProtectHome=yes" \
	    "CapabilityBoundingSet=" "SystemCallFilter=@system-service" \
	    "MemoryDenyWriteExecute=yes" "LockPersonality=yes" \
	    "ReadWritePaths=/var/lib/openpca/data"; do
		if grep -q "^$want" "$U"; then ok "pcad.service has $want"
		else not_ok "pcad.service has $want"; fi
	done
	if grep -q '^RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX$' "$U"
	then ok "pcad.service restricts address families to inet and unix"
	else not_ok "pcad.service restricts address families"; fi
fi

# ---- real names ----
A=$TMP/app
API=$(free_port)
HTTP=$(free_port)
if out=$("$PCACTL" init "$A" --api-port "$API" --http-port "$HTTP" \
    --public-url https://pki.example.net/ \
    --api-name pca.example.net,pca2.example.net,192.0.2.10 \
    --key-storage-standard FIPS_140_2_LEVEL_2_OR_HIGHER 2>&1); then
	ok "init --public-url --api-name --key-storage-standard"
else
	not_ok "init --public-url --api-name --key-storage-standard" "$out"
fi
PCACTL_CONFIG=$A/pcad.conf
export PCACTL_CONFIG
check_fails "init refuses a --public-url with a query" "public-url" \
    "$PCACTL" init "$TMP/bad" --public-url 'https://x.example/?a=b'
check_fails "init refuses an --api-name that is no name" "api-name" \
    "$PCACTL" init "$TMP/bad" --api-name 'pca.example.net,bad_name!'
check_fails "init refuses an unknown --key-storage-standard" \
    "key-storage-standard" "$PCACTL" init "$TMP/bad" \
    --key-storage-standard FIPS_140_3
check_fails "init refuses a --public-url without a host" "public-url" \
    "$PCACTL" init "$TMP/bad" --public-url 'https://'
check_fails "init refuses a --public-url with a space" "public-url" \
    "$PCACTL" init "$TMP/bad" --public-url 'http://pki.example.net/a b'
check_fails "init refuses an empty --api-name" "api-name" \
    "$PCACTL" init "$TMP/bad" --api-name 'pca.example.net,'
check_fails "init refuses an --api-name label ending in '-'" "api-name" \
    "$PCACTL" init "$TMP/bad" --api-name 'pca-.example.net'
check_fails "init refuses --pin-file without --pkcs11-module" \
    "need --pkcs11-module" "$PCACTL" init "$TMP/bad" --pin-file /dev/null
if [ ! -e "$TMP/bad" ]; then ok "refused inits left nothing behind"
else not_ok "refused inits left nothing behind"; fi

cat >"$TMP/rev.json" <<EOF
{"CrlConfiguration": {"Enabled": true, "S3BucketName": "unused-bucket"},
 "OcspConfiguration": {"Enabled": true}}
EOF
ROOT=$(root_ca EC_prime256v1 SHA256WITHECDSA "CN=Names Root,O=OpenPCA Test" \
    5y "$TMP/root.pem" --revocation-json "$TMP/rev.json")
[ -s "$TMP/root.pem" ] && ok "a root CA with CRL and OCSP enabled" ||
    not_ok "a root CA with CRL and OCSP enabled"
ec_csr "$TMP/leaf.csr" www.example.net
check "a leaf issued" "$PCACTL" issue --ca "$ROOT" --csr "$TMP/leaf.csr" \
    --signing-alg SHA256WITHECDSA --validity 30d --out "$TMP/leaf.pem"
TXT=$(openssl x509 -in "$TMP/leaf.pem" -noout -text)
CDP=$(printf '%s\n' "$TXT" | sed -n '/CRL Distribution Points/,/X509v3\|Authority Information Access/p' |
    grep -o 'URI:[^ ]*' | sed 's/^URI://')
OCSP=$(printf '%s\n' "$TXT" | grep 'OCSP - URI:' | sed 's/.*OCSP - URI://')
URIS=$(printf '%s\n' "$TXT" | grep -o 'URI:[^ ,]*' | sed 's/^URI://')
ID=${ROOT##*/}
if [ "$CDP" = "https://pki.example.net/crl/$ID.crl" ]; then
	ok "CDP is https://pki.example.net/crl/<CA id>.crl"
else
	not_ok "CDP is https://pki.example.net/crl/<CA id>.crl" "$CDP"
fi
if [ "$OCSP" = "https://pki.example.net" ]; then
	ok "AIA OCSP is https://pki.example.net"
else
	not_ok "AIA OCSP is https://pki.example.net" "$OCSP"
fi
if [ -n "$URIS" ] && ! printf '%s\n' "$URIS" |
    grep -v '^https://pki\.example\.net\(/\|$\)' | grep -q .; then
	ok "every URL in the certificate has that base (no 127.0.0.1)"
else
	not_ok "every URL in the certificate has that base" "$URIS"
fi

# pcad: --config from $PCAD_CONFIG; the TLS certificate for the names.
PCAD_CONFIG=$A/pcad.conf "$PCAD" >"$TMP/pcad.log" 2>&1 &
PID=$!
CLEANUP='kill $PID 2>/dev/null; wait $PID 2>/dev/null'
i=0
until curl -s -o /dev/null "http://127.0.0.1:$HTTP/health" || [ $i -ge 200 ]
do sleep 0.1; i=$((i + 1)); done
if kill -0 $PID 2>/dev/null && [ $i -lt 200 ]; then
	ok "pcad started with --config taken from \$PCAD_CONFIG"
else
	not_ok "pcad started with --config taken from \$PCAD_CONFIG" \
	    "$(tail -5 "$TMP/pcad.log")"
fi
sclient() { # sclient NAME [openssl args]: the verify line of a handshake
	n=$1
	shift
	echo Q | openssl s_client -connect "127.0.0.1:$API" -servername "$n" \
	    -CAfile "$A/tls/ca.pem" "$@" 2>&1 | grep 'Verify return code'
}
for n in pca.example.net pca2.example.net; do
	v=$(sclient $n -verify_hostname $n)
	case "$v" in
	*"0 (ok)"*) ok "s_client -verify_hostname $n -CAfile tls/ca.pem: ok" ;;
	*) not_ok "s_client -verify_hostname $n: ok" "$v" ;;
	esac
done
v=$(sclient 192.0.2.10 -verify_ip 192.0.2.10)
case "$v" in
*"0 (ok)"*) ok "s_client -verify_ip 192.0.2.10: ok" ;;
*) not_ok "s_client -verify_ip 192.0.2.10: ok" "$v" ;;
esac
v=$(sclient other.example.net -verify_hostname other.example.net)
case "$v" in
*"0 (ok)"*|"") not_ok "a name not given to --api-name is refused" "$v" ;;
*) ok "a name not given to --api-name is refused ($v)" ;;
esac

# KeyStorageSecurityStandard: what the operator stated, never more.
if out=$(python3 - "$A" "$API" <<'EOF' 2>&1
import sys, boto3, botocore
d, port = sys.argv[1], sys.argv[2]
creds = dict(l.split(" = ", 1) for l in open(d + "/credentials").read()
             .splitlines() if " = " in l)
c = boto3.client("acm-pca", region_name="us-east-1",
                 endpoint_url="https://127.0.0.1:" + port,
                 verify=d + "/tls/ca.pem",
                 aws_access_key_id=creds["aws_access_key_id"],
                 aws_secret_access_key=creds["aws_secret_access_key"])
cfg = {"KeyAlgorithm": "EC_prime256v1", "SigningAlgorithm": "SHA256WITHECDSA",
       "Subject": {"CommonName": "kss"}}
arn = c.create_certificate_authority(
    CertificateAuthorityConfiguration=cfg,
    CertificateAuthorityType="ROOT")["CertificateAuthorityArn"]
got = c.describe_certificate_authority(CertificateAuthorityArn=arn)[
    "CertificateAuthority"].get("KeyStorageSecurityStandard")
assert got == "FIPS_140_2_LEVEL_2_OR_HIGHER", got
try:
    c.create_certificate_authority(
        CertificateAuthorityConfiguration=cfg, CertificateAuthorityType="ROOT",
        KeyStorageSecurityStandard="FIPS_140_2_LEVEL_3_OR_HIGHER")
    raise SystemExit("LEVEL_3 was accepted on a token stated LEVEL_2")
except botocore.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "InvalidArgsException", e.response
    print(e.response["Error"]["Message"])
EOF
); then
	ok "KeyStorageSecurityStandard is the stated one; more is refused: $out"
else
	not_ok "KeyStorageSecurityStandard as stated, more refused" "$out"
fi

# docs/troubleshooting.md: AWS_CA_BUNDLE overrides aws-config's ca_bundle.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$TMP/other.key" -out "$TMP/other.pem" -days 1 \
    -subj "/CN=other" 2>/dev/null
bundle_call() { # bundle_call [AWS_CA_BUNDLE]: prints ok or the error class
	env -u AWS_CA_BUNDLE ${1:+AWS_CA_BUNDLE=$1} \
	    AWS_CONFIG_FILE="$A/aws-config" \
	    AWS_SHARED_CREDENTIALS_FILE="$A/credentials" python3 -c '
import sys, boto3
c = boto3.client("acm-pca", endpoint_url=sys.argv[1])
try:
    c.list_certificate_authorities()
    print("ok")
except Exception as e:  # noqa: BLE001
    print(type(e).__name__)
' "https://127.0.0.1:$API" 2>&1 | tail -1
}
r1=$(bundle_call)
r2=$(bundle_call "$TMP/other.pem")
if [ "$r1" = ok ] && [ "$r2" = SSLError ]; then
	ok "aws-config's ca_bundle works; AWS_CA_BUNDLE overrides it (troubleshooting.md)"
else
	not_ok "AWS_CA_BUNDLE overrides aws-config's ca_bundle" "$r1 / $r2"
fi

# The appliance-issued API certificate: renewed at 2/3 of its life by
# "pcactl tls renew --if-due" (the daily timer), served after SIGHUP.
served_serial() {
	echo Q | openssl s_client -connect "127.0.0.1:$API" \
	    -servername pca.example.net 2>/dev/null |
	    openssl x509 -noout -serial 2>/dev/null
}
S0=$(served_serial)
out=$("$PCACTL" tls renew --if-due 2>&1)
case "$out" in
"not due"*) ok "tls renew --if-due: a fresh certificate is not due" ;;
*) not_ok "tls renew --if-due: a fresh certificate is not due" "$out" ;;
esac
if command -v faketime >/dev/null 2>&1; then
	# (an ASan build runs with libfaketime preloaded first)
	out=$(ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
	    faketime -f '+300d' "$PCACTL" tls renew --if-due 2>&1)
	Y=$(openssl x509 -in "$A/tls/server.pem" -noout -startdate)
	case "$out" in
	renewed*) ok "tls renew --if-due 300 days later (faketime): renewed ($Y)" ;;
	*) not_ok "tls renew --if-due 300 days later: renewed" "$out" ;;
	esac
else
	echo "ok $((N = N + 1)) - tls renew under faketime # SKIP faketime is not installed"
fi
check "tls renew --force" "$PCACTL" tls renew --force
S1=$(openssl x509 -in "$A/tls/server.pem" -noout -serial)
kill -HUP $PID
i=0
until [ "$(served_serial)" = "$S1" ] || [ $i -ge 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
if [ "$S1" != "$S0" ] && [ "$(served_serial)" = "$S1" ]; then
	ok "SIGHUP: pcad serves the renewed certificate without a restart"
else
	not_ok "SIGHUP: pcad serves the renewed certificate" "$S0 / $S1 / $(served_serial)"
fi
v=$(sclient pca.example.net -verify_hostname pca.example.net)
case "$v" in
*"0 (ok)"*) ok "the renewed certificate keeps the --api-name names" ;;
*) not_ok "the renewed certificate keeps the --api-name names" "$v" ;;
esac

# Operator-supplied TLS files: replaced, then picked up on SIGHUP.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$TMP/op.key" -out "$TMP/op.pem" -days 30 \
    -subj "/CN=operator.example.net" \
    -addext "subjectAltName=DNS:operator.example.net" 2>/dev/null
cp "$TMP/op.pem" "$A/tls/server.pem" && cp "$TMP/op.key" "$A/tls/server.key"
kill -HUP $PID
i=0
until sclient operator.example.net -verify_hostname operator.example.net \
    -CAfile "$TMP/op.pem" | grep -q '0 (ok)' || [ $i -ge 50 ]
do sleep 0.1; i=$((i + 1)); done
if [ $i -lt 50 ]; then ok "SIGHUP: the operator's TLS certificate is served"
else not_ok "SIGHUP: the operator's TLS certificate is served" \
    "$(tail -3 "$TMP/pcad.log")"; fi
check_fails "tls renew refuses an operator-supplied certificate" \
    "operator-supplied" "$PCACTL" tls renew --force
kill $PID
wait $PID
RC=$?
CLEANUP=""
[ "$RC" -eq 0 ] && ok "pcad stops cleanly on SIGTERM" ||
    not_ok "pcad stops cleanly on SIGTERM" "rc=$RC"

# [log] target = journal: entries over the journal's native protocol, to a
# stand-in journald in a private mount namespace (root only).
printf '\n[log]\ntarget = journal\n' >>"$A/pcad.conf"
check "pcad --check-config accepts [log] target = journal" \
    "$PCAD" --config "$A/pcad.conf" --check-config
if [ "$(id -u)" -ne 0 ] || ! unshare -m true 2>/dev/null; then
	echo "ok $((N = N + 1)) - [log] target = journal # SKIP needs root for a private /run"
else
	J=$TMP/journal.out
	unshare -m sh -c '
	    mount -t tmpfs openpca-run /run/systemd && mkdir -p /run/systemd/journal || exit 1
	    python3 "$1/deploy/journal_sink.py" /run/systemd/journal/socket "$2" &
	    SINK=$!
	    i=0; until grep -q ready "$2" 2>/dev/null || [ $i -ge 100 ]; do sleep 0.05; i=$((i+1)); done
	    "$3" --config "$4/pcad.conf" 2>"$4/pcad-journal.err" &
	    P=$!
	    i=0; until grep -q "pcad ready" "$2" || [ $i -ge 200 ]; do sleep 0.1; i=$((i+1)); done
	    kill $P; wait $P
	    sleep 0.3
	    kill $SINK' sh "$(dirname "$0")" "$J" "$PCAD" "$A"
	if grep "pcad ready" "$J" | grep -q "'PRIORITY': '6'" &&
	    grep "pcad ready" "$J" | grep -q "'SYSLOG_IDENTIFIER': 'pcad'" &&
	    grep -q "'OPENPCA_TAG': 'info'" "$J"; then
		ok "[log] target = journal: entries with PRIORITY, SYSLOG_IDENTIFIER, MESSAGE"
	else
		not_ok "[log] target = journal: entries reach the journal" \
		    "$(head -5 "$J" 2>&1) $(tail -3 "$A/pcad-journal.err")"
	fi
	if ! grep -q 'pcad ready' "$A/pcad-journal.err"; then
		ok "[log] target = journal: nothing on stderr while the journal takes it"
	else
		not_ok "[log] target = journal: nothing on stderr" \
		    "$(tail -3 "$A/pcad-journal.err")"
	fi
fi
finish
