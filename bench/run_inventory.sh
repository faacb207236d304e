#!/bin/sh
# run_inventory.sh - OpenPCA.ListCertificates "expiring within 30 days"
# (Status ISSUED, ExpiringBefore now + 30 d, a page of 100) over
# INV_BENCH_N (default 1,000,000) certificates written straight into a
# store by inv_fill (STORE_NOSYNC), timed through the inventory handler
# in-process (inventory_page).  Target: a page in under 50 ms.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
N=${INV_BENCH_N:-1000000}
make -s -C "$ROOT" BUILD="$BUILD" "$BUILD/tools/inv_fill" \
    "$BUILD/bench/inventory_page" >/dev/null || exit 1
TMP=$(mktemp -d "${TMPDIR:-/tmp}/inv-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM
CA1=11111111-1111-4111-8111-111111111111
CA2=22222222-2222-4222-8222-222222222222
NOW=$(date +%s)
t0=$(date +%s)
"$BUILD/tools/inv_fill" "$TMP/store" "$N" "$NOW" - --same-der "$CA1" "$CA2" ||
    exit 1
echo "filled $N certificates in $(( $(date +%s) - t0 )) s ($(du -sh "$TMP/store" | cut -f1))"
"$BUILD/bench/inventory_page" "$TMP/store" "$NOW" 100 50 "$CA1" "$CA2"
