#!/usr/bin/env python3
"""Certificates for test_discover.sh, made outside the appliance:
ext_root + ext_leaf (expires in 20 days), selfsigned (15 days), expired
(issued by a CA nobody presents), imported (for pcactl cert import).
usage: certs.py DIR"""
import datetime
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

D = sys.argv[1]
NOW = datetime.datetime.now(datetime.timezone.utc)


def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME,
                                         "Elsewhere")])


def make(cn, issuer_cn, issuer_key, start, end, ca=False, key=None):
    key = key or ec.generate_private_key(ec.SECP256R1())
    b = (x509.CertificateBuilder().subject_name(name(cn))
         .issuer_name(name(issuer_cn))
         .public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(start).not_valid_after(end)
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None),
                        critical=True))
    if not ca:
        b = b.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName(cn)]), critical=False)
    cert = b.sign(issuer_key or key, hashes.SHA256())
    return cert, key


def save(stem, cert, key, extra=()):
    with open("%s/%s.pem" % (D, stem), "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
        for c in extra:
            f.write(c.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        with open("%s/%s.key" % (D, stem), "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))


day = datetime.timedelta(days=1)
rk = ec.generate_private_key(ec.SECP256R1())
root, _ = make("Ext Root", "Ext Root", rk, NOW - day, NOW + 3650 * day,
               ca=True, key=rk)
save("ext_root", root, None)
leaf, lk = make("ext.example.com", "Ext Root", rk, NOW - day, NOW + 20 * day)
save("ext_leaf", leaf, lk)
ss, sk = make("self.example.com", "self.example.com", None, NOW - day,
              NOW + 15 * day)
save("selfsigned", ss, sk)
gk = ec.generate_private_key(ec.SECP256R1())
old, ok = make("old.example.com", "Ghost CA", gk, NOW - 400 * day,
               NOW - 10 * day)
save("expired", old, ok)
imp, _ = make("imported.example.com", "Ext Root", rk, NOW - day,
              NOW + 200 * day)
with open("%s/imported.der" % D, "wb") as f:
    f.write(imp.public_bytes(serialization.Encoding.DER))
