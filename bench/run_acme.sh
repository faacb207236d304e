#!/bin/sh
# ACME benchmark (part of make bench): complete ACME flows per second
# (newOrder -> authorization -> http-01 validation by pcad against the
# driver's own responder -> finalize -> download; one account per client,
# reused) with BENCH_ACME_CLIENTS (16) concurrent clients for
# BENCH_SECONDS (10) against pcad with an EC P-256 root in SoftHSM, driven
# by bench/acme_flows.py (python cryptography, one process per client).
# Prints flows/s, p50/p99, each step's share and the CPU per flow; asserts
# nothing.  Exits non-zero only when something could not be measured.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-bin}
case "$BIN" in /*) ;; *) BIN="$ROOT/$BIN" ;; esac
SECS=${BENCH_SECONDS:-10}
CLIENTS=${BENCH_ACME_CLIENTS:-16}
T=$(mktemp -d /tmp/openpca-acmebench.XXXXXX)
PCAD_PID=""

# Only the pcad started here is ever signalled.
cleanup() {
	if [ -n "$PCAD_PID" ]; then
		kill -TERM "$PCAD_PID" 2>/dev/null
		wait "$PCAD_PID" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! python3 -c 'import cryptography' 2>/dev/null; then
	echo "run_acme: python3 lacks cryptography" >&2
	exit 1
fi
for f in "$BIN/pcad" "$BIN/pcactl"; do
	[ -x "$f" ] || { echo "run_acme: $f not built" >&2; exit 1; }
done
set -- $(python3 -c '
import socket
s = [socket.socket() for _ in range(3)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')
API_PORT=$1
HTTP_PORT=$2
H01=$3
"$BIN/pcactl" init "$T/app" --api-port "$API_PORT" --http-port "$HTTP_PORT" \
    >"$T/init.log" 2>&1 || { cat "$T/init.log" >&2; exit 1; }
cat >>"$T/app/pcad.conf" <<EOC

[acme]
enabled = yes
http01_port = $H01
validation_addr = 127.0.0.1
timeout_s = 10
EOC
export PCACTL_CONFIG=$T/app/pcad.conf
"$BIN/pcad" --config "$T/app/pcad.conf" >"$T/pcad.log" 2>&1 &
PCAD_PID=$!
i=0
until curl -sf -o /dev/null "http://127.0.0.1:$HTTP_PORT/health"; do
	i=$((i + 1))
	if [ $i -gt 300 ] || ! kill -0 "$PCAD_PID" 2>/dev/null; then
		echo "run_acme: pcad did not start" >&2
		tail -20 "$T/pcad.log" >&2
		exit 1
	fi
	sleep 0.1
done
ARN=$("$BIN/pcactl" ca create --type ROOT --key-alg EC_prime256v1 \
    --signing-alg SHA256WITHECDSA --subject "CN=ACME Bench Root,C=US") &&
    "$BIN/pcactl" ca csr "$ARN" --out "$T/root.csr" &&
    "$BIN/pcactl" issue --ca "$ARN" --csr "$T/root.csr" \
	--signing-alg SHA256WITHECDSA --validity 10y \
	--template RootCACertificate --out "$T/root.pem" >/dev/null &&
    "$BIN/pcactl" ca import "$ARN" --cert "$T/root.pem" >/dev/null || {
	echo "run_acme: no root CA" >&2
	exit 1
}
echo "== ACME: complete flows/s (order, http-01, finalize, download)," \
    "$CLIENTS clients, ${SECS}s, $(nproc) CPUs shared by client and server"
python3 "$ROOT/bench/acme_flows.py" \
    "https://127.0.0.1:$API_PORT/acme/${ARN##*/}/directory" \
    "$T/app/tls/ca.pem" "$H01" --clients "$CLIENTS" --seconds "$SECS" \
    --pcad-pid "$PCAD_PID"
rc=$?
[ $rc -eq 0 ] || tail -20 "$T/pcad.log" >&2
exit $rc
