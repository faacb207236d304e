#!/bin/sh
# pcad's stop releases the token before pcad exits (the test_crl flake
# "pcactl: no token openpca is present" right after a stop): SIGTERM to the
# front, whose keeper and signer end after it (cmd/pcad_proc.c), and the
# front waits for them.  STOP_CYCLES (default 20) start/stop cycles: once
# pcad's main process is gone no process of the appliance is left, and
# pcactl uses the token at once.  TAP lines.
. "$(dirname "$0")/lib.sh"

need_built "$PCAD" "$PCACTL"
api_appliance
URL=$(http_url "$A/pcad.conf")
start_pcad || die "pcad did not start" "$(tail -20 "$A/pcad.log")"
ARN=$(make_root "$TMP" EC_prime256v1 SHA256WITHECDSA "Stop Root") ||
    die "no root CA"
stop_pcad
left="" failed=""
cyc=0
while [ "$cyc" -lt "${STOP_CYCLES:-20}" ]; do
	start_pcad || die "pcad did not start (cycle $cyc)" \
	    "$(tail -20 "$A/pcad.log")"
	stop_pcad
	n=$(pgrep -f -- "--config $A/pcad.conf" | wc -l)
	[ "$n" -eq 0 ] || left="$left [cycle $cyc: $n left]"
	out=$("$PCACTL" ca csr "$ARN" 2>&1 >/dev/null) ||
	    failed="$failed [cycle $cyc: $out]"
	cyc=$((cyc + 1))
done
# a leftover keeper or signer of this appliance (this test started it)
pkill_left() { pgrep -f -- "--config $A/pcad.conf" | xargs -r kill -9; }
[ -z "$left" ] && ok "no keeper or signer outlives pcad's main process" ||
    { not_ok "no keeper or signer outlives pcad's main process" "$left"; pkill_left; }
[ -z "$failed" ] && ok "pcactl uses the token right after every stop" ||
    not_ok "pcactl uses the token right after every stop" "$failed"
check "the keeper logged no forced kill of its signer" sh -c \
    "! grep -q 'killing it' '$A/pcad.log'"
finish
