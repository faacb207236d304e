#!/bin/sh
# pcactl and pcad as a new user meets them (issue 11's rough edges): subject
# parsing, output files checked before issuing, one --json rule tested per
# command, error messages (no stale OpenSSL errors, valid values listed,
# one unit), cert list/show, --version and --help everywhere, Describe
# echoing only what was sent, delegated OCSP responder certificates kept
# out of the expiry counts, and the whole /metrics output checked with
# the Prometheus text-format parser.
. "$(dirname "$0")/lib.sh"

is_json() { python3 -c 'import json, sys; json.load(sys.stdin)' 2>/dev/null; }
# jq_py EXPR: evaluates a python expression over the JSON on stdin (d)
jq_py() {
	python3 -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1" 2>/dev/null
}
ca_count() { "$PCACTL" --json ca list | jq_py 'len(d)'; }
cert_count() { "$PCACTL" --json cert list | jq_py 'len(d)'; }

new_appliance "$A" || { not_ok "pcactl init"; finish; exit 1; }
URL="http://$(sed -n '/^\[http\]/,/^\[/s/^listen *= *//p' "$A/pcad.conf")"

# ---- --version, --help ----
V=$(sed -n 's/^#define PCA_VERSION "\(.*\)"/\1/p' "$ROOTDIR/cmd/version.h")
[ -n "$V" ] && [ "$("$PCACTL" --version)" = "pcactl $V" ] &&
    [ "$("$PCAD" --version)" = "pcad $V" ] &&
    ok "pcactl --version and pcad --version print cmd/version.h's $V" ||
    not_ok "--version" "$("$PCACTL" --version) / $("$PCAD" --version)"
out=$("$PCAD" --help) && printf '%s' "$out" | grep -q -- '--check-config' &&
    printf '%s' "$out" | grep -q -- '--config FILE' &&
    printf '%s' "$out" | grep -q -- '--version' &&
    "$PCAD" -h >/dev/null && ok "pcad --help and -h list its options" ||
    not_ok "pcad --help" "$out"
# pcad --check-config errors: one line naming the file once (and the line
# when the parser knows it)
conf_error() { # conf_error NAME FILE PATTERN
	if out=$("$PCAD" --config "$2" --check-config 2>&1 >/dev/null); then
		not_ok "$1" "accepted"
	elif [ "$(printf '%s\n' "$out" | wc -l)" -ne 1 ] ||
	    [ "$(printf '%s\n' "$out" | grep -o "$2" | wc -l)" -ne 1 ] ||
	    ! printf '%s' "$out" | grep -qE "^pcad: $3"; then
		not_ok "$1" "$out"
	else
		ok "$1"
	fi
}
{ cat "$A/pcad.conf"; printf '[acme]\nbogus = 1\n'; } >"$TMP/bad1.conf"
conf_error "pcad --check-config: an unknown key names the file once, with the line" \
    "$TMP/bad1.conf" "$TMP/bad1.conf:[0-9]+: unknown setting 'bogus' in \[acme\]\$"
{ cat "$A/pcad.conf"; printf '[acme]\nresolver = dns.example\n'; } >"$TMP/bad2.conf"
conf_error "pcad --check-config: a bad value names the file once" \
    "$TMP/bad2.conf" "$TMP/bad2.conf: \[acme\] resolver must be"
conf_error "pcad --check-config: a missing file is named once" \
    "$TMP/none.conf" "$TMP/none.conf: No such file"
out=$("$PCACTL" --help) && printf '%s' "$out" | grep -q "cert list|show" &&
    ok "pcactl --help lists the commands" || not_ok "pcactl --help" "$out"
# every command and subcommand: usage line and each of its options
bad=""
while read -r cmd sub opts; do
	[ -n "$cmd" ] || continue
	[ "$sub" = "-" ] && sub=""
	for h in --help -h; do
		# shellcheck disable=SC2086
		if ! out=$("$PCACTL" $cmd $sub $h 2>&1); then
			bad="$bad [$cmd $sub $h: exit]"
			continue
		fi
		printf '%s' "$out" | grep -q "^usage: pcactl $cmd${sub:+ $sub}" ||
		    bad="$bad [$cmd $sub $h: no usage line]"
		for o in $opts; do
			printf '%s' "$out" | grep -q -- "$o" ||
			    bad="$bad [$cmd $sub: $o missing]"
		done
	done
done <<'EOF'
init - --api-port --http-port --s3-endpoint --region --account-id --public-url --api-name --pkcs11-module --token-label --pin-file --pin-env --module-env --key-storage-standard
ca create --type --key-alg --signing-alg --subject --config-json --revocation-json --revocation --crl-bucket --usage-mode --idempotency-token
ca list
ca show
ca csr --out
ca import --cert --chain
ca enable
ca disable
ca delete --days
ca restore
issue - --ca --csr --signing-alg --validity --template --not-before --api-passthrough --out --chain-out --idempotency-token
revoke - --ca --serial --reason
cert list --ca --status --expiring-days --expiring-before --subject --template
cert show --ca --pem --out --chain-out
store verify
report
key create --role --account
key list
key revoke
audit verify --offline
tls renew --if-due --force
token migrate --pkcs11-module --token-label --pin-file --pin-env --module-env
backup - --to --rate-mb
policy list
policy check --policy --days --template --signing-alg
EOF
[ -z "$bad" ] && ok "-h/--help on every command and subcommand, with its options" ||
    not_ok "-h/--help on every command and subcommand" "$bad"
[ "$("$PCACTL" ca --help | grep -c '^usage: pcactl ca ')" -ge 9 ] &&
    ok "pcactl ca --help shows every ca subcommand" ||
    not_ok "pcactl ca --help shows every ca subcommand"
# man/pcactl.8 and the help texts agree, command by command: every option
# in a command's entries of the man page (the INIT section and the heading
# lines of COMMANDS) is in "pcactl CMD --help", and every option of
# "pcactl CMD --help" (the global --config, --json, --help, --version
# aside) is in its man entries.
man_opts() {
	sed 's/\\-/-/g' "$ROOTDIR/man/pcactl.8" | awk '
	/^\.SH /{sec = $2; next}
	sec == "INIT" && /^\.TP/ {getline; print "init", $0; next}
	sec == "COMMANDS" && /^\.TP/ {getline; l = $0
		sub(/^\.B[RI]* +"?/, "", l); split(l, w, /[ "]/)
		print w[1], $0}' |
	    awk '{for (i = 2; i <= NF; i++) while (match($i, /--[a-z0-9][a-z0-9-]*/)) {
		print $1, substr($i, RSTART, RLENGTH)
		$i = substr($i, RSTART + RLENGTH)}}' | sort -u
}
help_opts() {
	for c in $("$PCACTL" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z]*\).*/\1/p'); do
		"$PCACTL" "$c" --help | sed '/^Global options/,$d' |
		    grep -o -- '--[a-z0-9][a-z0-9-]*' |
		    grep -vxE -- '--(config|json|help|version)' | sed "s/^/$c /"
	done | sort -u
}
man_opts >"$TMP/man.opts"
help_opts >"$TMP/help.opts"
if [ -s "$TMP/man.opts" ] && grep -q '^init --public-url$' "$TMP/man.opts" &&
    d=$(diff "$TMP/help.opts" "$TMP/man.opts"); then
	ok "man/pcactl.8 and pcactl CMD --help list the same options per command"
else
	not_ok "man/pcactl.8 and pcactl CMD --help list the same options" \
	    "< only in --help, > only in the man page: $d"
fi
check_fails "pcactl --bogus: one error line" "unknown option" "$PCACTL" --bogus

# ---- subjects ----
NCA=$(ca_count)
mkca() { # mkca SUBJECT: a root CA of that subject; prints its ARN
	"$PCACTL" ca create --type ROOT --key-alg EC_prime256v1 \
	    --signing-alg SHA256WITHECDSA --subject "$1"
}
csr_subject() { # csr_subject CA: the CSR's subject, RFC 2253
	"$PCACTL" ca csr "$1" | openssl req -noout -subject \
	    -nameopt RFC2253 2>/dev/null | sed 's/^subject=//'
}
# (RFC 2253 prints the last RDN first)
SP=$(mkca "CN=y, O=Spaced") && [ "$(csr_subject "$SP")" = "CN=y,O=Spaced" ] &&
    ok "--subject 'CN=y, O=Spaced': the spaced attribute is kept" ||
    not_ok "--subject 'CN=y, O=Spaced'" "$(csr_subject "$SP")"
check_fails "--subject 'CN=y,0=Typo Org' (last) is refused" "unknown type '0'" \
    mkca "CN=y,0=Typo Org"
check_fails "--subject '0=Typo Org,CN=y' (first) is refused" "unknown type '0'" \
    mkca "0=Typo Org,CN=y"
check_fails "--subject 'CN=y,Typo,O=z' (middle) is refused" "TYPE=value" \
    mkca "CN=y,Typo,O=z"
check_fails "--subject with a trailing comma is refused" "comma" \
    mkca "CN=y,"
check_fails "--subject with an empty value is refused" "empty value" \
    mkca "CN=y,O= "
[ "$(ca_count)" = $((NCA + 1)) ] &&
    ok "refused subjects created no CA" ||
    not_ok "refused subjects created no CA" "$(ca_count) vs $((NCA + 1))"
RP=$(mkca "CN=Ordered,OU=b,OU=a,O=Org,C=US") &&
    [ "$(csr_subject "$RP")" = "C=US,O=Org,OU=a,OU=b,CN=Ordered" ] &&
    ok "repeated attributes kept, in the order given" ||
    not_ok "repeated attributes kept, in the order given" "$(csr_subject "$RP")"
ES=$(mkca 'CN=a\, b,O=Org') && [ "$(csr_subject "$ES")" = 'CN=a\, b,O=Org' ] &&
    ok "an escaped comma stays in its value" ||
    not_ok "an escaped comma stays in its value" "$(csr_subject "$ES")"

# ---- a root and a leaf ----
ROOT=$(make_root "$TMP" EC_prime256v1 SHA256WITHECDSA) ||
    { not_ok "root CA"; finish; exit 1; }
CAID=${ROOT##*/}
ec_csr "$TMP/leaf.csr" leaf.example.com
iss() { # iss [ARGS]: a leaf of ROOT
	"$PCACTL" issue --ca "$ROOT" --csr "$TMP/leaf.csr" \
	    --signing-alg SHA256WITHECDSA --validity 30d "$@"
}

# ---- output files checked first ----
NC=$(cert_count)
check_fails "issue --out /nonexistent/x.pem fails before issuing" \
    "/nonexistent" iss --out /nonexistent/x.pem
check_fails "issue --chain-out into a missing directory fails before issuing" \
    "$TMP/no/dir" iss --out "$TMP/ok.pem" --chain-out "$TMP/no/dir/c.pem"
check_fails "issue --out DIRECTORY fails before issuing" "directory" \
    iss --out "$TMP"
[ "$(cert_count)" = "$NC" ] && [ ! -e "$TMP/ok.pem" ] &&
    ok "nothing issued when an output cannot be written" ||
    not_ok "nothing issued when an output cannot be written" "$(cert_count) vs $NC"
# a write that fails after the checks (the temporary name is too long)
LONG=$TMP/$(printf '%0250d' 0).pem
if out=$(iss --out "$LONG" 2>&1 >/dev/null); then
	not_ok "a failed write after issuance says what was issued" "succeeded"
elif printf '%s' "$out" | grep -q "^pcactl: issued arn:.*/certificate/[0-9a-f]*, but could not write"; then
	CA_ARN=$(printf '%s' "$out" | sed 's/^pcactl: issued \(arn:[^,]*\),.*/\1/')
	"$PCACTL" cert show "$CA_ARN" >/dev/null &&
	    ok "a failed write after issuance says 'issued <ARN>, but could not write'" ||
	    not_ok "the ARN of the message is stored" "$out"
else
	not_ok "a failed write after issuance says what was issued" "$out"
fi

# ---- one --json rule ----
LEAF_ARN=$(iss --out "$TMP/leaf.pem" --chain-out "$TMP/chain.pem") &&
    case "$LEAF_ARN" in arn:*/certificate/*) true ;; *) false ;; esac &&
    openssl verify -CAfile "$TMP/root.pem" "$TMP/leaf.pem" >/dev/null 2>&1 &&
    ok "issue --out writes the PEM and prints the certificate ARN" ||
    not_ok "issue --out writes the PEM and prints the certificate ARN" "$LEAF_ARN"
out=$(iss --json --out "$TMP/j.pem" --chain-out "$TMP/jc.pem") &&
    printf '%s' "$out" | jq_py 'd["CertificateArn"]' | grep -q '/certificate/' &&
    [ -s "$TMP/j.pem" ] && [ -s "$TMP/jc.pem" ] &&
    [ "$(printf '%s' "$out" | jq_py 'd["Certificate"]')" = "$(cat "$TMP/j.pem")" ] &&
    ok "issue --json --out: JSON on stdout and the files written" ||
    not_ok "issue --json --out: JSON on stdout and the files written" "$out"
out=$(iss --json) && printf '%s' "$out" | is_json &&
    ok "issue --json without --out: only JSON on stdout" ||
    not_ok "issue --json without --out: only JSON on stdout" "$out"
out=$("$PCACTL" key create --json) &&
    printf '%s' "$out" | jq_py 'd["AccessKeyId"] + " " + d["Policy"] + " " + str(len(d["SecretAccessKey"]))' |
    grep -q '^AKIA.* admin 40$' &&
    ok "key create --json: the key as JSON" ||
    not_ok "key create --json: the key as JSON" "$out"
out=$("$PCACTL" key create) && printf '%s' "$out" | grep -q '^aws_access_key_id' &&
    ok "key create: a credentials profile without --json" ||
    not_ok "key create: a credentials profile without --json" "$out"
AK=$(printf '%s' "$out" | sed -n 's/^aws_access_key_id = //p')
out=$("$PCACTL" key list) && ! printf '%s' "$out" | is_json &&
    printf '%s' "$out" | grep -q "^$AK " &&
    ok "key list without --json: a table, not JSON" ||
    not_ok "key list without --json: a table, not JSON" "$out"
out=$("$PCACTL" key list --json) &&
    printf '%s' "$out" | jq_py '[k["AccessKeyId"] for k in d]' | grep -q "$AK" &&
    ok "key list --json (after the command): JSON" ||
    not_ok "key list --json: JSON" "$out"
out=$("$PCACTL" --json key revoke "$AK") &&
    [ "$(printf '%s' "$out" | jq_py 'd["Status"]')" = REVOKED ] &&
    ok "key revoke --json" || not_ok "key revoke --json" "$out"
out=$("$PCACTL" --json ca csr "$ROOT") &&
    printf '%s' "$out" | jq_py 'd["Csr"]' | grep -q 'BEGIN CERTIFICATE REQUEST' &&
    ok "ca csr --json: the CSR in JSON" || not_ok "ca csr --json" "$out"
out=$("$PCACTL" --json ca csr "$ROOT" --out "$TMP/again.csr") &&
    printf '%s' "$out" | is_json && cmp -s "$TMP/again.csr" "$TMP/root.csr" &&
    ok "ca csr --json --out: JSON and the file" ||
    not_ok "ca csr --json --out: JSON and the file" "$out"
S=$(openssl x509 -in "$TMP/j.pem" -noout -serial | cut -d= -f2)
out=$("$PCACTL" revoke --json --ca "$ROOT" --serial "$S" --reason SUPERSEDED) &&
    [ "$(printf '%s' "$out" | jq_py 'd["RevocationReason"]')" = SUPERSEDED ] &&
    ok "revoke --json: what was revoked" || not_ok "revoke --json" "$out"
out=$("$PCACTL" ca show "$ROOT") && ! printf '%s' "$out" | is_json &&
    printf '%s' "$out" | grep -q "^Status: ACTIVE" &&
    ok "ca show without --json: readable text" ||
    not_ok "ca show without --json: readable text" "$out"
ec_csr "$TMP/pol.csr" pol.example.com
out=$("$PCACTL" --json policy check "$TMP/pol.csr" --policy web_server --days 90) &&
    [ "$(printf '%s' "$out" | jq_py 'd["Decision"] + str(len(d["Rules"]) > 3)')" = PERMITTEDTrue ] &&
    ok "policy check --json: the decision and every rule" ||
    not_ok "policy check --json: the decision and every rule" "$out"
out=$("$PCACTL" --json policy check "$TMP/pol.csr" --policy web_server --days 500 2>"$TMP/err") ;
rc=$?
[ $rc -ne 0 ] && [ "$(printf '%s' "$out" | jq_py 'd["Decision"]')" = REFUSED ] &&
    [ "$(wc -l <"$TMP/err")" -eq 1 ] &&
    ok "policy check --json: a refusal is JSON too, exit 1, one error line" ||
    not_ok "policy check --json refusal" "$rc $out $(cat "$TMP/err")"
# every other command: --json gives one JSON document
bad=""
for c in "ca list" "ca show $ROOT" "ca disable $ROOT" "ca enable $ROOT" \
    "cert list" "cert show $LEAF_ARN" "store verify" "report" "policy list" \
    "ca create --type ROOT --key-alg EC_prime256v1 --signing-alg SHA256WITHECDSA --subject CN=j"; do
	# shellcheck disable=SC2086
	"$PCACTL" --json $c >"$TMP/o.json" 2>"$TMP/e" && is_json <"$TMP/o.json" ||
	    bad="$bad [$c: $(head -c 200 "$TMP/o.json") $(cat "$TMP/e")]"
	# shellcheck disable=SC2086
	"$PCACTL" $c --json >"$TMP/o2.json" 2>"$TMP/e" && is_json <"$TMP/o2.json" ||
	    bad="$bad [$c --json: $(cat "$TMP/e")]"
done
[ -z "$bad" ] && ok "--json (before or after the command) on every other command: JSON" ||
    not_ok "--json on every other command" "$bad"
check_fails "init --json is refused: init writes files" "no --json" \
    "$PCACTL" init "$TMP/other" --json

# ---- pcactl logs in to the token only for a command that needs it ----
# SoftHSM rewrites its token.object on every C_Login, and a process that
# reads the token at that moment (pcad's signer) can see it torn: a failed
# key generation, a key not shown (tests/unit/hsm test_other_process).  So a
# command that only reads the store must not log in: token.object stays as
# it was.  ca show reads the key's attributes from the token, so it does
# log in (the control: the check can see a login).
tobj=$(ls "$A"/hsm/tokens/*/token.object 2>/dev/null | head -1)
# logs_in CMD...: 0 when running pcactl CMD rewrote token.object
logs_in() {
	li_t0=$(stat -c %y "$tobj")
	sleep 0.02
	"$PCACTL" "$@" >/dev/null 2>"$TMP/e" || bad="$bad [$*: $(cat "$TMP/e")]"
	[ "$(stat -c %y "$tobj")" != "$li_t0" ]
}
if [ -z "$tobj" ]; then
	skip "read-only pcactl commands leave the token alone" "not pcactl init's SoftHSM token"
else
	bad=""
	for c in "ca list" "cert list" "cert show $LEAF_ARN" "report" \
	    "policy list" "store verify"; do
		# shellcheck disable=SC2086
		logs_in $c && bad="$bad [$c logged in]"
	done
	logs_in ca show "$ROOT" || bad="$bad [ca show did not log in]"
	[ -z "$bad" ] &&
	    ok "read-only pcactl commands never log in to the token (ca show does)" ||
	    not_ok "read-only pcactl commands never log in to the token" "$bad"
fi

# ---- errors ----
echo garbage >"$TMP/bad.csr"
if out=$("$PCACTL" issue --ca "$ROOT" --csr "$TMP/bad.csr" \
    --signing-alg SHA256WITHECDSA --validity 30d 2>&1 >/dev/null); then
	not_ok "issue --csr bad.csr fails" "succeeded"
elif [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] &&
    printf '%s' "$out" | grep -q CSR &&
    ! printf '%s' "$out" | grep -qi 'engine'; then
	ok "issue --csr bad.csr: one line, no stale OpenSSL error"
else
	not_ok "issue --csr bad.csr: one line, no stale OpenSSL error" "$out"
fi
check_fails "an unknown --signing-alg says unknown and lists the valid ones" \
    "unknown.*SHA256WITHECDSA" "$PCACTL" issue --ca "$ROOT" \
    --csr "$TMP/leaf.csr" --signing-alg SHA256WITHFOO --validity 30d
check_fails "a bad --reason lists the valid ones" \
    "not valid.*KEY_COMPROMISE.*A_A_COMPROMISE" "$PCACTL" revoke --ca "$ROOT" \
    --serial "$S" --reason KEYCOMPROMISE
check_fails "validity beyond the CA: dates, not epoch seconds" \
    "notAfter 20[0-9-]*T[0-9:]*Z is after the CA's 20[0-9-]*T[0-9:]*Z\)$" \
    "$PCACTL" issue --ca "$ROOT" --csr "$TMP/leaf.csr" \
    --signing-alg SHA256WITHECDSA --validity 20y
check_fails "a validity refusal speaks one unit" \
    "validity of 500 days exceeds the maximum of 398 days$" \
    "$PCACTL" policy check "$TMP/pol.csr" --policy web_server --days 500

# ---- cert list, cert show ----
out=$("$PCACTL" cert list --ca "$ROOT")
printf '%s' "$out" | grep -q "CN=leaf.example.com" &&
    printf '%s' "$out" | grep -qF "$LEAF_ARN" &&
    ok "cert list shows the subject and the certificate ARN" ||
    not_ok "cert list shows the subject and the certificate ARN" "$out"
out=$("$PCACTL" --json cert list --ca "$ROOT" --status ISSUED)
printf '%s' "$out" | jq_py '[c["Subject"] + " " + c["CertificateArn"] for c in d]' |
    grep -qF "CN=leaf.example.com $LEAF_ARN" &&
    ok "cert list --json has Subject and CertificateArn" ||
    not_ok "cert list --json has Subject and CertificateArn" "$out"
N1=$("$PCACTL" --json cert list --template EndEntityCertificate | jq_py 'len(d)')
N2=$("$PCACTL" --json cert list --template EndEntityCertificate/V1 | jq_py 'len(d)')
N3=$("$PCACTL" --json cert list --template \
    arn:aws:acm-pca:::template/EndEntityCertificate/V1 | jq_py 'len(d)')
[ "$N1" -ge 3 ] && [ "$N1" = "$N2" ] && [ "$N1" = "$N3" ] &&
    ok "cert list --template EndEntityCertificate matches as issue's short name" ||
    not_ok "cert list --template short name" "$N1 $N2 $N3"
LS=$(openssl x509 -in "$TMP/leaf.pem" -noout -serial | cut -d= -f2)
out=$("$PCACTL" cert show "$LS") &&
    printf '%s' "$out" | grep -q "^Subject  *CN=leaf.example.com" &&
    printf '%s' "$out" | grep -q "^Status  *ISSUED" &&
    printf '%s' "$out" | grep -q "^NotAfter " &&
    printf '%s' "$out" | grep -q "^SubjectAlternativeNames  *DNS:leaf.example.com" &&
    ok "cert show SERIAL (as openssl prints it): a readable summary" ||
    not_ok "cert show SERIAL: a readable summary" "$out"
"$PCACTL" cert show "$LEAF_ARN" --pem >"$TMP/shown.pem" &&
    cmp -s "$TMP/shown.pem" "$TMP/leaf.pem" &&
    "$PCACTL" cert show --ca "$CAID" "$LS" --out "$TMP/shown2.pem" >/dev/null &&
    cmp -s "$TMP/shown2.pem" "$TMP/leaf.pem" &&
    ok "cert show --pem / --out give the PEM" ||
    not_ok "cert show --pem / --out give the PEM"
out=$("$PCACTL" --json cert show "$S") &&
    [ "$(printf '%s' "$out" | jq_py 'd["Status"]')" = REVOKED ] &&
    printf '%s' "$out" | jq_py 'd["Certificate"]' | grep -q "BEGIN CERTIFICATE" &&
    ok "cert show --json: the facts, the status and the PEM" ||
    not_ok "cert show --json" "$out"
check_fails "cert show of an unknown serial" "no certificate" \
    "$PCACTL" cert show 0123456789abcdef

# ---- Describe: what was sent, plus S3ObjectAcl ----
printf '%s' '{"CrlConfiguration":{"Enabled":true,"S3BucketName":"openpca-crl"},"OcspConfiguration":{"Enabled":true}}' \
    >"$TMP/rev.json"
REV=$("$PCACTL" ca create --type ROOT --key-alg EC_prime256v1 \
    --signing-alg SHA256WITHECDSA --subject "CN=Revocation Root,O=T" \
    --revocation-json "$TMP/rev.json")
out=$("$PCACTL" --json ca show "$REV" | jq_py 'sorted(d["RevocationConfiguration"]["CrlConfiguration"].items())')
[ "$out" = "[('Enabled', True), ('S3BucketName', 'openpca-crl'), ('S3ObjectAcl', 'PUBLIC_READ')]" ] &&
    ok "Describe echoes no CrlType or ExpirationInDays never sent" ||
    not_ok "Describe echoes no CrlType or ExpirationInDays never sent" "$out"

# ---- pcad: responder certificates, /metrics ----
"$PCACTL" ca csr "$REV" --out "$TMP/rev.csr" &&
    "$PCACTL" issue --ca "$REV" --csr "$TMP/rev.csr" \
	--signing-alg SHA256WITHECDSA --validity 10y \
	--template RootCACertificate --out "$TMP/rev.pem" >/dev/null &&
    "$PCACTL" ca import "$REV" --cert "$TMP/rev.pem" >/dev/null
REVID=${REV##*/}
ec_csr "$TMP/r1.csr" r1.example.com
"$PCACTL" issue --ca "$REV" --csr "$TMP/r1.csr" --signing-alg SHA256WITHECDSA \
    --validity 10d --out "$TMP/r1.pem" >/dev/null
printf '\n[webhook]\ninterval_s = 1\n' >>"$A/pcad.conf"
"$PCAD" --config "$A/pcad.conf" >>"$A/pcad.log" 2>&1 &
PCAD_PID=$!
metric() { curl -sf "$URL/metrics" | grep -E "^$1 " | awk '{print $2}'; }
RSP='pcad_ocsp_responder_certificates_expiring\{ca="'$REVID'",within="30d"\}'
i=0
until [ "$(metric "$RSP")" = 1 ] || [ $i -ge 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
E30=$(metric 'pcad_certificates_expiring\{ca="'$REVID'",within="30d"\}')
[ "$(metric "$RSP")" = 1 ] && [ "$E30" = 1 ] &&
    ok "the delegated responder certificate has its own gauge; pcad_certificates_expiring counts only the leaf" ||
    not_ok "responder certificates kept out of pcad_certificates_expiring" \
	"$(curl -s "$URL/metrics" | grep expiring)"
out=$("$PCACTL" --json report | jq_py '(d["Summary"]["ExpiringSoon"], d["Summary"]["OcspResponderCertificatesExpiring"], [c["Subject"] for c in d["ExpiringSoon"]])')
printf '%s' "$out" | grep -q "^([0-9]*, 1, " &&
    ! printf '%s' "$out" | grep -q "OCSP" &&
    printf '%s' "$out" | grep -q "r1.example.com" &&
    ok "pcactl report: responder certificates counted apart, not 'expiring soon'" ||
    not_ok "pcactl report: responder certificates counted apart" "$out"
"$PCACTL" report | grep -q "OCSP responder certificates.*1" &&
    ok "pcactl report (text) shows the responder count apart" ||
    not_ok "pcactl report (text) shows the responder count apart"
# a revocation while pcad runs: the revocation-to-CRL histogram
R1S=$(openssl x509 -in "$TMP/r1.pem" -noout -serial | cut -d= -f2)
"$PCACTL" revoke --ca "$REV" --serial "$R1S" --reason KEY_COMPROMISE >/dev/null
i=0
until [ "$(metric 'pcad_crl_revocation_to_crl_seconds_count')" = 1 ] ||
    [ $i -ge 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
curl -sf "$URL/metrics" >"$TMP/metrics.txt"
PY=python3
python3 -c 'import prometheus_client' 2>/dev/null || PY=/usr/bin/python3
if ! "$PY" -c 'import prometheus_client' 2>/dev/null; then
	not_ok "prometheus_client is installed (make deps: python3-prometheus-client)"
else
	out=$("$PY" - "$TMP/metrics.txt" "$REVID" <<'PY' 2>&1
import sys
from prometheus_client.parser import text_string_to_metric_families
text = open(sys.argv[1]).read()
ca = sys.argv[2]
fams = {}
for f in text_string_to_metric_families(text):
    assert f.name not in fams, "family %s split in two" % f.name
    fams[f.name] = f
names = [l.split()[2] for l in text.splitlines() if l.startswith("# TYPE")]
assert len(names) == len(set(names)), "a TYPE line repeated"
ocsp = [n for n in fams if n.startswith("pcad_ocsp_")]
assert len(ocsp) >= 10, ocsp
for n in fams:		# pcad_ocsp_* and every other family
    assert fams[n].type != "unknown", "%s has no TYPE" % n
    assert fams[n].documentation, "%s has no HELP" % n
h = fams["pcad_crl_revocation_to_crl_seconds"]
assert h.type == "histogram"
kinds = {s.name for s in h.samples}
assert "pcad_crl_revocation_to_crl_seconds_sum" in kinds, kinds
for n in ("pcad_crl_age_seconds", "pcad_crl_entries",
          "pcad_crl_next_update_timestamp_seconds"):
    assert any(s.labels.get("ca") == ca for s in fams[n].samples), n
assert any(s.labels.get("ca") == ca and s.value == 1
           for s in fams["pcad_crl_entries"].samples), "1 entry"
print("families", len(fams))
PY
)
	if [ $? -eq 0 ]; then
		ok "/metrics parses with prometheus_client ($out): pcad_ocsp_* typed, histogram _sum, CRL gauges by CA"
	else
		not_ok "/metrics parses with prometheus_client" "$out"
	fi
fi
stop_pcad
finish
