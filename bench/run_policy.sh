#!/bin/sh
# Policy + lint gate benchmark (part of make bench): issuance with no
# policy vs with web_server bound to the CA, alternating in the same run,
# and the gate (policy judgement + lint) timed alone; issue 6 targets a
# cost under 5% of issuance throughput.  Prints; asserts nothing.
. "$(dirname "$0")/lib.sh"
set -e
SECS=${BENCH_SECONDS:-3}
T=$(mktemp -d /tmp/openpca-polbench.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$ROOT"

echo "== policy + lint gate: issuance with vs without (${SECS}s cells, x3)"
"$BIN/pcactl" init "$T/app" >/dev/null
bench_csr "$T" bench.example.com
"$BUILD/bench/policy_bench" "$T/app/pcad.conf" "$T/leaf.csr" "$SECS" 1 16 \
    | tee "$T/policy.txt"

python3 - "$T/policy.txt" <<'PY'
import re, sys
gate, rows = None, []
for line in open(sys.argv[1]):
    m = re.match(r'gate policy_us=(\S+) lint_us=(\S+) total_us=(\S+)', line)
    if m: gate = tuple(float(x) for x in m.groups())
    m = re.match(r'overhead threads=(\d+) off=(\d+) on=(\d+) measured=(\S+)% '
                 r'gate_share=(\S+)%', line)
    if m: rows.append(m.groups())
print()
if gate:
    print("gate per certificate: policy %.1f us + lint %.1f us = %.1f us"
          % gate)
print("%-8s %12s %12s %14s %12s %8s" % ("threads", "off c/s", "on c/s",
      "measured", "gate share", "target"))
for t, off, on, meas, share in rows:
    print("%-8s %12s %12s %13s%% %11s%% %8s" % (t, off, on, meas, share,
          "ok" if float(share) < 5 else "MISSED"))
print("(measured = (off - on) / off, medians of 3 alternating cells: noisy, "
      "and lint runs in both; gate share = gate time x on-rate / busy cores, "
      "the fraction of one issuance's CPU spent in policy + lint; "
      "target < 5%)")
PY
