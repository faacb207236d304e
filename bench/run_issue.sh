#!/bin/sh
# Issuance benchmark (part of make bench): engine vs raw token signing vs
# openssl ca -batch, measured in the same run.
# Prints ratios; asserts nothing (targets are read by people, not CI).
. "$(dirname "$0")/lib.sh"
set -e
SECS=${BENCH_SECONDS:-5}
T=$(mktemp -d /tmp/openpca-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$ROOT"

echo "== issuance: engine vs raw token signing vs openssl ca (${SECS}s cells)"
"$BIN/pcactl" init "$T/app" >/dev/null
bench_csr "$T" bench.example.com
"$BUILD/bench/bench_issue" "$T/app/pcad.conf" "$T/leaf.csr" "$SECS" 1 2 16 32 \
    | tee "$T/issue.txt"

# Peer: openssl ca -batch, one process per certificate, 200 CSRs.
openssl_ca() { # openssl_ca ALG(ec|rsa)
	d="$T/ossl-$1"
	mkdir -p "$d/certs" "$d/csr"
	: >"$d/index.txt"
	echo 1000 >"$d/serial"
	if [ "$1" = ec ]; then
		openssl ecparam -name prime256v1 -genkey -noout -out "$d/ca.key" 2>/dev/null
	else
		openssl genrsa -out "$d/ca.key" 2048 2>/dev/null
	fi
	openssl req -new -x509 -key "$d/ca.key" -subj /CN=peer -days 3650 \
	    -out "$d/ca.pem" 2>/dev/null
	cat >"$d/ca.cnf" <<EOC
[ca]
default_ca = d
[d]
dir = $d
database = $d/index.txt
new_certs_dir = $d/certs
serial = $d/serial
certificate = $d/ca.pem
private_key = $d/ca.key
default_md = sha256
default_days = 30
policy = p
unique_subject = no
copy_extensions = copy
[p]
commonName = supplied
[server_cert]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth,clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOC
	i=1
	while [ $i -le 200 ]; do cp "$T/leaf.csr" "$d/csr/$i.csr"; i=$((i + 1)); done
	start=$(date +%s.%N)
	i=1
	while [ $i -le 200 ]; do
		openssl ca -batch -config "$d/ca.cnf" -extensions server_cert \
		    -notext -in "$d/csr/$i.csr" -out "$d/certs/$i.pem" 2>/dev/null
		i=$((i + 1))
	done
	end=$(date +%s.%N)
	echo "peer openssl_ca_$1 rate=$(awk -v s="$start" -v e="$end" \
	    'BEGIN{printf "%d", 200 / (e - s)}')"
}
openssl_ca ec | tee -a "$T/issue.txt"
openssl_ca rsa | tee -a "$T/issue.txt"

python3 - "$T/issue.txt" <<'PY'
import re, sys
raw, iss, peer = {}, {}, {}
for line in open(sys.argv[1]):
    m = re.match(r'raw (\S+) threads=(\d+) rate=(\d+)', line)
    if m: raw[(m[1], int(m[2]))] = float(m[3])
    m = re.match(r'issue (\S+) threads=(\d+) rate=(\d+) p50_ms=(\S+) p99_ms=(\S+)', line)
    if m: iss[(m[1], int(m[2]))] = (float(m[3]), float(m[4]), float(m[5]))
    m = re.match(r'peer openssl_ca_(\S+) rate=(\d+)', line)
    if m: peer[m[1]] = float(m[2])
print()
print("%-9s %12s %12s %12s %10s %14s" % ("CA key", "raw sign/s", "engine c/s",
      "best thr", "eng/raw", "eng/openssl"))
for alg, p in (("ec_p256", "ec"), ("rsa_2048", "rsa")):
    r2 = raw.get((alg, 2)) or raw.get((alg, 1))
    best = max(((v[0], t) for (a, t), v in iss.items() if a == alg), default=(0, 0))
    pr = peer.get(p, 0)
    print("%-9s %12.0f %12.0f %12d %9.0f%% %13.1fx" % (alg, r2 or 0, best[0],
          best[1], 100 * best[0] / r2 if r2 else 0, best[0] / pr if pr else 0))
print("(raw = token C_Sign rate with 2 threads; engine = complete durable issuances; "
      "targets: engine >= 70% of raw, >= 50x openssl ca)")
PY
