"""pcad end to end with unmodified boto3 (spec acm-pca-api.md sections 1-7).

Run by tests/integration/test_api.sh, which makes a fresh appliance with
pcactl init and sets PCA_DIR and BIN.  Prints one TAP line per test case.
"""
import base64
import datetime
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "api"))

import botocore.exceptions  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.x509.oid import (ExtendedKeyUsageOID,  # noqa: E402
                                   ExtensionOID, NameOID)

import pcaclient as P  # noqa: E402

T = "arn:aws:acm-pca:::template/"
DAEMON = P.Daemon()
EC_CFG = {"KeyAlgorithm": "EC_prime256v1",
          "SigningAlgorithm": "SHA256WITHECDSA"}
SIG, OTHER_SIG = "SHA256WITHECDSA", "SHA256WITHRSA"
if os.environ.get("PCA_TEST_RSA_ONLY"):  # a token without EC (token2)
    EC_CFG = {"KeyAlgorithm": "RSA_2048", "SigningAlgorithm": "SHA256WITHRSA"}
    SIG, OTHER_SIG = OTHER_SIG, SIG


def code_of(e):
    return e.response["Error"]["Code"]


class Base(unittest.TestCase):
    c = None
    root = None         # an ACTIVE EC root with CRL and OCSP enabled
    root_pem = None

    @classmethod
    def setUpClass(cls):
        cls.c = P.client()
        cls.tmp = tempfile.mkdtemp(prefix="pcatest")

    def err(self, code, fn, *a, **kw):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(*a, **kw)
        self.assertEqual(code_of(cm.exception), code,
                         cm.exception.response["Error"].get("Message"))
        return cm.exception.response["Error"].get("Message", "")

    def new_ca(self, type_="ROOT", cn="ca", **kw):
        cfg = dict(EC_CFG, Subject={"CommonName": cn, "Organization": "T"})
        cfg.update(kw.pop("cfg", {}))
        return self.c.create_certificate_authority(
            CertificateAuthorityConfiguration=cfg,
            CertificateAuthorityType=type_, **kw)["CertificateAuthorityArn"]

    def issue(self, ca, csr, tmpl=None, validity=None, c=None, **kw):
        args = dict(CertificateAuthorityArn=ca, Csr=csr,
                    SigningAlgorithm=kw.pop("alg", SIG),
                    Validity=validity or {"Type": "DAYS", "Value": 30})
        if tmpl:
            args["TemplateArn"] = T + tmpl
        args.update(kw)
        return (c or self.c).issue_certificate(**args)["CertificateArn"]

    def get(self, ca, arn):
        return self.c.get_certificate(CertificateAuthorityArn=ca,
                                      CertificateArn=arn)

    def activate_root(self, ca, years=10):
        csr = self.c.get_certificate_authority_csr(
            CertificateAuthorityArn=ca)["Csr"]
        arn = self.issue(ca, csr.encode(), "RootCACertificate/V1",
                         {"Type": "YEARS", "Value": years})
        pem = self.get(ca, arn)["Certificate"]
        self.c.import_certificate_authority_certificate(
            CertificateAuthorityArn=ca, Certificate=pem.encode())
        return pem

    def shared_root(self):
        if Base.root is None:
            Base.root = self.new_ca(cn="Shared Root", RevocationConfiguration={
                "CrlConfiguration": {"Enabled": True,
                                     "S3BucketName": "crl-bucket"},
                "OcspConfiguration": {"Enabled": True}})
            Base.root_pem = self.activate_root(Base.root)
        return Base.root


class T01Activation(Base):
    def test_root_activation_flow(self):
        ca = self.new_ca(cn="Activation Root", RevocationConfiguration={
            "CrlConfiguration": {"Enabled": True, "S3BucketName": "bkt-b"},
            "OcspConfiguration": {"Enabled": True}})
        self.c.get_waiter("certificate_authority_csr_created").wait(
            CertificateAuthorityArn=ca)
        d = self.c.describe_certificate_authority(
            CertificateAuthorityArn=ca)["CertificateAuthority"]
        self.assertEqual(d["Status"], "PENDING_CERTIFICATE")
        self.assertNotIn("Serial", d)
        self.assertNotIn("KeyStorageSecurityStandard", d)  # none stated
        self.err("InvalidArgsException", self.new_ca, cn="Level 3",
                 KeyStorageSecurityStandard="FIPS_140_2_LEVEL_3_OR_HIGHER")
        self.assertEqual(d["RevocationConfiguration"]["CrlConfiguration"]
                         ["S3ObjectAcl"], "PUBLIC_READ")
        # what AWS returns: nothing that was never sent but S3ObjectAcl
        self.assertEqual(sorted(d["RevocationConfiguration"]
                                ["CrlConfiguration"]),
                         ["Enabled", "S3BucketName", "S3ObjectAcl"])
        self.assertEqual(d["RevocationConfiguration"]["OcspConfiguration"],
                         {"Enabled": True})
        self.err("InvalidStateException",
                 self.c.get_certificate_authority_certificate,
                 CertificateAuthorityArn=ca)
        csr = self.c.get_certificate_authority_csr(
            CertificateAuthorityArn=ca)["Csr"]
        self.assertEqual(csr, self.c.get_certificate_authority_csr(
            CertificateAuthorityArn=ca)["Csr"])
        arn = self.issue(ca, csr.encode(), "RootCACertificate/V1",
                         {"Type": "YEARS", "Value": 10})
        self.c.get_waiter("certificate_issued").wait(
            CertificateAuthorityArn=ca, CertificateArn=arn)
        r = self.get(ca, arn)
        self.assertNotIn("CertificateChain", r)
        self.c.import_certificate_authority_certificate(
            CertificateAuthorityArn=ca, Certificate=r["Certificate"].encode())
        d = self.c.describe_certificate_authority(
            CertificateAuthorityArn=ca)["CertificateAuthority"]
        self.assertEqual(d["Status"], "ACTIVE")
        for k in ("NotBefore", "NotAfter", "Serial"):
            self.assertIn(k, d)
        rc = P.cert(r["Certificate"])
        self.assertEqual(rc.issuer, rc.subject)
        bc = P.ext(rc, x509.BasicConstraints)
        self.assertTrue(bc.critical and bc.value.ca)
        self.assertIsNone(bc.value.path_length)
        ku = P.ext(rc, x509.KeyUsage)
        self.assertTrue(ku.critical and ku.value.digital_signature and
                        ku.value.key_cert_sign and ku.value.crl_sign)
        self.assertIsNone(P.ext(rc, x509.CRLDistributionPoints))
        self.assertIsNone(P.ext(rc, x509.ExtendedKeyUsage))
        self.assertEqual("%x" % rc.serial_number,
                         d["Serial"].replace(":", "").lstrip("0"))
        ca_cert = self.c.get_certificate_authority_certificate(
            CertificateAuthorityArn=ca)
        self.assertEqual(ca_cert["Certificate"], r["Certificate"])
        self.assertNotIn("CertificateChain", ca_cert)

    def test_describe_echoes_what_was_sent(self):
        crl = {"Enabled": True, "S3BucketName": "bkt-b",
               "ExpirationInDays": 30, "CrlType": "COMPLETE",
               "S3ObjectAcl": "BUCKET_OWNER_FULL_CONTROL"}
        ca = self.new_ca(cn="Echo Root", RevocationConfiguration={
            "CrlConfiguration": crl})
        d = self.c.describe_certificate_authority(
            CertificateAuthorityArn=ca)["CertificateAuthority"]
        self.assertEqual(d["RevocationConfiguration"]["CrlConfiguration"],
                         crl)

    def test_end_entity_issuance(self):
        root = self.shared_root()
        uuid = root.rsplit("/", 1)[1]
        arn = self.issue(root, P.make_csr(cn="ee.example.com",
                                          sans=("ee.example.com",
                                                "www.example.com")))
        self.assertTrue(arn.startswith(root + "/certificate/"))
        hexs = arn.rsplit("/", 1)[1]
        self.assertRegex(hexs, "^[0-9a-f]{32}$")
        r = self.get(root, arn)
        c = P.cert(r["Certificate"])
        self.assertEqual(int(hexs, 16), c.serial_number)
        ku = P.ext(c, x509.KeyUsage)
        self.assertTrue(ku.critical and ku.value.digital_signature and
                        ku.value.key_encipherment)
        eku = P.ext(c, x509.ExtendedKeyUsage)
        self.assertEqual(set(eku.value), {ExtendedKeyUsageOID.SERVER_AUTH,
                                          ExtendedKeyUsageOID.CLIENT_AUTH})
        bc = P.ext(c, x509.BasicConstraints)
        self.assertFalse(bc.critical)
        self.assertFalse(bc.value.ca)
        self.assertIsNotNone(P.ext(c, x509.SubjectKeyIdentifier))
        root_c = P.cert(Base.root_pem)
        self.assertEqual(
            P.ext(c, x509.AuthorityKeyIdentifier).value.key_identifier,
            P.ext(root_c, x509.SubjectKeyIdentifier).value.digest)
        self.assertEqual(
            P.ext(c, x509.SubjectAlternativeName).value.get_values_for_type(
                x509.DNSName), ["ee.example.com", "www.example.com"])
        cdp = P.ext(c, x509.CRLDistributionPoints)
        uri = cdp.value[0].full_name[0].value
        self.assertTrue(uri.startswith("http://") and
                        uri.endswith("/crl/%s.crl" % uuid), uri)
        aia = P.ext(c, x509.AuthorityInformationAccess)
        self.assertTrue(aia.value[0].access_location.value.startswith(
            "http://"))
        self.assertEqual(r["CertificateChain"], Base.root_pem)
        ok, out = P.openssl_verify(r["Certificate"], r["CertificateChain"],
                                   self.tmp)
        self.assertTrue(ok, out)

    def test_subordinate_chain(self):
        root = self.shared_root()
        sub = self.new_ca("SUBORDINATE", cn="Sub CA")
        csr = self.c.get_certificate_authority_csr(
            CertificateAuthorityArn=sub)["Csr"]
        sarn = self.issue(root, csr.encode(),
                          "SubordinateCACertificate_PathLen0/V1",
                          {"Type": "YEARS", "Value": 5})
        sr = self.get(root, sarn)
        self.assertEqual(P.ext(P.cert(sr["Certificate"]),
                               x509.BasicConstraints).value.path_length, 0)
        self.err("InvalidRequestException",
                 self.c.import_certificate_authority_certificate,
                 CertificateAuthorityArn=sub,
                 Certificate=sr["Certificate"].encode())
        self.c.import_certificate_authority_certificate(
            CertificateAuthorityArn=sub, Certificate=sr["Certificate"].encode(),
            CertificateChain=sr["CertificateChain"].encode())
        ca = self.c.get_certificate_authority_certificate(
            CertificateAuthorityArn=sub)
        self.assertEqual(ca["Certificate"], sr["Certificate"])
        self.assertEqual(ca["CertificateChain"], Base.root_pem)
        leaf = self.get(sub, self.issue(sub, P.make_csr()))
        self.assertEqual(leaf["CertificateChain"],
                         sr["Certificate"] + Base.root_pem)
        ok, out = P.openssl_verify(leaf["Certificate"],
                                   leaf["CertificateChain"], self.tmp)
        self.assertTrue(ok, out)
        # a pathLen-0 CA issues no CA certificates
        self.err("InvalidArgsException", self.issue, sub,
                 P.make_csr(), "SubordinateCACertificate_PathLen0/V1")


class T02Templates(Base):
    EE = ["EndEntityCertificate", "EndEntityClientAuthCertificate",
          "EndEntityServerAuthCertificate", "CodeSigningCertificate",
          "OCSPSigningCertificate"]
    EKU = {"EndEntityCertificate": {ExtendedKeyUsageOID.SERVER_AUTH,
                                    ExtendedKeyUsageOID.CLIENT_AUTH},
           "EndEntityClientAuthCertificate": {ExtendedKeyUsageOID.CLIENT_AUTH},
           "EndEntityServerAuthCertificate": {ExtendedKeyUsageOID.SERVER_AUTH},
           "CodeSigningCertificate": {ExtendedKeyUsageOID.CODE_SIGNING},
           "OCSPSigningCertificate": {ExtendedKeyUsageOID.OCSP_SIGNING}}
    VARIANTS = ["", "_CSRPassthrough", "_APIPassthrough",
                "_APICSRPassthrough"]
    CA_KU = [(x509.KeyUsage(False, False, False, False, False, True, True,
                            False, False), True)]

    def check_chain(self, root, arn):
        r = self.get(root, arn)
        ok, out = P.openssl_verify(r["Certificate"], r["CertificateChain"],
                                   self.tmp)
        self.assertTrue(ok, out)
        return P.cert(r["Certificate"])

    def test_end_entity_families(self):
        root = self.shared_root()
        for fam in self.EE:
            for v in self.VARIANTS:
                with self.subTest(template=fam + v):
                    c = self.check_chain(root, self.issue(
                        root, P.make_csr(), fam + v + "/V1"))
                    eku = P.ext(c, x509.ExtendedKeyUsage)
                    self.assertEqual(set(eku.value), self.EKU[fam])
                    self.assertFalse(P.ext(c, x509.BasicConstraints)
                                     .value.ca)
                    self.assertTrue(P.ext(c, x509.KeyUsage).critical)

    def test_subordinate_families(self):
        root = self.shared_root()
        for n in range(4):
            for v in self.VARIANTS:
                t = "SubordinateCACertificate_PathLen%d%s/V1" % (n, v)
                with self.subTest(template=t):
                    c = self.check_chain(root, self.issue(root, P.make_csr(),
                                                          t))
                    bc = P.ext(c, x509.BasicConstraints)
                    self.assertTrue(bc.critical and bc.value.ca)
                    self.assertEqual(bc.value.path_length, n)
            for v in self.VARIANTS[1:]:
                t = "BlankSubordinateCACertificate_PathLen%d%s/V1" % (n, v)
                with self.subTest(template=t):
                    c = self.check_chain(root, self.issue(
                        root, P.make_csr(extensions=self.CA_KU), t,
                        ApiPassthrough={"Extensions": {"KeyUsage": {
                            "KeyCertSign": True, "CRLSign": True}}}))
                    self.assertTrue(P.ext(c, x509.KeyUsage)
                                    .value.key_cert_sign)
                    self.assertEqual(P.ext(c, x509.BasicConstraints)
                                     .value.path_length, n)

    def test_blank_end_entity_families(self):
        root = self.shared_root()
        ku_csr = [(x509.KeyUsage(True, False, False, False, False, False,
                                 False, False, False), True)]
        for fam in ("BlankEndEntityCertificate",
                    "BlankEndEntityCertificate_CriticalBasicConstraints"):
            for v in self.VARIANTS[1:]:
                t = fam + v + "/V1"
                with self.subTest(template=t):
                    c = self.check_chain(root, self.issue(
                        root, P.make_csr(extensions=ku_csr), t))
                    bc = P.ext(c, x509.BasicConstraints)
                    self.assertFalse(bc.value.ca)
                    self.assertEqual(bc.critical, "Critical" in fam)
                    ku = P.ext(c, x509.KeyUsage)
                    if "CSR" in v:
                        self.assertTrue(ku.value.digital_signature)
                    else:
                        self.assertIsNone(ku)

    def test_root_families_and_renewal(self):
        root = self.new_ca(cn="Renewed Root")
        self.activate_root(root)
        csr = self.c.get_certificate_authority_csr(
            CertificateAuthorityArn=root)["Csr"].encode()
        ext_ku = {"KeyUsage": {"KeyCertSign": True, "CRLSign": True}}
        names = ["RootCACertificate/V1", "RootCACertificate_APIPassthrough/V1",
                 "BlankRootCACertificate_APIPassthrough/V1"] + [
            "BlankRootCACertificate_PathLen%d_APIPassthrough/V1" % n
            for n in range(4)]
        for t in names:
            with self.subTest(template=t):
                arn = self.issue(root, csr, t, {"Type": "YEARS", "Value": 2},
                                 ApiPassthrough={"Extensions": ext_ku})
                r = self.get(root, arn)
                self.assertNotIn("CertificateChain", r)
                c = P.cert(r["Certificate"])
                bc = P.ext(c, x509.BasicConstraints)
                self.assertTrue(bc.critical and bc.value.ca)
                if "PathLen" in t:
                    self.assertEqual(bc.value.path_length,
                                     int(t.split("PathLen")[1][0]))
        # renewal: the ACTIVE root re-imports a new certificate, same key
        self.c.import_certificate_authority_certificate(
            CertificateAuthorityArn=root,
            Certificate=r["Certificate"].encode())
        self.assertEqual(self.c.describe_certificate_authority(
            CertificateAuthorityArn=root)["CertificateAuthority"]["Status"],
            "ACTIVE")
        # a root template for a foreign key, and unknown templates
        self.err("InvalidArgsException", self.issue, root, P.make_csr(),
                 "RootCACertificate/V1")
        self.err("InvalidArgsException", self.issue, root, P.make_csr(),
                 "NoSuchTemplate/V1")
        self.err("InvalidArgsException", self.issue, root, P.make_csr(),
                 "BlankEndEntityCertificate/V1")

    def test_passthrough(self):
        root = self.shared_root()
        api = {"Subject": {"CommonName": "api.example", "Country": "FR"},
               "Extensions": {
                   "SubjectAlternativeNames": [{"DnsName": "api.example"}],
                   "ExtendedKeyUsage": [{"ExtendedKeyUsageType":
                                         "SMART_CARD_LOGIN"}]}}
        c = P.cert(self.get(root, self.issue(
            root, P.make_csr(), "EndEntityCertificate_APIPassthrough/V1",
            ApiPassthrough=api))["Certificate"])
        self.assertEqual(c.subject.get_attributes_for_oid(
            NameOID.COMMON_NAME)[0].value, "api.example")
        self.assertEqual(P.ext(c, x509.SubjectAlternativeName).value
                         .get_values_for_type(x509.DNSName), ["api.example"])
        self.assertEqual(set(P.ext(c, x509.ExtendedKeyUsage).value),
                         self.EKU["EndEntityCertificate"])
        base = P.cert(self.get(root, self.issue(
            root, P.make_csr(), "EndEntityCertificate/V1",
            ApiPassthrough=api))["Certificate"])
        self.assertEqual(base.subject.get_attributes_for_oid(
            NameOID.COMMON_NAME)[0].value, "leaf.example.com")
        custom = base64.b64encode(b"\x30\x03\x01\x01\xff").decode()
        blank = dict(api, Extensions={
            "KeyUsage": {"DigitalSignature": True},
            "ExtendedKeyUsage": [{"ExtendedKeyUsageType": "SMART_CARD_LOGIN"}],
            "CustomExtensions": [{"ObjectIdentifier": "1.2.3.4.5",
                                  "Value": custom, "Critical": True}]})
        b = P.cert(self.get(root, self.issue(
            root, P.make_csr(), "BlankEndEntityCertificate_APICSRPassthrough"
            "/V1", ApiPassthrough=blank))["Certificate"])
        self.assertEqual([e.dotted_string for e in
                          P.ext(b, x509.ExtendedKeyUsage).value],
                         ["1.3.6.1.4.1.311.20.2.2"])
        ce = b.extensions.get_extension_for_oid(
            x509.ObjectIdentifier("1.2.3.4.5"))
        self.assertTrue(ce.critical)
        self.assertEqual(ce.value.value, b"\x30\x03\x01\x01\xff")


class T03Validation(Base):
    def test_errors_typed_and_raw(self):
        bad = ("arn:aws:acm-pca:%s:%s:certificate-authority/"
               "00000000-0000-4000-8000-000000000000" % (P.REGION, P.ACCOUNT))
        with self.assertRaises(
                self.c.exceptions.ResourceNotFoundException):
            self.c.describe_certificate_authority(CertificateAuthorityArn=bad)
        with self.assertRaises(self.c.exceptions.InvalidArnException):
            self.c.describe_certificate_authority(
                CertificateAuthorityArn="arn:aws:acm-pca:x:1:nothing")
        st, h, body = P.raw("DescribeCertificateAuthority",
                            {"CertificateAuthorityArn": bad})
        self.assertEqual(st, 400)
        self.assertEqual(body["__type"], "ResourceNotFoundException")
        self.assertTrue(body["message"])
        self.assertEqual(len(h["x-amzn-requestid"]), 36)
        self.assertEqual(h["content-type"], "application/x-amz-json-1.1")

    def test_shape_validation(self):
        c = P.client(validate=False)
        msg = self.err("ValidationException",
                       c.create_certificate_authority,
                       CertificateAuthorityConfiguration={
                           "KeyAlgorithm": "RSA_1024",
                           "SigningAlgorithm": "SHA256WITHRSA",
                           "Subject": {"CommonName": "x"}},
                       CertificateAuthorityType="ROOT")
        self.assertIn("Value 'RSA_1024' at 'certificateAuthorityConfigur"
                      "ation.keyAlgorithm' failed to satisfy constraint: "
                      "Member must satisfy enum value set: [RSA_2048", msg)
        root = self.shared_root()
        self.err("ValidationException", c.delete_certificate_authority,
                 CertificateAuthorityArn=root, PermanentDeletionTimeInDays=31)
        self.err("ValidationException", c.tag_certificate_authority,
                 CertificateAuthorityArn=root,
                 Tags=[{"Key": "k" * 129, "Value": "v"}])
        self.err("InvalidArgsException", self.new_ca,
                 cfg={"SigningAlgorithm": OTHER_SIG})
        self.err("InvalidS3ObjectAclInCrlConfiguration",
                 c.update_certificate_authority,
                 CertificateAuthorityArn=root, RevocationConfiguration={
                     "CrlConfiguration": {"Enabled": True,
                                          "S3BucketName": "bkt",
                                          "S3ObjectAcl": "PRIVATE"}})
        st, _, body = P.raw("ListCertificateAuthorities", {"MaxResults": "x"})
        self.assertEqual((st, body["__type"]), (400, "SerializationException"))

    def test_framing(self):
        st, h, b = P.raw("ListCertificateAuthorities", b"{not json")
        self.assertEqual((st, b["__type"]), (400, "SerializationException"))
        self.assertIn("x-amzn-requestid", h)
        st, _, b = P.raw("NoSuchOperation", b"{}")
        self.assertEqual((st, b["__type"]), (400, "UnknownOperationException"))
        st, _, b = P.raw("ListCertificateAuthorities", b" " * 70000)
        self.assertEqual(st, 413)
        self.assertIn("__type", b)
        st, _, b = P.raw("ListCertificateAuthorities", b"{}",
                         headers={"Transfer-Encoding": "chunked"})
        self.assertEqual(st, 411)
        st, _, b = P.raw("ListCertificateAuthorities", b"", method="GET")
        self.assertEqual(st, 405)
        st, _, b = P.raw("ListCertificateAuthorities", b"{}",
                         path="/some/prefix")
        self.assertEqual(st, 200, b)
        st, _, b = P.raw("ListCertificateAuthorities", b"{}",
                         headers={"Content-Type": "application/json"})
        self.assertEqual(st, 200, b)
        st, _, b = P.raw("ListCertificateAuthorities", b"{}",
                         headers={"Content-Type": "text/plain"})
        self.assertEqual(st, 400)


class T04SigV4(Base):
    def expect(self, code, status=400, **kw):
        st, h, body = P.raw("ListCertificateAuthorities", {}, **kw)
        self.assertEqual((st, body.get("__type")), (status, code), body)
        self.assertIn("x-amzn-requestid", h)
        return body.get("message", "")

    def test_unknown_key(self):
        self.expect("UnrecognizedClientException", akid="AKIAUNKNOWN000000000",
                    secret="x" * 40)
        self.err("UnrecognizedClientException",
                 P.client("AKIAUNKNOWN000000000", "y" * 40)
                 .list_certificate_authorities)

    def test_wrong_secret(self):
        akid, secret = P.admin_creds()
        self.expect("InvalidSignatureException", akid=akid,
                    secret=secret[:-1] + ("A" if secret[-1] != "A" else "B"))
        self.err("InvalidSignatureException",
                 P.client(akid, "w" * 40).list_certificate_authorities)

    def test_tampered_body(self):
        def m(req):
            req.data = b'{"MaxResults":1}'
        self.expect("InvalidSignatureException", mutate=m)

    def test_tampered_header(self):
        def m(req):
            req.headers.replace_header(
                "X-Amz-Target", "ACMPrivateCA.DescribeCertificateAuthority")
        st, _, body = P.raw("ListCertificateAuthorities", {}, mutate=m)
        self.assertEqual(body["__type"], "InvalidSignatureException")

    def test_stale_and_future_date(self):
        now = datetime.datetime.now(datetime.timezone.utc)
        msg = self.expect("InvalidSignatureException",
                          ts=now - datetime.timedelta(minutes=20))
        self.assertIn("Signature expired", msg)
        self.expect("InvalidSignatureException",
                    ts=now + datetime.timedelta(minutes=20))
        self.expect(None, status=200, ts=now - datetime.timedelta(minutes=10))

    def test_wrong_scope(self):
        self.expect("IncompleteSignatureException", service="s3")
        self.expect("InvalidSignatureException", region="eu-central-1")

    def test_missing_headers(self):
        self.expect("MissingAuthenticationTokenException", status=403,
                    sign=False)

        def no_date(req):
            del req.headers["X-Amz-Date"]
        self.expect("IncompleteSignatureException", mutate=no_date)

        def garbled(req):
            req.headers.replace_header("Authorization", "AWS4-HMAC-SHA256 "
                                       "Credential=AKIA/x")
        self.expect("IncompleteSignatureException", mutate=garbled)

        def unsigned_host(req):
            a = req.headers["Authorization"].replace(
                "content-type;host;", "content-type;")
            req.headers.replace_header("Authorization", a)
        self.expect("IncompleteSignatureException", mutate=unsigned_host)

        def token(req):
            req.headers["X-Amz-Security-Token"] = "abc"
        self.expect("UnrecognizedClientException", mutate=token)

        def signed_but_absent(req):
            a = req.headers["Authorization"].replace(
                "SignedHeaders=content-type;", "SignedHeaders=content-type;expect;")
            req.headers.replace_header("Authorization", a)
        msg = self.expect("IncompleteSignatureException",
                          mutate=signed_but_absent)
        self.assertIn("expect", msg)


class T05States(Base):
    def test_state_rules(self):
        ca = self.new_ca(cn="States")
        msg = self.err("InvalidStateException", self.issue, ca, P.make_csr())
        self.assertIn("not in a valid state for issuing certificates", msg)
        msg = self.err("InvalidStateException",
                       self.c.update_certificate_authority,
                       CertificateAuthorityArn=ca, Status="DISABLED")
        self.assertIn("must be in the ACTIVE or DISABLED state to be updated",
                      msg)
        self.activate_root(ca)
        self.err("InvalidStateException", self.c.delete_certificate_authority,
                 CertificateAuthorityArn=ca)
        self.c.update_certificate_authority(CertificateAuthorityArn=ca,
                                            Status="DISABLED")
        self.err("InvalidStateException", self.issue, ca, P.make_csr())
        self.c.update_certificate_authority(CertificateAuthorityArn=ca,
                                            Status="ACTIVE")
        self.issue(ca, P.make_csr())
        self.err("InvalidArgsException", self.c.update_certificate_authority,
                 CertificateAuthorityArn=ca, Status="EXPIRED")

    def test_delete_restore(self):
        ca = self.new_ca(cn="Deleted")
        self.activate_root(ca)
        self.c.update_certificate_authority(CertificateAuthorityArn=ca,
                                            Status="DISABLED")
        self.c.delete_certificate_authority(CertificateAuthorityArn=ca,
                                            PermanentDeletionTimeInDays=7)
        d = self.c.describe_certificate_authority(
            CertificateAuthorityArn=ca)["CertificateAuthority"]
        self.assertEqual(d["Status"], "DELETED")
        left = d["RestorableUntil"].timestamp() - time.time()
        self.assertAlmostEqual(left, 7 * 86400, delta=120)
        arns = [x["Arn"] for p in self.c.get_paginator(
            "list_certificate_authorities").paginate()
            for x in p["CertificateAuthorities"]]
        self.assertIn(ca, arns)
        self.err("InvalidStateException", self.issue, ca, P.make_csr())
        msg = self.err("InvalidStateException", self.c.list_permissions,
                       CertificateAuthorityArn=ca)
        self.assertIn("The certificate authority is in the DELETED state", msg)
        self.c.restore_certificate_authority(CertificateAuthorityArn=ca)
        self.assertEqual(self.c.describe_certificate_authority(
            CertificateAuthorityArn=ca)["CertificateAuthority"]["Status"],
            "DISABLED")
        self.err("InvalidStateException",
                 self.c.restore_certificate_authority,
                 CertificateAuthorityArn=ca)

    def test_revoke(self):
        root = self.shared_root()
        arn = self.issue(root, P.make_csr())
        serial = arn.rsplit("/", 1)[1]
        self.c.revoke_certificate(CertificateAuthorityArn=root,
                                  CertificateSerial=serial,
                                  RevocationReason="KEY_COMPROMISE")
        self.err("RequestAlreadyProcessedException",
                 self.c.revoke_certificate, CertificateAuthorityArn=root,
                 CertificateSerial=":".join(serial[i:i + 2] for i in
                                            range(0, 32, 2)).upper(),
                 RevocationReason="UNSPECIFIED")
        self.assertIn("Certificate", self.get(root, arn))
        self.err("ResourceNotFoundException", self.c.revoke_certificate,
                 CertificateAuthorityArn=root, CertificateSerial="01" * 16,
                 RevocationReason="UNSPECIFIED")
        root_serial = self.c.describe_certificate_authority(
            CertificateAuthorityArn=root)["CertificateAuthority"]["Serial"]
        msg = self.err("InvalidRequestException", self.c.revoke_certificate,
                       CertificateAuthorityArn=root,
                       CertificateSerial=root_serial,
                       RevocationReason="UNSPECIFIED")
        self.assertIn("Self-signed certificate can not be revoked", msg)

    def test_validity(self):
        root = self.shared_root()
        now = time.time()
        c = P.cert(self.get(root, self.issue(
            root, P.make_csr(), validity={"Type": "DAYS", "Value": 1}))
            ["Certificate"])
        self.assertAlmostEqual(c.not_valid_before_utc.timestamp(),
                               now - 3600, delta=120)
        self.assertAlmostEqual(c.not_valid_after_utc.timestamp(),
                               now + 86400, delta=120)
        self.err("ValidationException", self.issue, root, P.make_csr(),
                 validity={"Type": "END_DATE", "Value": 20991231235959})
        nb = int(now) + 7200
        c = P.cert(self.get(root, self.issue(
            root, P.make_csr(), ValidityNotBefore={"Type": "ABSOLUTE",
                                                   "Value": nb}))
            ["Certificate"])
        self.assertEqual(int(c.not_valid_before_utc.timestamp()), nb)
        sl = self.new_ca("SUBORDINATE", cn="Short",
                         UsageMode="SHORT_LIVED_CERTIFICATE")
        sr = self.get(root, self.issue(
            root, self.c.get_certificate_authority_csr(
                CertificateAuthorityArn=sl)["Csr"].encode(),
            "SubordinateCACertificate_PathLen0/V1"))
        self.c.import_certificate_authority_certificate(
            CertificateAuthorityArn=sl, Certificate=sr["Certificate"].encode(),
            CertificateChain=sr["CertificateChain"].encode())
        self.err("InvalidArgsException", self.issue, sl, P.make_csr(),
                 validity={"Type": "DAYS", "Value": 8})
        self.issue(sl, P.make_csr(), validity={"Type": "DAYS", "Value": 6})
        self.err("InvalidArgsException", self.issue, root, P.make_csr(),
                 alg=OTHER_SIG)
        self.err("MalformedCSRException", self.issue, root, b"not a csr")


class T06Lists(Base):
    def test_pagination_cas(self):
        for i in range(5):
            self.new_ca(cn="Page %d" % i)
        pages = list(self.c.get_paginator("list_certificate_authorities")
                     .paginate(PaginationConfig={"PageSize": 2}))
        arns = [x["Arn"] for p in pages for x in p["CertificateAuthorities"]]
        self.assertEqual(len(arns), len(set(arns)))
        self.assertGreaterEqual(len(arns), 5)
        self.assertEqual(len(pages), (len(arns) + 1) // 2)
        self.assertNotIn("NextToken", pages[-1])
        one = list(self.c.get_paginator("list_certificate_authorities")
                   .paginate(PaginationConfig={"PageSize": 1}))
        self.assertEqual([x["Arn"] for p in one
                          for x in p["CertificateAuthorities"]], arns)
        self.err("InvalidNextTokenException",
                 self.c.list_certificate_authorities, NextToken="garbage")
        tok = pages[0]["NextToken"]
        self.err("InvalidNextTokenException",
                 self.c.list_certificate_authorities,
                 NextToken=tok[:-2] + ("AA" if tok[-2:] != "AA" else "BB"))
        self.assertEqual(self.c.list_certificate_authorities(
            ResourceOwner="OTHER_ACCOUNTS")["CertificateAuthorities"], [])

    def test_tags(self):
        ca = self.new_ca(cn="Tags", Tags=[{"Key": "created", "Value": "1"}])
        self.err("InvalidTagException", self.new_ca, cn="T2",
                 Tags=[{"Key": "aws:x", "Value": "1"}])
        tags = [{"Key": "k%02d" % i, "Value": "v%d" % i} for i in range(49)]
        self.c.tag_certificate_authority(CertificateAuthorityArn=ca,
                                         Tags=tags)
        got = [t for p in self.c.get_paginator("list_tags").paginate(
            CertificateAuthorityArn=ca, PaginationConfig={"PageSize": 1})
            for t in p["Tags"]]
        self.assertEqual(len(got), 50)
        self.assertEqual(got[0], {"Key": "created", "Value": "1"})
        self.err("TooManyTagsException", self.c.tag_certificate_authority,
                 CertificateAuthorityArn=ca, Tags=[{"Key": "extra"}])
        self.c.tag_certificate_authority(CertificateAuthorityArn=ca,
                                         Tags=[{"Key": "k00", "Value": "new"}])
        self.err("InvalidTagException", self.c.tag_certificate_authority,
                 CertificateAuthorityArn=ca, Tags=[{"Key": "aws:k"}])
        self.c.untag_certificate_authority(CertificateAuthorityArn=ca, Tags=[
            {"Key": "k00", "Value": "old"}, {"Key": "k01"},
            {"Key": "k02", "Value": "v2"}, {"Key": "absent"}])
        keys = {t["Key"]: t.get("Value") for t in self.c.list_tags(
            CertificateAuthorityArn=ca)["Tags"]}
        self.assertEqual(keys["k00"], "new")
        self.assertNotIn("k01", keys)
        self.assertNotIn("k02", keys)
        self.assertEqual(len(keys), 48)

    def test_policy(self):
        root = self.shared_root()
        self.err("ResourceNotFoundException", self.c.get_policy,
                 ResourceArn=root)
        self.c.delete_policy(ResourceArn=root)
        pol = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Sid": "1", "Effect": "Allow",
             "Principal": {"AWS": "222233334444"},
             "Action": ["acm-pca:IssueCertificate"], "Resource": root,
             "Condition": {"StringEquals": {
                 "acm-pca:TemplateArn": T + "EndEntityCertificate/V1"}}},
            {"Sid": "1", "Effect": "Allow",
             "Principal": {"AWS": "222233334444"},
             "Action": ["acm-pca:GetCertificate",
                        "acm-pca:DescribeCertificateAuthority"],
             "Resource": root}]})
        self.c.put_policy(ResourceArn=root, Policy=pol)
        self.assertEqual(self.c.get_policy(ResourceArn=root)["Policy"], pol)
        self.err("InvalidPolicyException", self.c.put_policy,
                 ResourceArn=root, Policy='{"Version":"2012-10-17"}')
        self.err("InvalidPolicyException", self.c.put_policy,
                 ResourceArn=root, Policy="not json")
        self.c.delete_policy(ResourceArn=root)
        self.err("ResourceNotFoundException", self.c.get_policy,
                 ResourceArn=root)

    def test_permissions(self):
        ca = self.new_ca(cn="Perms")
        self.c.create_permission(CertificateAuthorityArn=ca,
                                 Principal="acm.amazonaws.com",
                                 Actions=["IssueCertificate", "GetCertificate",
                                          "ListPermissions"])
        self.err("PermissionAlreadyExistsException", self.c.create_permission,
                 CertificateAuthorityArn=ca, Principal="acm.amazonaws.com",
                 Actions=["IssueCertificate"], SourceAccount=P.ACCOUNT)
        self.c.create_permission(CertificateAuthorityArn=ca,
                                 Principal="acm.amazonaws.com",
                                 Actions=["GetCertificate"],
                                 SourceAccount="999988887777")
        perms = [x for p in self.c.get_paginator("list_permissions").paginate(
            CertificateAuthorityArn=ca, PaginationConfig={"PageSize": 1})
            for x in p["Permissions"]]
        self.assertEqual(len(perms), 2)
        p0 = [p for p in perms if p["SourceAccount"] == P.ACCOUNT][0]
        self.assertEqual(p0["Principal"], "acm.amazonaws.com")
        self.assertEqual(p0["CertificateAuthorityArn"], ca)
        self.assertTrue(json.loads(p0["Policy"])["Statement"])
        self.assertIn("CreatedAt", p0)
        self.err("ValidationException", self.c.create_permission,
                 CertificateAuthorityArn=ca, Principal="example.com",
                 Actions=["IssueCertificate"])
        self.c.delete_permission(CertificateAuthorityArn=ca,
                                 Principal="acm.amazonaws.com")
        self.err("ResourceNotFoundException", self.c.delete_permission,
                 CertificateAuthorityArn=ca, Principal="acm.amazonaws.com")

    def test_audit_reports_need_s3(self):
        root = self.shared_root()
        self.err("RequestFailedException",
                 self.c.create_certificate_authority_audit_report,
                 CertificateAuthorityArn=root, S3BucketName="bucket",
                 AuditReportResponseFormat="JSON")
        rid = "0b8a4c1e-2f6a-4d1e-9c3b-7a5d6e8f9a0b"
        self.err("ResourceNotFoundException",
                 self.c.describe_certificate_authority_audit_report,
                 CertificateAuthorityArn=root, AuditReportId=rid)
        with self.assertRaises(botocore.exceptions.WaiterError):
            self.c.get_waiter("audit_report_created").wait(
                CertificateAuthorityArn=root, AuditReportId=rid,
                WaiterConfig={"Delay": 1, "MaxAttempts": 2})


class T07Keys(Base):
    def key(self, role):
        r = P.pcactl("key", "create", "--role", role)
        self.assertEqual(r.returncode, 0, r.stderr)
        return P.parse_key(r.stdout)

    def test_roles_and_revocation(self):
        root = self.shared_root()
        ia, isec = self.key("issuer")
        issuer = P.client(ia, isec)
        arn = self.issue(root, P.make_csr(), c=issuer)
        issuer.get_certificate(CertificateAuthorityArn=root,
                               CertificateArn=arn)
        issuer.describe_certificate_authority(CertificateAuthorityArn=root)
        self.err("AccessDeniedException", issuer.revoke_certificate,
                 CertificateAuthorityArn=root,
                 CertificateSerial=arn.rsplit("/", 1)[1],
                 RevocationReason="UNSPECIFIED")
        self.err("AccessDeniedException", issuer.delete_policy,
                 ResourceArn=root)
        aa, asec = self.key("auditor")
        auditor = P.client(aa, asec)
        auditor.list_certificate_authorities()
        auditor.get_certificate(CertificateAuthorityArn=root,
                                CertificateArn=arn)
        self.err("AccessDeniedException", self.issue, root, P.make_csr(),
                 c=auditor)
        self.err("AccessDeniedException",
                 auditor.create_certificate_authority,
                 CertificateAuthorityConfiguration=dict(
                     EC_CFG, Subject={"CommonName": "x"}),
                 CertificateAuthorityType="ROOT")
        listed = P.pcactl("--json", "key", "list")
        self.assertIn(ia, listed.stdout)
        self.assertNotIn(isec, listed.stdout)
        r = P.pcactl("key", "revoke", ia)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.err("UnrecognizedClientException",
                 issuer.list_certificate_authorities)


class T075CrossAccount(Base):
    OTHER = "222233334444"

    def test_resource_policy_enforced(self):
        r = P.pcactl("key", "create", "--role", "admin", "--account",
                     self.OTHER)
        self.assertEqual(r.returncode, 0, r.stderr)
        other = P.client(*P.parse_key(r.stdout))
        ca = self.new_ca(cn="Shared")
        self.activate_root(ca)
        private = self.new_ca(cn="Private")
        self.err("InvalidArnException", other.describe_certificate_authority,
                 CertificateAuthorityArn=private)
        self.c.put_policy(ResourceArn=ca, Policy=json.dumps({
            "Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": self.OTHER},
                 "Action": "acm-pca:IssueCertificate", "Resource": ca,
                 "Condition": {"StringEquals": {"acm-pca:TemplateArn":
                                                T + "EndEntityCertificate/V1"}}},
                {"Effect": "Allow", "Principal": {"AWS": self.OTHER},
                 "Action": ["acm-pca:GetCertificate",
                            "acm-pca:DescribeCertificateAuthority"],
                 "Resource": ca}]}))
        d = other.describe_certificate_authority(CertificateAuthorityArn=ca)
        self.assertEqual(d["CertificateAuthority"]["OwnerAccount"], P.ACCOUNT)
        arn = self.issue(ca, P.make_csr(), "EndEntityCertificate/V1",
                         c=other)
        other.get_certificate(CertificateAuthorityArn=ca, CertificateArn=arn)
        self.err("AccessDeniedException", self.issue, ca, P.make_csr(),
                 "CodeSigningCertificate/V1", c=other)
        self.err("AccessDeniedException", other.revoke_certificate,
                 CertificateAuthorityArn=ca,
                 CertificateSerial=arn.rsplit("/", 1)[1],
                 RevocationReason="UNSPECIFIED")
        shared = [x["Arn"] for x in other.list_certificate_authorities(
            ResourceOwner="OTHER_ACCOUNTS")["CertificateAuthorities"]]
        self.assertEqual(shared, [ca])
        self.assertNotIn(ca, [x["Arn"] for x in
                              other.list_certificate_authorities()
                              ["CertificateAuthorities"]])


class T08Idempotency(Base):
    def test_idempotency_and_restart(self):
        root = self.shared_root()
        csr = P.make_csr()
        a1 = self.issue(root, csr, IdempotencyToken="tok-1")
        a2 = self.issue(root, csr, IdempotencyToken="tok-1")
        a3 = self.issue(root, csr, IdempotencyToken="tok-2")
        self.assertEqual(a1, a2)
        self.assertNotEqual(a1, a3)
        kw = dict(CertificateAuthorityConfiguration=dict(
            EC_CFG, Subject={"CommonName": "Idem"}),
            CertificateAuthorityType="ROOT",
            IdempotencyToken="terraform-202611282355160000abcd1234")
        c1 = self.c.create_certificate_authority(**kw)
        c2 = self.c.create_certificate_authority(**kw)
        self.assertEqual(c1["CertificateAuthorityArn"],
                         c2["CertificateAuthorityArn"])
        self.assertEqual(DAEMON.stop(), 0)
        DAEMON.start()
        c = P.client()
        self.assertEqual(self.issue(root, csr, IdempotencyToken="tok-1",
                                    c=c), a1)
        self.assertEqual(c.create_certificate_authority(**kw)
                         ["CertificateAuthorityArn"],
                         c1["CertificateAuthorityArn"])
        # NextTokens survive the restart too
        self.new_ca(cn="p1")
        self.new_ca(cn="p2")


class T09Daemon(Base):
    def test_health_metrics(self):
        st, ct, body = P.http_get("/health")
        self.assertEqual(st, 200)
        self.assertEqual(json.loads(body)["status"], "ok")
        self.c.list_certificate_authorities()
        st, ct, body = P.http_get("/metrics")
        self.assertEqual(st, 200)
        self.assertTrue(ct.startswith("text/plain"))
        self.assertIn(b'pcad_api_requests_total{op="ListCertificateAuthorities"'
                      b',outcome="ok"}', body)
        self.assertIn(b"pcad_api_request_duration_seconds_bucket", body)
        self.assertIn(b"pcad_hsm_signs_total", body)
        st, ct, body = P.http_get("/ocsp-not-yet")
        self.assertEqual(st, 404)
        self.assertIn("__type", json.loads(body))

    def test_second_pcad_refused(self):
        r = subprocess.run([os.path.join(P.BIN, "pcad"), "--config", P.CONF],
                           capture_output=True, text=True, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("another pcad (pid %d)" % DAEMON.proc.pid, r.stderr)
        self.c.list_certificate_authorities()  # the first one still serves

    def test_reload_and_check_config(self):
        r = subprocess.run([os.path.join(P.BIN, "pcad"), "--config", P.CONF,
                            "--check-config"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(len(r.stdout.strip().splitlines()), 1)
        bad = os.path.join(self.tmp, "bad.conf")
        with open(bad, "w") as f:
            f.write("[appliance]\nregion = us-east-1\n")
        r = subprocess.run([os.path.join(P.BIN, "pcad"), "--config", bad,
                            "--check-config"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        orig = open(P.CONF).read()
        try:
            with open(P.CONF, "w") as f:
                f.write(orig + "\n[log]\nlevel = debug\n")
            DAEMON.signal(signal.SIGHUP)
            time.sleep(1)
            self.c.list_certificate_authorities()
            with open(P.CONF, "w") as f:
                f.write(orig + "\n[bogus]\nkey = 1\n")
            DAEMON.signal(signal.SIGHUP)
            time.sleep(1)
            self.c.list_certificate_authorities()
        finally:
            with open(P.CONF, "w") as f:
                f.write(orig)
        log = open(os.path.join(P.DIR, "pcad.log")).read()
        self.assertIn("configuration reloaded", log)
        self.assertIn("keeping the running configuration", log)

    def test_aws_cli_smoke(self):
        root = self.shared_root()
        env = dict(os.environ,
                   AWS_SHARED_CREDENTIALS_FILE=os.path.join(P.DIR,
                                                            "credentials"),
                   AWS_CONFIG_FILE="/dev/null", AWS_CA_BUNDLE=P.BUNDLE,
                   AWS_DEFAULT_REGION=P.REGION)
        base = ["aws", "acm-pca", "--endpoint-url", P.API, "--output", "json"]

        def cli(*a):
            r = subprocess.run(base + list(a), capture_output=True, text=True,
                               env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            return json.loads(r.stdout) if r.stdout.strip() else {}
        self.assertIn("CertificateAuthorities",
                      cli("list-certificate-authorities", "--max-items", "2"))
        d = cli("describe-certificate-authority",
                "--certificate-authority-arn", root)
        self.assertEqual(d["CertificateAuthority"]["Status"], "ACTIVE")
        csr = os.path.join(self.tmp, "cli.csr")
        with open(csr, "wb") as f:
            f.write(P.make_csr())
        arn = cli("issue-certificate", "--certificate-authority-arn", root,
                  "--csr", "fileb://" + csr, "--signing-algorithm",
                  SIG, "--validity", "Value=7,Type=DAYS")[
            "CertificateArn"]
        cli("wait", "certificate-issued", "--certificate-authority-arn", root,
            "--certificate-arn", arn)
        got = cli("get-certificate", "--certificate-authority-arn", root,
                  "--certificate-arn", arn)
        self.assertIn("BEGIN CERTIFICATE", got["Certificate"])
        r = subprocess.run(base + ["describe-certificate-authority",
                                   "--certificate-authority-arn", root[:-3]
                                   + "fff"], capture_output=True, text=True,
                           env=env)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("ResourceNotFoundException", r.stderr)

    def test_zz_sigterm(self):
        self.assertEqual(DAEMON.stop(), 0)
        log = open(os.path.join(P.DIR, "pcad.log")).read()
        self.assertIn("stopped", log)
        DAEMON.start()


class Tap(unittest.TextTestResult):
    n = 0

    def line(self, test, ok, note=""):
        Tap.n += 1
        name = test.id().split(".", 1)[-1] if hasattr(test, "id") else str(
            test)
        print("%s %d - %s%s" % ("ok" if ok else "not ok", Tap.n, name, note),
              flush=True)

    def addSuccess(self, test):
        super().addSuccess(test)
        self.line(test, True)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.line(test, False)

    def addError(self, test, err):
        super().addError(test, err)
        self.line(test, False)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.line(test, True, " # SKIP " + reason)

    def addSubTest(self, test, sub, err):
        super().addSubTest(test, sub, err)
        if err is not None:
            self.line(sub, False)


def main():
    DAEMON.start()
    try:
        suite = unittest.defaultTestLoader.loadTestsFromModule(
            sys.modules[__name__])
        r = unittest.TextTestRunner(resultclass=Tap, verbosity=0,
                                    stream=sys.stderr).run(suite)
    finally:
        DAEMON.stop()
    return 0 if r.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
