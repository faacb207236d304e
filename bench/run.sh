#!/bin/sh
# make bench: runs every bench/run_*.sh in turn (issuance, API, OCSP,
# CRL, ...).  Each prints its own numbers next to the peers measured in the
# same run, and the ratios.  Nothing here asserts a target.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
rc=0
for b in "$ROOT"/bench/run_*.sh; do
	[ -f "$b" ] || continue
	echo
	echo "######## $(basename "$b" .sh | sed 's/^run_//')"
	sh "$b" || rc=1
done
exit $rc
