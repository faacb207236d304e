#!/bin/sh
# Disk full under pcad (issue 15, defect 11): the store lives on a 16 MiB
# tmpfs that a filler file fills.  Issuance answers 503 and /health answers
# 503 naming the store; removing the filler brings both back without a
# restart, and the store verifies clean.  Needs root (mount); skipped else.
. "$(dirname "$0")/lib.sh"

A=$TMP/app
new_appliance "$A" || { not_ok "init"; finish; exit 1; }
ROOT=$(make_root "$TMP" EC_prime256v1 SHA256WITHECDSA)
[ -n "$ROOT" ] && ok "setup" || not_ok "setup"
mv "$A/data" "$A/data.disk" && mkdir "$A/data"
if ! mount -t tmpfs -o size=16m,mode=0700 tmpfs "$A/data" 2>/dev/null; then
	rmdir "$A/data" && mv "$A/data.disk" "$A/data"
	ok "disk full under pcad # SKIP cannot mount a tmpfs (needs root)"
	finish
	exit 0
fi
CLEANUP='umount -l "$A/data" 2>/dev/null'
cp -a "$A/data.disk/." "$A/data/"

PCA_DIR=$A STORE_DIR=$A/data ROOT_ARN=$ROOT BIN=$BIN \
    python3 "$(dirname "$0")/diskfull/pcad_diskfull.py" >"$TMP/full.tap" 2>&1
relay_tap "$TMP/full.tap" "pcad" "pcad with a full disk ran"
check "store verify is clean after the disk was full" "$PCACTL" store verify
finish
