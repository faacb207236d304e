# Sourced by the ACME integration tests (after lib.sh): checks on the
# later life of a certificate a real ACME client obtained: a renewal is a
# new certificate, a revocation shows where relying parties look (OCSP and
# the CRL), with bounds that tolerate a loaded machine.  Uses the caller's
# ROOT (issuer PEM), URL (pcad's plain HTTP listener), CAID and TMP.

# cert_serial PEM: the certificate's serial in hex as openssl prints it
cert_serial() {
	openssl x509 -in "$1" -noout -serial 2>/dev/null | cut -d= -f2
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
