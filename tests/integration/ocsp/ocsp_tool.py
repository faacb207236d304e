"""OCSP checks for test_ocsp.sh with python cryptography as the independent
parser and verifier.  Every command exits 0 on success and prints why not.

  check URL ISSUER CERT|-serial:HEX EXPECT [--sha256] [--get] [--nonce]
        [--nonce-optional] [--headers]
      EXPECT: good, revoked, unknown, or an error status (unauthorized,
      malformedRequest, tryLater).  The signature, the responder certificate
      (issued by ISSUER, OCSPSigning, id-pkix-ocsp-nocheck) or the CA key
      (byKey id), thisUpdate/nextUpdate (24 h) and, with --nonce, the echo
      are checked; --headers checks the RFC 5019/9919 caching headers.
  raw URL HEXBODY EXPECT      POST raw bytes (EXPECT is a status name)
  revoke-timing URL ISSUER CERT CA_ARN SERIAL_HEX
      revokes through pcad's API (boto3) and polls until "revoked": prints
      the delay; fails when it is 1 s or more.
  issue-timing URL ISSUER CA_ARN CSR
      issues through the API and polls until a pre-signed "good" (one with
      a max-age): fails when that takes 1 s or more.
"""
import base64
import datetime
import os
import sys
import time
import urllib.parse
import urllib.request

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID

NOCHECK = x509.ObjectIdentifier("1.3.6.1.5.5.7.48.1.5")


def load_cert(path):
    with open(path, "rb") as f:
        return x509.load_pem_x509_certificate(f.read())


def build_request(issuer, target, algo, nonce):
    b = ocsp.OCSPRequestBuilder()
    if isinstance(target, int):
        h = hashes.Hash(algo)
        h.update(issuer.subject.public_bytes())
        name_hash = h.finalize()
        spki = issuer.public_key().public_bytes(
            serialization.Encoding.DER,
            serialization.PublicFormat.SubjectPublicKeyInfo)
        key_bits = bitstring_value(spki)
        h = hashes.Hash(algo)
        h.update(key_bits)
        b = b.add_certificate_by_hash(name_hash, h.finalize(), target, algo)
    else:
        b = b.add_certificate(target, issuer, algo)
    if nonce is not None:
        b = b.add_extension(x509.OCSPNonce(nonce), critical=False)
    return b.build().public_bytes(serialization.Encoding.DER)


def bitstring_value(spki):
    """The subjectPublicKey BIT STRING content (after the unused-bits
    octet) of a DER SubjectPublicKeyInfo."""
    def tlv(p, i):
        t = p[i]
        n = p[i + 1]
        i += 2
        if n & 0x80:
            k = n & 0x7F
            n = int.from_bytes(p[i:i + k], "big")
            i += k
        return t, i, n
    _, i, _ = tlv(spki, 0)          # SEQUENCE
    _, j, n = tlv(spki, i)          # AlgorithmIdentifier
    t, k, n = tlv(spki, j + n)      # BIT STRING
    assert t == 0x03
    return spki[k + 1:k + n]


def send(url, der, get):
    if get:
        path = urllib.parse.quote(base64.b64encode(der).decode(), safe="")
        req = urllib.request.Request(url.rstrip("/") + "/" + path)
    else:
        req = urllib.request.Request(url, data=der, headers={
            "Content-Type": "application/ocsp-request"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, dict(r.headers), r.read()


def verify_sig(pub, sig, data, algo):
    if isinstance(pub, rsa.RSAPublicKey):
        pub.verify(sig, data, padding.PKCS1v15(), algo)
    elif isinstance(pub, ec.EllipticCurvePublicKey):
        pub.verify(sig, data, ec.ECDSA(algo))
    else:
        raise ValueError("unexpected key type")


def check_delegated(rc, issuer):
    """A delegated responder certificate: signed by issuer, OCSPSigning,
    id-pkix-ocsp-nocheck (RFC 6960 4.2.2.2)."""
    verify_sig(issuer.public_key(), rc.signature, rc.tbs_certificate_bytes,
               rc.signature_hash_algorithm)
    eku = rc.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    if ExtendedKeyUsageOID.OCSP_SIGNING not in eku.value:
        raise ValueError("responder certificate lacks OCSPSigning")
    nc = rc.extensions.get_extension_for_oid(NOCHECK)
    if not isinstance(nc.value, x509.OCSPNoCheck):
        raise ValueError("id-pkix-ocsp-nocheck is not a NULL")


def check_signer(resp, issuer):
    """The key that signed: a delegated certificate or the CA itself."""
    if resp.certificates:
        rc = resp.certificates[0]
        check_delegated(rc, issuer)
        now = datetime.datetime.now(datetime.timezone.utc)
        if not rc.not_valid_before_utc <= now <= rc.not_valid_after_utc:
            raise ValueError("responder certificate not valid now")
        return rc.public_key()
    return issuer.public_key()


def status_name(resp):
    return {ocsp.OCSPCertStatus.GOOD: "good",
            ocsp.OCSPCertStatus.REVOKED: "revoked",
            ocsp.OCSPCertStatus.UNKNOWN: "unknown"}[resp.certificate_status]


def check(url, issuer, target, expect, sha256=False, get=False,
          nonce=False, nonce_optional=False, headers=False):
    algo = hashes.SHA256() if sha256 else hashes.SHA1()
    n = os.urandom(32) if nonce else None
    st, hdrs, body = send(url, build_request(issuer, target, algo, n), get)
    if st != 200:
        return "HTTP status %d" % st
    if hdrs.get("Content-Type") != "application/ocsp-response":
        return "Content-Type %r" % hdrs.get("Content-Type")
    resp = ocsp.load_der_ocsp_response(body)
    if resp.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        got = resp.response_status.name
        names = {"MALFORMED_REQUEST": "malformedRequest",
                 "TRY_LATER": "tryLater", "UNAUTHORIZED": "unauthorized",
                 "INTERNAL_ERROR": "internalError"}
        return None if names.get(got) == expect else "responseStatus " + got
    try:
        verify_sig(check_signer(resp, issuer), resp.signature,
                   resp.tbs_response_bytes, resp.signature_hash_algorithm)
    except (InvalidSignature, ValueError, x509.ExtensionNotFound) as e:
        return "signature/responder check failed: %r" % e
    if status_name(resp) != expect:
        return "status %s, expected %s" % (status_name(resp), expect)
    if expect == "revoked" and resp.revocation_time_utc is None:
        return "revoked without a time"
    span = resp.next_update_utc - resp.this_update_utc
    if span != datetime.timedelta(hours=24):
        return "validity %s, expected 24 h" % span
    if resp.responder_key_hash is None:
        return "responder id is not byKey"
    got_nonce = None
    for e in resp.extensions:
        if isinstance(e.value, x509.OCSPNonce):
            got_nonce = e.value.nonce
    if nonce and got_nonce != n and not nonce_optional:
        return "nonce not echoed"
    if nonce_optional and got_nonce is not None and got_nonce != n:
        return "wrong nonce echoed"
    if not nonce and got_nonce is not None:
        return "nonce in a response to a request without one"
    if headers:
        cc = hdrs.get("Cache-Control", "")
        for h in ("Last-Modified", "ETag", "Expires"):
            if h not in hdrs:
                return "missing header " + h
        if not (cc.startswith("max-age=") and
                cc.endswith("public, no-transform, must-revalidate")):
            return "Cache-Control %r" % cc
        if int(cc.split("=")[1].split(",")[0]) <= 0:
            return "max-age is not positive"
    print("# %s%s" % (expect, " (nonce echoed)" if got_nonce else ""))
    return None


def target_of(arg):
    if arg.startswith("-serial:"):
        return int(arg[8:], 16)
    return load_cert(arg)


def raw(url, hexbody, expect):
    req = urllib.request.Request(url, data=bytes.fromhex(hexbody), headers={
        "Content-Type": "application/ocsp-request"})
    with urllib.request.urlopen(req, timeout=10) as r:
        resp = ocsp.load_der_ocsp_response(r.read())
    names = {"MALFORMED_REQUEST": "malformedRequest", "TRY_LATER": "tryLater",
             "UNAUTHORIZED": "unauthorized", "SUCCESSFUL": "successful"}
    got = names.get(resp.response_status.name)
    return None if got == expect else "responseStatus %s" % got


def burst(url, issuer, cert, n):
    """n nonce requests back to back: each must be a verified "good";
    prints how many carried the nonce and how many fell back."""
    echoed = fell_back = 0
    for _ in range(n):
        nonce = os.urandom(16)
        der = build_request(issuer, cert, hashes.SHA1(), nonce)
        _, hdrs, body = send(url, der, False)
        resp = ocsp.load_der_ocsp_response(body)
        if resp.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
            return "responseStatus %s" % resp.response_status.name
        verify_sig(check_signer(resp, issuer), resp.signature,
                   resp.tbs_response_bytes, resp.signature_hash_algorithm)
        if status_name(resp) != "good":
            return "status " + status_name(resp)
        got = [e.value.nonce for e in resp.extensions
               if isinstance(e.value, x509.OCSPNonce)]
        if got == [nonce]:
            echoed += 1
        elif not got and hdrs.get("Cache-Control", "").startswith("max-age="):
            fell_back += 1
        else:
            return "neither the nonce nor a pre-signed response"
    print("# %d with nonce, %d pre-signed without" % (echoed, fell_back))
    print("%d %d" % (echoed, fell_back))
    return None


def api_client():
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "api"))
    import pcaclient  # noqa: E402 (needs PCA_DIR)
    return pcaclient.client()


def poll(url, issuer, target, want, want_presigned, limit):
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        der = build_request(issuer, target, hashes.SHA1(), None)
        _, hdrs, body = send(url, der, False)
        resp = ocsp.load_der_ocsp_response(body)
        if (resp.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL and
                status_name(resp) == want and
                (not want_presigned or
                 hdrs.get("Cache-Control", "").startswith("max-age=") and
                 not hdrs["Cache-Control"].startswith("max-age=0"))):
            return time.monotonic() - t0
        time.sleep(0.02)
    return None


def revoke_timing(url, issuer, cert, ca_arn, serial_hex):
    c = api_client()
    c.revoke_certificate(CertificateAuthorityArn=ca_arn,
                         CertificateSerial=serial_hex,
                         RevocationReason="KEY_COMPROMISE")
    dt = poll(url, issuer, cert, "revoked", True, 5)
    if dt is None or dt >= 1.0:
        return "revocation visible after %s s" % dt
    print("# revoked status served %.3f s after RevokeCertificate" % dt)
    return None


def issue_timing(url, issuer, ca_arn, csr_path):
    c = api_client()
    with open(csr_path, "rb") as f:
        csr = f.read()
    arn = c.issue_certificate(
        CertificateAuthorityArn=ca_arn, Csr=csr,
        SigningAlgorithm="SHA256WITHECDSA",
        Validity={"Type": "DAYS", "Value": 30})["CertificateArn"]
    for _ in range(100):
        try:
            pem = c.get_certificate(CertificateAuthorityArn=ca_arn,
                                    CertificateArn=arn)["Certificate"]
            break
        except c.exceptions.RequestInProgressException:
            time.sleep(0.05)
    cert = x509.load_pem_x509_certificate(pem.encode())
    dt = poll(url, issuer, cert, "good", True, 5)
    if dt is None or dt >= 1.0:
        return "pre-signed good after %s s" % dt
    print("# pre-signed good %.3f s after issuance" % dt)
    return None


def main(a):
    if a[0] == "check":
        err = check(a[1], load_cert(a[2]), target_of(a[3]), a[4],
                    sha256="--sha256" in a, get="--get" in a,
                    nonce="--nonce" in a or "--nonce-optional" in a,
                    nonce_optional="--nonce-optional" in a,
                    headers="--headers" in a)
    elif a[0] == "burst":
        err = burst(a[1], load_cert(a[2]), load_cert(a[3]), int(a[4]))
    elif a[0] == "raw":
        err = raw(a[1], a[2], a[3])
    elif a[0] == "revoke-timing":
        err = revoke_timing(a[1], load_cert(a[2]), load_cert(a[3]), a[4],
                            a[5])
    elif a[0] == "issue-timing":
        err = issue_timing(a[1], load_cert(a[2]), a[3], a[4])
    else:
        err = "unknown command"
    if err:
        print(err)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
