#!/bin/sh
# Module independence: the hierarchy, token-loss and API suites run again on
# a second, unrelated PKCS#11 implementation, opencryptoki's soft token
# (Debian package opencryptoki), adopted with "pcactl init --pkcs11-module
# --token-label --pin-file" as an operator adopts an HSM's token.
#
# opencryptoki keeps its configuration, token store, lock files and the
# pkcsslotd socket at fixed paths (/etc/opencryptoki, /var/lib/opencryptoki,
# /var/log/opencryptoki, /run).  The test re-runs itself in a private mount
# namespace (unshare -m) where those paths are directories of its own, so
# the machine's opencryptoki (if any) is neither used nor touched; it starts
# and stops pkcsslotd itself and makes a fresh token for every suite
# (pkcsconf -I, -P, -u).  Needs root (mount namespaces); otherwise SKIP.
#
# Differences met (docs/hsm.md): the soft token of opencryptoki 3.8 makes
# no EC keys (CKM_EC_KEY_PAIR_GEN is absent), so the suites run with RSA CA
# keys (PCA_TEST_RSA_ONLY) and the API TLS CA key falls back to RSA-2048;
# PINs are 4 to 8 characters.
set -u
if [ -z "${OPENPCA_TOKEN2_NS:-}" ]; then
	why=""
	if [ "$(id -u)" -ne 0 ]; then
		why="needs root for a private mount namespace"
	elif ! command -v pkcsslotd >/dev/null 2>&1 ||
	    ! command -v pkcsconf >/dev/null 2>&1; then
		why="opencryptoki is not installed (make deps)"
	elif ! unshare -m true 2>/dev/null; then
		why="unshare -m is not permitted here"
	fi
	if [ -n "$why" ]; then
		echo "ok 1 - second PKCS#11 implementation # SKIP $why"
		echo "1..1"
		exit 0
	fi
	OPENPCA_TOKEN2_NS=1 exec unshare -m --propagation private sh "$0"
fi
. "$(dirname "$0")/lib.sh"
# Under "make asan": opencryptoki's soft token (libpkcs11_sw.so, dlopened
# by libopencryptoki and dlclosed at C_Finalize) leaks, and LeakSanitizer
# cannot name the unloaded library to suppress it.  Leak checks stay on for
# the same code paths in the SoftHSM suites; address and UB checks stay on.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
export ASAN_OPTIONS

MODULE=$(ls /usr/lib/*/pkcs11/libopencryptoki.so 2>/dev/null | head -1)
LABEL=openpca2
OCK=$TMP/ock
SLOTD_PID=""

ns_setup() {
	mkdir -p "$OCK/etc" "$OCK/lib" "$OCK/log" || return 1
	printf 'version opencryptoki-3.1\nslot 3\n{\nstdll = libpkcs11_sw.so\n}\n' \
	    >"$OCK/etc/opencryptoki.conf"
	mkdir -p /var/log/opencryptoki &&
	    mount -t tmpfs -o mode=0755 openpca-run /run &&
	    mkdir -p /run/lock/opencryptoki/swtok &&
	    mount --bind "$OCK/etc" /etc/opencryptoki &&
	    mount --bind "$OCK/lib" /var/lib/opencryptoki &&
	    mount --bind "$OCK/log" /var/log/opencryptoki &&
	    chown -R root:pkcs11 /run/lock/opencryptoki "$OCK/lib" "$OCK/log" &&
	    chmod -R 0770 /run/lock/opencryptoki "$OCK/lib" "$OCK/log"
}

slotd_start() {
	pkcsslotd || return 1
	i=0
	while [ ! -s /run/pkcsslotd.pid ] && [ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	SLOTD_PID=$(cat /run/pkcsslotd.pid 2>/dev/null)
	[ -n "$SLOTD_PID" ]
}

# Stops our pkcsslotd: the one of the pid file and any other living in
# this test's private mount namespace (so none can outlive the test).
slotd_stop() {
	ns=$(readlink /proc/self/ns/mnt)
	for p in $SLOTD_PID $(pgrep -x pkcsslotd); do
		[ "$(readlink "/proc/$p/ns/mnt" 2>/dev/null)" = "$ns" ] ||
		    continue
		kill "$p" 2>/dev/null
		i=0
		while [ -d "/proc/$p/fd" ] && [ $i -lt 100 ]; do
			sleep 0.05
			i=$((i + 1))
		done
	done
	rm -f /run/pkcsslotd.pid
	SLOTD_PID=""
}
CLEANUP='[ -n "${MPID:-}" ] && kill $MPID 2>/dev/null; slotd_stop'

# A fresh soft token: SO PIN changed from the default, user PIN set.
token_new() {
	slotd_stop
	rm -rf "$OCK/lib/swtok" /run/lock/opencryptoki/swtok/*
	mkdir -p "$OCK/lib/swtok/TOK_OBJ" &&
	    chown -R root:pkcs11 "$OCK/lib/swtok" &&
	    chmod -R 0770 "$OCK/lib/swtok" && slotd_start || return 1
	SO=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ' | cut -c1-8)
	USER=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ' | cut -c1-8)
	while [ ${#SO} -lt 8 ]; do SO="${SO}1"; done
	while [ ${#USER} -lt 8 ]; do USER="${USER}2"; done
	printf '87654321\n%s\n' "$LABEL" | pkcsconf -c 3 -I >/dev/null &&
	    printf '87654321\n%s\n%s\n' "$SO" "$SO" |
		pkcsconf -c 3 -P >/dev/null &&
	    printf '%s\n%s\n%s\n' "$SO" "$USER" "$USER" |
		pkcsconf -c 3 -u >/dev/null || return 1
	(umask 077 && printf '%s\n' "$USER" >"$OCK/user.pin")
}

# Runs a suite on a fresh token and relays its TAP lines.
suite() {
	name=$1
	if ! token_new; then
		not_ok "$name: a fresh opencryptoki token"
		return
	fi
	PCA_P11_MODULE=$MODULE PCA_P11_TOKEN=$LABEL \
	    PCA_P11_PIN_FILE=$OCK/user.pin PCA_TEST_RSA_ONLY=1 \
	    sh "$ROOTDIR/tests/integration/test_$name.sh" >"$TMP/$name.tap" 2>&1
	rc=$?
	while IFS= read -r line; do
		case "$line" in
		"ok "*"# SKIP"*) N=$((N + 1)); echo "ok $N - opencryptoki $name: ${line#ok * - }" ;;
		"ok "*) ok "opencryptoki $name: ${line#ok * - }" ;;
		"not ok "*) not_ok "opencryptoki $name: ${line#not ok * - }" ;;
		*) echo "# $line" ;;
		esac
	done <"$TMP/$name.tap"
	if [ "$rc" -ne 0 ] && ! grep -q '^not ok' "$TMP/$name.tap"; then
		not_ok "opencryptoki $name: the suite exited $rc" \
		    "$(tail -20 "$TMP/$name.tap")"
	fi
}

if [ -z "$MODULE" ]; then
	not_ok "libopencryptoki.so found"
	finish
	exit 1
fi
if ns_setup && token_new; then
	ok "opencryptoki soft token initialized with pkcsconf (private namespace)"
else
	not_ok "opencryptoki soft token initialized with pkcsconf"
	finish
	exit 1
fi
INFO=$(pkcsconf -c 3 -t 2>&1)
if printf '%s' "$INFO" | grep -q "Label: $LABEL" &&
    printf '%s' "$INFO" | grep -q 'USER_PIN_INITIALIZED'; then
	ok "pkcsconf shows token $LABEL with its user PIN set"
else
	not_ok "pkcsconf shows token $LABEL with its user PIN set" "$INFO"
fi

# Adopting: refused with a wrong PIN (nothing left behind), then accepted.
printf '00000000\n' >"$TMP/wrong.pin"
chmod 600 "$TMP/wrong.pin"
check_fails "init with a wrong PIN fails in one line" "PIN|CKR_" \
    "$PCACTL" init "$TMP/bad" --pkcs11-module "$MODULE" \
    --token-label "$LABEL" --pin-file "$TMP/wrong.pin"
if [ ! -e "$TMP/bad" ]; then ok "the failed init left nothing behind"
else not_ok "the failed init left nothing behind" "$(ls -R "$TMP/bad")"; fi
check_fails "init with an unknown token label fails" "token|openpca-none" \
    "$PCACTL" init "$TMP/bad" --pkcs11-module "$MODULE" \
    --token-label openpca-none --pin-file "$OCK/user.pin"
if "$PCACTL" init "$TMP/adopt" --pkcs11-module "$MODULE" \
    --token-label "$LABEL" --pin-file "$OCK/user.pin" \
    --api-port "$(free_port)" --http-port "$(free_port)" >"$TMP/init.out" 2>&1
then ok "pcactl init adopts the opencryptoki token"
else not_ok "pcactl init adopts the opencryptoki token" "$(cat "$TMP/init.out")"; fi
if grep -q "^module = $MODULE\$" "$TMP/adopt/pcad.conf" &&
    grep -q "^token = $LABEL\$" "$TMP/adopt/pcad.conf" &&
    grep -q "^pin_file = $OCK/user.pin\$" "$TMP/adopt/pcad.conf" &&
    [ ! -e "$TMP/adopt/hsm" ]; then
	ok "pcad.conf names the module, the token and the PIN file; no SoftHSM made"
else
	not_ok "pcad.conf names the adopted token" "$(cat "$TMP/adopt/pcad.conf")"
fi
check "the API TLS certificate (CA key in this token) verifies" \
    openssl verify -CAfile "$TMP/adopt/tls/ca.pem" "$TMP/adopt/tls/server.pem"
# --pin-env: the PIN from the environment, never written anywhere.
if OCK_PIN=$(cat "$OCK/user.pin") "$PCACTL" init "$TMP/adopt-env" \
    --pkcs11-module "$MODULE" --token-label "$LABEL" --pin-env OCK_PIN \
    --api-port "$(free_port)" --http-port "$(free_port)" >/dev/null 2>&1 &&
    grep -q '^pin_env = OCK_PIN$' "$TMP/adopt-env/pcad.conf" &&
    ! grep -rq "$(cat "$OCK/user.pin")" "$TMP/adopt-env/pcad.conf"; then
	ok "init --pin-env: pcad.conf names the variable, not the PIN"
else
	not_ok "init --pin-env: pcad.conf names the variable, not the PIN"
fi
check "pcactl with the PIN in the environment" env \
    OCK_PIN="$(cat "$OCK/user.pin")" "$PCACTL" --config \
    "$TMP/adopt-env/pcad.conf" ca list
check_fails "pcactl without the PIN variable fails in one line" "OCK_PIN|PIN" \
    env -u OCK_PIN "$PCACTL" --config "$TMP/adopt-env/pcad.conf" ca list
check_fails "init --pin-env with the variable unset is refused" "not set" \
    env -u OCK_PIN "$PCACTL" init "$TMP/bad" --pkcs11-module "$MODULE" \
    --token-label "$LABEL" --pin-env OCK_PIN
if openssl x509 -in "$TMP/adopt/tls/ca.pem" -noout -text |
    grep -q 'sha256WithRSAEncryption'; then
	ok "no EC in this token: the TLS CA key fell back to RSA"
else
	not_ok "no EC in this token: the TLS CA key fell back to RSA"
fi

# Moving an appliance from SoftHSM to this token: pcactl token migrate.
migrate_test() {
	M=$TMP/mig
	new_appliance "$M" || { not_ok "migrate: a SoftHSM appliance"; return; }
	ISS=$("$PCACTL" key create --role issuer | sed -n 's/^aws_access_key_id = //p')
	OLD=$("$PCACTL" ca create --type ROOT --key-alg RSA_2048 \
	    --signing-alg SHA256WITHRSA --subject "CN=Old Token Root" --revocation none)
	token_new || { not_ok "migrate: a fresh opencryptoki token"; return; }
	if out=$("$PCACTL" token migrate --pkcs11-module "$MODULE" \
	    --token-label "$LABEL" --pin-file "$OCK/user.pin" 2>&1) &&
	    printf '%s' "$out" | grep -q '^2 access keys .* (2 re-sealed'; then
		ok "token migrate: SoftHSM -> opencryptoki, 2 access keys re-sealed"
	else
		not_ok "token migrate: SoftHSM -> opencryptoki" "$out"
	fi
	if grep -q "^module = $MODULE\$" "$M/pcad.conf" &&
	    grep -q "^token = $LABEL\$" "$M/pcad.conf" &&
	    ! grep -q softhsm "$M/pcad.conf" &&
	    grep -q softhsm "$M/pcad.conf.pre-migrate"; then
		ok "token migrate: pcad.conf names the new token, the old file is kept"
	else
		not_ok "token migrate: pcad.conf rewritten" "$(cat "$M/pcad.conf")"
	fi
	check_fails "token migrate to the module in use is refused" \
	    "already uses module" "$PCACTL" token migrate --pkcs11-module \
	    "$MODULE" --token-label "$LABEL" --pin-file "$OCK/user.pin"
	# As if the first run had stopped before rewriting pcad.conf.
	cp "$M/pcad.conf" "$M/pcad.conf.migrated"
	cp "$M/pcad.conf.pre-migrate" "$M/pcad.conf"
	out=$("$PCACTL" token migrate --pkcs11-module "$MODULE" \
	    --token-label "$LABEL" --pin-file "$OCK/user.pin" 2>&1)
	case "$out" in
	*"(0 re-sealed"*) ok "token migrate re-run: nothing left to move" ;;
	*) not_ok "token migrate re-run: nothing left to move" "$out" ;;
	esac
	cmp -s "$M/pcad.conf" "$M/pcad.conf.migrated" &&
	    ok "token migrate re-run: the same pcad.conf" ||
	    not_ok "token migrate re-run: the same pcad.conf"
	mv "$M/hsm" "$M/hsm.away"	# the SoftHSM token is gone
	H=$(sed -n 's/^listen = 127.0.0.1:\([0-9]*\)$/\1/p' "$M/pcad.conf" | tail -1)
	API=$(sed -n 's/^listen = 127.0.0.1:\([0-9]*\)$/\1/p' "$M/pcad.conf" | head -1)
	"$PCAD" --config "$M/pcad.conf" >"$TMP/mig.log" 2>&1 &
	MPID=$!
	i=0
	until curl -s -o /dev/null "http://127.0.0.1:$H/health" || [ $i -ge 200 ]
	do sleep 0.1; i=$((i + 1)); done
	if out=$(AWS_SHARED_CREDENTIALS_FILE=$M/credentials python3 -c '
import sys, boto3
c = boto3.client("acm-pca", region_name="us-east-1", verify=sys.argv[1],
                 endpoint_url="https://127.0.0.1:" + sys.argv[2])
print(len(c.list_certificate_authorities()["CertificateAuthorities"]))
' "$M/tls/ca.pem" "$API" 2>&1) && [ "$out" = 1 ]; then
		ok "after migrating, pcad on the new token accepts the admin key"
	else
		not_ok "after migrating, pcad accepts the admin key" \
		    "$out $(tail -3 "$TMP/mig.log")"
	fi
	kill $MPID 2>/dev/null
	wait $MPID 2>/dev/null
	MPID=""
	if "$PCACTL" --json key list | grep -q "$ISS"; then
		ok "the issuer key is still listed"
	else
		not_ok "the issuer key is still listed"
	fi
	mv "$M/hsm.away" "$M/hsm"
	if "$PCACTL" --config "$M/pcad.conf.pre-migrate" ca csr "$OLD" \
	    --out "$TMP/old.csr" >/dev/null 2>&1 &&
	    openssl req -verify -noout -in "$TMP/old.csr" >/dev/null 2>&1; then
		ok "the old token's CA still signs through pcad.conf.pre-migrate"
	else
		not_ok "the old token's CA still signs through pcad.conf.pre-migrate"
	fi
}
migrate_test

suite hierarchy
suite tokenloss
suite api
slotd_stop
finish
