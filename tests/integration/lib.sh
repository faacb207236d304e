# lib.sh - shared by the integration tests (POSIX sh).  Each check prints a
# TAP line: "ok N - name" or "not ok N - name" (tests/run.sh counts them).
set -u
ROOTDIR=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${BIN:-bin}
BUILD=${BUILD:-build}
case "$BIN" in /*) ;; *) BIN="$ROOTDIR/$BIN" ;; esac
case "$BUILD" in /*) ;; *) BUILD="$ROOTDIR/$BUILD" ;; esac
PCACTL="$BIN/pcactl"
PCAD="$BIN/pcad"
TOOLS="$BUILD/tools"
SOFTHSM=/usr/lib/softhsm/libsofthsm2.so
N=0
FAILS=0
TMP=$(mktemp -d /tmp/openpca-test.XXXXXX)
trap 'cleanup_hooks; rm -rf "$TMP"' EXIT
CLEANUP=""
cleanup_hooks() { eval "$CLEANUP"; }

ok() { N=$((N + 1)); echo "ok $N - $1"; }
not_ok() {
	N=$((N + 1))
	FAILS=$((FAILS + 1))
	echo "not ok $N - $1"
	[ $# -gt 1 ] && printf '%s\n' "$2" | sed 's/^/#   /' | head -20
	return 0
}
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
# new_appliance DIR: a fresh appliance; exports PCACTL_CONFIG.
new_appliance() {
	# shellcheck disable=SC2046
	"$PCACTL" init "$1" --api-port "$(free_port)" \
	    --http-port "$(free_port)" $(token_args) >/dev/null || return 1
	PCACTL_CONFIG="$1/pcad.conf"
	export PCACTL_CONFIG
}
# make_root DIR ALG SIGALG: an ACTIVE root CA; prints its ARN.
make_root() {
	arn=$("$PCACTL" ca create --type ROOT --key-alg "$2" \
	    --signing-alg "$3" --subject "CN=Root $2,O=OpenPCA Test,C=US") ||
	    return 1
	"$PCACTL" ca csr "$arn" --out "$1/root.csr" &&
	    "$PCACTL" issue --ca "$arn" --csr "$1/root.csr" --signing-alg "$3" \
		--validity 10y --template RootCACertificate \
		--out "$1/root.pem" >/dev/null &&
	    "$PCACTL" ca import "$arn" --cert "$1/root.pem" >/dev/null &&
	    echo "$arn"
}
ec_csr() { # ec_csr OUT CN [CURVE]
	openssl req -new -newkey ec -pkeyopt "ec_paramgen_curve:${3:-P-256}" \
	    -nodes -keyout "$1.key" -subj "/CN=$2" \
	    -addext "subjectAltName=DNS:$2" -out "$1" 2>/dev/null
}
finish() {
	echo "1..$N"
	[ "$FAILS" -eq 0 ]
}
