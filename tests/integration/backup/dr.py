"""Helpers of test_dr.sh, through unmodified boto3 (pcad's API) and boto3
against moto (S3).

  dr.py revoke CA_ARN CERT_ARN...   revoke each (KEY_COMPROMISE)
  dr.py check CA_ARN LOG REVOKED ROOT OCSP_URL
        every certificate ARN of LOG (load.py's format) is retrievable and
        answers OCSP (openssl ocsp) good, or revoked when listed in REVOKED
  dr.py bucket S3_URL BUCKET...     create the buckets (moto without auth)
  dr.py crlnum S3_URL BUCKET KEY    the CRL number of the object (0: none)
Prints "# ..." details; exit status 0 when everything held.  load.py and
standby/sb.py import its boto3 clients (pca, s3)."""
import os
import subprocess
import sys
import tempfile

import boto3
from botocore.config import Config

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "api"))


def pca(attempts=3):
    """boto3 against PCA_DIR's pcad (admin key), ATTEMPTS tries a call."""
    import pcaclient
    ak, sk = pcaclient.admin_creds()
    return boto3.client("acm-pca", region_name=pcaclient.REGION,
                        endpoint_url=pcaclient.API, verify=pcaclient.BUNDLE,
                        aws_access_key_id=ak, aws_secret_access_key=sk,
                        config=Config(retries={"max_attempts": attempts}))


def s3(url):
    """boto3 against moto as S3 at URL (path-style, test credentials)."""
    return boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="testing",
                        aws_secret_access_key="testing",
                        config=Config(s3={"addressing_style": "path"}))


def serial_of(arn):
    h = arn.rsplit("/", 1)[1]
    return ":".join(h[i:i + 2] for i in range(0, len(h), 2))


def revoke(ca, arns):
    c = pca()
    for arn in arns:
        c.revoke_certificate(CertificateAuthorityArn=ca,
                             CertificateSerial=serial_of(arn),
                             RevocationReason="KEY_COMPROMISE")
    return 0


def check(ca, log, revoked, root, url):
    c = pca()
    rev = {l.strip() for l in open(revoked) if l.strip()}
    arns = [l.split()[2] for l in open(log) if not l.startswith("error")]
    bad = 0
    tmp = tempfile.mkdtemp()
    for i, arn in enumerate(arns):
        try:
            pem = c.get_certificate(CertificateAuthorityArn=ca,
                                    CertificateArn=arn)["Certificate"]
        except Exception as e:
            print("# not retrievable: %s (%s)" % (arn, e))
            bad += 1
            continue
        f = os.path.join(tmp, "c%d.pem" % i)
        with open(f, "w") as h:
            h.write(pem)
        want = "revoked" if arn in rev else "good"
        r = subprocess.run(["openssl", "ocsp", "-issuer", root, "-url", url,
                            "-no_nonce", "-CAfile", root, "-cert", f],
                           capture_output=True, text=True)
        out = r.stdout + r.stderr
        if "Response verify OK" not in out or \
                not any(l.endswith(": " + want) for l in out.splitlines()):
            print("# OCSP for %s: wanted %s, got: %s" %
                  (arn, want, out.strip().replace("\n", " | ")[:300]))
            bad += 1
    print("# %d certificates checked (%d revoked), %d problems" %
          (len(arns), len([a for a in arns if a in rev]), bad))
    return 1 if bad or not arns else 0


def crlnum(url, bucket, key):
    from cryptography import x509
    try:
        body = s3(url).get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception:
        print(0)
        return 0
    crl = x509.load_der_x509_crl(body)
    ext = crl.extensions.get_extension_for_class(x509.CRLNumber)
    print(ext.value.crl_number)
    return 0


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "revoke":
        return revoke(args[0], args[1:])
    if cmd == "check":
        return check(*args)
    if cmd == "bucket":
        for b in args[1:]:
            s3(args[0]).create_bucket(Bucket=b)
        return 0
    if cmd == "crlnum":
        return crlnum(*args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
