#!/bin/sh
# ACME benchmark (part of make bench): complete ACME flows per second
# (newOrder -> authorization -> http-01 validation by pcad against the
# driver's own responder -> finalize -> download; one account per client,
# reused) with BENCH_ACME_CLIENTS (16) concurrent clients for
# BENCH_SECONDS (10) against pcad with an EC P-256 root in SoftHSM, driven
# by bench/acme_flows.py (python cryptography, one process per client).
# Prints flows/s, p50/p99, each step's share and the CPU per flow; asserts
# nothing.  Exits non-zero only when something could not be measured.
. "$(dirname "$0")/lib.sh"
SECS=${BENCH_SECONDS:-10}
CLIENTS=${BENCH_ACME_CLIENTS:-16}
T=$(mktemp -d /tmp/openpca-acmebench.XXXXXX)
PCAD=""

# Only the pcad started here is ever signalled.
cleanup() {
	if [ -n "$PCAD" ]; then
		kill -TERM "$PCAD" 2>/dev/null
		wait "$PCAD" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! python3 -c 'import cryptography' 2>/dev/null; then
	echo "run_acme: python3 lacks cryptography" >&2
	exit 1
fi
bench_need run_acme "$BIN/pcad" "$BIN/pcactl" || exit 1
H01=$(free_ports 1)
bench_appliance "$T/app" || exit 1
cat >>"$T/app/pcad.conf" <<EOC

[acme]
enabled = yes
http01_port = $H01
validation_addr = 127.0.0.1
timeout_s = 10
EOC
bench_pcad 300 || { echo "run_acme: pcad did not start" >&2; exit 1; }
ARN=$(bench_root "CN=ACME Bench Root,C=US") || {
	echo "run_acme: no root CA" >&2
	exit 1
}
echo "== ACME: complete flows/s (order, http-01, finalize, download)," \
    "$CLIENTS clients, ${SECS}s, $(nproc) CPUs shared by client and server"
python3 "$ROOT/bench/acme_flows.py" \
    "https://127.0.0.1:$API_PORT/acme/${ARN##*/}/directory" \
    "$T/app/tls/ca.pem" "$H01" --clients "$CLIENTS" --seconds "$SECS" \
    --pcad-pid "$PCAD"
rc=$?
[ $rc -eq 0 ] || tail -20 "$T/pcad.log" >&2
exit $rc
