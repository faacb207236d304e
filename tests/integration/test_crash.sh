#!/bin/sh
# Crash safety: kill -9 an issuing process at random points of a loop of
# 1,000 issuances, TRIALS times (default 20).  After each kill the store
# opens, "pcactl store verify" is clean, no serial is duplicated and every
# certificate reported issued before the kill is in the store.
. "$(dirname "$0")/lib.sh"

TRIALS=${CRASH_TRIALS:-20}
A=$TMP/app
new_appliance "$A" || { not_ok "init"; finish; exit 1; }
ROOT=$(make_root "$TMP" EC_prime256v1 SHA256WITHECDSA)
[ -n "$ROOT" ] && ok "setup" || not_ok "setup"
ec_csr "$TMP/leaf.csr" crash.example.com
: >"$TMP/all-issued"
t=1
while [ "$t" -le "$TRIALS" ]; do
	"$TOOLS/issue_loop" "$PCACTL_CONFIG" "$ROOT" "$TMP/leaf.csr" 1000 4 \
	    >"$TMP/out.$t" 2>"$TMP/err.$t" &
	pid=$!
	# a random moment within the first ~1.5 s of the loop
	sleep "$(awk -v s="$t$$" 'BEGIN{srand(s); printf "%.3f", 0.05+rand()*1.5}')"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	grep '^issued ' "$TMP/out.$t" | cut -d' ' -f2 >>"$TMP/all-issued"
	if v=$("$PCACTL" store verify 2>&1); then
		ok "trial $t: killed after $(grep -c '^issued ' "$TMP/out.$t") issuances; store opens and verifies clean"
	else
		not_ok "trial $t: store verify after kill -9" "$v"
	fi
	t=$((t + 1))
done
ok "$TRIALS kill -9 trials ran"
NISSUED=$(wc -l <"$TMP/all-issued")
check "store verify after all trials" "$PCACTL" store verify
"$PCACTL" --json cert list | python3 -c '
import json, sys
certs = json.load(sys.stdin)
serials = [c["Serial"] for c in certs]
issued = set(serials[i] for i in range(len(serials)) if certs[i]["Status"] != "PENDING")
printed = [l.strip() for l in open(sys.argv[1]) if l.strip()]
dups = len(serials) - len(set(serials))
missing = [s for s in printed if s not in issued]
print("certs=%d printed=%d dup=%d missing=%d pending=%d" % (len(serials),
      len(printed), dups, len(missing),
      sum(1 for c in certs if c["Status"] == "PENDING")))
sys.exit(1 if dups or missing or not printed else 0)
' "$TMP/all-issued" >"$TMP/summary" 2>&1
if [ $? -eq 0 ]; then ok "no duplicate serial, every printed certificate stored ($(cat "$TMP/summary"))"
else not_ok "no duplicate serial, every printed certificate stored" "$(cat "$TMP/summary")"; fi
if [ "$NISSUED" -gt 0 ]; then ok "the loops issued $NISSUED certificates before being killed"
else not_ok "the loops issued certificates before being killed"; fi
finish
