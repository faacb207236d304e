#!/bin/sh
# test_privsep.sh - pcad's separated signer (issue 10), started as root
# with [process] user = nobody and signer_group = daemon: the front maps no
# PKCS#11 module, cannot open the PIN file or the token directory, holds
# the PIN nowhere in its memory; the signer does (the scans can fail) and
# dumps no core; kill -9 of the signer under a boto3 issue loop: a new one
# within 2 s, no request with a non-retryable error, store verify clean.
# After SigV4 requests by boto3 and aws-cli (ACM-PCA and sts, two keys) no
# API secret access key is in the front's memory (it verifies with per-day
# signing keys the signer derives); their key ids are (the scan can fail).
. "$(dirname "$0")/lib.sh"
if [ "$(id -u)" -ne 0 ]; then
	echo "ok 1 # SKIP test_privsep needs root (drops to nobody)"
	echo "1..1"
	exit 0
fi
need_python
api_appliance
unset AWS_CA_BUNDLE
root=$(make_root "$TMP" EC_prime256v1 SHA256WITHECDSA "Privsep Root") ||
    die "root CA"
URL=$(http_url "$A/pcad.conf")
# a second key, made before the appliance changes hands (pcactl as root
# would leave token files the signer's group cannot read)
"$PCACTL" key create --role auditor --account 210987654321 \
    >"$TMP/auditor.cred" 2>"$TMP/key.err" ||
    die "pcactl key create" "$(cat "$TMP/key.err")"
GROUP=daemon
cat >>"$A/pcad.conf" <<CONF

[process]
user = nobody
signer_group = $GROUP
CONF
# the front's user owns the appliance but for hsm/: root:GROUP, the PIN
# files root only (the signer reads the PIN before it drops)
chmod 755 "$TMP"
chown -R nobody:nogroup "$A"
chown -R "root:$GROUP" "$A/hsm"
chmod -R u+rwX,g+rwX,o-rwx "$A/hsm"
find "$A/hsm" -type d -exec chmod g+s {} +
chmod 600 "$A/hsm/user.pin" "$A/hsm/so.pin"
chown root:root "$A/hsm/user.pin" "$A/hsm/so.pin"
PIN=$A/hsm/user.pin
TOKDIR=$(find "$A/hsm/tokens" -mindepth 1 -maxdepth 1 -type d | head -1)

start_pcad || die "pcad did not start" "$(tail -20 "$A/pcad.log")"
front=$PCAD_PID
set -- $(python3 "$HERE/privsep/procs.py" pids "$front")
keeper=$1
signer=$2
check "pcad runs a keeper and a signer" [ "$keeper" -gt 0 ] &&
    [ "$signer" -gt 0 ]
uid_of() { awk '/^Uid:/ {print $2}' "/proc/$1/status"; }
nobody=$(id -u nobody)
check "the front runs as nobody" [ "$(uid_of "$front")" = "$nobody" ]
check "the signer runs as nobody" [ "$(uid_of "$signer")" = "$nobody" ]
check "the front has no supplementary group $GROUP" \
    sh -c "! awk '/^Groups:/' /proc/$front/status | grep -qw $(getent group "$GROUP" | cut -d: -f3)"
check "the signer maps the PKCS#11 module" grep -q libsofthsm2 \
    "/proc/$signer/maps"
check "the front maps no PKCS#11 module" sh -c \
    "! grep -E 'libsofthsm2|p11-kit-proxy|pkcs11' /proc/$front/maps"
as_front() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
check "the front's user cannot open the PIN file" sh -c \
    "! setpriv --reuid=nobody --regid=nogroup --clear-groups cat '$PIN'"
check "the front's user cannot open the token directory" sh -c \
    "! setpriv --reuid=nobody --regid=nogroup --clear-groups ls '$TOKDIR'"
check "the signer's groups can (the check above can fail)" \
    setpriv --reuid=nobody --regid=nogroup --groups="$GROUP" ls "$TOKDIR"
check "the PIN is in the signer's memory (the scan finds it)" \
    python3 "$HERE/privsep/procs.py" scan "$signer" "$PIN"
check "the PIN is in no memory of the front" sh -c \
    "! python3 '$HERE/privsep/procs.py' scan $front '$PIN'"
check "the signer dumps no core" grep -Eq \
    '^Max core file size +0 +0' "/proc/$signer/limits"
check "the signer is not dumpable (/proc/PID owned by root)" \
    [ "$(stat -c %u "/proc/$signer/mem")" = 0 ]
# an ASan build (make asan) has no filter: LeakSanitizer needs ptrace
if grep -q "seccomp: not applied in a sanitizer build" "$A/pcad.log"; then
	NOSECCOMP=1
	skip "the front runs under a seccomp filter" "sanitizer build"
else
	NOSECCOMP=0
	check "the front runs under a seccomp filter" grep -Eq \
	    '^Seccomp:[[:space:]]+2' "/proc/$front/status"
fi
check "the signer does not (it is not network-facing)" grep -Eq \
    '^Seccomp:[[:space:]]+0' "/proc/$signer/status"

PCA_DIR=$A ROOT_ARN=$root BIN=$BIN python3 "$HERE/privsep/procs.py" \
    killload "$front" >"$TMP/kill.tap" 2>&1
while IFS= read -r line; do
	case "$line" in
	"ok "*) ok "${line#ok * - }" ;;
	"not ok "*) not_ok "${line#not ok * - }" ;;
	*) echo "$line" ;;
	esac
done <"$TMP/kill.tap"
grep -q '^ok' "$TMP/kill.tap" || not_ok "the kill -9 loop ran" \
    "$(tail -20 "$TMP/kill.tap")"
check "/health is 200 again" curl -sf "$URL/health"

# the keeper held (SIGSTOP) while the signer is killed: /health and callers
# see the gap, retryable; the keeper let go: a signer serves again
set -- $(python3 "$HERE/privsep/procs.py" pids "$front")
kill -STOP "$1"
kill -9 "$2"
sleep 0.5
code=$(curl -s -o "$TMP/health.json" -w '%{http_code}' "$URL/health")
check "no signer: /health answers 503 naming the signer ($code)" sh -c \
    "[ '$code' = 503 ] && grep -q signer '$TMP/health.json'"
got=$(PCA_DIR=$A ROOT_ARN=$root BIN=$BIN python3 "$HERE/privsep/procs.py" \
    issue0 2>&1)
check "no signer: IssueCertificate fails retryable ($got)" sh -c \
    "echo '$got' | grep -Eq '^503 (ServiceUnavailable|ThrottlingException)'"
kill -CONT "$1"
check "the keeper let go: /health 200 within 2 s" wait_up "$front" 20 \
    curl -sf "$URL/health"
check "and issuance works" sh -c "PCA_DIR=$A ROOT_ARN=$root BIN=$BIN \
    python3 '$HERE/privsep/procs.py' issue0 | grep -qx ok"

# API secrets: SigV4 requests served, then the front's memory scanned
export AWS_CONFIG_FILE="$A/aws-config"
unset AWS_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN \
    AWS_DEFAULT_REGION AWS_REGION
check "aws-cli, the auditor key: acm-pca list-certificate-authorities" \
    env AWS_SHARED_CREDENTIALS_FILE="$TMP/auditor.cred" aws acm-pca \
    list-certificate-authorities --output text
check "aws-cli, the auditor key: sts get-caller-identity" sh -c \
    "AWS_SHARED_CREDENTIALS_FILE='$TMP/auditor.cred' aws sts \
    get-caller-identity --query Account --output text | grep -qx 210987654321"
check "aws-cli, the admin key: sts get-caller-identity" \
    env AWS_SHARED_CREDENTIALS_FILE="$A/credentials" aws sts \
    get-caller-identity --output text
check "boto3, both keys: ListCertificateAuthorities and GetCallerIdentity" \
    env PCA_DIR="$A" BIN="$BIN" AUDITOR="$TMP/auditor.cred" python3 -c '
import configparser, os, sys
sys.path.insert(0, os.path.join(sys.argv[1], "api"))
import pcaclient as P
cp = configparser.ConfigParser()
cp.read(os.environ["AUDITOR"])
aud = (cp["default"]["aws_access_key_id"], cp["default"]["aws_secret_access_key"])
for akid, secret in (P.admin_creds(), aud):
    kw = dict(region_name=P.REGION, endpoint_url=P.API, verify=P.BUNDLE,
              aws_access_key_id=akid, aws_secret_access_key=secret)
    P.boto3.client("acm-pca", **kw).list_certificate_authorities()
    assert P.boto3.client("sts", **kw).get_caller_identity()["UserId"] == akid
' "$HERE"
umask 077
for cred in "$A/credentials" "$TMP/auditor.cred"; do
	kname=$(basename "$cred")
	sed -n 's/^aws_secret_access_key *= *//p' "$cred" >"$TMP/secret"
	sed -n 's/^aws_access_key_id *= *//p' "$cred" >"$TMP/akid"
	check "the key id of $kname is in the front's memory (the scan can fail)" \
	    python3 "$HERE/privsep/procs.py" scan "$front" "$TMP/akid"
	check "the secret access key of $kname is in no memory of the front" \
	    sh -c "! python3 '$HERE/privsep/procs.py' scan $front '$TMP/secret'"
done
rm -f "$TMP/secret" "$TMP/akid"

stop_pcad
check "store verify is clean" "$PCACTL" store verify
check "pcad logged the signer's restart" grep -q \
    "killed by signal 9; starting another" "$A/pcad.log"
if [ "$NOSECCOMP" = 1 ]; then
	skip "a denied system call ends the front" "sanitizer build"
else
# a system call outside the filter (ptrace, made on purpose) ends the front
PCAD_SECCOMP_PROBE=1 timeout 60 "$PCAD" --config "$A/pcad.conf" \
    >"$TMP/probe.log" 2>&1
rc=$?
check "a denied system call ends the front (exit $rc)" [ "$rc" -eq 159 ]
check "and is logged" grep -q "seccomp: denied system call" "$TMP/probe.log"
sleep 1
psig=$(sed -n 's/.*signer (pid \([0-9]*\)) serves.*/\1/p' "$TMP/probe.log" |
    head -1)
check "its signer ended with it" sh -c "[ -n '$psig' ] && [ ! -d '/proc/$psig' ]"
fi
finish
