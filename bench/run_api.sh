#!/bin/sh
# API benchmark (part of make bench): IssueCertificate + GetCertificate pairs
# per second through the ACM-PCA API, measured in one run against
#   - pcad (HTTPS + SigV4, EC P-256 root CA in SoftHSM) at 1, 16, 32
#     connections (BENCH_API_CONNS),
#   - moto_server's ACM-PCA mock (plain HTTP; slow, so short cells),
#   - the raw token sign rate (bench_issue on a separate fresh appliance),
# all driven by the same C load generator ($BUILD/bench/api_load).
# Prints a table and the ratios against the targets of issue 3; asserts
# nothing.  Exits non-zero only when something could not be measured (a
# daemon did not start, a request was not answered 200).
. "$(dirname "$0")/lib.sh"
SECS=${BENCH_SECONDS:-5}
RAW_SECS=${BENCH_RAW_SECONDS:-$SECS}
MOTO_SECS=${BENCH_MOTO_SECONDS:-4}
CONNS=${BENCH_API_CONNS:-1,16,32}
MOTO_CONNS=${BENCH_MOTO_CONNS:-1,16}
LOAD="$BUILD/bench/api_load"
T=$(mktemp -d /tmp/openpca-apibench.XXXXXX)
PIDS=""
rc=0

# Only the PIDs started here are ever signalled.
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	for p in $PIDS; do stop_pid "$p"; done
	PIDS=""
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_http PID URL WANT: until URL answers with status WANT (or any status
# when WANT is "any"), while PID lives; 30 s at most.
wait_http() {
	WANT=$3
	i=0
	while [ $i -lt 300 ]; do
		kill -0 "$1" 2>/dev/null || return 1
		code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$2" || true)
		if [ "$WANT" = any ] && [ "${code:-000}" != 000 ]; then return 0; fi
		[ "$code" = "$WANT" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

for f in "$BIN/pcad" "$BIN/pcactl" "$LOAD" "$BUILD/bench/bench_issue"; do
	if [ ! -x "$f" ]; then
		echo "run_api: $f not built" >&2
		exit 1
	fi
done

echo "== API: IssueCertificate+GetCertificate pairs/s, pcad vs moto_server" \
    "vs raw token signing (${SECS}s pcad cells, ${MOTO_SECS}s moto cells," \
    "$(nproc) CPUs shared by client and server)"
bench_csr "$T" bench.example.com

# (3) Raw token sign rate: a separate fresh appliance, nothing else running.
if "$BIN/pcactl" init "$T/raw" >/dev/null &&
    "$BUILD/bench/bench_issue" "$T/raw/pcad.conf" "$T/leaf.csr" "$RAW_SECS" 2 \
	>"$T/raw.txt"; then
	grep 'ec_p256 threads=2' "$T/raw.txt" | tee -a "$T/results.txt"
else
	echo "run_api: bench_issue failed" >&2
	rc=1
fi

# (1) pcad with an EC P-256 root CA, created and activated through the API.
# shellcheck disable=SC2046 # two words wanted
set -- $(free_ports 2)
if ! "$BIN/pcactl" init "$T/app" --api-port "$1" --http-port "$2" \
    >"$T/init.log" 2>&1; then
	cat "$T/init.log" >&2
	exit 1
fi
API_PORT=$1
HTTP_PORT=$2
"$BIN/pcad" --config "$T/app/pcad.conf" >"$T/pcad.log" 2>&1 &
PCAD_PID=$!
PIDS="$PIDS $PCAD_PID"
REGION=$(sed -n 's/^region *= *//p' "$T/app/pcad.conf" | head -1)
if wait_http "$PCAD_PID" "http://127.0.0.1:$HTTP_PORT/health" 200; then
	{
		"$LOAD" --endpoint "https://127.0.0.1:$API_PORT/" \
		    --cacert "$T/app/tls/ca.pem" --creds "$T/app/credentials" \
		    --region "$REGION" --csr "$T/leaf.csr" --seconds "$SECS" \
		    --conns "$CONNS" --label pcad
		echo $? >"$T/pcad.rc"
	} | tee -a "$T/results.txt"
	if [ "$(cat "$T/pcad.rc")" != 0 ]; then
		echo "run_api: pcad log tail:" >&2
		tail -20 "$T/pcad.log" >&2
		rc=1
	fi
else
	echo "run_api: pcad did not become healthy; log tail:" >&2
	tail -20 "$T/pcad.log" >&2
	rc=1
fi
stop_pid "$PCAD_PID"
PIDS=""

# (2) moto_server's ACM-PCA mock, plain HTTP, any credentials.
if command -v moto_server >/dev/null 2>&1; then
	MOTO_PORT=$(free_ports 1)
	moto_server -H 127.0.0.1 -p "$MOTO_PORT" >"$T/moto.log" 2>&1 &
	MOTO_PID=$!
	PIDS="$PIDS $MOTO_PID"
	if wait_http "$MOTO_PID" "http://127.0.0.1:$MOTO_PORT/" any; then
		{
			"$LOAD" --endpoint "http://127.0.0.1:$MOTO_PORT/" \
			    --key bench:bench --region us-east-1 \
			    --csr "$T/leaf.csr" --seconds "$MOTO_SECS" \
			    --conns "$MOTO_CONNS" --label moto
			echo $? >"$T/moto.rc"
		} | tee -a "$T/results.txt"
		[ "$(cat "$T/moto.rc")" = 0 ] || rc=1
	else
		echo "run_api: moto_server did not start; log tail:" >&2
		tail -20 "$T/moto.log" >&2
		rc=1
	fi
	stop_pid "$MOTO_PID"
	PIDS=""
else
	echo "run_api: moto_server not installed; no moto peer" >&2
fi

python3 - "$T/results.txt" <<'PY'
import re, sys
raw, eng, api = None, None, {}
for line in open(sys.argv[1]):
    m = re.match(r'issue ec_p256 threads=\d+ rate=(\d+)', line)
    if m:
        eng = float(m[1])
    m = re.match(r'raw ec_p256 threads=\d+ rate=(\d+)', line)
    if m:
        raw = float(m[1])
    m = re.match(r'api (\S+) conns=(\d+) .*rate=(\S+) errors=(\d+) '
                 r'p50_ms=(\S+) p99_ms=(\S+) issue_p50_ms=(\S+) '
                 r'get_p50_ms=(\S+)', line)
    if m:
        api[(m[1], int(m[2]))] = [float(x) for x in m.groups()[2:]]
print()
print("%-28s %5s %9s %8s %8s %9s %8s" % ("endpoint", "conns", "pairs/s",
      "p50 ms", "p99 ms", "issue p50", "get p50"))
names = {"pcad": "pcad https, EC P-256 CA", "moto": "moto_server http (RSA CA)"}
for (who, n), v in sorted(api.items(), key=lambda kv: (kv[0][0] != "pcad",
                                                       kv[0][1])):
    print("%-28s %5d %9.1f %8.2f %8.2f %9.2f %8.2f" % (names.get(who, who), n,
          v[0], v[2], v[3], v[4], v[5]))
if raw:
    print("%-28s %5s %9.0f   (signs/s, C_Sign, 2 threads)" % (
          "raw token sign, EC P-256", "-", raw))
if eng:
    print("%-28s %5s %9.0f   (certs/s, in-process ca_issue, 2 threads)" % (
          "engine issue, EC P-256", "-", eng))

def rate(who, n):
    return api.get((who, n), [0])[0]

pcad = {n: v for (w, n), v in api.items() if w == "pcad"}
moto = {n: v for (w, n), v in api.items() if w == "moto"}
print()
print("issue 3 targets (read, not asserted):")
if pcad and raw:
    n16 = rate("pcad", 16)
    best = max(pcad.items(), key=lambda kv: kv[1][0])
    print("  pairs/s >= 50%% of raw sign rate: 16 conns %.0f%%, best (%d conns)"
          " %.0f%%" % (100 * n16 / raw, best[0], 100 * best[1][0] / raw))
if pcad and moto:
    mbest = max(v[0] for v in moto.values())
    parts = ["%d conns %.0fx" % (n, rate("pcad", n) / moto[n][0])
             for n in sorted(moto) if n in pcad and moto[n][0] > 0]
    if mbest > 0:
        parts.append("pcad best / moto best %.0fx"
                     % (max(v[0] for v in pcad.values()) / mbest))
    print("  >= 100x moto: " + ", ".join(parts))
if 16 in pcad:
    print("  p99 < 50 ms at 16 connections: %.1f ms" % pcad[16][3])
PY
exit $rc
