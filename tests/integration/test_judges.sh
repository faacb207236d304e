#!/bin/sh
# Independent judges (reliability matrix T5/T15): our chains, CRLs and OCSP
# answers judged by OpenSSL, python cryptography, GnuTLS (certtool,
# ocsptool) and NSS (vfychain, crlutil, ocspclnt on a throwaway database).
# Two hierarchies made by pcactl on SoftHSM: EC (root P-384 -> intermediate
# P-256 with PARTITIONED CRLs -> P-256 leaves) and RSA (root 3072 ->
# intermediate 2048 with a COMPLETE CRL -> 2048 leaves); in each a leaf
# "good" and a leaf "bad" revoked for keyCompromise.  Every judge must
# accept the good leaf and refuse a tampered copy; each judge that checks
# revocation must refuse the bad leaf; OCSP answers good / revoked /
# unknown; a forged OCSP answer and a tampered CRL are refused.  Then pcad
# runs with [crl] delta and a base + delta pair is judged.  Differences in
# judgement met (and the arguments they need): docs/interop.md.
. "$(dirname "$0")/lib.sh"

need_built "$PCAD" "$PCACTL"
need_python cryptography
for t in certtool ocsptool vfychain crlutil ocspclnt certutil; do
	command -v $t >/dev/null || die "needs $t (gnutls-bin, libnss3-tools: make deps)"
done
JUDGE="python3 $HERE/judges/judge.py"
OCSPTOOL="python3 $HERE/ocsp/ocsp_tool.py"

# refuses NAME CMD...: ok when CMD fails.
refuses() {
	name=$1
	shift
	if out=$("$@" 2>&1); then not_ok "$name" "accepted: $out"; else ok "$name"; fi
}
# says NAME PATTERN CMD...: ok when CMD's output matches PATTERN (ERE);
# for the tools whose exit status does not carry the verdict.
says() {
	name=$1
	pat=$2
	shift 2
	out=$("$@" 2>&1)
	if printf '%s\n' "$out" | grep -qE "$pat"; then ok "$name"
	else not_ok "$name" "$out"; fi
}
cdp_of() {
	openssl x509 -in "$1" -noout -ext crlDistributionPoints |
	    sed -n 's/^ *URI://p' | head -1
}

new_appliance "$A" || die "pcactl init"
URL=$(http_url "$A/pcad.conf")
# small partitions for the EC intermediate (PARTITIONED: CRLs with a
# critical IDP); pcactl issues the leaves before pcad rolls partitions over
sed -i 's/^\[crl\]$/[crl]\npartition_size = 2\npublish_delay_ms = 200\npoll_ms = 200/' \
    "$A/pcad.conf"

# chain DIR KIND: root -> intermediate -> leaves good and bad in DIR.
chain() {
	d=$TMP/$1
	mkdir -p "$d"
	if [ "$2" = EC ]; then
		ralg=EC_secp384r1 rsig=SHA384WITHECDSA ialg=EC_prime256v1
		isig=SHA256WITHECDSA ctype=PARTITIONED
	else
		ralg=RSA_3072 rsig=SHA256WITHRSA ialg=RSA_2048
		isig=SHA256WITHRSA ctype=COMPLETE
	fi
	echo '{"OcspConfiguration":{"Enabled":true},"CrlConfiguration":{"Enabled":true,"S3BucketName":"judges"}}' >"$d/root.json"
	echo '{"OcspConfiguration":{"Enabled":true},"CrlConfiguration":{"Enabled":true,"S3BucketName":"judges","CrlType":"'$ctype'"}}' >"$d/int.json"
	r=$(make_root "$d" $ralg $rsig "Judges Root $2" \
	    --revocation-json "$d/root.json") || return 1
	i=$("$PCACTL" ca create --type SUBORDINATE --key-alg $ialg \
	    --signing-alg $isig --subject "CN=Judges Intermediate $2,O=OpenPCA Test,C=US" \
	    --revocation-json "$d/int.json") || return 1
	"$PCACTL" ca csr "$i" --out "$d/int.csr" &&
	    "$PCACTL" issue --ca "$r" --csr "$d/int.csr" --signing-alg $rsig \
		--validity 5y --template SubordinateCACertificate_PathLen0 \
		--out "$d/int.pem" >/dev/null &&
	    "$PCACTL" ca import "$i" --cert "$d/int.pem" --chain "$d/root.pem" \
		>/dev/null || return 1
	for l in good bad; do
		if [ "$2" = EC ]; then
			ec_csr "$d/$l.csr" "$l.$1.example.com"
		else
			openssl req -new -newkey rsa:2048 -nodes -keyout "$d/$l.key" \
			    -subj "/CN=$l.$1.example.com" \
			    -addext "subjectAltName=DNS:$l.$1.example.com" \
			    -out "$d/$l.csr" 2>/dev/null
		fi || return 1
		"$PCACTL" issue --ca "$i" --csr "$d/$l.csr" --signing-alg $isig \
		    --validity 30d --out "$d/$l.pem" >/dev/null || return 1
	done
	"$PCACTL" revoke --ca "$i" --serial "$(cert_serial "$d/bad.pem")" \
	    --reason KEY_COMPROMISE >/dev/null || return 1
	cat "$d/int.pem" "$d/root.pem" >"$d/chain.pem"
	$JUDGE tamper-cert "$d/good.pem" "$d/tampered.pem"
}
if chain ec EC && chain rsa RSA; then
	ok "setup: EC and RSA hierarchies, a good and a revoked leaf in each"
else
	not_ok "setup: EC and RSA hierarchies"
	finish
	exit 1
fi
start_pcad || die "pcad starts" "$(tail -20 "$A/pcad.log")"

# fetch_crls K: the CRLs of hierarchy K from pcad (at the certificates'
# CDPs) as DER and PEM, once they list the bad leaf: root.crl (the root's,
# naming the intermediate's certificate), good.crl and bad.crl (at each
# leaf's CDP; one and the same CRL unless the partitions differ).
fetch_crls() {
	d=$TMP/$1
	w=0
	while [ $w -lt 20 ]; do
		w=$((w + 1))
		curl -sf -o "$d/root.crl" "$(cdp_of "$d/int.pem")" &&
		    curl -sf -o "$d/good.crl" "$(cdp_of "$d/good.pem")" &&
		    curl -sf -o "$d/bad.crl" "$(cdp_of "$d/bad.pem")" &&
		    openssl crl -inform DER -in "$d/bad.crl" -noout -text |
		    grep -qi "Serial Number: $(cert_serial "$d/bad.pem")" && break
		sleep 1
	done
	for c in root good bad; do
		openssl crl -inform DER -in "$d/$c.crl" -out "$d/$c.crl.pem" ||
		    return 1
	done
	cat "$d/root.crl.pem" "$d/good.crl.pem" >"$d/crls-good.pem"
	cat "$d/root.crl.pem" "$d/bad.crl.pem" >"$d/crls-bad.pem"
	$JUDGE tamper-der "$d/bad.crl" "$d/tampered.crl"
}
if fetch_crls ec && fetch_crls rsa; then
	ok "pcad serves every CRL named by a CDP, listing the revoked leaves"
else
	not_ok "pcad serves every CRL named by a CDP" "$(tail -20 "$A/pcad.log")"
fi
EC_PARTS=$(for l in good bad; do cdp_of "$TMP/ec/$l.pem"; done | sort -u | wc -l)
echo "# EC intermediate: the two leaves are in $EC_PARTS partition CRL(s)"

# NSS: one throwaway database; vfychain takes the anchors with -t.
NSSDB=sql:$TMP/nssdb
mkdir -p "$TMP/nssdb"
certutil -N -d "$NSSDB" --empty-password || die "certutil -N"
for k in ec rsa; do
	certutil -A -d "$NSSDB" -n "$k-root" -t "CT,C,C" -a -i "$TMP/$k/root.pem" &&
	    certutil -A -d "$NSSDB" -n "$k-int" -t ",," -a -i "$TMP/$k/int.pem" &&
	    certutil -A -d "$NSSDB" -n "$k-good" -t ",," -a -i "$TMP/$k/good.pem" &&
	    certutil -A -d "$NSSDB" -n "$k-bad" -t ",," -a -i "$TMP/$k/bad.pem" ||
	    die "certutil -A"
done
# vfy K LEAF [REVOCATION ARGS]: vfychain (libpkix) for TLS server use.
vfy() {
	v=$TMP/$1
	leaf=$2
	shift 2
	vfychain -d "$NSSDB" -pp -u 1 "$@" -a "$v/$leaf.pem" -a "$v/int.pem" \
	    -t -a "$v/root.pem"
}
NO_OCSP="-m ocsp -s doNotUse"
NO_CRL="-m crl -s doNotUse"

for k in ec rsa; do
	d=$TMP/$k
	K=$(echo $k | tr a-z A-Z)
	host=good.$k.example.com
	# ---- chains ----
	check "openssl: $K chain verifies (-x509_strict, sslserver, host)" \
	    openssl verify -x509_strict -purpose sslserver -verify_hostname \
	    "$host" -CAfile "$d/root.pem" -untrusted "$d/int.pem" "$d/good.pem"
	refuses "openssl: $K tampered leaf refused" openssl verify \
	    -CAfile "$d/root.pem" -untrusted "$d/int.pem" "$d/tampered.pem"
	check "cryptography: $K chain passes path validation (server, $host)" \
	    $JUDGE chain "$d/root.pem" "$d/int.pem" "$d/good.pem" "$host"
	check "cryptography: $K tampered leaf refused" \
	    $JUDGE chain-bad "$d/root.pem" "$d/int.pem" "$d/tampered.pem" "$host"
	check "gnutls: $K certtool --verify-chain (leaf, intermediate, root)" \
	    sh -c "cat '$d/good.pem' '$d/chain.pem' | certtool --verify-chain"
	check "gnutls: $K certtool --verify against the root (medium profile, TLS server, host)" \
	    sh -c "cat '$d/good.pem' '$d/int.pem' | certtool --verify \
	    --verify-profile=medium --load-ca-certificate '$d/root.pem' \
	    --verify-purpose=1.3.6.1.5.5.7.3.1 --verify-hostname '$host'"
	refuses "gnutls: $K tampered leaf refused" \
	    sh -c "cat '$d/tampered.pem' '$d/chain.pem' | certtool --verify-chain"
	check "nss: $K vfychain accepts the chain (SSL server)" vfy $k good
	refuses "nss: $K vfychain refuses the tampered leaf" vfy $k tampered

	# ---- CRLs ----
	check "cryptography: $K CRLs signed by their issuers, bad listed, good not" \
	    sh -c "$JUDGE crl '$d/root.pem' '$d/root.crl' \
	    -$(cert_serial "$d/int.pem") && $JUDGE crl '$d/int.pem' '$d/bad.crl' \
	    $(cert_serial "$d/bad.pem") -$(cert_serial "$d/good.pem") &&
	    $JUDGE crl '$d/int.pem' '$d/good.crl' -$(cert_serial "$d/good.pem")"
	check "openssl: $K -crl_check_all accepts the good leaf" openssl verify \
	    -crl_check_all -CAfile "$d/root.pem" -untrusted "$d/int.pem" \
	    -CRLfile "$d/crls-good.pem" "$d/good.pem"
	says "openssl: $K -crl_check_all refuses the revoked leaf" \
	    "certificate revoked" openssl verify -crl_check_all \
	    -CAfile "$d/root.pem" -untrusted "$d/int.pem" \
	    -CRLfile "$d/crls-bad.pem" "$d/bad.pem"
	check "gnutls: $K certtool --verify-crl (root's and intermediate's CRLs)" \
	    sh -c "certtool --verify-crl --load-ca-certificate '$d/root.pem' \
	    --infile '$d/root.crl.pem' >/dev/null && certtool --verify-crl \
	    --load-ca-certificate '$d/int.pem' --infile '$d/bad.crl.pem'"
	says "gnutls: $K certtool --crl-info reads the revoked serial" \
	    "Serial Number \(hex\): (00)?$(cert_serial "$d/bad.pem" | tr A-F a-f)\$" \
	    certtool --crl-info --infile "$d/bad.crl.pem"
	refuses "gnutls: $K tampered CRL refused (--verify-crl)" \
	    sh -c "openssl crl -inform DER -in '$d/tampered.crl' | certtool \
	    --verify-crl --load-ca-certificate '$d/int.pem'"
	check "gnutls: $K --load-crl accepts the good leaf" \
	    sh -c "cat '$d/good.pem' '$d/int.pem' | certtool --verify \
	    --load-ca-certificate '$d/root.pem' --load-crl '$d/crls-good.pem'"
	says "gnutls: $K --load-crl refuses the revoked leaf" \
	    "chain is revoked" sh -c "cat '$d/bad.pem' '$d/int.pem' | \
	    certtool --verify --load-ca-certificate '$d/root.pem' \
	    --load-crl '$d/crls-bad.pem'"
	check "nss: $K crlutil -I imports the root's CRL (signature checked)" \
	    crlutil -I -d "$NSSDB" -t 1 -i "$d/root.crl"
	refuses "nss: $K crlutil -I refuses the tampered CRL" \
	    crlutil -I -d "$NSSDB" -t 1 -i "$d/tampered.crl"
	if [ $k = rsa ]; then
		check "nss: $K crlutil -I imports the intermediate's CRL" \
		    crlutil -I -d "$NSSDB" -t 1 -i "$d/bad.crl"
		# shellcheck disable=SC2086
		check "nss: $K vfychain, CRL required (fetched at the CDP): good accepted" \
		    vfy $k good -g leaf -m crl -s failIfNoInfo $NO_OCSP \
		    -g chain -m crl -s failIfNoInfo $NO_OCSP
	else
		# NSS has no issuingDistributionPoint support: a partition
		# CRL (critical IDP) is never used, so it fails closed.
		says "nss: $K partition CRL (critical IDP) not imported: NSS has no IDP support" \
		    "SEC_ERROR_CRL_UNKNOWN_CRITICAL_EXTENSION" \
		    crlutil -I -d "$NSSDB" -t 1 -i "$d/bad.crl"
		# shellcheck disable=SC2086
		says "nss: $K vfychain, CRL required: fails closed on the partition CRL (good leaf refused too)" \
		    "ERROR -8180" vfy $k good -g leaf -m crl -s failIfNoInfo $NO_OCSP
	fi
	# shellcheck disable=SC2086
	says "nss: $K vfychain, CRL required: the revoked leaf refused" \
	    "ERROR -8180" vfy $k bad -g leaf -m crl -s failIfNoInfo $NO_OCSP

	# ---- OCSP (the intermediate's delegated responder) ----
	i=0
	until $OCSPTOOL check "$URL" "$d/int.pem" "$d/good.pem" good \
	    >/dev/null 2>&1 || [ $i -ge 150 ]; do sleep 0.2; i=$((i + 1)); done
	$JUDGE unknown-cert "$d/int.pem" "$d/unknown.pem" "$URL"
	certutil -A -d "$NSSDB" -n "$k-unknown" -t ",," -a -i "$d/unknown.pem"
	for s in good bad unknown; do
		want=$s
		[ $s = bad ] && want=revoked
		check "cryptography: $K OCSP $want" $OCSPTOOL check "$URL" \
		    "$d/int.pem" "$d/$s.pem" $want
		out=$(openssl ocsp -issuer "$d/int.pem" -cert "$d/$s.pem" \
		    -url "$URL" -CAfile "$d/root.pem" -verify_other "$d/int.pem" \
		    -no_nonce 2>&1)
		if printf '%s' "$out" | grep -q "Response verify OK" &&
		    printf '%s' "$out" | grep -q ": $want\$"; then
			ok "openssl: $K OCSP $want, response verified"
		else
			not_ok "openssl: $K OCSP $want, response verified" "$out"
		fi
		# ocsptool: the delegated signer is checked against --load-trust
		# alone, so the trust is the issuing CA (docs/interop.md)
		out=$(ocsptool --ask --nonce --load-issuer "$d/int.pem" \
		    --load-cert "$d/$s.pem" --load-trust "$d/int.pem" \
		    --outfile "$d/$s.ocsp" 2>&1)
		if printf '%s' "$out" | grep -q "Certificate Status: $want" &&
		    printf '%s' "$out" | grep -q "Verifying OCSP Response: Success" &&
		    printf '%s' "$out" | grep -q "Nonce:"; then
			ok "gnutls: $K ocsptool --ask: $want, nonce, verified"
		else
			not_ok "gnutls: $K ocsptool --ask: $want, nonce, verified" "$out"
		fi
		says "gnutls: $K ocsptool --response-info --verify-response: $want" \
		    "Certificate Status: $want" sh -c "ocsptool --response-info \
		    --infile '$d/$s.ocsp' && ocsptool --verify-response \
		    --load-trust '$d/int.pem' --infile '$d/$s.ocsp'"
		case $s in
		good) pat='Check of certificate "'$k-$s'" succeeded' ;;
		bad) pat='has been revoked' ;;
		*) pat='no status for the certificate' ;;
		esac
		says "nss: $K ocspclnt -S (AIA): $want" "$pat" \
		    ocspclnt -d "$NSSDB" -S "$k-$s"
	done
	refuses "gnutls: $K ocsptool refuses a trust that did not delegate" \
	    ocsptool --verify-response --load-trust "$TMP/$( [ $k = ec ] &&
	    echo rsa || echo ec)/int.pem" --infile "$d/good.ocsp"
	# shellcheck disable=SC2086
	check "nss: $K vfychain, OCSP required (AIA): good accepted" \
	    vfy $k good -g leaf -m ocsp -s failIfNoInfo $NO_CRL
	# shellcheck disable=SC2086
	says "nss: $K vfychain, OCSP required: the revoked leaf refused" \
	    "ERROR -8180" vfy $k bad -g leaf -m ocsp -s failIfNoInfo $NO_CRL
done

# ---- a forged OCSP answer (producedAt changed after signing) ----
rm -f "$TMP/proxy.port"
python3 "$HERE/judges/judge.py" proxy "$URL" "$TMP/proxy.port" &
PROXY_PID=$!
CLEANUP="kill $PROXY_PID 2>/dev/null; $CLEANUP"
i=0
until [ -s "$TMP/proxy.port" ] || [ $i -ge 50 ]; do sleep 0.1; i=$((i + 1)); done
FURL=http://127.0.0.1:$(cat "$TMP/proxy.port" 2>/dev/null)
d=$TMP/ec
refuses "cryptography: a forged OCSP answer is refused" $OCSPTOOL check \
    "$FURL" "$d/int.pem" "$d/good.pem" good
says "openssl: a forged OCSP answer is refused" "signature failure|verify error" \
    openssl ocsp -issuer "$d/int.pem" -cert "$d/good.pem" -url "$FURL" \
    -CAfile "$d/root.pem" -verify_other "$d/int.pem" -no_nonce
says "gnutls: a forged OCSP answer is refused" "Verifying OCSP Response: Failure" \
    ocsptool --ask="$FURL" --load-issuer "$d/int.pem" --load-cert \
    "$d/good.pem" --load-trust "$d/int.pem"
out=$(ocspclnt -d "$NSSDB" -S ec-good -l "$FURL" -t ec-int 2>&1)
if printf '%s' "$out" | grep -q "succeeded"; then
	not_ok "nss: a forged OCSP answer is refused" "$out"
else
	ok "nss: a forged OCSP answer is refused"
	printf '%s\n' "$out" | sed 's/^/# /'
fi

# ---- delta CRLs: pcad again with [crl] delta ----
stop_pcad
# d1 is revoked right after the base listing d0 is out: 10 s of
# delta_base_s keep it a delta even on a loaded machine
sed -i 's/^\[crl\]$/[crl]\ndelta = true\ndelta_base_s = 10/' "$A/pcad.conf"
start_pcad || die "pcad restarts with [crl] delta" "$(tail -20 "$A/pcad.log")"
d=$TMP/delta
mkdir -p "$d"
echo '{"CrlConfiguration":{"Enabled":true,"S3BucketName":"judges"}}' >"$d/rev.json"
DR=$(make_root "$d" EC_prime256v1 SHA256WITHECDSA "Judges Delta Root" \
    --revocation-json "$d/rev.json")
for l in d0 d1 d2; do
	ec_csr "$d/$l.csr" "$l.example.com" &&
	    "$PCACTL" issue --ca "$DR" --csr "$d/$l.csr" --signing-alg \
		SHA256WITHECDSA --validity 30d --out "$d/$l.pem" >/dev/null
done
BASE_URL=$(cdp_of "$d/d0.pem")
DELTA_URL=${BASE_URL%.crl}.delta.crl
lists() { # lists URL PEM: the CRL at URL lists PEM's serial
	curl -sf -o "$d/x.crl" "$1" && openssl crl -inform DER -in "$d/x.crl" \
	    -noout -text 2>/dev/null | grep -qi "Serial Number: $(cert_serial "$2")"
}
i=0
until curl -sf -o /dev/null "$BASE_URL" || [ $i -ge 100 ]; do sleep 0.2; i=$((i + 1)); done
sleep 11 # past delta_base_s: the next revocation makes a new base
"$PCACTL" revoke --ca "$DR" --serial "$(cert_serial "$d/d0.pem")" \
    --reason KEY_COMPROMISE >/dev/null
i=0
until lists "$BASE_URL" "$d/d0.pem" || [ $i -ge 100 ]; do sleep 0.2; i=$((i + 1)); done
"$PCACTL" revoke --ca "$DR" --serial "$(cert_serial "$d/d1.pem")" \
    --reason KEY_COMPROMISE >/dev/null
i=0
until lists "$DELTA_URL" "$d/d1.pem" || [ $i -ge 100 ]; do sleep 0.2; i=$((i + 1)); done
curl -sf -o "$d/base.crl" "$BASE_URL" && curl -sf -o "$d/delta.crl" "$DELTA_URL" &&
    openssl crl -inform DER -in "$d/base.crl" -out "$d/base.pem" &&
    openssl crl -inform DER -in "$d/delta.crl" -out "$d/delta.pem" &&
    $JUDGE crl "$d/root.pem" "$d/base.crl" "$(cert_serial "$d/d0.pem")" \
	"-$(cert_serial "$d/d1.pem")" >/dev/null &&
    $JUDGE crl "$d/root.pem" "$d/delta.crl" "$(cert_serial "$d/d1.pem")" \
	"-$(cert_serial "$d/d0.pem")" &&
    ok "cryptography: base lists d0, delta lists d1 only, both signed by the root" ||
    not_ok "cryptography: base lists d0, delta lists d1 only, both signed by the root"
cat "$d/base.pem" "$d/delta.pem" >"$d/both.pem"
cat "$d/delta.pem" "$d/base.pem" >"$d/both-rev.pem"
echo "# base $(openssl crl -in "$d/base.pem" -noout -lastupdate), delta $(openssl crl -in "$d/delta.pem" -noout -lastupdate)"
# -extended_crl: without it OpenSSL scores the delta as a complete CRL too
# and may take it instead of the base (docs/interop.md)
DELTAS="-crl_check -use_deltas -extended_crl -CAfile $d/root.pem"
for b in both both-rev; do
	# shellcheck disable=SC2086
	says "openssl: -use_deltas -extended_crl ($b) refuses d1 (in the delta only)" \
	    "certificate revoked" openssl verify $DELTAS -CRLfile "$d/$b.pem" "$d/d1.pem"
	# shellcheck disable=SC2086
	says "openssl: -use_deltas -extended_crl ($b) refuses d0 (in the base)" \
	    "certificate revoked" openssl verify $DELTAS -CRLfile "$d/$b.pem" "$d/d0.pem"
	# shellcheck disable=SC2086
	check "openssl: -use_deltas -extended_crl ($b) accepts d2" \
	    openssl verify $DELTAS -CRLfile "$d/$b.pem" "$d/d2.pem"
done
check "gnutls: certtool --verify-crl of the base and of the delta" \
    sh -c "certtool --verify-crl --load-ca-certificate '$d/root.pem' \
    --infile '$d/base.pem' >/dev/null && certtool --verify-crl \
    --load-ca-certificate '$d/root.pem' --infile '$d/delta.pem'"
says "gnutls: --load-crl base refuses d0" "chain is revoked" \
    certtool --verify --load-ca-certificate "$d/root.pem" \
    --load-crl "$d/base.pem" --infile "$d/d0.pem"
check "gnutls: --load-crl base + delta accepts d2" certtool --verify \
    --load-ca-certificate "$d/root.pem" --load-crl "$d/both.pem" \
    --infile "$d/d2.pem"
# GnuTLS has no delta semantics: the delta is used as one more CRL
says "gnutls: --load-crl base + delta refuses d1 (the delta read as a plain CRL)" \
    "chain is revoked" certtool --verify --load-ca-certificate "$d/root.pem" \
    --load-crl "$d/both.pem" --infile "$d/d1.pem"
certutil -A -d "$NSSDB" -n delta-root -t "CT,C,C" -a -i "$d/root.pem"
check "nss: crlutil -I imports the base CRL" \
    crlutil -I -d "$NSSDB" -t 1 -i "$d/base.crl"
# NSS has no delta CRL support: the delta (critical deltaCRLIndicator) is
# refused and FreshestCRL not followed; d1 is seen only at the next base.
says "nss: crlutil -I refuses the delta CRL: NSS has no delta support" \
    "SEC_ERROR_CRL_UNKNOWN_CRITICAL_EXTENSION" \
    crlutil -I -d "$NSSDB" -t 1 -i "$d/delta.crl"
vfyd() {
	l=$1
	shift
	# shellcheck disable=SC2086
	vfychain -d "$NSSDB" -pp -u 1 -g leaf -m crl -s failIfNoInfo $NO_OCSP \
	    "$@" -a "$d/$l.pem" -t -a "$d/root.pem"
}
says "nss: vfychain with the base CRL (CDP) refuses d0" "ERROR -8180" vfyd d0
check "nss: vfychain with the base CRL (CDP) accepts d2" vfyd d2
out=$(vfyd d1 2>&1)
echo "# nss, d1 (revoked in the delta only), base CRL only: $(printf '%s' "$out" | head -1)"
finish
