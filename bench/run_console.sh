#!/bin/sh
# run_console.sh - the web console's pages over a CONSOLE_BENCH_N (default
# 100,000) certificate store: a fresh appliance with two CAs, certificates
# written straight into its store by inv_fill (expiring from 100 days ago
# to 400 days ahead), pcad started, an auditor key signed in with curl, and
# each page fetched CONSOLE_BENCH_REPS times (default 5): median and worst
# time.  Target (issue 14): every page under 200 ms.  Asserts nothing;
# exits non-zero only when something could not be measured.
. "$(dirname "$0")/lib.sh"
N=${CONSOLE_BENCH_N:-100000}
REPS=${CONSOLE_BENCH_REPS:-5}
make -s -C "$ROOT" BUILD="$BUILD" BIN="$BIN" "$BUILD/tools/inv_fill" \
    "$BIN/pcad" "$BIN/pcactl" >/dev/null || exit 1
T=$(mktemp -d "${TMPDIR:-/tmp}/console-bench.XXXXXX")
PID=""
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	if [ -n "$PID" ]; then
		kill "$PID" 2>/dev/null
		wait "$PID" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port() {
	python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}
APORT=$(port)
HPORT=$(port)
A=$T/app
"$BIN/pcactl" init "$A" --api-port "$APORT" --http-port "$HPORT" \
    --region us-east-1 --account-id 111122223333 >/dev/null 2>&1 || {
	echo "console bench: pcactl init failed"
	exit 1
}
export PCACTL_CONFIG="$A/pcad.conf"
root() { # root CN: an ACTIVE root CA with CRLs only; prints its ARN
	bench_root "CN=$1,O=OpenPCA Bench" --revocation crl
}
CA1=$(root "Bench One") && CA2=$(root "Bench Two") || {
	echo "console bench: CA creation failed"
	exit 1
}
KEY=$("$BIN/pcactl" key create --role auditor --json) || exit 1
AK=$(printf '%s' "$KEY" | python3 -c 'import json,sys;print(json.load(sys.stdin)["AccessKeyId"])')
SK=$(printf '%s' "$KEY" | python3 -c 'import json,sys;print(json.load(sys.stdin)["SecretAccessKey"])')
t0=$(date +%s)
"$BUILD/tools/inv_fill" "$A/data" "$N" "$(date +%s)" - --same-der \
    "${CA1##*/}" "${CA2##*/}" || exit 1
echo "console bench: $N certificates filled in $(( $(date +%s) - t0 )) s"
"$BIN/pcad" --config "$A/pcad.conf" >"$T/pcad.log" 2>&1 &
PID=$!
i=0
until curl -sf "http://127.0.0.1:$HPORT/health" >/dev/null; do
	i=$((i + 1))
	if [ $i -gt 300 ] || ! kill -0 "$PID" 2>/dev/null; then
		echo "console bench: pcad did not start"
		tail -5 "$T/pcad.log"
		exit 1
	fi
	sleep 0.1
done
API=https://127.0.0.1:$APORT
SET=$(curl -sk -o /dev/null -D - -H "Origin: $API" \
    --data-urlencode "akid=$AK" --data-urlencode "secret=$SK" \
    "$API/console/login" | tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \(pca_console=[0-9a-f]*\).*/\1/p')
[ -n "$SET" ] || {
	echo "console bench: sign-in failed"
	exit 1
}
shown() { # shown PATH: what the page says it shows
	curl -sk -b "$SET" "$API/console/$1" |
	    sed -n 's/.*<p id="\(count\|bars\)">\([^<]*\)<.*/\2/p' | head -1
}
echo "console bench: inventory: $(shown inventory); timeline: $(shown timeline)"
printf '%-34s %8s %8s %s\n' page median_ms worst_ms status
for p in "" "inventory" "inventory?status=ISSUED&days=30" "timeline" \
    "freshness" "audit" "alerts" "discovery"; do
	times=""
	st=""
	r=0
	while [ $r -lt "$REPS" ]; do
		out=$(curl -sk -o /dev/null -b "$SET" \
		    -w '%{http_code} %{time_total}' "$API/console/$p")
		st=${out% *}
		times="$times ${out#* }"
		r=$((r + 1))
	done
	printf '%s\n' $times | sort -n | awk -v p="/console/$p" -v st="$st" '
	    { v[NR] = $1 * 1000 }
	    END { printf "%-34s %8.1f %8.1f %s%s\n", p, v[int((NR + 1) / 2)],
		v[NR], st, v[int((NR + 1) / 2)] < 200 ? "" : "  (over 200 ms)" }'
done
