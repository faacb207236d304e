"""test_aia.sh's python side: a certificate's CDP and AIA URLs as python
cryptography reads them, and the API (boto3) views of a CA.

  aia_tool.py urls CERT.pem        one "cdp|ocsp|issuers URL" line each
  aia_tool.py cacert ARN OUT.der   GetCertificateAuthorityCertificate, DER
  aia_tool.py api-rules            the API keeps AWS's revocation rules
"""
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import AuthorityInformationAccessOID as AIA

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "api"))


def urls(path):
    with open(path, "rb") as f:
        c = x509.load_pem_x509_certificate(f.read())
    try:
        for dp in c.extensions.get_extension_for_class(
                x509.CRLDistributionPoints).value:
            for n in dp.full_name or []:
                print("cdp", n.value)
    except x509.ExtensionNotFound:
        pass
    try:
        for ad in c.extensions.get_extension_for_class(
                x509.AuthorityInformationAccess).value:
            kind = {AIA.OCSP: "ocsp", AIA.CA_ISSUERS: "issuers"}.get(
                ad.access_method, ad.access_method.dotted_string)
            print(kind, ad.access_location.value)
    except x509.ExtensionNotFound:
        pass


def cacert(arn, out):
    import pcaclient as P
    pem = P.client().get_certificate_authority_certificate(
        CertificateAuthorityArn=arn)["Certificate"]
    der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(
        serialization.Encoding.DER)
    with open(out, "wb") as f:
        f.write(der)


def api_rules():
    """Over the wire, no RevocationConfiguration still means none, and an
    enabled CRL still needs an S3BucketName (pcactl's local CRL is not
    on offer there)."""
    import botocore.exceptions
    import pcaclient as P
    c = P.client()
    cfg = {"KeyAlgorithm": "EC_prime256v1",
           "SigningAlgorithm": "SHA256WITHECDSA",
           "Subject": {"CommonName": "API Root"}}
    arn = c.create_certificate_authority(
        CertificateAuthorityConfiguration=cfg,
        CertificateAuthorityType="ROOT")["CertificateAuthorityArn"]
    rc = c.describe_certificate_authority(CertificateAuthorityArn=arn)[
        "CertificateAuthority"].get("RevocationConfiguration", {})
    if rc.get("CrlConfiguration", {}).get("Enabled") or \
            rc.get("OcspConfiguration", {}).get("Enabled"):
        print("no RevocationConfiguration gave", rc)
        return 1
    try:
        c.create_certificate_authority(
            CertificateAuthorityConfiguration=cfg,
            CertificateAuthorityType="ROOT",
            RevocationConfiguration={"CrlConfiguration": {"Enabled": True}})
    except botocore.exceptions.ClientError as e:
        err = e.response["Error"]
        if err["Code"] == "InvalidArgsException" and \
                "S3BucketName" in err["Message"]:
            return 0
        print("unexpected error", err)
        return 1
    print("a CRL without S3BucketName was accepted over the API")
    return 1


def main():
    if sys.argv[1] == "urls":
        urls(sys.argv[2])
        return 0
    if sys.argv[1] == "cacert":
        cacert(sys.argv[2], sys.argv[3])
        return 0
    if sys.argv[1] == "api-rules":
        return api_rules()
    return 2


if __name__ == "__main__":
    sys.exit(main())
