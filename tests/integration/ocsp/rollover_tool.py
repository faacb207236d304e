"""Snapshots of pcad's OCSP answers for test_ocsp_rollover.sh, with python
cryptography as the independent parser and verifier.

  snap URL ISSUER CERT
      POSTs a SHA-1 CertID request (no nonce: the pre-signed response),
      requires a successful "good" answer whose signature verifies under an
      embedded delegated responder certificate that ISSUER signed, with the
      OCSPSigning EKU and id-pkix-ocsp-nocheck, valid over the response's
      thisUpdate..nextUpdate.  Prints one JSON object: the responder
      certificate's serial, key (SHA-256 of its SubjectPublicKeyInfo),
      notBefore/notAfter, and the response's producedAt, thisUpdate,
      nextUpdate (Unix seconds).  Exits 1 with the reason otherwise.
  get FILE KEY     prints one field of a snapshot
"""
import hashlib
import json
import sys
import urllib.request

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from ocsp_tool import check_delegated, load_cert, verify_sig


def ts(d):
    return int(d.timestamp())


def snap(url, issuer_path, cert_path):
    issuer = load_cert(issuer_path)
    cert = load_cert(cert_path)
    der = (ocsp.OCSPRequestBuilder()
           .add_certificate(cert, issuer, hashes.SHA1()).build()
           .public_bytes(serialization.Encoding.DER))
    req = urllib.request.Request(url, data=der, headers={
        "Content-Type": "application/ocsp-request"})
    with urllib.request.urlopen(req, timeout=10) as r:
        body = r.read()
    resp = ocsp.load_der_ocsp_response(body)
    if resp.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        raise ValueError("responseStatus " + resp.response_status.name)
    if resp.certificate_status != ocsp.OCSPCertStatus.GOOD:
        raise ValueError("status " + resp.certificate_status.name)
    if not resp.certificates:
        raise ValueError("no delegated responder certificate embedded")
    rc = resp.certificates[0]
    if rc.issuer != issuer.subject:
        raise ValueError("responder certificate issuer " +
                         rc.issuer.rfc4514_string())
    check_delegated(rc, issuer)
    verify_sig(rc.public_key(), resp.signature, resp.tbs_response_bytes,
               resp.signature_hash_algorithm)
    spki = rc.public_key().public_bytes(
        serialization.Encoding.DER,
        serialization.PublicFormat.SubjectPublicKeyInfo)
    s = {
        "signer_serial": "%x" % rc.serial_number
        if len("%x" % rc.serial_number) % 2 == 0
        else "0%x" % rc.serial_number,
        "signer_key": hashlib.sha256(spki).hexdigest()[:16],
        "signer_nb": ts(rc.not_valid_before_utc),
        "signer_na": ts(rc.not_valid_after_utc),
        "produced": ts(resp.produced_at_utc),
        "this": ts(resp.this_update_utc),
        "next": ts(resp.next_update_utc),
    }
    if not s["signer_nb"] <= s["this"] < s["next"] <= s["signer_na"]:
        raise ValueError("responder certificate does not cover the "
                         "response's validity: %r" % s)
    print(json.dumps(s, sort_keys=True))


def main(a):
    if len(a) == 4 and a[0] == "snap":
        try:
            snap(a[1], a[2], a[3])
        except Exception as e:  # every failure is a test failure
            print("snap failed: %r" % e)
            return 1
        return 0
    if len(a) == 3 and a[0] == "get":
        with open(a[1]) as f:
            print(json.load(f)[a[2]])
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
