#!/bin/sh
# Golden-output regression tests (rpki-client's regress style): for every
# area tests/regress/<area>/ with a driver ($BUILD/regress/<area>, built
# from <area>/driver.c), every input in <area>/good/ and <area>/bad/ is run
# as "driver -f INPUT" and its output compared byte for byte (cmp) with
# <area>/expected/<good|bad>/<INPUT>.txt.  One TAP line per input.
# REGRESS_UPDATE=1 writes the expected files instead (review the diff!).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
OUT=$(mktemp /tmp/openpca-regress.XXXXXX)
trap 'rm -f "$OUT"' EXIT
n=0
fails=0
tap() { # tap OK NAME [DETAIL]
	n=$((n + 1))
	if [ "$1" -eq 1 ]; then
		echo "ok $n - $2"
	else
		fails=$((fails + 1))
		echo "not ok $n - $2"
		[ $# -gt 2 ] && printf '%s\n' "$3" | head -20 | sed 's/^/#   /'
	fi
}
for dir in tests/regress/*/; do
	dir=${dir%/}
	area=$(basename "$dir")
	[ -f "$dir/driver.c" ] || continue
	drv="$BUILD/regress/$area"
	if [ ! -x "$drv" ]; then
		tap 0 "regress/$area: $drv not built (make unit)"
		continue
	fi
	for f in "$dir"/good/* "$dir"/bad/*; do
		[ -f "$f" ] || continue
		kind=$(basename "$(dirname "$f")")
		name=$(basename "$f")
		exp="$dir/expected/$kind/$name.txt"
		if ! "$drv" -f "$f" >"$OUT" 2>/dev/null; then
			tap 0 "regress/$area/$kind/$name: the driver failed"
		elif [ "${REGRESS_UPDATE:-0}" = 1 ]; then
			mkdir -p "$(dirname "$exp")" && cp "$OUT" "$exp"
			tap 1 "regress/$area/$kind/$name: expected output written"
		elif [ ! -f "$exp" ]; then
			tap 0 "regress/$area/$kind/$name: no $exp"
		elif cmp -s "$OUT" "$exp"; then
			tap 1 "regress/$area/$kind/$name"
		else
			tap 0 "regress/$area/$kind/$name: output differs" \
			    "$(diff -u "$exp" "$OUT")"
		fi
	done
done
echo "1..$n"
[ "$fails" -eq 0 ]
