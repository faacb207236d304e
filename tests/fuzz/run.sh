#!/bin/sh
# Runs every libFuzzer target for FUZZ_SECONDS on its seed corpus
# (tests/fuzz/corpus/<name>/, plus tests/regress/<module>/ where listed);
# prints "N passed, N failed" (a crash, leak or sanitizer report fails).
set -u
BUILD=${BUILD:-build-fuzz}
SECS=${FUZZ_SECONDS:-60}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2
pass=0
fail=0
for bin in "$BUILD"/fuzz/fuzz_*; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin")
	work=$(mktemp -d /tmp/openpca-fuzz.XXXXXX)
	for seed in tests/fuzz/corpus/"${name#fuzz_}" tests/regress/*/good \
	    tests/regress/*/bad; do
		[ -d "$seed" ] && cp "$seed"/* "$work"/ 2>/dev/null
	done
	if "$bin" -max_total_time="$SECS" -max_len=65536 -timeout=10 \
	    -rss_limit_mb=2048 -print_final_stats=1 "$work" \
	    >"$work.log" 2>&1; then
		echo "ok   $name ($(grep -o 'stat::number_of_executed_units: [0-9]*' "$work.log" | awk '{print $2}') runs)"
		pass=$((pass + 1))
	else
		echo "FAIL $name"
		tail -30 "$work.log"
		fail=$((fail + 1))
	fi
	rm -rf "$work" "$work.log"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
