#!/bin/sh
# The long fuzzing run (`make fuzz-long`): every libFuzzer target in
# $BUILD/fuzz (or those named in FUZZ_LONG_TARGETS, e.g. "http ocsp") for
# FUZZ_LONG_SECONDS of CPU time (default 3600, one CPU-hour each), one
# after the other.  The budget is CPU time, not wall time: the target runs
# in rounds of at most FUZZ_LONG_ROUND wall seconds (default 900), each
# timed by GNU time, until its user+system seconds reach the budget, so a
# shared, loaded machine gets the same amount of fuzzing, only later.  Each
# target starts starting from its kept corpus tests/fuzz/corpus/<name>/
# (plus the regress inputs, read only).  At the end of each run the inputs
# it found are merged into the kept corpus with -merge=1, which adds only
# those that bring new coverage (the minimal set; the seeds stay as they
# are), so the corpus grows from run to run; commit it.
#
# Prints one line per target (CPU seconds, executions, coverage
# edges/features at the end, corpus entries added, crashes) and the totals; a crash keeps its
# input in $BUILD/fuzz-artifacts/<name>/ and fails the run.
#
# Each target's run is also appended to the ledger tests/fuzz/long-ledger.tsv
# (UTC time, commit, target, CPU seconds, executions, corpus entries added,
# crashes; commit it with the corpus), and the run ends with every target's
# CPU seconds summed over the ledger, so the hours of several sessions add up
# (FUZZ_LONG_SECONDS=900 a few times is as good as 3600 once).  INT or TERM
# stops the round at once and still merges what it found and writes its
# ledger line (every round counts, the interrupted one too).
set -u
BUILD=${BUILD:-build-fuzz}
SECS=${FUZZ_LONG_SECONDS:-3600}
ROUND=${FUZZ_LONG_ROUND:-900}
TARGETS=${FUZZ_LONG_TARGETS:-}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2
for v in "FUZZ_LONG_SECONDS=$SECS" "FUZZ_LONG_ROUND=$ROUND"; do
	case "${v#*=}" in '' | *[!0-9]* | 0)
		echo "${v%%=*}: not a positive number: ${v#*=}" >&2
		exit 2 ;;
	esac
done
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "run_long: GNU time ($TIME) is needed" >&2; exit 2; }
ART=$BUILD/fuzz-artifacts
WORK=$(mktemp -d "${TMPDIR:-/tmp}/openpca-fuzz-long.XXXXXX")
LEDGER=tests/fuzz/long-ledger.tsv
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
trap 'rm -rf "$WORK"' EXIT
# the round runs in the background so that a signal is handled at once
# (sh runs a trap only after the foreground command ends)
child=""
name=""
stop() { # stop RC: end the round, keep what it found, exit
	if [ -n "$child" ]; then
		# GNU time does not pass TERM on: the fuzzer gets it, stops
		# (libFuzzer's -handle_term), and GNU time writes its CPU
		# seconds, so the interrupted round counts as well
		pkill -TERM -P "$child" 2>/dev/null
		wait "$child"
		child=""
		rc=0 # stopped, not crashed (finish still counts artifacts)
		round_end
	fi
	[ -n "$name" ] && finish
	exit "$1"
}

# round_end: add the round's log, executions and CPU seconds to the target's
round_end() {
	cat "$log.$round" >>"$log"
	execs=$((execs + $(stat number_of_executed_units "$log.$round")))
	used=$(awk 'END {printf "%d", $1 + $2 + 0.5}' "$WORK/$name.time" \
	    2>/dev/null)
	# a round that could not run at all must not loop forever
	[ "${used:-0}" -gt 0 ] || used=1
	cpu=$((cpu + used))
}
trap 'stop 130' INT
trap 'stop 143' TERM

# stat KEY LOG: the value of libFuzzer's -print_final_stats line KEY.
stat() { awk -v k="stat::$1:" '$1 == k {v = $2} END {print v + 0}' "$2"; }
# lastcov FIELD LOG: the last "cov:"/"ft:" figure libFuzzer printed.
lastcov() {
	awk -v k="$1:" '{for (i = 1; i < NF; i++) if ($i == k) v = $(i + 1)}
	    END {print v + 0}' "$2"
}

# wanted NAME: the target is in FUZZ_LONG_TARGETS (all when it is empty)
wanted() {
	[ -z "$TARGETS" ] && return 0
	for t in $TARGETS; do
		[ "fuzz_$t" = "$1" ] || [ "$t" = "$1" ] && return 0
	done
	return 1
}

# finish: merge the target's new inputs, print its line, write the ledger
finish() {
	crashes=$(($(find "$ART/$name" -type f | wc -l) - arts))
	[ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ] && crashes=1
	# the minimal subset of the new inputs that adds coverage
	if ! "$bin" -merge=1 -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
	    "$corpus" "$new" >"$log.merge" 2>&1; then
		echo "# $name: merge failed:"
		tail -5 "$log.merge" | sed 's/^/#   /'
	fi
	after=$(find "$corpus" -type f | wc -l)
	printf '%-18s %6s %12s %7s %7s %6s %7s %s\n' "$name" "$cpu" "$execs" \
	    "$(lastcov cov "$log")" "$(lastcov ft "$log")" "$after" \
	    "+$((after - before))" "$crashes"
	if [ "$crashes" -ne 0 ]; then
		grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -5 |
		    sed 's/^/#   /'
	fi
	T_EXEC=$((T_EXEC + execs))
	T_CPU=$((T_CPU + cpu))
	T_NEW=$((T_NEW + after - before))
	T_CRASH=$((T_CRASH + crashes))
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
	    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$COMMIT" "${name#fuzz_}" "$cpu" \
	    "$execs" "$((after - before))" "$crashes" >>"$LEDGER"
	name=""
}

T_EXEC=0 T_NEW=0 T_CRASH=0 T_CPU=0 n=0
printf '%-18s %6s %12s %7s %7s %6s %7s %s\n' target cpu_s execs cov ft \
    corpus new crashes
for bin in "$BUILD"/fuzz/fuzz_*; do
	[ -x "$bin" ] || continue
	wanted "$(basename "$bin")" || continue
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
	# rounds until the CPU budget is spent; new inputs go to the first
	# directory (kept across rounds), the others are only read
	cpu=0 execs=0 rc=0 round=0
	: >"$log"
	while [ "$cpu" -lt "$SECS" ] && [ "$rc" -eq 0 ]; do
		left=$((SECS - cpu))
		[ "$left" -gt "$ROUND" ] && left=$ROUND
		round=$((round + 1))
		rm -f "$WORK/$name.time"
		# shellcheck disable=SC2086
		"$TIME" -f '%U %S' -o "$WORK/$name.time" \
		    "$bin" -max_total_time="$left" -max_len=65536 -timeout=10 \
		    -rss_limit_mb=2048 -print_final_stats=1 \
		    -artifact_prefix="$ART/$name/" "$new" "$corpus" $seeds \
		    >"$log.$round" 2>&1 &
		child=$!
		wait "$child"
		rc=$?
		child=""
		round_end
	done
	finish
	n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "no fuzz targets in $BUILD/fuzz" >&2; exit 2; }
echo "total: $n targets, $T_CPU CPU seconds (budget ${SECS} s each), $T_EXEC executions, +$T_NEW corpus entries, $T_CRASH crashes"
echo "ledger ($LEDGER): CPU seconds per target over every run recorded"
awk -F '\t' '{cpu[$3] += $4; runs[$3]++}
    END {for (t in cpu) printf "  %-16s %7d s in %d runs%s\n", t, cpu[t],
        runs[t], (cpu[t] >= 3600 ? "" : "  (under one CPU-hour)")}' \
    "$LEDGER" | sort
[ "$T_CRASH" -eq 0 ]
