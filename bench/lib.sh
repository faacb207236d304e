# lib.sh - sourced by the bench/*.sh scripts (POSIX sh): ROOT (the
# checkout), BIN and BUILD made absolute (exported), and the start-up they
# share: free ports, the tools a script needs, a fresh appliance, an EC
# root CA, pcad started and stopped.  The scripts keep their own clean-up
# trap and temporary directory $T.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-bin}
BUILD=${BUILD:-build}
case "$BIN" in /*) ;; *) BIN="$ROOT/$BIN" ;; esac
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
export BIN BUILD

# free_ports N: N free loopback TCP ports on one line
free_ports() {
	python3 -c '
import socket, sys
s = [socket.socket() for _ in range(int(sys.argv[1]))]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))' "$1"
}

# bench_need WHO THING...: 0 when each THING is there (a path: an
# executable we built; a bare name: a command on PATH, from make deps);
# else one line on stderr and 1.
bench_need() {
	bn_who=$1
	shift
	for bn_t in "$@"; do
		case "$bn_t" in
		*/*) [ -x "$bn_t" ] ||
		    { echo "$bn_who: $bn_t not built" >&2; return 1; } ;;
		*) command -v "$bn_t" >/dev/null ||
		    { echo "$bn_who: $bn_t missing (make deps)" >&2; return 1; } ;;
		esac
	done
}

# stop_pid PID: SIGTERM, up to 20 s, then SIGKILL
stop_pid() {
	kill -TERM "$1" 2>/dev/null || return 0
	sp_i=0
	while kill -0 "$1" 2>/dev/null && [ $sp_i -lt 200 ]; do
		sleep 0.1
		sp_i=$((sp_i + 1))
	done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# bench_appliance DIR [ARGS...]: pcactl init DIR ARGS on two free ports
# (API_PORT, HTTP_PORT; its output in $T/init.log, shown on stderr when it
# fails, then status 1); sets URL (the plain HTTP listener) and exports
# PCACTL_CONFIG.
bench_appliance() {
	ba_dir=$1
	shift
	# shellcheck disable=SC2046 # two words wanted
	set -- $(free_ports 2) "$@"
	API_PORT=$1
	HTTP_PORT=$2
	shift 2
	"$BIN/pcactl" init "$ba_dir" --api-port "$API_PORT" \
	    --http-port "$HTTP_PORT" "$@" >"$T/init.log" 2>&1 ||
	    { cat "$T/init.log" >&2; return 1; }
	URL="http://127.0.0.1:$HTTP_PORT"
	PCACTL_CONFIG="$ba_dir/pcad.conf"
	export PCACTL_CONFIG
}

# bench_root SUBJECT [ARGS...]: an ACTIVE EC P-256 root CA of
# PCACTL_CONFIG's appliance (ARGS go to pcactl ca create, e.g. its
# revocation), its certificate in $T/root.pem; prints its ARN.
bench_root() {
	br_subj=$1
	shift
	br_arn=$("$BIN/pcactl" ca create --type ROOT --key-alg EC_prime256v1 \
	    --signing-alg SHA256WITHECDSA --subject "$br_subj" "$@") &&
	    "$BIN/pcactl" ca csr "$br_arn" --out "$T/root.csr" &&
	    "$BIN/pcactl" issue --ca "$br_arn" --csr "$T/root.csr" \
		--signing-alg SHA256WITHECDSA --validity 10y \
		--template RootCACertificate --out "$T/root.pem" >/dev/null &&
	    "$BIN/pcactl" ca import "$br_arn" --cert "$T/root.pem" >/dev/null &&
	    echo "$br_arn"
}

# bench_csr DIR CN: DIR/leaf.csr, a CSR for CN with subjectAltName
# DNS:CN, of a new P-256 key (DIR/leaf.key)
bench_csr() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$1/leaf.key" -subj "/CN=$2" -addext "subjectAltName=DNS:$2" \
	    -out "$1/leaf.csr" 2>/dev/null
}

# bench_pcad TENTHS [CONF]: pcad on CONF (default PCACTL_CONFIG) in the
# background, its output appended to $T/pcad.log, PCAD its pid; 0 once
# http://127.0.0.1:$HTTP_PORT/health answers 200, 1 (the log's tail on
# stderr) when pcad has exited or TENTHS tenths of a second have passed.
bench_pcad() {
	"$BIN/pcad" --config "${2:-$PCACTL_CONFIG}" >>"$T/pcad.log" 2>&1 &
	PCAD=$!
	bp_i=0
	until [ "$(curl -s -o /dev/null -w '%{http_code}' \
	    "http://127.0.0.1:$HTTP_PORT/health")" = 200 ]; do
		if [ $bp_i -ge "$1" ] || ! kill -0 "$PCAD" 2>/dev/null; then
			tail -20 "$T/pcad.log" >&2
			return 1
		fi
		sleep 0.1
		bp_i=$((bp_i + 1))
	done
}
