"""Helpers of test_judges.sh: python cryptography as one judge, and the
bad inputs the other judges must refuse.  Each command exits 0 when the
judgement is the one asked for and prints why not otherwise.

  chain ROOT INT LEAF DNSNAME        path validation (x509.verification,
                                     server verifier) must accept
  chain-bad ROOT INT LEAF DNSNAME    ... must refuse
  crl ISSUER CRL_DER LISTED|-SERIAL...
        the CRL's signature verifies under ISSUER's key; each SERIAL (hex)
        is listed, each -SERIAL is not
  tamper-cert IN OUT                 one byte of the subject CN changed
                                     (the signature no longer covers it)
  tamper-der IN OUT                  one byte of a DER signature flipped
  unknown-cert ISSUER OUT URL        a certificate naming ISSUER as its
        issuer (byte-identical DN) with a serial the CA never issued,
        signed by a throwaway key, AIA OCSP = URL
  proxy UPSTREAM PORTFILE            an HTTP proxy on a free loopback port
        (written to PORTFILE) that forwards OCSP POSTs to UPSTREAM and
        changes one digit of producedAt in each answer (a forged answer)
"""
import datetime
import http.server
import re
import socket
import sys
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec


def load(path):
    with open(path, "rb") as f:
        return x509.load_pem_x509_certificate(f.read())


def chain(root, inter, leaf, name, want):
    from cryptography.x509 import verification as v
    verifier = v.PolicyBuilder().store(v.Store([load(root)])) \
        .build_server_verifier(x509.DNSName(name))
    try:
        verifier.verify(load(leaf), [load(inter)])
        got = True
    except Exception as e:  # VerificationError and friends
        got = False
        why = str(e)
    if got != want:
        print("path validation: %s" % ("accepted" if got else why))
        return 1
    return 0


def crl(issuer, path, serials):
    with open(path, "rb") as f:
        c = x509.load_der_x509_crl(f.read())
    if not c.is_signature_valid(load(issuer).public_key()):
        print("CRL signature does not verify")
        return 1
    for s in serials:
        neg = s.startswith("-")
        n = int(s.lstrip("-"), 16)
        listed = c.get_revoked_certificate_by_serial_number(n) is not None
        if listed == neg:
            print("serial %s %s" % (s.lstrip("-"),
                                    "listed" if listed else "not listed"))
            return 1
    return 0


def tamper_cert(src, dst):
    der = bytearray(load(src).public_bytes(serialization.Encoding.DER))
    cn = load(src).subject.get_attributes_for_oid(
        x509.oid.NameOID.COMMON_NAME)[0].value.encode()
    i = bytes(der).find(cn)
    der[i] ^= 0x01
    with open(dst, "wb") as f:
        f.write(x509.load_der_x509_certificate(bytes(der)).public_bytes(
            serialization.Encoding.PEM))
    return 0


def tamper_der(src, dst):
    with open(src, "rb") as f:
        der = bytearray(f.read())
    der[-3] ^= 0x01       # inside the signature value
    with open(dst, "wb") as f:
        f.write(der)
    return 0


def unknown_cert(issuer, dst, url):
    iss = load(issuer)
    k = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    aia = x509.AuthorityInformationAccess([x509.AccessDescription(
        x509.oid.AuthorityInformationAccessOID.OCSP,
        x509.UniformResourceIdentifier(url))])
    c = (x509.CertificateBuilder()
         .subject_name(x509.Name([x509.NameAttribute(
             x509.oid.NameOID.COMMON_NAME, "unknown.example.com")]))
         .issuer_name(iss.subject).public_key(k.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(minutes=5))
         .not_valid_after(now + datetime.timedelta(days=1))
         .add_extension(aia, critical=False)
         .sign(k, hashes.SHA256()))
    with open(dst, "wb") as f:
        f.write(c.public_bytes(serialization.Encoding.PEM))
    return 0


PRODUCED = re.compile(rb"\x18\x0f(\d{14})Z")


class Forger(http.server.BaseHTTPRequestHandler):
    upstream = ""

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        req = urllib.request.Request(self.upstream, data=body, headers={
            "Content-Type": "application/ocsp-request"})
        with urllib.request.urlopen(req, timeout=10) as r:
            ans = bytearray(r.read())
        m = PRODUCED.search(ans)   # the first time is producedAt
        if m:
            i = m.start(1) + 13
            ans[i] = ord("0") + (ans[i] - ord("0") + 1) % 10
        self.send_response(200)
        self.send_header("Content-Type", "application/ocsp-response")
        self.send_header("Content-Length", str(len(ans)))
        self.end_headers()
        self.wfile.write(bytes(ans))

    def log_message(self, *a):
        pass


def proxy(upstream, portfile):
    Forger.upstream = upstream
    srv = http.server.HTTPServer(("127.0.0.1", 0), Forger)
    srv.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(portfile + ".tmp", portfile)
    srv.serve_forever()


def main(a):
    cmd = a[0]
    if cmd == "chain":
        return chain(a[1], a[2], a[3], a[4], True)
    if cmd == "chain-bad":
        return chain(a[1], a[2], a[3], a[4], False)
    if cmd == "crl":
        return crl(a[1], a[2], a[3:])
    if cmd == "tamper-cert":
        return tamper_cert(a[1], a[2])
    if cmd == "tamper-der":
        return tamper_der(a[1], a[2])
    if cmd == "unknown-cert":
        return unknown_cert(a[1], a[2], a[3])
    if cmd == "proxy":
        return proxy(a[1], a[2])
    print("unknown command " + cmd)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
