#!/bin/sh
# Warm standby and promotion, against moto_server as S3 and one SoftHSM
# token shared by both appliances (a clustered HSM holds the same keys in
# every zone).  The primary ships its change feed to S3 ([backup] feed);
# the standby is restored from a backup and runs pcad --role standby,
# following the feed: it answers OCSP for what it applied, refuses changes
# (503 naming the primary) and reports its lag.  The primary issues under
# boto3 load and is killed (-9); pcactl promote makes the standby primary
# (next fencing epoch in S3): every certificate shipped before the kill is
# retrievable and answers OCSP, issuance continues with new serials, the
# old primary refuses to start, and a primary that is running when a later
# epoch is taken stops issuing.  RPO (certificates acknowledged to a client
# and not on the new primary) and RTO (kill -> issuing again) are printed.
. "$(dirname "$0")/lib.sh"
. "$HERE/backup/primary.sh"

need_built "$PCAD" "$PCACTL"
need_python boto3 cryptography
start_moto || die "needs moto_server"
unset AWS_CA_BUNDLE
SB_PID=""
CLEANUP='touch "$TMP/stop"; [ -n "$SB_PID" ] && kill -KILL "$SB_PID" 2>/dev/null'
SB=$HERE/standby/sb.py
now() { python3 -c 'import time; print("%.3f" % time.time())'; }
health() { curl -s "$1/health"; }
jget() { python3 -c 'import json,sys; print(json.load(sys.stdin).get(sys.argv[1], ""))' "$1"; }

feed_primary sb "Standby Root"
PURL=$URL
if start_pcad "$A/pcad.conf" &&
    [ "$(health "$PURL" | jget role)" = primary ] &&
    [ "$(python3 "$SB" epoch "$MOTO_URL" sb-backups pca)" = 1 ]; then
	ok "the primary starts, holds fencing epoch 1 in S3, /health says role primary"
else
	not_ok "primary starts with epoch 1" "$(tail -20 "$A/pcad.log")"
	finish
	exit 1
fi
OLD_PID=$PCAD_PID

# ---- the standby: a backup restored with the feed, on ports of its own ----
load "$TMP/before.log"
load_wait "$TMP/before.log" 10
BURL=$("$PCACTL" --json backup --to "$BK/" 2>"$TMP/backup.err" | python3 -c \
    'import json,sys; print(json.load(sys.stdin)["Location"])')
S=$TMP/standby
if "$PCACTL" restore "$BURL" "$S" --pin-file "$A/hsm/user.pin" \
    --s3-endpoint "$MOTO_URL" --s3-credentials "$A/s3.credentials" \
    --replay-feed "$BK" >"$TMP/restore.out" 2>&1; then
	ok "the standby is restored from a backup taken under load, with the feed"
else
	not_ok "standby restore" "$(cat "$TMP/restore.out")"
fi
cp "$A/credentials" "$S/credentials"
SAPI=$(free_port)
SHTTP=$(free_port)
sed -i "/^\[api\]/,/^\[/ s/^listen = .*/listen = 127.0.0.1:$SAPI/;
    /^\[http\]/,/^\[/ s/^listen = .*/listen = 127.0.0.1:$SHTTP/" "$S/pcad.conf"
SURL=$(http_url "$S/pcad.conf")
"$PCAD" --role standby --config "$S/pcad.conf" >>"$S/pcad.log" 2>&1 &
SB_PID=$!
if wait_up "$SB_PID" 200 curl -sf "$SURL/health" &&
    [ "$(health "$SURL" | jget role)" = standby ]; then
	ok "pcad --role standby starts; /health says role standby"
else
	not_ok "standby starts" "$(tail -20 "$S/pcad.log")"
	finish
	exit 1
fi
load_wait "$TMP/before.log" 40
# the standby follows within a few seconds: a certificate issued now is there
X=$(grep -v '^error' "$TMP/before.log" | tail -1 | awk '{print $3}')
echo "0 0 $X" >"$TMP/one.log"
i=0
until [ "$(PCA_DIR=$S python3 "$SB" missing "$ROOT" "$TMP/one.log" 2>/dev/null)" = 0 ] ||
    [ $i -ge 30 ]; do sleep 1; i=$((i + 1)); done
[ $i -lt 30 ] && ok "the standby has a certificate issued on the primary within ${i}s" ||
    not_ok "the standby follows the feed" "$(tail -5 "$S/pcad.log")"
H=$(health "$SURL")
case "$H" in
*'"lag_seconds"'*'"lag_sequences"'*) ok "standby /health reports its lag: $H" ;;
*) not_ok "standby /health lag" "$H" ;;
esac
curl -s "$SURL/metrics" | grep -q '^pcad_standby_lag_seconds [0-9]' &&
    ok "standby /metrics exports pcad_standby_lag_seconds" ||
    not_ok "standby lag metric"
out=$(PCA_DIR=$S python3 "$SB" refused "$ROOT" 2>&1) &&
    ok "the standby refuses IssueCertificate: 503 ServiceUnavailable naming the primary" ||
    not_ok "standby refuses changes" "$out"
echo "0 0 $X" >"$TMP/onex.log"
echo >"$TMP/norev"
out=$(PCA_DIR=$S python3 "$DR" check "$ROOT" "$TMP/onex.log" "$TMP/norev" \
    "$TMP/root.pem" "$SURL" 2>&1) &&
    ok "the standby answers OCSP (good) for a certificate it followed" ||
    not_ok "standby OCSP" "$out"

# a revocation on the primary: the standby answers revoked within seconds
Y=$(grep -v '^error' "$TMP/before.log" | sed -n 5p | awk '{print $3}')
echo "0 0 $Y" >"$TMP/oney.log"
echo "$Y" >"$TMP/yrev"
if PCA_DIR=$A python3 "$DR" revoke "$ROOT" "$Y"; then
	i=0
	until out=$(PCA_DIR=$S python3 "$DR" check "$ROOT" "$TMP/oney.log" \
	    "$TMP/yrev" "$TMP/root.pem" "$SURL" 2>&1) || [ $i -ge 30 ]; do
		sleep 1
		i=$((i + 1))
	done
	[ $i -lt 30 ] && ok "a revocation on the primary is answered revoked by the standby within ${i}s" ||
	    not_ok "the standby follows a revocation" "$out"
else
	not_ok "revoke on the primary"
fi

# ---- the primary dies under load ----
sleep 2
T_KILL=$(now)
kill -KILL "$OLD_PID" 2>/dev/null
wait "$OLD_PID" 2>/dev/null
PCAD_PID=""
load_stop
NACK=$(grep -vc '^error' "$TMP/before.log")
python3 "$SB" shipped "$MOTO_URL" sb-backups pca "$ROOT" "$TMP/shipped.log" \
    >"$TMP/nshipped"
NSHIP=$(cat "$TMP/nshipped")
ok "primary killed (-9) under load: $NACK certificates acknowledged, $NSHIP shipped"

if "$PCACTL" promote "$S" >"$TMP/promote.out" 2>&1 &&
    grep -q "fencing epoch 2" "$TMP/promote.out" &&
    ! kill -0 "$SB_PID" 2>/dev/null; then
	ok "pcactl promote: the standby pcad stopped, epoch 2 taken"
else
	not_ok "pcactl promote" "$(cat "$TMP/promote.out")"
fi
wait "$SB_PID" 2>/dev/null
SB_PID=""
T_PROMOTED=$(now)
A_OLD=$A
A=$S
URL=$SURL
PCA_DIR=$S
PCACTL_CONFIG=$S/pcad.conf
export PCA_DIR PCACTL_CONFIG
if start_pcad "$S/pcad.conf" && [ "$(health "$SURL" | jget role)" = primary ]; then
	ok "the promoted appliance starts as primary"
else
	not_ok "promoted appliance starts" "$(tail -20 "$S/pcad.log")"
	finish
	exit 1
fi
load "$TMP/after.log"
load_wait "$TMP/after.log" 1
T_ISSUING=$(now)
load_wait "$TMP/after.log" 10
load_stop
NAFTER=$(grep -vc '^error' "$TMP/after.log")
[ "$NAFTER" -ge 10 ] && ok "issuance continues on the new primary ($NAFTER certificates)" ||
    not_ok "issuance on the new primary" "$NAFTER; $(tail -5 "$TMP/load.err")"
if cat "$TMP/before.log" "$TMP/after.log" | awk '!/^error/ {print $3}' |
    sort | uniq -d | grep -q .; then
	not_ok "serials stay distinct across the promotion"
else
	ok "serials stay distinct across the promotion"
fi
i=0
until curl -s "$URL/metrics" | grep -q '^pcad_ocsp_presigned_entries [1-9]' ||
    [ $i -ge 100 ]; do sleep 0.1; i=$((i + 1)); done
if out=$(python3 "$DR" check "$ROOT" "$TMP/shipped.log" "$TMP/yrev" \
    "$TMP/root.pem" "$URL" 2>&1); then
	ok "every certificate shipped before the kill is on the new primary and answers OCSP ($NSHIP)"
else
	not_ok "shipped certificates on the new primary" "$out"
fi
RPO=$(python3 "$SB" missing "$ROOT" "$TMP/before.log")
RTO=$(python3 -c "print('%.1f' % ($T_ISSUING - $T_KILL))")
PROM=$(python3 -c "print('%.1f' % ($T_PROMOTED - $T_KILL))")
echo "# RPO: $RPO of $NACK acknowledged certificates not on the new primary (feed batches every ~1 s)"
echo "# RTO: ${RTO}s from kill -9 to issuing again (promote done after ${PROM}s, incl. its 3 s grace)"
# what a lost batch can hold: certificates acknowledged in the last 5 s
WIN=$(awk -v k="$T_KILL" '!/^error/ && $2 > k - 5 {n++} END {print n + 0}' \
    "$TMP/before.log")
[ "$RPO" -le "$WIN" ] 2>/dev/null &&
    ok "RPO $RPO certificates (at most the $WIN acknowledged in the last 5 s), RTO ${RTO}s" ||
    not_ok "RPO within the feed's batch window" "$RPO > $WIN"

# ---- fencing ----
# (fresh ports: the dead primary's may be in use as clients' local ports)
sed -i "/^\[api\]/,/^\[/ s/^listen = .*/listen = 127.0.0.1:$(free_port)/;
    /^\[http\]/,/^\[/ s/^listen = .*/listen = 127.0.0.1:$(free_port)/" \
    "$A_OLD/pcad.conf"
"$PCAD" --config "$A_OLD/pcad.conf" >"$TMP/old.log" 2>&1 &
OP=$!
i=0
while kill -0 "$OP" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 "$OP" 2>/dev/null; then
	kill -KILL "$OP"
	wait "$OP" 2>/dev/null
	not_ok "the old primary refuses to start" "$(tail -5 "$TMP/old.log")"
else
	wait "$OP"
	RC=$?
	[ "$RC" -ne 0 ] && grep -q "fenced: .*epoch 2" "$TMP/old.log" &&
	    ok "the old primary refuses to start as primary: $(grep fenced "$TMP/old.log" | tail -1)" ||
	    not_ok "the old primary refuses to start" "rc=$RC $(tail -5 "$TMP/old.log")"
fi
# a running primary that sees a later epoch stops issuing: promote a second
# copy (offline) while the new primary serves
S3DIR=$TMP/third
"$PCACTL" restore "$BURL" "$S3DIR" --pin-file "$A_OLD/hsm/user.pin" \
    --s3-endpoint "$MOTO_URL" --s3-credentials "$A_OLD/s3.credentials" \
    >/dev/null 2>&1
if "$PCACTL" promote "$S3DIR" --grace 0 >"$TMP/promote3.out" 2>&1 &&
    grep -q "fencing epoch 3" "$TMP/promote3.out"; then
	T0=$(now)
	i=0
	until PCA_DIR=$S python3 "$SB" refused "$ROOT" >"$TMP/fenced.out" 2>&1 ||
	    [ $i -ge 30 ]; do sleep 0.5; i=$((i + 1)); done
	T1=$(now)
	if [ $i -lt 30 ] && grep -q "fenced" "$S/pcad.log" &&
	    [ "$(health "$SURL" | jget fenced)" = True ]; then
		ok "a running primary stops issuing within $(python3 -c "print('%.1f' % ($T1 - $T0))")s of a later epoch (503, logged, /health fenced)"
	else
		not_ok "a running primary is fenced" "$(cat "$TMP/fenced.out"; tail -3 "$S/pcad.log")"
	fi
else
	not_ok "a second promotion takes epoch 3" "$(cat "$TMP/promote3.out")"
fi
stop_pcad
finish
