"""Names from the CSR and from ApiPassthrough are validated before signing
(issue 15 defect 7).  Run by tests/integration/test_names.sh, which makes a
fresh appliance and sets PCA_DIR and BIN.  One TAP line per check."""
import os
import sys
import warnings

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "api"))

import botocore.exceptions  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import ExtensionOID, NameOID  # noqa: E402

import pcaclient as P  # noqa: E402
from suite import run, tap  # noqa: E402

warnings.simplefilter("ignore")
T = "arn:aws:acm-pca:::template/"
KEY = ec.generate_private_key(ec.SECP256R1())




def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def tlv(tag, body):
    return bytes([tag]) + der_len(len(body)) + body


def san_raw(*names):
    """SubjectAltName extnValue from (context tag, raw bytes) pairs."""
    return tlv(0x30, b"".join(tlv(0x80 | t, v) for t, v in names))


def csr(cn="ok.example.com", sans=None, raw_san=None, exts=()):
    b = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, cn, _validate=False)]))
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(sans),
                            critical=False)
    if raw_san is not None:
        b = b.add_extension(x509.UnrecognizedExtension(
            ExtensionOID.SUBJECT_ALTERNATIVE_NAME, raw_san), critical=False)
    for e, crit in exts:
        b = b.add_extension(e, critical=crit)
    return b.sign(KEY, hashes.SHA256()).public_bytes(
        serialization.Encoding.PEM)


def issue(c, ca, pem, tmpl="EndEntityCertificate/V1", **kw):
    kw.setdefault("Validity", {"Type": "DAYS", "Value": 7})
    return c.issue_certificate(
        CertificateAuthorityArn=ca, Csr=pem, SigningAlgorithm="SHA256WITHECDSA",
        TemplateArn=T + tmpl, **kw)["CertificateArn"]


def refused(c, ca, name, code, words, pem, **kw):
    try:
        arn = issue(c, ca, pem, **kw)
        tap(False, name, "signed: " + arn)
    except botocore.exceptions.ClientError as e:
        msg = e.response["Error"].get("Message", "")
        got = e.response["Error"]["Code"]
        tap(got == code and all(w in msg for w in words), name,
            "%s: %s" % (got, msg))


def checks(c, ca, ca_cert):
    M = "MalformedCSRException"
    I = "InvalidArgsException"
    try:
        issue(c, ca, csr(sans=[x509.DNSName("ok.example.com"),
                               x509.DNSName("*.ok.example.com")]))
        tap(True, "a well-formed CSR is still signed")
    except botocore.exceptions.ClientError as e:
        tap(False, "a well-formed CSR is still signed", e)
    refused(c, ca, "CN with an embedded NUL", M, ["CSR subject"],
            csr(cn="good.example.com\0.evil.com"))
    refused(c, ca, "20,000-character CN (ub-common-name 64)", M,
            ["max_length", "64"], csr(cn="a" * 20000))
    refused(c, ca, "dNSName with a NUL", M, ["subjectAltName"],
            csr(raw_san=san_raw((2, b"good.example.com\0.evil.com"))))
    refused(c, ca, "non-ASCII dNSName (not an A-label)", M, ["A-label"],
            csr(raw_san=san_raw((2, "bücher.example".encode()))))
    refused(c, ca, "empty dNSName", M, ["empty"],
            csr(raw_san=san_raw((2, b""))))
    refused(c, ca, "rfc822Name with a NUL", M, ["rfc822Name"],
            csr(raw_san=san_raw((1, b"a\0@example.com"))))
    refused(c, ca, "URI with a NUL", M, ["subjectAltName"],
            csr(raw_san=san_raw((6, b"https://a.example\0.evil/"))))
    refused(c, ca, "5-octet iPAddress", M, ["iPAddress", "4 or 16"],
            csr(raw_san=san_raw((7, b"\x0a\x00\x00\x01\x02"))))
    refused(c, ca, "dNSName with a space", M, ["dNSName"],
            csr(raw_san=san_raw((2, b"a b.example.com"))))
    refused(c, ca, "101 SANs (LIM_CERT_SANS)", M, ["at most 100"],
            csr(sans=[x509.DNSName("h%d.example.com" % i)
                      for i in range(101)]))
    refused(c, ca, "same rules for other templates", M, ["CSR subject"],
            csr(cn="x\0y"), tmpl="EndEntityServerAuthCertificate/V1")
    refused(c, ca, "ApiPassthrough dNSName 'a b.example.com'", I,
            ["ext_san_syntax", "dNSName"], csr(),
            tmpl="EndEntityCertificate_APIPassthrough/V1",
            ApiPassthrough={"Extensions": {"SubjectAlternativeNames": [
                {"DnsName": "a b.example.com"}]}})
    refused(c, ca, "unknown critical CSR extension, CSR passthrough", M,
            ["critical"], csr(exts=[(x509.UnrecognizedExtension(
                x509.ObjectIdentifier("1.3.6.1.4.1.99999.1"), b"\x05\x00"),
                True)]), tmpl="EndEntityCertificate_CSRPassthrough/V1")
    nb = int(ca_cert.not_valid_before_utc.timestamp())
    refused(c, ca, "ValidityNotBefore before the CA's notBefore", I,
            ["ValidityNotBefore", "notBefore"], csr(),
            ValidityNotBefore={"Type": "ABSOLUTE", "Value": nb - 60})
    try:
        arn = issue(c, ca, csr(), ValidityNotBefore={"Type": "ABSOLUTE",
                                                    "Value": nb})
        leaf = P.cert(c.get_certificate(CertificateAuthorityArn=ca,
                                        CertificateArn=arn)["Certificate"])
        tap(leaf.not_valid_before_utc == ca_cert.not_valid_before_utc,
            "ValidityNotBefore equal to the CA's notBefore is honoured")
    except botocore.exceptions.ClientError as e:
        tap(False, "ValidityNotBefore equal to the CA's notBefore is "
            "honoured", e)


def check_clamp(c, root, root_cert):
    """The default backdate (now - 60 min) never precedes the issuing CA's
    notBefore: a subordinate whose certificate starts now."""
    import time
    sub = c.create_certificate_authority(
        CertificateAuthorityConfiguration={
            "KeyAlgorithm": "EC_prime256v1",
            "SigningAlgorithm": "SHA256WITHECDSA",
            "Subject": {"CommonName": "Names Sub", "Organization": "T"}},
        CertificateAuthorityType="SUBORDINATE")["CertificateAuthorityArn"]
    pem = c.get_certificate_authority_csr(CertificateAuthorityArn=sub)["Csr"]
    now = int(time.time())
    sarn = issue(c, root, pem.encode(), "SubordinateCACertificate_PathLen0/V1",
                 Validity={"Type": "YEARS", "Value": 1},
                 ValidityNotBefore={"Type": "ABSOLUTE", "Value": now})
    scert = c.get_certificate(CertificateAuthorityArn=root,
                              CertificateArn=sarn)["Certificate"]
    chain = root_cert.public_bytes(serialization.Encoding.PEM)
    c.import_certificate_authority_certificate(
        CertificateAuthorityArn=sub, Certificate=scert.encode(),
        CertificateChain=chain)
    arn = issue(c, sub, csr())
    leaf = P.cert(c.get_certificate(CertificateAuthorityArn=sub,
                                    CertificateArn=arn)["Certificate"])
    snb = P.cert(scert).not_valid_before_utc
    tap(leaf.not_valid_before_utc == snb,
        "the default backdate is clamped to the issuing CA's notBefore",
        "leaf %s, CA %s" % (leaf.not_valid_before_utc, snb))


def main():
    def body():
        c = P.client()
        ca, pem = P.new_root(c, {"CommonName": "Names Root",
                                 "Organization": "T"})
        ca_cert = P.cert(pem)
        checks(c, ca, ca_cert)
        check_clamp(c, ca, ca_cert)
    return run(P.Daemon(), "test_names", body)


if __name__ == "__main__":
    sys.exit(main())
