# Sourced by test_dr.sh and test_standby.sh (after lib.sh, moto_server
# started): the primary appliance both drills begin with, and the boto3
# issuance load (backup/load.py) they run against it.

DR=$HERE/backup/dr.py
LOAD=""

# feed_primary PREFIX CN: buckets PREFIX-backups and PREFIX-crl in moto; a
# fresh appliance $A on that S3 whose pcad backs up to
# s3://PREFIX-backups/pca (BK) and ships its change feed there ([backup]
# feed = on); an ACTIVE EC P-256 root CA with subject CN, a CRL in
# PREFIX-crl and OCSP (ARN in ROOT, id in CAID, certificate in
# $TMP/root.pem).  Sets DR, BK and URL; prints the setup's TAP line and
# exits when a step fails.  Returns a second after the root was made (the
# shipped feed starts with pcad, after the setup's second).
feed_primary() {
	fp_pfx=$1
	BK=s3://$fp_pfx-backups/pca
	python3 "$DR" bucket "$MOTO_URL" "$fp_pfx-backups" "$fp_pfx-crl" ||
	    die "cannot create the buckets in moto"
	AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
	    new_appliance "$A" --region us-east-1 --account-id 111122223333 \
	    --s3-endpoint "$MOTO_URL" >/dev/null 2>"$TMP/init.log" ||
	    die "pcactl init failed" "$(cat "$TMP/init.log")"
	printf '\n[backup]\nto = %s\ninterval_hours = 24\nkeep = 2\nfeed = on\n' \
	    "$BK" >>"$A/pcad.conf"
	URL=$(http_url "$A/pcad.conf")
	printf '%s\n%s\n' \
	    '{"CrlConfiguration":{"Enabled":true,"ExpirationInDays":7,"S3BucketName":"'"$fp_pfx"'-crl"},' \
	    ' "OcspConfiguration":{"Enabled":true}}' >"$TMP/rev.json"
	if ROOT=$(make_root "$TMP" EC_prime256v1 SHA256WITHECDSA "$2" \
	    --revocation-json "$TMP/rev.json"); then
		ok "setup: root CA with a CRL in S3 and OCSP"
	else
		not_ok "setup"
		finish
		exit 1
	fi
	CAID=${ROOT##*/}
	sleep 1
}

# load LOG: boto3 issuance (PCA_DIR's appliance, root $ROOT) from 2
# threads, one line a certificate in LOG, until $TMP/stop exists
load() {
	rm -f "$TMP/stop"
	: >>"$1"
	python3 "$HERE/backup/load.py" "$ROOT" "$1" "$TMP/stop" 2 \
	    2>>"$TMP/load.err" &
	LOAD=$!
}
# load_wait LOG N: until LOG has N certificates (60 s at most)
load_wait() {
	lw_i=0
	until [ "$(grep -vc '^error' "$1")" -ge "$2" ] 2>/dev/null ||
	    [ $lw_i -ge 600 ]; do
		sleep 0.1
		lw_i=$((lw_i + 1))
	done
}
# load_stop [LOG N]: stops the load (once LOG has N certificates, 60 s at
# most, when they are given)
load_stop() {
	[ $# -lt 2 ] || load_wait "$1" "$2"
	touch "$TMP/stop"
	wait "$LOAD"
}
