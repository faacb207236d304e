# lib.sh - sourced by every integration test (POSIX sh): paths, a private
# $TMP removed on exit, TAP helpers, free ports, a fresh appliance, pcad and
# moto_server started and stopped.  Each check prints a TAP line: "ok N -
# name" or "not ok N - name" (tests/run.sh counts them).  On exit (also on
# INT/TERM) the pcad and moto_server this script started are stopped, then
# $CLEANUP is evaluated and $TMP removed.
set -u
ROOTDIR=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOTDIR/tests/integration
NAME=$(basename "$0" .sh)
BIN=${BIN:-bin}
BUILD=${BUILD:-build}
case "$BIN" in /*) ;; *) BIN="$ROOTDIR/$BIN" ;; esac
case "$BUILD" in /*) ;; *) BUILD="$ROOTDIR/$BUILD" ;; esac
export BIN BUILD
PCACTL="$BIN/pcactl"
PCAD="$BIN/pcad"
TOOLS="$BUILD/tools"
SOFTHSM=/usr/lib/softhsm/libsofthsm2.so
N=0
FAILS=0
PCAD_PID=""
MOTO_PID=""
TMP=$(mktemp -d "${TMPDIR:-/tmp}/openpca-test.XXXXXX")
A=$TMP/app # the appliance directory new_appliance makes (by convention)
trap 'stop_pcad; stop_moto; cleanup_hooks; rm -rf "$TMP"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
CLEANUP=""
cleanup_hooks() { eval "$CLEANUP"; }

ok() { N=$((N + 1)); echo "ok $N - $1"; }
not_ok() {
	N=$((N + 1))
	FAILS=$((FAILS + 1))
	echo "not ok $N - $1"
	[ $# -gt 1 ] && [ -n "$2" ] &&
	    printf '%s\n' "$2" | sed 's/^/#   /' | head -20
	return 0
}
# skip NAME REASON: a TAP line for a check that does not apply here.
skip() { N=$((N + 1)); echo "ok $N - $1 # SKIP $2"; }
# check NAME CMD...: ok when CMD exits 0; shows its output otherwise.
check() {
	name=$1
	shift
	if out=$("$@" 2>&1); then ok "$name"; else not_ok "$name" "$out"; fi
}
# check_fails NAME PATTERN CMD...: ok when CMD fails with one line
# matching PATTERN on stderr.
check_fails() {
	name=$1
	pat=$2
	shift 2
	if out=$("$@" 2>&1 >/dev/null); then
		not_ok "$name" "unexpectedly succeeded"
	elif [ "$(printf '%s\n' "$out" | wc -l)" -ne 1 ]; then
		not_ok "$name" "expected one error line, got: $out"
	elif printf '%s' "$out" | grep -qE "$pat"; then
		ok "$name"
	else
		not_ok "$name" "error '$out' does not match /$pat/"
	fi
}
# die WHAT [DETAIL]: one "not ok" line naming the script, then exit 1.
die() {
	not_ok "$NAME: $1" "${2:-}"
	finish
	exit 1
}
# need_built FILE...: die unless each FILE is an executable we built.
need_built() {
	for f in "$@"; do
		[ -x "$f" ] || die "$f not built"
	done
}
# need_python MODULE...: die unless python3 imports each MODULE.
need_python() {
	for m in "$@"; do
		python3 -c "import $m" 2>/dev/null || die "python3 lacks $m"
	done
}
# http_url CONF: http://HOST:PORT of the [http] listener in CONF.
http_url() {
	echo "http://$(awk '/^\[http\]/{s=1} s&&/^listen/{print $3; exit}' "$1")"
}
# api_url CONF: https://HOST:PORT of the [api] listener in CONF.
api_url() {
	echo "https://$(awk '/^\[api\]/{s=1} s&&/^listen/{print $3; exit}' "$1")"
}
free_port() {
	python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'
}
# PCA_P11_MODULE, PCA_P11_TOKEN, PCA_P11_PIN_FILE (set by test_token2.sh):
# appliances adopt that existing token instead of making a SoftHSM token.
# PCA_TEST_RSA_ONLY: the token makes no EC keys; suites use RSA CA keys.
token_args() {
	[ -n "${PCA_P11_MODULE:-}" ] && printf '%s\n' --pkcs11-module \
	    "$PCA_P11_MODULE" --token-label "$PCA_P11_TOKEN" --pin-file \
	    "$PCA_P11_PIN_FILE"
}
# new_appliance DIR [ARGS...]: a fresh appliance (pcactl init DIR ARGS) on
# two free ports, on the token of token_args; exports PCACTL_CONFIG and
# PCA_DIR.
new_appliance() {
	d=$1
	shift
	# shellcheck disable=SC2046
	"$PCACTL" init "$d" --api-port "$(free_port)" \
	    --http-port "$(free_port)" $(token_args) "$@" >/dev/null || return 1
	PCACTL_CONFIG="$d/pcad.conf"
	PCA_DIR=$d
	export PCACTL_CONFIG PCA_DIR
}
# api_appliance: pcad and pcactl built, and a fresh appliance $A for the
# boto3 suites (region us-east-1, account 111122223333); dies otherwise.
api_appliance() {
	need_built "$PCAD" "$PCACTL"
	new_appliance "$A" --region us-east-1 --account-id 111122223333 \
	    2>"$TMP/init.log" || die "pcactl init failed" "$(cat "$TMP/init.log")"
}
# wait_up PID TENTHS CMD...: 0 once CMD succeeds; 1 when process PID has
# exited or TENTHS tenths of a second have passed.
wait_up() {
	wu_pid=$1
	wu_n=$2
	shift 2
	i=0
	while [ $i -lt "$wu_n" ]; do
		"$@" >/dev/null 2>&1 && return 0
		kill -0 "$wu_pid" 2>/dev/null || return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}
# The clock with libfaketime: processes started through fake_env/shifted
# run OFFSET seconds ahead (0: the real clock).  An ASan build tolerates the
# library preloaded before its runtime.
FAKELIB=/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1
OFFSET=0
fake_env() {
	[ "$OFFSET" -eq 0 ] && return 0
	echo "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
	    "LD_PRELOAD=$FAKELIB FAKETIME=+$OFFSET FAKETIME_NO_CACHE=1"
}
# shifted CMD...: CMD with the clock OFFSET seconds ahead.
shifted() {
	# shellcheck disable=SC2046
	env $(fake_env) "$@"
}
# ocsp_check NAME STATUS ARGS...: openssl ocsp ARGS (at the shifted time)
# against $URL, verified against $TMP/root.pem: ok when the response
# verifies, gives STATUS (good, revoked, unknown) and openssl warns of
# nothing.
ocsp_check() {
	oc_name=$1
	oc_want=$2
	shift 2
	oc_out=$(shifted openssl ocsp -issuer "$TMP/root.pem" -url "$URL" \
	    -CAfile "$TMP/root.pem" "$@" 2>&1)
	if printf '%s' "$oc_out" | grep -q "Response verify OK" &&
	    printf '%s' "$oc_out" | grep -q ": $oc_want\$" &&
	    ! printf '%s' "$oc_out" | grep -q "WARNING"; then
		ok "$oc_name"
	else
		not_ok "$oc_name" "$oc_out"
	fi
}
# pcad_env: VAR=VALUE words start_pcad puts before pcad (through env(1),
# so that $! is pcad itself); a script may redefine it.
pcad_env() { :; }
# start_pcad [CONF]: pcad in the background (CONF defaults to
# $A/pcad.conf; output appended to $A/pcad.log), healthy at $URL/health
# within 20 s; sets PCAD_PID.
start_pcad() {
	# shellcheck disable=SC2046
	env $(pcad_env) "$PCAD" --config "${1:-$A/pcad.conf}" \
	    >>"$A/pcad.log" 2>&1 &
	PCAD_PID=$!
	wait_up "$PCAD_PID" 200 curl -sf "$URL/health"
}
# pcad_up NAME [CONF]: start_pcad CONF and one TAP line NAME; when pcad
# does not come up, its log's tail and the end of the script (exit 1).
pcad_up() {
	if start_pcad "${2:-$A/pcad.conf}"; then ok "$1"; else
		not_ok "$1" "$(tail -20 "$A/pcad.log")"
		finish
		exit 1
	fi
}
# wait_metric REGEX [TENTHS]: until a line of $URL/metrics starts with
# REGEX (grep -E), TENTHS (default 100) tenths of a second at most;
# status 1 when it did not come.
wait_metric() {
	wm_i=0
	until curl -s "$URL/metrics" | grep -qE "^$1"; do
		[ "$wm_i" -ge "${2:-100}" ] && return 1
		sleep 0.1
		wm_i=$((wm_i + 1))
	done
}
stop_pcad() {
	[ -n "$PCAD_PID" ] && kill "$PCAD_PID" 2>/dev/null &&
	    wait "$PCAD_PID" 2>/dev/null
	PCAD_PID=""
}
# start_moto: moto_server as an S3 endpoint on a free loopback port
# (output in $TMP/moto.log), accepting connections within 30 s; sets
# MOTO_PID, MOTO_PORT and MOTO_URL.  Its environment passes through (for
# example INITIAL_NO_AUTH_ACTION_COUNT, which turns SigV4 checks on).
start_moto() {
	command -v moto_server >/dev/null || return 1
	MOTO_PORT=$(free_port)
	MOTO_URL=http://127.0.0.1:$MOTO_PORT
	moto_server -H 127.0.0.1 -p "$MOTO_PORT" >>"$TMP/moto.log" 2>&1 &
	MOTO_PID=$!
	# a bare connect: an HTTP call would use up a free action
	wait_up "$MOTO_PID" 300 python3 -c 'import socket,sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' \
	    "$MOTO_PORT"
}
stop_moto() {
	[ -n "$MOTO_PID" ] && kill "$MOTO_PID" 2>/dev/null &&
	    wait "$MOTO_PID" 2>/dev/null
	MOTO_PID=""
}
# relay_tap FILE PREFIX NAME: the TAP lines of a python suite in FILE
# ("ok N - X", "not ok N - X") as this script's "ok M - PREFIX: X"; other
# lines echoed; when FILE has no "ok" line at all, one "not ok M - NAME"
# with its tail.
relay_tap() {
	while IFS= read -r rt_l; do
		case "$rt_l" in
		"ok "*) ok "$2: ${rt_l#ok * - }" ;;
		"not ok "*) not_ok "$2: ${rt_l#not ok * - }" ;;
		*) echo "$rt_l" ;;
		esac
	done <"$1"
	grep -q '^ok' "$1" || not_ok "$3" "$(tail -20 "$1")"
}
# wait_lines FILE N TENTHS: until FILE has N lines, TENTHS tenths of a
# second at most; status 1 when it did not get them.
wait_lines() {
	wl_i=0
	until [ "$(wc -l <"$1" 2>/dev/null || echo 0)" -ge "$2" ]; do
		[ "$wl_i" -ge "$3" ] && return 1
		sleep 0.1
		wl_i=$((wl_i + 1))
	done
}
# py_suite SCRIPT [ARGS...]: runs a python3 TAP suite and exits with its
# status; on failure shows the tail of $A/pcad.log.
py_suite() {
	python3 "$@"
	rc=$?
	if [ "$rc" -ne 0 ] && [ -f "$A/pcad.log" ]; then
		echo "# pcad log (tail):"
		tail -40 "$A/pcad.log" | sed 's/^/# /'
	fi
	exit "$rc"
}
# make_root DIR ALG SIGALG [CN [ARGS...]]: an ACTIVE root CA (subject CN,
# default "Root ALG"; ARGS go to pcactl ca create), its certificate in
# DIR/root.pem; prints its ARN.  Without --revocation or --revocation-json
# in ARGS the CA has neither CRL nor OCSP (--revocation none, not pcactl's
# default).
make_root() {
	mr_dir=$1
	mr_alg=$2
	mr_sig=$3
	mr_cn=${4:-Root $2}
	[ $# -ge 4 ] && shift 4 || shift $#
	mr_rev="--revocation none"
	case " $* " in *" --revocation"*) mr_rev="" ;; esac
	# shellcheck disable=SC2086
	root_ca "$mr_alg" "$mr_sig" "CN=$mr_cn,O=OpenPCA Test,C=US" 10y \
	    "$mr_dir/root.pem" $mr_rev "$@"
}
# root_ca ALG SIGALG SUBJECT VALIDITY PEM [ARGS...]: an ACTIVE root CA
# (pcactl ca create --key-alg ALG --signing-alg SIGALG --subject SUBJECT
# ARGS), its RootCACertificate for VALIDITY in PEM (its CSR in
# PEM-without-.pem.csr); prints its ARN.
root_ca() {
	rc_alg=$1
	rc_sig=$2
	rc_subj=$3
	rc_val=$4
	rc_pem=$5
	shift 5
	rc_csr=${rc_pem%.pem}.csr
	rc_arn=$("$PCACTL" ca create --type ROOT --key-alg "$rc_alg" \
	    --signing-alg "$rc_sig" --subject "$rc_subj" "$@") || return 1
	"$PCACTL" ca csr "$rc_arn" --out "$rc_csr" &&
	    "$PCACTL" issue --ca "$rc_arn" --csr "$rc_csr" \
		--signing-alg "$rc_sig" --validity "$rc_val" \
		--template RootCACertificate --out "$rc_pem" >/dev/null &&
	    "$PCACTL" ca import "$rc_arn" --cert "$rc_pem" >/dev/null &&
	    echo "$rc_arn"
}
ec_csr() { # ec_csr OUT CN [CURVE]
	openssl req -new -newkey ec -pkeyopt "ec_paramgen_curve:${3:-P-256}" \
	    -nodes -keyout "$1.key" -subj "/CN=$2" \
	    -addext "subjectAltName=DNS:$2" -out "$1" 2>/dev/null
}
# issue_leaf CA NAME: a 30-day leaf for NAME.example.com (EC P-256 key,
# SHA256WITHECDSA) of CA in $TMP/NAME.pem, its CSR in $TMP/NAME.csr
issue_leaf() {
	ec_csr "$TMP/$2.csr" "$2.example.com" &&
	    "$PCACTL" issue --ca "$1" --csr "$TMP/$2.csr" \
		--signing-alg SHA256WITHECDSA --validity 30d \
		--out "$TMP/$2.pem" >/dev/null
}
# cert_serial PEM: the certificate's serial in hex as openssl prints it
cert_serial() {
	openssl x509 -in "$1" -noout -serial 2>/dev/null | cut -d= -f2
}
finish() {
	echo "1..$N"
	[ "$FAILS" -eq 0 ]
}
