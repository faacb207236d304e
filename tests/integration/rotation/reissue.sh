#!/bin/sh
# reissue.sh OLD_CA NEW_CA CSR_DIR OUT_DIR - the renewal run after a CA
# rotation (docs/rotation.md): every certificate of OLD_CA that is still
# ISSUED (valid, not revoked) is issued again by NEW_CA, with the same
# template and the same notAfter (within NEW_CA's own), from the CSR the
# owner left in CSR_DIR/<CN>.csr.  Certificates without a CSR are listed
# on stderr for their owners (RequestedBy) to renew.  pcactl reads
# PCACTL_CONFIG.  Output: OUT_DIR/<CN>.pem and a summary line.
set -eu
old=$1 new=$2 csrs=$3 out=$4
PCACTL=${PCACTL:-pcactl}
mkdir -p "$out"
alg=$("$PCACTL" --json ca show "$new" | python3 -c \
    'import json,sys; print(json.load(sys.stdin)["CertificateAuthorityConfiguration"]["SigningAlgorithm"])')
"$PCACTL" --json cert list --ca "$old" --status ISSUED | python3 -c '
import json, sys
for c in json.load(sys.stdin):
    print(c["Serial"], c["Template"], c["RequestedBy"])' |
while read -r serial template who; do
	pem=$("$PCACTL" cert show --ca "$old" "$serial" --pem)
	cn=$(printf '%s\n' "$pem" | openssl x509 -noout -subject -nameopt RFC2253 |
	    sed -n 's/^subject=.*CN=\([^,]*\).*/\1/p')
	# a CA's own certificates are not renewed here
	case "$template" in *CACertificate* | OCSPSigning* | OpenPCA/*) continue ;; esac
	if [ -z "$cn" ] || [ ! -r "$csrs/$cn.csr" ]; then
		echo "no CSR for serial $serial (CN=${cn:-none}, requested by $who)" >&2
		continue
	fi
	end=$(printf '%s\n' "$pem" | openssl x509 -noout -enddate |
	    sed 's/^notAfter=//' | xargs -I{} date -u -d {} +%Y%m%d%H%M%S)
	"$PCACTL" issue --ca "$new" --csr "$csrs/$cn.csr" --signing-alg "$alg" \
	    --template "$template" --validity "end:$end" --out "$out/$cn.pem" \
	    >/dev/null
	echo "reissued $serial -> $out/$cn.pem"
done
