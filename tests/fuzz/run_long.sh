#!/bin/sh
# The long fuzzing run (`make fuzz-long`): every libFuzzer target in
# $BUILD/fuzz for FUZZ_LONG_SECONDS (default 3600, one CPU-hour each), one
# after the other, starting from its kept corpus tests/fuzz/corpus/<name>/
# (plus the regress inputs, read only).  At the end of each run the inputs
# it found are merged into the kept corpus with -merge=1, which adds only
# those that bring new coverage (the minimal set; the seeds stay as they
# are), so the corpus grows from run to run; commit it.
#
# Prints one line per target (executions, coverage edges/features at the
# end, corpus entries added, crashes) and the totals; a crash keeps its
# input in $BUILD/fuzz-artifacts/<name>/ and fails the run.
set -u
BUILD=${BUILD:-build-fuzz}
SECS=${FUZZ_LONG_SECONDS:-3600}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2
case "$SECS" in '' | *[!0-9]*) echo "FUZZ_LONG_SECONDS: not a number: $SECS" >&2
	exit 2 ;; esac
ART=$BUILD/fuzz-artifacts
WORK=$(mktemp -d "${TMPDIR:-/tmp}/openpca-fuzz-long.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# stat KEY LOG: the value of libFuzzer's -print_final_stats line KEY.
stat() { awk -v k="stat::$1:" '$1 == k {v = $2} END {print v + 0}' "$2"; }
# lastcov FIELD LOG: the last "cov:"/"ft:" figure libFuzzer printed.
lastcov() {
	awk -v k="$1:" '{for (i = 1; i < NF; i++) if ($i == k) v = $(i + 1)}
	    END {print v + 0}' "$2"
}

T_EXEC=0 T_NEW=0 T_CRASH=0 n=0
printf '%-18s %12s %7s %7s %6s %7s %s\n' target execs cov ft corpus new crashes
for bin in "$BUILD"/fuzz/fuzz_*; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin")
	corpus=tests/fuzz/corpus/${name#fuzz_}
	mkdir -p "$corpus" "$ART/$name"
	new=$WORK/$name.new
	log=$WORK/$name.log
	mkdir -p "$new"
	before=$(find "$corpus" -type f | wc -l)
	arts=$(find "$ART/$name" -type f | wc -l)
	seeds=""
	for d in tests/regress/*/good tests/regress/*/bad; do
		[ -d "$d" ] && seeds="$seeds $d"
	done
	# new inputs go to the first directory; the others are only read
	# shellcheck disable=SC2086
	"$bin" -max_total_time="$SECS" -max_len=65536 -timeout=10 \
	    -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix="$ART/$name/" "$new" "$corpus" $seeds \
	    >"$log" 2>&1
	rc=$?
	crashes=0
	if [ "$rc" -ne 0 ]; then
		crashes=$(($(find "$ART/$name" -type f | wc -l) - arts))
		[ "$crashes" -eq 0 ] && crashes=1
	fi
	# the minimal subset of the new inputs that adds coverage
	if ! "$bin" -merge=1 -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
	    "$corpus" "$new" >"$log.merge" 2>&1; then
		echo "# $name: merge failed:"
		tail -5 "$log.merge" | sed 's/^/#   /'
	fi
	after=$(find "$corpus" -type f | wc -l)
	execs=$(stat number_of_executed_units "$log")
	printf '%-18s %12s %7s %7s %6s %7s %s\n' "$name" "$execs" \
	    "$(lastcov cov "$log")" "$(lastcov ft "$log")" "$after" \
	    "+$((after - before))" "$crashes"
	if [ "$crashes" -ne 0 ]; then
		grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -5 |
		    sed 's/^/#   /'
	fi
	T_EXEC=$((T_EXEC + execs))
	T_NEW=$((T_NEW + after - before))
	T_CRASH=$((T_CRASH + crashes))
	n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "no fuzz targets in $BUILD/fuzz" >&2; exit 2; }
echo "total: $n targets x ${SECS} s, $T_EXEC executions, +$T_NEW corpus entries, $T_CRASH crashes"
[ "$T_CRASH" -eq 0 ]
