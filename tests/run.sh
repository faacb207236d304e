#!/bin/sh
# Runs every test and prints one closing line: "N passed, N failed".
#   unit:        $BUILD/tests/<mod>/test_*   (cmocka; each case counts)
#   integration: tests/integration/test_*.sh (TAP-style "ok"/"not ok" lines)
#   regress:     tests/regress/regress.sh (golden outputs, TAP lines too)
# TESTS=pattern limits the run to matching names.
set -u
BUILD=${BUILD:-build}
BIN=${BIN:-bin}
export BUILD BIN
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2
pass=0
fail=0
skip=0
failed_names=""
LOGDIR=${LOGDIR:-$ROOT/$BUILD/test-logs}
mkdir -p "$LOGDIR"

run_unit() {
	t=$1
	name=$(echo "$t" | sed "s|^$BUILD/tests/||")
	log="$LOGDIR/$(echo "$name" | tr / _).log"
	"$t" >"$log" 2>&1
	rc=$?
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	p=${p:-0}
	f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1	# crashed or aborted before cmocka's summary
	fi
	pass=$((pass + p))
	fail=$((fail + f))
	if [ "$f" -gt 0 ]; then
		failed_names="$failed_names $name"
		echo "FAIL $name ($p passed, $f failed; log: $log)"
		grep -E '^\[  (FAILED|ERROR)|error|Error|ERROR' "$log" | head -20
	else
		echo "ok   $name ($p cases)"
	fi
}

run_integration() {
	t=$1
	name=$(basename "$t" .sh)
	log="$LOGDIR/$name.log"
	sh "$t" >"$log" 2>&1
	rc=$?
	k=$(grep '^ok ' "$log" | grep -c '# SKIP')
	p=$(($(grep -c '^ok ' "$log") - k))
	f=$(grep -c '^not ok ' "$log")
	skip=$((skip + k))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	pass=$((pass + p))
	fail=$((fail + f))
	if [ "$f" -gt 0 ]; then
		failed_names="$failed_names $name"
		echo "FAIL $name ($p passed, $f failed; log: $log)"
		grep '^not ok ' "$log" | head -20
		tail -15 "$log"
	else
		echo "ok   $name ($p checks)"
	fi
}

# the unit binaries of the sources that exist (a binary left in $BUILD by a
# test that moved or was deleted is not run)
for t in $(ls "$BUILD"/tests/*/test_* 2>/dev/null | grep -v '\.d$'); do
	src=tests/unit/${t#"$BUILD"/tests/}.c
	[ -f "$src" ] || continue
	case "$t" in *"${TESTS:-}"*) run_unit "$t" ;; esac
done
for t in tests/integration/test_*.sh tests/regress/regress.sh; do
	[ -f "$t" ] || continue
	case "$t" in *"${TESTS:-}"*) run_integration "$t" ;; esac
done
[ -n "$failed_names" ] && echo "failed:$failed_names"
if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
