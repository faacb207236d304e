#!/bin/sh
# Crash safety (reliability matrix T2).  TRIALS times (CRASH_TRIALS, default
# 20; "make check-long" runs 200) an issuing process dies in the middle of a
# loop of 1,000 issuances.  The trials cycle through the named crash points
# of issuance (PCA_CRASHPOINT=name:n, ca/crashpoint.c: the process SIGKILLs
# itself at the n-th pass) and a kill -9 from outside at a random moment.
# After each death the store opens and "pcactl store verify" is clean; at
# the end no serial is duplicated and every certificate reported issued is
# in the store.  Then pcad dies at each crash point under API load and is
# started again: every certificate a client got a 200 for is retrievable.
. "$(dirname "$0")/lib.sh"

TRIALS=${CRASH_TRIALS:-20}
POINTS="lint reserve sign commit committed reply"
A=$TMP/app
new_appliance "$A" || { not_ok "init"; finish; exit 1; }
ROOT=$(make_root "$TMP" EC_prime256v1 SHA256WITHECDSA)
[ -n "$ROOT" ] && ok "setup" || not_ok "setup"
ec_csr "$TMP/leaf.csr" crash.example.com
: >"$TMP/all-issued"

# rand LO HI SEED: an integer in [LO, HI]
rand() { awk -v lo="$1" -v hi="$2" -v s="$3" 'BEGIN{srand(s); print lo + int(rand() * (hi - lo + 1))}'; }
# point T: the crash point of trial T ("kill" is kill -9 from outside)
point() { echo "$POINTS kill" | tr ' ' '\n' | sed -n "$((($1 - 1) % 7 + 1))p"; }

t=1
seen=""
while [ "$t" -le "$TRIALS" ]; do
	p=$(point "$t")
	if [ "$p" = kill ]; then
		"$TOOLS/issue_loop" "$PCACTL_CONFIG" "$ROOT" "$TMP/leaf.csr" \
		    1000 4 >"$TMP/out.$t" 2>"$TMP/err.$t" &
		pid=$!
		# a random moment within the first ~1.5 s of the loop
		sleep "$(awk -v s="$t$$" 'BEGIN{srand(s); printf "%.3f", 0.05+rand()*1.5}')"
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		how="killed -9 from outside"
		died=ok
	else
		n=$(rand 1 40 "$t$$")
		# (timeout: a crash point that is never reached fails the trial)
		timeout -s KILL 60 env PCA_CRASHPOINT="$p:$n" \
		    "$TOOLS/issue_loop" "$PCACTL_CONFIG" "$ROOT" \
		    "$TMP/leaf.csr" 1000 4 >"$TMP/out.$t" 2>"$TMP/err.$t"
		rc=$?
		how="crash point $p:$n"
		died=ok
		if [ "$rc" != 137 ] ||
		    ! grep -q "crash point $p reached" "$TMP/err.$t"; then
			died="rc=$rc; $(tail -2 "$TMP/err.$t")"
		fi
		seen="$seen $p"
	fi
	grep '^issued ' "$TMP/out.$t" | cut -d' ' -f2 >>"$TMP/all-issued"
	issued=$(grep -c '^issued ' "$TMP/out.$t")
	if [ "$died" != ok ]; then
		not_ok "trial $t: the process died at $how" "$died"
	elif v=$("$PCACTL" store verify 2>&1); then
		ok "trial $t: $how after $issued issuances; the store opens and verifies clean"
	else
		not_ok "trial $t: store verify after $how" "$v"
	fi
	t=$((t + 1))
done
ok "$TRIALS crash trials ran"
missed=""
for p in $POINTS; do
	case " $seen " in *" $p "*) ;; *) missed="$missed $p" ;; esac
done
if [ "$TRIALS" -lt 6 ] || [ -z "$missed" ]; then
	ok "every crash point was exercised"
else
	not_ok "every crash point was exercised" "never:$missed"
fi

# pcad, one crash per point under API load, then a clean restart
PCA_DIR=$A ROOT_ARN=$ROOT BIN=$BIN POINTS=$POINTS SEED=$$ \
    ISSUED_OUT=$TMP/all-issued \
    python3 "$(dirname "$0")/crash/pcad_crash.py" >"$TMP/pcad.tap" 2>&1
relay_tap "$TMP/pcad.tap" "pcad" "pcad crash trials ran"

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
sys.exit(1 if dups or missing or not printed or
         len(printed) != len(set(printed)) else 0)
' "$TMP/all-issued" >"$TMP/summary" 2>&1
if [ $? -eq 0 ]; then ok "no serial reused, every reported certificate stored ($(cat "$TMP/summary"))"
else not_ok "no serial reused, every reported certificate stored" "$(cat "$TMP/summary")"; fi
if [ "$NISSUED" -gt 0 ]; then ok "the loops issued $NISSUED certificates before dying"
else not_ok "the loops issued certificates before dying"; fi
finish
