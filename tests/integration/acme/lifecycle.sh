# Sourced by the ACME integration tests (after lib.sh): the set-up they
# share (acme_conf, acme_start), then checks on the later life of a
# certificate a real ACME client obtained: a renewal is a new certificate,
# a revocation shows where relying parties look (OCSP and the CRL), with
# bounds that tolerate a loaded machine.  The checks use the caller's ROOT
# (issuer PEM), URL (pcad's plain HTTP listener), CAID and TMP, all set by
# acme_start.

# acme_conf PORT TIMEOUT [LINE...]: appends to $A/pcad.conf an [acme]
# section that validates http-01 on 127.0.0.1:PORT within TIMEOUT seconds,
# then each LINE (more keys of that section).
acme_conf() {
	ac_port=$1
	ac_timeout=$2
	shift 2
	{
		printf '\n[acme]\nenabled = yes\nhttp01_port = %s\n' "$ac_port"
		printf 'validation_addr = 127.0.0.1\ntimeout_s = %s\n' "$ac_timeout"
		for l in "$@"; do printf '%s\n' "$l"; done
	} >>"$A/pcad.conf"
}

# acme_start CN BUCKET: pcad on $A/pcad.conf (the caller has written its
# [acme] section) and an ACTIVE EC P-256 root CA with subject CN, OCSP and
# a CRL (S3 bucket BUCKET); sets URL (pcad's plain HTTP listener), API
# (the HTTPS API listener), ARN and CAID (the root), DIR (its ACME
# directory URL), CABUNDLE (the appliance's TLS CA) and ROOT (the root's
# PEM).  Dies when pcad or the root does not come up.
acme_start() {
	URL=$(http_url "$A/pcad.conf")
	API=$(api_url "$A/pcad.conf")
	start_pcad || die "pcad did not start" "$(cat "$A/pcad.log")"
	printf '{"OcspConfiguration":{"Enabled":true},"CrlConfiguration":{"Enabled":true,"S3BucketName":"%s"}}\n' \
	    "$2" >"$TMP/rev.json"
	ARN=$(make_root "$TMP" EC_prime256v1 SHA256WITHECDSA "$1" \
	    --revocation-json "$TMP/rev.json") || die "no root CA"
	CAID=${ARN##*/}
	DIR=$API/acme/$CAID/directory
	CABUNDLE=$A/tls/ca.pem
	ROOT=$TMP/root.pem
}

# acme_py NAME SCRIPT [ARGS...]: runs python3 acme/SCRIPT ARGS, whose
# "ok - X" and "not ok - X" lines become TAP lines (other lines '#'
# comments); when NAME is not empty and SCRIPT printed no "ok - " line at
# all, one "not ok - NAME" with the end of its output.
acme_py() {
	ap_name=$1
	ap_script=$2
	shift 2
	python3 "$HERE/acme/$ap_script" "$@" >"$TMP/py.out" 2>&1
	while IFS= read -r l; do
		case "$l" in
		"ok - "*) ok "${l#ok - }" ;;
		"not ok - "*) not_ok "${l#not ok - }" ;;
		*) echo "# $l" ;;
		esac
	done <"$TMP/py.out"
	[ -z "$ap_name" ] || grep -q '^ok - ' "$TMP/py.out" ||
	    not_ok "$ap_name" "$(tail -20 "$TMP/py.out")"
}

# check_renewed NAME OLD_SERIAL PEM: ok when PEM now holds a certificate
# with another serial than OLD_SERIAL
check_renewed() {
	cr_new=$(cert_serial "$3")
	if [ -n "$2" ] && [ -n "$cr_new" ] && [ "$2" != "$cr_new" ]; then
		ok "$1"
	else
		not_ok "$1" "serial before: '$2', after: '$cr_new'"
	fi
}

# ocsp_revoked PEM: pcad's OCSP responder says "revoked" within 20 s
ocsp_revoked() {
	or_i=0
	while [ "$or_i" -lt 100 ]; do
		openssl ocsp -issuer "$ROOT" -cert "$1" -url "$URL" \
		    -CAfile "$ROOT" -no_nonce 2>/dev/null | grep -q ': revoked' &&
		    return 0
		sleep 0.2
		or_i=$((or_i + 1))
	done
	openssl ocsp -issuer "$ROOT" -cert "$1" -url "$URL" -CAfile "$ROOT" \
	    -no_nonce 2>&1
	return 1
}

# crl_lists PEM: the CA's CRL (GET /crl/<CA id>.crl) lists its serial
# within 20 s
crl_lists() {
	cl_s=$(cert_serial "$1")
	[ -n "$cl_s" ] || { echo "no serial in $1"; return 1; }
	cl_i=0
	while [ "$cl_i" -lt 100 ]; do
		curl -sf "$URL/crl/$CAID.crl" -o "$TMP/revoked.crl" &&
		    openssl crl -inform DER -in "$TMP/revoked.crl" -noout \
		    -text 2>/dev/null | grep -qi "Serial Number: *$cl_s\$" &&
		    return 0
		sleep 0.2
		cl_i=$((cl_i + 1))
	done
	echo "serial $cl_s not in the CRL"
	return 1
}

# check_revoked WHO PEM: two TAP lines, OCSP and CRL
check_revoked() {
	check "$1: OCSP says revoked" ocsp_revoked "$2"
	check "$1: the CRL lists the serial" crl_lists "$2"
}
