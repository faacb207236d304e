#!/bin/sh
# Installs the Debian 12 packages the build, the tests and the benchmarks
# need; does nothing when all are present.
set -eu
PKGS="build-essential pkg-config clang libclang-rt-14-dev libssl-dev openssl
softhsm2 p11-kit libp11-kit-dev liblmdb-dev lmdb-utils opensc libjansson-dev
libmicrohttpd-dev libcurl4-openssl-dev libcmocka-dev libarchive-dev wrk
hyperfine golang-cfssl faketime procps iproute2 util-linux cppcheck
clang-format opencryptoki man-db systemd curl gnutls-bin libnss3-tools
libseccomp-dev certbot lego dehydrated libc-ares-dev knot knot-dnsutils
python3-certbot-dns-rfc2136 uacme nginx chromium chromium-driver
python3-selenium time"
missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
# boto3/aws-cli: only when the python3 on PATH lacks them.
if ! python3 -c 'import boto3' 2>/dev/null; then
	missing="$missing python3-boto3"
fi
if ! command -v aws >/dev/null 2>&1; then
	missing="$missing awscli"
fi
if ! python3 -c 'import cryptography' 2>/dev/null; then
	missing="$missing python3-cryptography"
fi
# prometheus_client (test_cli.sh checks /metrics with its text-format
# parser): the Debian package serves /usr/bin/python3, which the test uses
# when the python3 on PATH lacks the module.
if ! python3 -c 'import prometheus_client' 2>/dev/null &&
    ! /usr/bin/python3 -c 'import prometheus_client' 2>/dev/null; then
	missing="$missing python3-prometheus-client"
fi
# moto_server (the local S3 endpoint of the CRL tests) is not in Debian 12:
# it comes with the machine's python3; test_crl.sh says so when it is absent.
if [ -z "$missing" ]; then
	exit 0
fi
echo "deps: installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
