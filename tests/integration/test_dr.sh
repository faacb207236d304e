#!/bin/sh
# Disaster-recovery drill with point-in-time recovery, against moto_server
# as S3.  pcad runs with [backup] to = s3://..., feed = on: it takes its
# scheduled backup and ships the change feed to S3.  Certificates are
# issued under boto3 load and revoked through boto3; pcactl backup --to
# s3://...; issuing and revoking go on; then pcad is killed (-9) and the
# data directory deleted.  Without replay, store verify --against-s3
# reports exactly the certificates issued after the backup as missing;
# restore --replay-feed brings them back: every certificate any client got
# a 200 for is retrievable and answers OCSP (openssl ocsp) good or revoked
# as it should, store verify is clean, the audit chain says "restored from
# <backup> up to <sequence>", and the next CRL number in S3 is above every
# CRL published before.
. "$(dirname "$0")/lib.sh"
. "$HERE/backup/primary.sh"

need_built "$PCAD" "$PCACTL"
need_python boto3 cryptography
start_moto || die "needs moto_server"
stop_pcad_kill() {
	[ -n "$PCAD_PID" ] && kill -KILL "$PCAD_PID" 2>/dev/null &&
	    wait "$PCAD_PID" 2>/dev/null
	PCAD_PID=""
}
CLEANUP='touch "$TMP/stop"'
metric() { # metric NAME: its value on /metrics
	curl -s "$URL/metrics" | awk -v n="$1" '$1 == n {print $2}'
}
crlnum() { python3 "$DR" crlnum "$MOTO_URL" dr-crl "crl/$CAID.crl"; }

feed_primary dr "DR Root"
pcad_up "pcad starts with [backup] feed = on"
i=0
until [ "$(metric pcad_backup_last_success_timestamp_seconds)" -gt 0 ] 2>/dev/null ||
    [ $i -ge 300 ]; do sleep 0.1; i=$((i + 1)); done
if [ "$(metric pcad_backup_size_bytes)" -gt 0 ] 2>/dev/null &&
    [ "$(metric pcad_backup_failures_total)" = 0 ] &&
    python3 -c 'import boto3,sys
from botocore.config import Config
c = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
    aws_access_key_id="testing", aws_secret_access_key="testing",
    config=Config(s3={"addressing_style": "path"}))
ks = [o["Key"] for o in c.list_objects_v2(Bucket="dr-backups",
    Prefix="pca/openpca-").get("Contents", [])]
sys.exit(0 if len(ks) == 1 and ks[0].endswith(".tar") else 1)' "$MOTO_URL"; then
	ok "the scheduled backup is in S3 (first one at start) and in /metrics"
else
	not_ok "scheduled backup" "$(curl -s "$URL/metrics" | grep pcad_backup; tail -5 "$A/pcad.log")"
fi

# ---- before the backup: issue under load, revoke through boto3 ----
load "$TMP/before.log"
load_stop "$TMP/before.log" 20
awk '!/^error/ {print $3}' "$TMP/before.log" | sed -n '1p;3p' >"$TMP/revoked"
# shellcheck disable=SC2046
check "boto3 revokes two certificates" python3 "$DR" revoke "$ROOT" \
    $(cat "$TMP/revoked")
BURL=$("$PCACTL" --json backup --to "$BK/" 2>"$TMP/backup.err" | python3 -c \
    'import json,sys; print(json.load(sys.stdin)["Location"])')
case "$BURL" in
s3://dr-backups/pca/openpca-*.tar) ok "pcactl backup --to s3:// (the restore point)" ;;
*) not_ok "pcactl backup --to s3://" "$BURL $(cat "$TMP/backup.err")" ;;
esac

# ---- after the backup: more issuance and revocations ----
load "$TMP/after.log"
load_wait "$TMP/after.log" 5
awk '!/^error/ {print $3}' "$TMP/after.log" | sed -n '2p' >"$TMP/rev2"
awk '!/^error/ {print $3}' "$TMP/before.log" | sed -n '2p' >>"$TMP/rev2"
# shellcheck disable=SC2046
check "boto3 revokes under load after the backup (one old, one new)" \
    python3 "$DR" revoke "$ROOT" $(cat "$TMP/rev2")
load_stop "$TMP/after.log" 20
cat "$TMP/rev2" >>"$TMP/revoked"
NERR=$(cat "$TMP/before.log" "$TMP/after.log" | grep -c '^error')
NB=$(grep -vc '^error' "$TMP/before.log")
NA=$(grep -vc '^error' "$TMP/after.log")
if [ "$NERR" -eq 0 ] && [ "$NB" -gt 2 ] && [ "$NA" -gt 1 ]; then
	ok "issuance under load: $NB before the backup, $NA after, no error"
else
	not_ok "issuance under load" "$NB/$NA issued, $NERR errors"
fi
# the feed is seconds behind: wait until what it shipped stays put for
# 3 s (a loaded machine may take longer); the CRL follows the revocations
i=0
prev=-1
while [ $i -lt 60 ]; do
	sleep 3
	cur=$(metric pcad_backup_feed_sequence)
	[ "$cur" = "$prev" ] && [ "${cur:-0}" -gt 0 ] &&
	    [ "$(metric pcad_s3_outbox_queued)" = 0 ] && break
	prev=$cur
	i=$((i + 3))
done
CRL_BEFORE=$(crlnum)
stop_pcad_kill
rm -rf "$A/data"
ok "pcad killed (-9) and the data directory deleted"
[ "$CRL_BEFORE" -gt 0 ] 2>/dev/null && ok "a CRL was published to S3 ($CRL_BEFORE)" ||
    not_ok "a CRL was published to S3" "$CRL_BEFORE"

# ---- without replay: exactly the certificates after the backup missing ----
R0=$TMP/r0
check "pcactl restore from S3 (no replay)" "$PCACTL" restore "$BURL" "$R0" \
    --pin-file "$A/hsm/user.pin" --s3-endpoint "$MOTO_URL" \
    --s3-credentials "$A/s3.credentials"
"$PCACTL" --config "$R0/pcad.conf" store verify --against-s3 "$BK" \
    >"$TMP/against0.out" 2>"$TMP/against0.err"
RC=$?
if [ "$RC" -ne 0 ] && python3 - "$TMP/against0.out" "$TMP/after.log" \
    "$CAID" <<'PY'
import sys
out, log, ca = sys.argv[1:4]
miss = {l.split(": ", 1)[1].strip().lower() for l in open(out)
        if l.startswith("missing from the store: ")}
other = [l for l in open(out) if l.startswith("not in the shipped feed")]
want = {"%s:%s" % (ca, l.split()[2].rsplit("/", 1)[1].lower())
        for l in open(log) if not l.startswith("error")}
assert miss == want and not other, (sorted(miss ^ want)[:5], other[:3])
print("# %d certificates after the backup reported missing, no other" %
      len(want))
PY
then ok "store verify --against-s3 without replay: exactly the certificates after the backup are missing"
else not_ok "store verify --against-s3 without replay" "$(tail -3 "$TMP/against0.out"; cat "$TMP/against0.err")"; fi

# ---- restore + replay ----
R=$TMP/restored
if "$PCACTL" restore "$BURL" "$R" --pin-file "$A/hsm/user.pin" \
    --s3-endpoint "$MOTO_URL" --s3-credentials "$A/s3.credentials" \
    --replay-feed "$BK" >"$TMP/restore.out" 2>&1 &&
    grep -q "replayed the change feed" "$TMP/restore.out"; then
	ok "pcactl restore --replay-feed"
else
	not_ok "pcactl restore --replay-feed" "$(cat "$TMP/restore.out")"
fi
cp "$A/credentials" "$R/credentials"
PCACTL_CONFIG=$R/pcad.conf
PCA_DIR=$R
export PCACTL_CONFIG PCA_DIR
check "store verify on the restored appliance" "$PCACTL" store verify
check "store verify --against-s3 after replay: nothing missing" \
    "$PCACTL" store verify --against-s3 "$BK"
BID=$(echo "$BURL" | sed 's/.*openpca-[0-9TZ]*-//; s/\.tar$//')
if mdb_dump -p -s audit "$R/data" | grep -q "restored from $BID up to [1-9]"; then
	ok "the audit chain: restored from <backup id> up to <sequence>"
else
	not_ok "the audit chain records the replay" "$(mdb_dump -p -s audit "$R/data" | tail -3)"
fi
pcad_up "pcad starts on the restored appliance" "$R/pcad.conf"
wait_metric 'pcad_ocsp_presigned_entries [1-9]'
cat "$TMP/before.log" "$TMP/after.log" >"$TMP/all.log"
if out=$(python3 "$DR" check "$ROOT" "$TMP/all.log" "$TMP/revoked" \
    "$TMP/root.pem" "$URL" 2>&1); then
	ok "every certificate that got a 200 is retrievable and OCSP answers good/revoked right"
else
	not_ok "certificates and OCSP after the restore" "$out"
fi
ec_csr "$TMP/x.csr" x.example.com
load "$TMP/post.log"
load_stop "$TMP/post.log" 1
X=$(awk '!/^error/ {print $3; exit}' "$TMP/post.log")
check "issuance and a revocation on the restored appliance" \
    python3 "$DR" revoke "$ROOT" "$X"
i=0
until [ "$(crlnum)" -gt "$CRL_BEFORE" ] 2>/dev/null || [ $i -ge 150 ]; do
	sleep 0.2
	i=$((i + 1))
done
CRL_AFTER=$(crlnum)
[ "$CRL_AFTER" -gt "$CRL_BEFORE" ] 2>/dev/null &&
    ok "the next CRL number in S3 is above every earlier one ($CRL_AFTER > $CRL_BEFORE)" ||
    not_ok "the next CRL number" "$CRL_AFTER <= $CRL_BEFORE"
stop_pcad
check "store verify after serving on the restored appliance" "$PCACTL" store verify

# ---- a restore without replay that ships: its feed continues after S3's ----
feedlast() { python3 -c 'import boto3,sys
from botocore.config import Config
c = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
    aws_access_key_id="testing", aws_secret_access_key="testing",
    config=Config(s3={"addressing_style": "path"}))
ks = [o["Key"] for o in c.list_objects_v2(Bucket="dr-backups",
    Prefix="pca/feed/").get("Contents", [])]
print(max([0] + [int(k.split("/")[-1].split("-")[1][:20]) for k in ks]))' "$MOTO_URL"; }
L1=$(feedlast)
R2=$TMP/r2
"$PCACTL" restore "$BURL" "$R2" --pin-file "$A/hsm/user.pin" \
    --s3-endpoint "$MOTO_URL" --s3-credentials "$A/s3.credentials" \
    >/dev/null 2>&1 && cp "$A/credentials" "$R2/credentials"
PCA_DIR=$R2
start_pcad "$R2/pcad.conf"
load "$TMP/r2.log"
load_stop "$TMP/r2.log" 1
i=0
until [ "$(feedlast)" -gt "$L1" ] 2>/dev/null || [ $i -ge 100 ]; do
	sleep 0.2
	i=$((i + 1))
done
if grep -q "already holds changes up to $L1" "$A/pcad.log" &&
    python3 -c 'import boto3,sys
from botocore.config import Config
c = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
    aws_access_key_id="testing", aws_secret_access_key="testing",
    config=Config(s3={"addressing_style": "path"}))
ks = [o["Key"].split("/")[-1] for o in c.list_objects_v2(Bucket="dr-backups",
    Prefix="pca/feed/").get("Contents", [])]
l1 = int(sys.argv[2])
new = [k for k in ks if int(k[21:41]) > l1]
ok = new and min(int(k[:20]) for k in new) == l1 + 1
if not ok:
    print("shipped after %d: %s" % (l1, sorted(new)[:5]), file=sys.stderr)
sys.exit(0 if ok else 1)' \
    "$MOTO_URL" "$L1" 2>"$TMP/feedcheck.err"; then
	ok "restored without replay, pcad ships after the last shipped sequence ($L1)"
else
	not_ok "feed after a restore without replay" "$(grep feed "$A/pcad.log" | tail -3; cat "$TMP/feedcheck.err" 2>/dev/null; tail -3 "$TMP/r2.log"; tail -8 "$A/pcad.log")"
fi
stop_pcad
finish
