#!/bin/sh
# CRL build time and peak RSS: ours (crl_build streaming from LMDB) vs
# `openssl ca -gencrl` on an index.txt with the same revoked entries, at
# 100,000 and 1,000,000 entries (CRL_BENCH_SIZES to change), EC P-256 CA.
# Targets (issue 4): >= 5x faster, peak RSS <= 2x the CRL, 1M < 2 s.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
TOOL="$BUILD/bench/crl_bench"
SIZES=${CRL_BENCH_SIZES:-100000 1000000}
if [ ! -x "$TOOL" ]; then
	echo "crl: $TOOL not built (make bench builds it)"
	exit 1
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/crlbench.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
cd "$T" || exit 1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout ca.key -out ca.pem -subj "/CN=Bench CA/O=OpenPCA" -days 3650 \
    -addext "subjectKeyIdentifier=hash" 2>/dev/null || exit 1
cat >ca.cnf <<EOC
[ca]
default_ca = b
[b]
database = index.txt
crlnumber = crlnumber
certificate = ca.pem
private_key = ca.key
default_md = sha256
default_crl_days = 7
[crl_ext]
authorityKeyIdentifier = keyid:always
EOC
# peak RSS (KiB) and wall seconds of a command, from GNU time
measure() {
	/usr/bin/time -f "%e %M" -o time.out "$@" >cmd.out 2>&1 || {
		cat cmd.out
		return 1
	}
	cat time.out
}
rc=0
printf '%-9s %-7s %9s %9s %10s %11s %8s %9s\n' entries impl seconds \
    peak_MiB crl_MiB peak/crl speedup "1M<2s"
for n in $SIZES; do
	rm -rf db && mkdir db
	"$TOOL" populate db "$n" index.txt || { rc=1; continue; }
	echo 01 >crlnumber
	set -- $(measure "$TOOL" build db ca.pem ca.key ours.crl) || { rc=1; continue; }
	os=$1 orss=$2
	oanon=$(sed -n 's/^anon_kb //p' cmd.out)
	ok=$(openssl crl -inform DER -in ours.crl -CAfile ca.pem -noout 2>&1)
	set -- $(measure openssl ca -gencrl -config ca.cnf -crlexts crl_ext \
	    -out theirs.pem) || { rc=1; continue; }
	ts=$1 trss=$2
	openssl crl -in theirs.pem -outform DER -out theirs.crl
	ob=$(stat -c %s ours.crl) tb=$(stat -c %s theirs.crl)
	oe=$(openssl crl -inform DER -in ours.crl -noout -text | grep -c 'Serial Number')
	te=$(openssl crl -inform DER -in theirs.crl -noout -text | grep -c 'Serial Number')
	awk -v n="$n" -v os="$os" -v ts="$ts" -v orss="$orss" -v trss="$trss" \
	    -v ob="$ob" -v tb="$tb" -v oa="$oanon" 'BEGIN {
		sp = (os > 0) ? ts / os : 0
		printf "%-9d %-7s %9.3f %9.1f %10.1f %11.2f %8.1fx %9s\n", n,
		    "ours", os, orss / 1024, ob / 1048576, orss * 1024 / ob, sp,
		    (n >= 1000000 ? (os < 2 ? "yes" : "NO") : "-")
		printf "%-9d %-7s %9.3f %9.1f %10.1f %11.2f %8s %9s\n", n,
		    "openssl", ts, trss / 1024, tb / 1048576, trss * 1024 / tb,
		    "1.0x", "-"
		printf "  ours, heap only (RssAnon, CRL held): %.1f MiB = %.2f x the CRL; the rest of our peak RSS is LMDB map pages (file-backed, shared, reclaimable)\n", oa / 1024, oa * 1024 / ob
	}'
	echo "  entries listed: ours $oe, openssl $te; ours: $ok"
	echo "  targets: >=5x faster ($(awk -v a="$ts" -v b="$os" 'BEGIN{print (b>0&&a/b>=5)?"met":"NOT met"}')), peak RSS <= 2x CRL ($(awk -v r="$orss" -v b="$ob" 'BEGIN{print (r*1024<=2*b)?"met":"NOT met"}')), heap <= 2x CRL ($(awk -v r="$oanon" -v b="$ob" 'BEGIN{print (r*1024<=2*b)?"met":"NOT met"}'))"
done
exit $rc
