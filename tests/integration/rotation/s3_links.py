"""The link certificates of a rotated root reach S3 through the outbox.

Run by tests/integration/test_rotation.sh with ROT_TMP and BIN set:
moto_server as S3 (SigV4 enforced), an appliance made with pcactl init
--s3-endpoint, a root with a CRL bucket rotated through the API.  Prints
"PASS name" / "FAIL name: detail" lines.
"""
import atexit
import os
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "crl"))
sys.path.insert(0, os.path.join(HERE, "..", "api"))

import s3env  # noqa: E402
from suite import wait_for  # noqa: E402

TMP = os.environ["ROT_TMP"]
BIN = os.environ["BIN"]
APP = os.path.join(TMP, "s3app")
BUCKET = "rot-links"
OK = True


def result(ok, name, detail=""):
    global OK
    OK = OK and bool(ok)
    print(("PASS %s" % name) if ok else ("FAIL %s: %s" % (name, detail)),
          flush=True)


moto = s3env.Moto(s3env.free_port(), TMP)
atexit.register(lambda: moto.stop())
moto.start()
key = moto.setup(BUCKET)
os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"] = key
rc, out = s3env.init_appliance(os.path.join(BIN, "pcactl"), APP, moto)
if rc != 0:
    result(False, "pcactl init --s3-endpoint", out)
    sys.exit(1)
os.environ["PCA_DIR"] = APP
import pcaclient as P  # noqa: E402

d = P.Daemon()
d.start()
atexit.register(d.stop)
c = P.client(retries=2)
cfg = {"KeyAlgorithm": "EC_prime256v1", "SigningAlgorithm": "SHA256WITHECDSA",
       "Subject": {"CommonName": "S3 Rotation Root", "Country": "US"}}
root = c.create_certificate_authority(
    CertificateAuthorityConfiguration=cfg, CertificateAuthorityType="ROOT",
    RevocationConfiguration={"CrlConfiguration": {
        "Enabled": True, "S3BucketName": BUCKET}})["CertificateAuthorityArn"]
csr = c.get_certificate_authority_csr(CertificateAuthorityArn=root)["Csr"]
a = c.issue_certificate(
    CertificateAuthorityArn=root, Csr=csr.encode(),
    SigningAlgorithm="SHA256WITHECDSA",
    TemplateArn="arn:aws:acm-pca:::template/RootCACertificate/V1",
    Validity={"Type": "YEARS", "Value": 5})["CertificateArn"]
pem = wait_for(lambda: c.get_certificate(CertificateAuthorityArn=root,
                                         CertificateArn=a)["Certificate"], 5)
c.import_certificate_authority_certificate(CertificateAuthorityArn=root,
                                           Certificate=pem.encode())
st, _, body = P.raw("RotateCertificateAuthority",
                    {"CertificateAuthorityArn": root},
                    headers={"X-Amz-Target":
                             "OpenPCA.RotateCertificateAuthority"})
result(st == 200, "rotation of a root with a CRL bucket", "%s %s" % (st, body))
rid = root.rsplit("/", 1)[1]
for name in ("new-signed-by-old.crt", "old-signed-by-new.crt"):
    k = "rotation/%s/%s" % (rid, name)
    got = wait_for(lambda: moto.get(BUCKET, k), 20)
    hst, ctype, served = P.http_get("/" + k)
    result(got is not None and hst == 200 and got == served,
           "S3: %s published to the CRL bucket, the same bytes as served over "
           "HTTP" % k, "s3 %r, http %s %s" % (got is not None, hst, ctype))
sys.exit(0 if OK else 1)
