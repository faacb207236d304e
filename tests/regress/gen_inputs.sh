#!/bin/sh
# Makes the inputs of tests/regress/{import,ocsp,policy}/ with the openssl
# CLI (tests/regress/csr/ predates it).  Each run makes new keys, so the
# expected outputs must then be rewritten (REGRESS_UPDATE=1 sh
# tests/regress/regress.sh) and reviewed; the committed inputs are what the
# goldens describe.  Usage: sh tests/regress/gen_inputs.sh
set -eu
R=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d /tmp/openpca-regen.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T"
ossl() { openssl "$@" 2>/dev/null; }

# ---- import: "ROOT|SUBORDINATE", the CA key, the certificate, the chain
ossl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes \
    -keyout root.key -subj "/C=US/O=OpenPCA Regress/CN=Regress Root" \
    -days 20000 -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign -out root.pem
ossl pkey -in root.key -pubout -out root.pub
ossl req -new -newkey rsa:2048 -nodes -keyout int.key \
    -subj "/C=US/O=OpenPCA Regress/CN=Regress Int" -out int.csr
ossl pkey -in int.key -pubout -out int.pub
ossl x509 -req -in int.csr -CA root.pem -CAkey root.key -days 7000 \
    -set_serial 0x1001 -extfile /dev/stdin -out int.pem <<EOC
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOC
ossl x509 -req -in int.csr -CA root.pem -CAkey root.key -days 30000 \
    -set_serial 0x1002 -extfile /dev/stdin -out long.pem <<EOC
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
EOC
ossl x509 -req -in int.csr -CA root.pem -CAkey root.key -days 700 \
    -set_serial 0x1003 -extfile /dev/stdin -out notca.pem <<EOC
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
EOC
ossl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout other.key -subj "/CN=Other Root" -days 3650 \
    -addext basicConstraints=critical,CA:TRUE -out other.pem
case_() { # case_ OUT TYPE KEY CERT [CHAIN]
	out=$1
	{ echo "$2"; cat "$3" "$4"; [ $# -lt 5 ] || cat "$5"; } >"$out"
}
I=$R/import
case_ "$I/good/root_p384.case" ROOT root.pub root.pem
case_ "$I/good/sub_rsa2048.case" SUBORDINATE int.pub int.pem root.pem
case_ "$I/bad/root_other_key.case" ROOT int.pub root.pem
case_ "$I/bad/sub_no_chain.case" SUBORDINATE int.pub int.pem
case_ "$I/bad/sub_wrong_chain.case" SUBORDINATE int.pub int.pem other.pem
case_ "$I/bad/sub_outlives_issuer.case" SUBORDINATE int.pub long.pem root.pem
case_ "$I/bad/sub_not_ca.case" SUBORDINATE int.pub notca.pem root.pem
case_ "$I/bad/root_given_as_sub.case" SUBORDINATE root.pub root.pem root.pem
{ echo SUBORDINATE; cat int.pub int.pem; echo "trailing garbage"; } \
    >"$I/bad/sub_garbage_chain.case"
{ echo SUBORDINATE; cat int.pub; head -c 300 int.pem; } \
    >"$I/bad/sub_truncated.case"
{ cat root.pub root.pem; } >"$I/bad/no_type.case"

# ---- ocsp: DER OCSPRequests (openssl ocsp -reqout) and broken ones
O=$R/ocsp
ossl ocsp -issuer root.pem -cert int.pem -no_nonce -reqout "$O/good/sha1.der"
ossl ocsp -issuer root.pem -sha256 -cert int.pem -cert notca.pem \
    -reqout "$O/good/sha256_two_nonce.der"
ossl ocsp -issuer root.pem -serial 0x01 -serial 0x7fffffffffffffffff \
    -no_nonce -reqout "$O/good/serials.der"
ossl ocsp -issuer root.pem -cert int.pem -no_nonce -signer other.pem \
    -signkey other.key -reqout "$O/good/signed.der"
head -c 40 "$O/good/sha1.der" >"$O/bad/truncated.der"
{ cat "$O/good/sha1.der"; printf '\0'; } >"$O/bad/trailing_byte.der"
printf '\060\000' >"$O/bad/empty_sequence.der"
printf '\060\200\000\000' >"$O/bad/indefinite_length.der"
i=0
args=""
while [ $i -lt 17 ]; do args="$args -serial $((i + 1))"; i=$((i + 1)); done
# shellcheck disable=SC2086
ossl ocsp -issuer root.pem $args -no_nonce -reqout "$O/bad/17_certids.der"

# ---- policy: CSRs judged against the built-ins and policies.conf
P=$R/policy
csr() { # csr OUT KEYSPEC SUBJ [ADDEXT...]
	out=$1
	k=$2
	s=$3
	shift 3
	set -- "$@"
	ext=""
	for e in "$@"; do ext="$ext -addext $e"; done
	# shellcheck disable=SC2086
	ossl req -new -newkey $k -nodes -keyout /dev/null -subj "$s" $ext \
	    -out "$out"
}
EC="ec -pkeyopt ec_paramgen_curve:P-256"
csr "$P/good/web_ec.pem" "$EC" /CN=www.example.com \
    subjectAltName=DNS:www.example.com
csr "$P/good/web_rsa3072.pem" rsa:3072 /CN=app.corp.example.net \
    subjectAltName=DNS:app.corp.example.net,IP:10.1.2.3
csr "$P/good/mesh_uri.pem" "$EC" /CN=svc \
    subjectAltName=URI:spiffe://example.com/ns/prod/svc
csr "$P/good/client_email.pem" "$EC" /CN=alice \
    subjectAltName=email:alice@example.com extendedKeyUsage=clientAuth
csr "$P/bad/wildcard.pem" "$EC" /CN=*.example.com \
    subjectAltName=DNS:*.example.com
csr "$P/bad/legacy_suffix.pem" "$EC" /CN=old.legacy.example.com \
    subjectAltName=DNS:old.legacy.example.com
csr "$P/bad/rsa2048_ou.pem" rsa:2048 "/OU=Ops/CN=ops.example.com" \
    subjectAltName=DNS:ops.example.com
csr "$P/bad/no_san.pem" "$EC" /CN=bare.example.com
csr "$P/bad/code_signing_eku.pem" "$EC" /CN=www.example.com \
    subjectAltName=DNS:www.example.com extendedKeyUsage=codeSigning
printf 'not a certificate request\n' >"$P/bad/garbage.pem"
