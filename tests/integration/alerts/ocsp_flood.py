#!/usr/bin/env python3
"""OCSP questions about N random serials of ISSUER (none of them issued),
POSTed one by one to URL; prints how many answers said "unknown".
usage: ocsp_flood.py ISSUER_PEM URL N"""
import secrets
import sys
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

ca = x509.load_pem_x509_certificate(open(sys.argv[1], "rb").read())
# the key hash: SHA-1 of the subjectPublicKey BIT STRING's contents (EC)
key_bits = ca.public_key().public_bytes(
    serialization.Encoding.X962,
    serialization.PublicFormat.UncompressedPoint)


def sha1(b):
    h = hashes.Hash(hashes.SHA1())
    h.update(b)
    return h.finalize()


name_hash = sha1(ca.subject.public_bytes())
key_hash = sha1(key_bits)
unknown = 0
for _ in range(int(sys.argv[3])):
    serial = secrets.randbits(120) | (1 << 119)
    req = ocsp.OCSPRequestBuilder().add_certificate_by_hash(
        name_hash, key_hash, serial, hashes.SHA1()).build()
    r = urllib.request.Request(sys.argv[2], data=req.public_bytes(
        serialization.Encoding.DER), headers={
        "Content-Type": "application/ocsp-request"})
    try:
        with urllib.request.urlopen(r, timeout=30) as f:
            resp = ocsp.load_der_ocsp_response(f.read())
    except OSError:
        continue
    if (resp.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL and
            resp.certificate_status == ocsp.OCSPCertStatus.UNKNOWN):
        unknown += 1
print(unknown)
