#!/bin/sh
# pcad's scheduled backups to a local directory ([backup] to, interval_hours
# with decimals, keep): the first backup at start, one every interval, only
# the newest `keep` left, each one verified by pcactl backup verify; the
# pcad_backup_* metrics; a bad [backup] is refused at start with one line.
. "$(dirname "$0")/lib.sh"

need_built "$PCAD" "$PCACTL"
new_appliance "$A" || die "pcactl init failed"
URL=$(http_url "$A/pcad.conf")
mkdir "$TMP/bk"
cp "$A/pcad.conf" "$TMP/pcad.conf.orig"
printf '\n[backup]\nto = %s\ninterval_hours = 0.003\nkeep = 2\n' "$TMP/bk" \
    >>"$A/pcad.conf"
check "pcad --check-config accepts [backup]" "$PCAD" --config "$A/pcad.conf" \
    --check-config
pcad_up "pcad starts with [backup] to = a directory"
n() { ls "$TMP/bk" | grep -c '^openpca-.*\.tar$'; }
i=0
until [ "$(n)" -ge 2 ] || [ $i -ge 600 ]; do sleep 0.1; i=$((i + 1)); done
[ "$(n)" -ge 2 ] && ok "a backup at start and one after the interval (10.8 s)" ||
    not_ok "two scheduled backups" "$(ls -la "$TMP/bk"; tail -5 "$A/pcad.log")"
FIRST=$(ls "$TMP/bk" | grep '^openpca-' | head -1)
i=0
until [ ! -e "$TMP/bk/$FIRST" ] || [ $i -ge 300 ]; do sleep 0.1; i=$((i + 1)); done
if [ ! -e "$TMP/bk/$FIRST" ] && [ "$(n)" -eq 2 ]; then
	ok "keep = 2: the oldest backup is deleted after the third"
else
	not_ok "keep = 2" "$(ls -la "$TMP/bk")"
fi
M=$(curl -s "$URL/metrics")
LAST=$(printf '%s\n' "$M" | awk '$1 == "pcad_backup_last_success_timestamp_seconds" {print $2}')
AGE=$(printf '%s\n' "$M" | awk '$1 == "pcad_backup_age_seconds" {print $2}')
SIZE=$(printf '%s\n' "$M" | awk '$1 == "pcad_backup_size_bytes" {print $2}')
FAIL=$(printf '%s\n' "$M" | awk '$1 == "pcad_backup_failures_total" {print $2}')
NOW=$(date +%s)
if [ "${LAST:-0}" -gt $((NOW - 60)) ] && [ "${AGE:--1}" -ge 0 ] &&
    [ "${AGE:-99}" -lt 60 ] && [ "${SIZE:-0}" -gt 0 ] && [ "$FAIL" = 0 ]; then
	ok "/metrics: last success $LAST, age $AGE s, size $SIZE bytes, no failure"
else
	not_ok "/metrics" "$(printf '%s\n' "$M" | grep pcad_backup)"
fi
stop_pcad
NEWEST=$(ls "$TMP/bk" | grep '^openpca-' | tail -1)
check "the newest scheduled backup verifies" "$PCACTL" backup verify \
    "$TMP/bk/$NEWEST"
[ -z "$(ls -A "$A/data" | grep -v '^data.mdb$\|^lock.mdb$\|^pcad.lock$')" ] &&
    ok "no scratch file left in the store directory" ||
    not_ok "scratch files" "$(ls -la "$A/data")"
cp "$TMP/pcad.conf.orig" "$A/pcad.conf"
printf '\n[backup]\nto = %s\nfeed = on\n' "$TMP/bk" >>"$A/pcad.conf"
check_fails "feed = on without S3 is refused" "feed = on needs" \
    "$PCAD" --config "$A/pcad.conf" --check-config
cp "$TMP/pcad.conf.orig" "$A/pcad.conf"
printf '\n[backup]\nto = %s\ninterval_hours = 0.001\n' "$TMP/bk" >>"$A/pcad.conf"
check_fails "an interval under 10 s is refused" "interval_hours" \
    "$PCAD" --config "$A/pcad.conf" --check-config
finish
