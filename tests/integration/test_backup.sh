#!/bin/sh
# Backup and restore.  pcactl backup takes a consistent online copy while
# pcad issues under API load (boto3); the archive is judged by tar,
# sha256sum and python (every part matches its manifest); damaged,
# truncated and foreign-token backups are refused and leave nothing behind.
# Then pcad is killed (-9), the data directory deleted, the appliance
# restored from the backup: store verify is clean, every certificate that
# got a 200 before the backup began is there and none begun after it ended
# is, the audit chain records the restore, OCSP answers for old
# certificates (openssl ocsp) and issuance continues through aws-cli.
. "$(dirname "$0")/lib.sh"

stop_pcad_kill() { # the appliance's pcad, killed with SIGKILL
	[ -n "$PCAD_PID" ] && kill -KILL "$PCAD_PID" 2>/dev/null &&
	    wait "$PCAD_PID" 2>/dev/null
	PCAD_PID=""
}
CLEANUP='touch "$TMP/stop"'
ossl() { # ossl NAME EXPECT CERT: openssl ocsp, verified against the root
	out=$(openssl ocsp -issuer "$TMP/root.pem" -url "$URL" -no_nonce \
	    -CAfile "$TMP/root.pem" -cert "$3" 2>&1)
	if printf '%s' "$out" | grep -q "Response verify OK" &&
	    printf '%s' "$out" | grep -q ": $2\$"; then ok "$1"
	else not_ok "$1" "$out"; fi
}
issue() { issue_leaf "$ROOT" "$1"; } # issue NAME: a leaf of the root
now() { python3 -c 'import time; print("%.6f" % time.time())'; }

new_appliance "$A" || { not_ok "init"; finish; exit 1; }
URL=$(http_url "$A/pcad.conf")
echo '{"OcspConfiguration":{"Enabled":true}}' >"$TMP/ocsp.json"
if ROOT=$(make_root "$TMP" EC_prime256v1 SHA256WITHECDSA "Backup Root" \
    --revocation-json "$TMP/ocsp.json") &&
    issue leaf1 && issue leaf2 &&
    "$PCACTL" revoke --ca "$ROOT" --serial "$(cert_serial "$TMP/leaf2.pem")" \
	--reason KEY_COMPROMISE >/dev/null; then
	ok "setup: root CA with OCSP, two leaves, one revoked"
else
	not_ok "setup"
	finish
	exit 1
fi
pcad_up "pcad starts"

# ---- an online backup under API load ----
PCA_DIR=$A python3 "$ROOTDIR/tests/integration/backup/load.py" "$ROOT" \
    "$TMP/load.log" "$TMP/stop" 2 2>"$TMP/load.err" &
LOAD=$!
# lines_at_least N: until the load has answered N calls (60 s at most)
lines_at_least() {
	i=0
	while [ "$(wc -l <"$TMP/load.log" 2>/dev/null || echo 0)" -lt "$1" ] &&
	    [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}
lines_at_least 20
T0=$(now)
check "pcactl backup --to FILE while pcad issues under load" \
    "$PCACTL" backup --to "$TMP/b1.tar"
T1=$(now)
lines_at_least $(($(wc -l <"$TMP/load.log") + 20))
touch "$TMP/stop"
wait "$LOAD"
NOK=$(grep -vc '^error' "$TMP/load.log")
NERR=$(grep -c '^error' "$TMP/load.log")
if [ "$NERR" -eq 0 ] && [ "$NOK" -gt 0 ]; then
	ok "API load went on during the backup ($NOK issued, no error)"
else
	not_ok "API load during the backup" "$NOK issued, $NERR errors: $(sort "$TMP/load.log" | grep error | uniq -c)"
fi
check_fails "backup refuses to overwrite an existing file" "exists" \
    "$PCACTL" backup --to "$TMP/b1.tar"
check_fails "backup refuses a bad --rate-mb" "rate-mb" \
    "$PCACTL" backup --to "$TMP/b2.tar" --rate-mb -3
# --rate-mb 1: the archive is written at 1 MiB a second, so the backup
# takes at least its size in MiB seconds
R0=$(now)
if out=$("$PCACTL" backup --rate-mb 1 --to "$TMP/b2.tar" 2>&1); then
	R1=$(now)
	if python3 -c 'import sys; t0, t1, sz = map(float, sys.argv[1:]); d = t1 - t0; w = 0.9 * sz / 1048576; print("# rate-limited backup: %.2f s, %.0f bytes" % (d, sz)); sys.exit(0 if d >= w else 1)' \
	    "$R0" "$R1" "$(stat -c %s "$TMP/b2.tar")"; then
		ok "backup --rate-mb 1 writes at most 1 MiB a second"
	else not_ok "backup --rate-mb 1 writes at most 1 MiB a second" "too fast"; fi
else not_ok "backup --rate-mb 1" "$out"; fi
rm -f "$TMP/b2.tar"
stop_pcad_kill
rm -rf "$A/data"
ok "pcad killed (-9) and the data directory deleted"

# ---- the archive, judged by tar, sha256sum and python ----
mkdir "$TMP/x"
if [ "$(tar tf "$TMP/b1.tar" | head -1)" = manifest.json ] &&
    tar xf "$TMP/b1.tar" -C "$TMP/x" &&
    python3 - "$TMP/x" <<'PY'
import hashlib, json, os, sys
d = sys.argv[1]
m = json.load(open(os.path.join(d, "manifest.json")))
names = sorted(os.listdir(d))
parts = {p["Name"]: p for p in m["Parts"]}
assert sorted(list(parts) + ["manifest.json"]) == names, names
for n, p in parts.items():
    b = open(os.path.join(d, n), "rb").read()
    assert hashlib.sha256(b).hexdigest() == p["Sha256"], n
    assert len(b) == p["Size"], n
assert m["Format"] == "openpca-backup" and m["Version"] == 1
assert len(m["CertificateAuthorities"]) == 1 and m["Certificates"] >= 3
assert m["CertificateAuthorities"][0]["Status"] == "ACTIVE"
assert m["ChangeFeed"]["Sequence"] >= m["Certificates"]
PY
then ok "tar reads the archive: manifest first, every part's SHA-256 and size as the manifest says"
else not_ok "the archive as tar and sha256 see it"; fi
check "pcactl backup verify" "$PCACTL" backup verify "$TMP/b1.tar"

# ---- damaged, truncated, foreign: refused, nothing left behind ----
python3 - "$TMP/b1.tar" "$TMP/bad.tar" <<'PY'
import shutil, sys, tarfile
shutil.copy(sys.argv[1], sys.argv[2])
with tarfile.open(sys.argv[1]) as t:
    off = t.getmember("data.mdb").offset_data + 5000
with open(sys.argv[2], "r+b") as f:
    f.seek(off)
    b = f.read(1)
    f.seek(off)
    f.write(bytes([b[0] ^ 0x40]))
PY
check_fails "backup verify refuses a damaged backup" "does not match its manifest" \
    "$PCACTL" backup verify "$TMP/bad.tar"
check_fails "restore refuses a damaged backup" "does not match its manifest" \
    "$PCACTL" restore "$TMP/bad.tar" "$TMP/rbad" --pin-file "$A/hsm/user.pin"
[ ! -e "$TMP/rbad" ] && ok "a refused restore leaves no directory behind" ||
    not_ok "a refused restore leaves no directory behind" "$(ls -la "$TMP/rbad")"
head -c 30000 "$TMP/b1.tar" >"$TMP/short.tar"
check_fails "restore refuses a truncated backup" "truncat|failed|Truncated|end" \
    "$PCACTL" restore "$TMP/short.tar" "$TMP/rshort" --pin-file "$A/hsm/user.pin"
mkdir "$TMP/full" && : >"$TMP/full/keep"
check_fails "restore refuses a non-empty directory" "not an empty directory" \
    "$PCACTL" restore "$TMP/b1.tar" "$TMP/full" --pin-file "$A/hsm/user.pin"
[ -f "$TMP/full/keep" ] && ok "the non-empty directory is untouched" ||
    not_ok "the non-empty directory is untouched"
check_fails "restore without the PIN says how to give it" "give it with" \
    "$PCACTL" restore "$TMP/b1.tar" "$TMP/rnopin"
SAVED=$PCACTL_CONFIG
new_appliance "$TMP/other" >/dev/null
PCACTL_CONFIG=$SAVED
export PCACTL_CONFIG
check_fails "restore against another token is refused" "does not belong to this token" \
    "$PCACTL" restore "$TMP/b1.tar" "$TMP/r2" --pin-file "$TMP/other/hsm/user.pin" \
    --module-env "SOFTHSM2_CONF=$TMP/other/hsm/softhsm2.conf"
[ ! -e "$TMP/r2" ] && ok "the refused restore removed what it made" ||
    not_ok "the refused restore removed what it made"

# ---- the restore ----
R=$TMP/restored
check "pcactl restore BACKUP DIR (same token)" \
    "$PCACTL" restore "$TMP/b1.tar" "$R" --pin-file "$A/hsm/user.pin"
PCACTL_CONFIG=$R/pcad.conf
export PCACTL_CONFIG
check "store verify on the restored appliance" "$PCACTL" store verify
"$PCACTL" --json cert list >"$TMP/certs.json"
if python3 - "$TMP/load.log" "$TMP/certs.json" "$TMP/x/manifest.json" \
    "$T0" "$T1" <<'PY'
import json, sys
log, certs, man, t0, t1 = sys.argv[1:6]
t0, t1 = float(t0), float(t1)
have = {c["Serial"].lower() for c in json.load(open(certs))}
before = after = 0
for line in open(log):
    a, b, arn = line.split()
    serial = arn.rsplit("/", 1)[1].lower()
    if float(b) < t0:
        before += 1
        assert serial in have, "answered before the backup, missing: " + arn
    elif float(a) > t1:
        after += 1
        assert serial not in have, "begun after the backup, present: " + arn
m = json.load(open(man))
assert len(have) == m["Certificates"], (len(have), m["Certificates"])
assert before > 0 and after > 0, (before, after)
print("# %d certificates from before the backup all present, %d from after it "
      "all absent" % (before, after))
PY
then ok "exactly the certificates of the backup are in the restored store"
else not_ok "the certificates of the restored store"; fi
BID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["BackupId"])' "$TMP/x/manifest.json")
if mdb_dump -p -s audit "$R/data" | grep -q "op=Restore backup=$BID"; then
	ok "the audit chain records the restore (mdb_dump)"
else
	not_ok "the audit chain records the restore"
fi
check_fails "restore refuses to overwrite the restored appliance" "not an empty directory" \
    "$PCACTL" restore "$TMP/b1.tar" "$R" --pin-file "$A/hsm/user.pin"

pcad_up "pcad starts on the restored appliance" "$R/pcad.conf"
wait_metric 'pcad_ocsp_presigned_entries [1-9]'
ossl "OCSP after the restore: good for a certificate of the backup" good "$TMP/leaf1.pem"
ossl "OCSP after the restore: revoked for the revoked one" revoked "$TMP/leaf2.pem"
AWS="aws --region us-east-1 --endpoint-url https://$(awk '/^\[api\]/{s=1} s&&/^listen/{print $3; exit}' "$R/pcad.conf") --ca-bundle $R/tls/ca.pem"
export AWS_SHARED_CREDENTIALS_FILE="$A/credentials"
OLD=$(awk 'NR==1{print $3}' "$TMP/load.log")
check "aws-cli get-certificate of a certificate from before the backup (restored access key)" \
    $AWS acm-pca get-certificate --certificate-authority-arn "$ROOT" \
    --certificate-arn "$OLD"
ec_csr "$TMP/new.csr" new.example.com
NEW=$($AWS acm-pca issue-certificate --certificate-authority-arn "$ROOT" \
    --csr "fileb://$TMP/new.csr" --signing-algorithm SHA256WITHECDSA \
    --validity Value=30,Type=DAYS --query CertificateArn --output text 2>&1)
case "$NEW" in
arn:*/certificate/*) ok "aws-cli issues on the restored appliance" ;;
*) not_ok "aws-cli issues on the restored appliance" "$NEW" ;;
esac
stop_pcad
check "store verify after serving on the restored appliance" "$PCACTL" store verify
finish
