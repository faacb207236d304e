#!/bin/sh
# ACME (RFC 8555) end to end with real clients from Debian: certbot
# (http-01 standalone: obtain, renew, revoke), lego (http-01 and
# tls-alpn-01) and dehydrated (http-01 through a directory) against pcad's
# /acme/<CA id>/ on the HTTPS listener, the appliance validating on high
# loopback ports ([acme] http01_port, tlsalpn01_port, validation_addr =
# 127.0.0.1); chains checked with
# openssl verify, revocations with openssl ocsp and the CRL; then the
# negative cases of acme/jws_client.py (problem documents, never a 5xx) and
# renewal information.  TAP lines.
. "$(dirname "$0")/lib.sh"
. "$HERE/acme/lifecycle.sh"

need_built "$PCAD" "$PCACTL"
unset AWS_CA_BUNDLE
api_appliance
H01=$(free_port)
ALPN=$(free_port)
acme_conf "$H01" 5 "tlsalpn01_port = $ALPN"
acme_start "ACME Root" acme-crl

check "directory answers with absolute URLs" sh -c \
    "curl -sf --cacert '$CABUNDLE' '$DIR' | grep -q '\"newNonce\":\"$API/acme/$CAID/new-nonce\"'"
check "newNonce HEAD gives a Replay-Nonce" sh -c \
    "curl -sfI --cacert '$CABUNDLE' '$API/acme/$CAID/new-nonce' | grep -qi '^replay-nonce: '"

# ---- certbot: http-01 standalone on $H01 ----
CB=$TMP/certbot
cb() {
	REQUESTS_CA_BUNDLE=$CABUNDLE timeout 180 certbot --non-interactive \
	    --config-dir "$CB/etc" --work-dir "$CB/work" --logs-dir "$CB/log" \
	    --server "$DIR" "$@"
}
if command -v certbot >/dev/null; then
	if out=$(cb certonly --standalone --http-01-port "$H01" \
	    --http-01-address 127.0.0.1 --agree-tos -m ops@example.test \
	    -d www.acme.example.test -d api.acme.example.test 2>&1); then
		ok "certbot obtains a certificate (http-01)"
	else
		not_ok "certbot obtains a certificate (http-01)" "$out
$(tail -20 "$A/pcad.log")"
	fi
	LIVE=$CB/etc/live/www.acme.example.test
	check "certbot's chain verifies with openssl verify" \
	    openssl verify -CAfile "$ROOT" "$LIVE/cert.pem"
	check "the certificate names both identifiers" sh -c \
	    "openssl x509 -in '$LIVE/cert.pem' -noout -ext subjectAltName | grep -q 'DNS:api.acme.example.test'"
	S1=$(cert_serial "$LIVE/cert.pem")
	check "certbot renews (--force-renewal)" cb renew --force-renewal --no-random-sleep-on-renew \
	    --http-01-port "$H01" --http-01-address 127.0.0.1
	check_renewed "the renewal is a new certificate" "$S1" "$LIVE/cert.pem"
	check "audit names the ACME account" sh -c \
	    "'$PCACTL' audit 2>/dev/null | grep -q 'who=acme:' || grep -rqa 'who=acme:' '$A/data'"
	check "certbot revokes" cb revoke --cert-path "$LIVE/cert.pem" \
	    --reason keycompromise --no-delete-after-revoke
	check_revoked "certbot" "$LIVE/cert.pem"
else
	ok "# SKIP certbot not installed"
fi

# ---- lego: http-01 and tls-alpn-01 ----
LG=$TMP/lego
lego_run() {
	LEGO_CA_CERTIFICATES=$CABUNDLE lego --server "$DIR" --path "$LG" \
	    --accept-tos --email ops@example.test "$@"
}
if command -v lego >/dev/null; then
	check "lego obtains a certificate (http-01)" lego_run --http \
	    --http.port "127.0.0.1:$H01" -d h.lego.example.test run
	check "lego's certificate verifies" openssl verify -CAfile "$ROOT" \
	    "$LG/certificates/h.lego.example.test.crt"
	check "lego obtains a certificate (tls-alpn-01)" lego_run --tls \
	    --tls.port "127.0.0.1:$ALPN" -d t.lego.example.test run
	check "lego renews (tls-alpn-01)" lego_run --tls \
	    --tls.port "127.0.0.1:$ALPN" -d t.lego.example.test renew --days 400 \
	    --no-random-sleep
	check "lego revokes" lego_run -d t.lego.example.test revoke --keep
	check_revoked "lego" "$LG/certificates/t.lego.example.test.crt"
else
	ok "# SKIP lego not installed"
fi

# ---- dehydrated: http-01 through its WELLKNOWN directory ----
if command -v dehydrated >/dev/null; then
	DH=$TMP/dehydrated
	mkdir -p "$DH/www/.well-known/acme-challenge"
	cat >"$DH/config" <<EOC
CA="$DIR"
BASEDIR="$DH"
WELLKNOWN="$DH/www/.well-known/acme-challenge"
CONTACT_EMAIL="ops@example.test"
KEY_ALGO=prime256v1
EOC
	python3 -m http.server "$H01" --bind 127.0.0.1 \
	    --directory "$DH/www" >/dev/null 2>&1 &
	WWW_PID=$!
	CLEANUP="${CLEANUP:+$CLEANUP; }kill $WWW_PID 2>/dev/null"
	sleep 1
	dh() { CURL_CA_BUNDLE=$CABUNDLE timeout 180 dehydrated -f "$DH/config" "$@"; }
	check "dehydrated registers" dh --register --accept-terms
	check "dehydrated obtains a certificate (http-01)" dh -c \
	    -d d.dh.example.test
	DHC=$DH/certs/d.dh.example.test
	check "dehydrated's chain verifies" openssl verify -CAfile "$ROOT" \
	    "$DHC/cert.pem"
	D1=$(cert_serial "$DHC/cert.pem")
	check "dehydrated renews (--force)" dh -c -x -d d.dh.example.test
	check_renewed "dehydrated's renewal is a new certificate" "$D1" \
	    "$DHC/cert.pem"
	# (dehydrated renames the revoked file: keep a copy to look it up)
	cp "$DHC/cert.pem" "$TMP/dehydrated-revoked.pem"
	check "dehydrated revokes" dh -r "$DHC/cert.pem"
	check_revoked "dehydrated" "$TMP/dehydrated-revoked.pem"
	kill "$WWW_PID" 2>/dev/null
	wait "$WWW_PID" 2>/dev/null
else
	ok "# SKIP dehydrated not installed"
fi

# ---- a hostile client, ARI, keyChange (python cryptography) ----
if python3 -c 'import cryptography' 2>/dev/null; then
	acme_py "the python ACME client ran" jws_client.py "$DIR" \
	    "$CABUNDLE" "$H01" "$PCACTL" "$ARN"
else
	ok "# SKIP python3 lacks cryptography"
fi

# ---- external account binding (RFC 8555 7.3.4) required after a reload ----
echo "eab_required = yes" >>"$A/pcad.conf"
kill -HUP "$PCAD_PID"
i=0
until curl -sf --cacert "$CABUNDLE" "$DIR" | grep -q \
    '"externalAccountRequired":true' || [ $i -ge 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
check "after SIGHUP the directory says externalAccountRequired" sh -c \
    "curl -sf --cacert '$CABUNDLE' '$DIR' | grep -q '\"externalAccountRequired\":true'"
EAB=$("$PCACTL" acme eab create --ca "$ARN" --names eab.example.test)
KID=$(printf '%s\n' "$EAB" | awk '/^kid /{print $2}')
HK=$(printf '%s\n' "$EAB" | awk '/^hmac_key /{print $2}')
check "pcactl acme eab create prints kid and HMAC key" test -n "$KID" -a \
    -n "$HK"
check_fails "pcactl acme eab create without --ca: one error line" "ca ARN" \
    "$PCACTL" acme eab create --names x.test
if python3 -c 'import cryptography' 2>/dev/null; then
	acme_py "" jws_client.py "$DIR" "$CABUNDLE" "$H01" "$PCACTL" \
	    "$ARN" --eab "$KID" "$HK"
fi
if command -v certbot >/dev/null; then
	EAB=$("$PCACTL" acme eab create --ca "$ARN" --names eab.example.test)
	KID=$(printf '%s\n' "$EAB" | awk '/^kid /{print $2}')
	HK=$(printf '%s\n' "$EAB" | awk '/^hmac_key /{print $2}')
	CB=$TMP/certbot-eab
	if out=$(cb register --agree-tos -m ops@example.test 2>&1); then
		not_ok "certbot without EAB is refused" "$out"
	elif printf '%s' "$out" | grep -qi 'external'; then
		ok "certbot without EAB is refused (externalAccountRequired)"
	else
		not_ok "certbot without EAB is refused" "$out"
	fi
	check "certbot with EAB obtains a name inside the binding" cb \
	    certonly --standalone --http-01-port "$H01" \
	    --http-01-address 127.0.0.1 --agree-tos -m ops@example.test \
	    --eab-kid "$KID" --eab-hmac-key "$HK" -d a.eab.example.test
	check "its chain verifies" openssl verify -CAfile "$ROOT" \
	    "$CB/etc/live/a.eab.example.test/cert.pem"
fi
check "metrics count ACME validations and issuance" sh -c \
    "curl -sf '$URL/metrics' > '$TMP/m' && \
    grep -q 'pcad_acme_validations_total{type=\"http-01\",result=\"valid\"} [1-9]' '$TMP/m' && \
    grep -q 'pcad_acme_validations_total{type=\"tls-alpn-01\",result=\"valid\"} [1-9]' '$TMP/m' && \
    grep -q 'pcad_acme_total{event=\"certificate_issued\"} [1-9]' '$TMP/m'"
check "no ACME answer was a 5xx" sh -c \
    "! grep -E 'acme: .*: 5[0-9][0-9] ' '$A/pcad.log'"
finish
