#!/bin/sh
# run_backup.sh - an online backup of a BACKUP_BENCH_N-certificate store
# (default 1,000,000, written by inv_fill) while the engine issues at
# BACKUP_BENCH_RATE per second (default 500) from 8 threads: the copy time
# and size of the backup (bk_make, as pcactl backup and pcad's schedule
# take it), and issuance p99 without and during the backup.  The target
# (issue 12): p99 rises less than 2x.  BACKUP_BENCH_RATE_MB sets the
# backup's write rate limit ([backup] rate_mb; default 0, none).  Asserts
# nothing.
. "$(dirname "$0")/lib.sh"
N=${BACKUP_BENCH_N:-1000000}
RATE=${BACKUP_BENCH_RATE:-500}
SECS=${BENCH_SECONDS:-5}
RATE_MB=${BACKUP_BENCH_RATE_MB:-0}
make -s -C "$ROOT" BUILD="$BUILD" "$BUILD/tools/inv_fill" \
    "$BUILD/bench/backup_bench" >/dev/null || exit 1
T=$(mktemp -d "${TMPDIR:-/tmp}/backup-bench.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
echo "== online backup of a $N-certificate store while issuing at $RATE/s"
"$BIN/pcactl" init "$T/app" >/dev/null || exit 1
t0=$(date +%s)
"$BUILD/tools/inv_fill" "$T/app/data" "$N" "$t0" - --same-der \
    11111111-1111-4111-8111-111111111111 >/dev/null || exit 1
echo "filled $N certificates in $(( $(date +%s) - t0 )) s"
bench_csr "$T" bench.example.com
"$BUILD/bench/backup_bench" "$T/app/pcad.conf" "$T/leaf.csr" "$SECS" 8 \
    "$RATE" "$T" "$RATE_MB"
