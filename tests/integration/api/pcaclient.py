"""Helpers for the pcad suite: the daemon's life cycle, boto3 clients, raw
SigV4 requests (to send what boto3 never would), CSRs and certificates."""
import atexit
import configparser
import datetime
import http.client
import json
import os
import signal
import ssl
import subprocess
import time
import urllib.request

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.credentials import Credentials
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

DIR = os.environ["PCA_DIR"]
BIN = os.environ.get("BIN", "bin")
CONF = os.path.join(DIR, "pcad.conf")
BUNDLE = os.path.join(DIR, "tls", "ca.pem")


def conf_value(section, key):
    cp = configparser.ConfigParser()
    cp.read(CONF)
    return cp[section][key]


REGION = conf_value("appliance", "region")
ACCOUNT = conf_value("appliance", "account_id")
API = "https://" + conf_value("api", "listen")
HTTP = "http://" + conf_value("http", "listen")


def admin_creds():
    cp = configparser.ConfigParser()
    cp.read(os.path.join(DIR, "credentials"))
    d = cp["default"]
    return d["aws_access_key_id"], d["aws_secret_access_key"]


class Daemon:
    """pcad in the background, logging to DIR/pcad.log."""

    def __init__(self):
        self.proc = None
        # however a test ends, it leaves no pcad behind
        atexit.register(self._reap)

    def _reap(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def start(self):
        log = open(os.path.join(DIR, "pcad.log"), "ab")
        self.proc = subprocess.Popen([os.path.join(BIN, "pcad"), "--config",
                                      CONF], stdout=log, stderr=log)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("pcad exited with %d" % self.proc.returncode)
            try:
                with urllib.request.urlopen(HTTP + "/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("pcad did not become healthy")

    def stop(self):
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc = None
        return rc

    def signal(self, sig):
        self.proc.send_signal(sig)


def client(akid=None, secret=None, validate=True, retries=0):
    if akid is None:
        akid, secret = admin_creds()
    cfg = Config(parameter_validation=validate,
                 retries={"max_attempts": retries + 1, "mode": "standard"})
    return boto3.client("acm-pca", endpoint_url=API, region_name=REGION,
                        aws_access_key_id=akid, aws_secret_access_key=secret,
                        verify=BUNDLE, config=cfg)


def get_cert(c, ca, arn):
    """GetCertificate through client c, retried for 5 s while it answers
    RequestInProgressException: the certificate PEM."""
    for _ in range(50):
        try:
            return c.get_certificate(CertificateAuthorityArn=ca,
                                     CertificateArn=arn)["Certificate"]
        except ClientError as e:
            if e.response["Error"]["Code"] != "RequestInProgressException":
                raise
            time.sleep(0.1)
    raise RuntimeError("certificate %s never ready" % arn)


def new_root(c, subject, validity=None, **create):
    """An ACTIVE EC P-256 root CA through client c: CreateCertificateAuthority
    (Subject SUBJECT; CREATE: more of its arguments), its CSR issued with
    RootCACertificate/V1 for VALIDITY (default 5 years), the certificate
    imported.  Returns (CA ARN, certificate PEM)."""
    arn = c.create_certificate_authority(
        CertificateAuthorityConfiguration={
            "KeyAlgorithm": "EC_prime256v1",
            "SigningAlgorithm": "SHA256WITHECDSA", "Subject": subject},
        CertificateAuthorityType="ROOT", **create)["CertificateAuthorityArn"]
    csr = c.get_certificate_authority_csr(CertificateAuthorityArn=arn)["Csr"]
    cert_arn = c.issue_certificate(
        CertificateAuthorityArn=arn, Csr=csr.encode(),
        SigningAlgorithm="SHA256WITHECDSA",
        TemplateArn="arn:aws:acm-pca:::template/RootCACertificate/V1",
        Validity=validity or {"Type": "YEARS", "Value": 5})["CertificateArn"]
    pem = get_cert(c, arn, cert_arn)
    c.import_certificate_authority_certificate(
        CertificateAuthorityArn=arn, Certificate=pem.encode())
    return arn, pem


def list_certificates(body, akid=None, secret=None, page=None):
    """OpenPCA.ListCertificates with body (MaxResults page), through every
    NextToken: (the certificates, the number of calls)."""
    out, tok, calls = [], None, 0
    while True:
        b = dict(body)
        if page:
            b["MaxResults"] = page
        if tok:
            b["NextToken"] = tok
        st, _, r = raw("ListCertificates", b, akid=akid, secret=secret,
                       headers={"X-Amz-Target": "OpenPCA.ListCertificates"})
        calls += 1
        if st != 200:
            raise RuntimeError("%d %s" % (st, r))
        out += r["Certificates"]
        tok = r.get("NextToken")
        if not tok:
            return out, calls


def pcactl(*args):
    env = dict(os.environ, PCACTL_CONFIG=CONF)
    return subprocess.run([os.path.join(BIN, "pcactl"), "--config", CONF]
                          + list(args), capture_output=True, text=True,
                          env=env)


def parse_key(text):
    cp = configparser.ConfigParser()
    cp.read_string(text)
    return (cp["default"]["aws_access_key_id"],
            cp["default"]["aws_secret_access_key"])


def raw(op, body, akid=None, secret=None, ts=None, region=None,
        service="acm-pca", headers=None, mutate=None, sign=True,
        path="/", method="POST"):
    """One request signed like botocore does, optionally mangled after
    signing; returns (status, headers, parsed JSON body or raw bytes)."""
    if akid is None:
        akid, secret = admin_creds()
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    host = API.split("://", 1)[1]
    hdrs = {"X-Amz-Target": "ACMPrivateCA." + op,
            "Content-Type": "application/x-amz-json-1.1"}
    hdrs.update(headers or {})
    req = AWSRequest(method=method, url=API + path, data=body, headers=hdrs)
    if sign:
        auth = SigV4Auth(Credentials(akid, secret), service, region or REGION)
        stamp = (ts or datetime.datetime.now(datetime.timezone.utc))
        stamp = stamp.strftime("%Y%m%dT%H%M%SZ")
        req.context["timestamp"] = stamp
        req.headers["X-Amz-Date"] = stamp
        canon = auth.canonical_request(req)
        sts = auth.string_to_sign(req, canon)
        sig = auth.signature(sts, req)
        req.headers["Authorization"] = (
            "AWS4-HMAC-SHA256 Credential=%s, SignedHeaders=%s, "
            "Signature=%s" % (auth.scope(req),
                              auth.signed_headers(auth.headers_to_sign(req)),
                              sig))
    if mutate:
        mutate(req)
    ctx = ssl.create_default_context(cafile=BUNDLE)
    h, p = host.rsplit(":", 1)
    conn = http.client.HTTPSConnection(h, int(p), context=ctx, timeout=30)
    try:
        conn.putrequest(req.method, path, skip_host=True,
                        skip_accept_encoding=True)
        conn.putheader("Host", host)
        for k, v in req.headers.items():
            conn.putheader(k, v)
        data = req.body or b""
        if isinstance(data, str):
            data = data.encode()
        if "Transfer-Encoding" not in req.headers:
            conn.putheader("Content-Length", str(len(data)))
        conn.endheaders()
        if "Transfer-Encoding" in req.headers:
            conn.send(b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data))
        else:
            conn.send(data)
        r = conn.getresponse()
        out = r.read()
        try:
            out = json.loads(out)
        except ValueError:
            pass
        return r.status, {k.lower(): v for k, v in r.getheaders()}, out
    finally:
        conn.close()


def http_get(path):
    try:
        with urllib.request.urlopen(HTTP + path, timeout=10) as r:
            return r.status, r.headers.get("Content-Type"), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read()


# ---- keys, CSRs, certificates ----

def ec_key():
    return ec.generate_private_key(ec.SECP256R1())


def make_csr(key=None, cn="leaf.example.com", sans=("leaf.example.com",),
             extensions=()):
    key = key or ec_key()
    b = x509.CertificateSigningRequestBuilder()
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)] if cn else [
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "aws")]
    b = b.subject_name(x509.Name(attrs))
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName(s) for s in sans]), critical=False)
    for ext, crit in extensions:
        b = b.add_extension(ext, critical=crit)
    csr = b.sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM)


def cert(pem):
    if isinstance(pem, str):
        pem = pem.encode()
    return x509.load_pem_x509_certificate(pem)


def ext(c, cls):
    try:
        return c.extensions.get_extension_for_class(cls)
    except x509.ExtensionNotFound:
        return None


def openssl_verify(leaf_pem, chain_pem, workdir):
    """openssl verify with the last chain block as the trust anchor."""
    blocks = [b for b in chain_pem.split("-----END CERTIFICATE-----")
              if "BEGIN" in b]
    blocks = [b.strip() + "\n-----END CERTIFICATE-----\n" for b in blocks]
    root = os.path.join(workdir, "root.pem")
    inter = os.path.join(workdir, "inter.pem")
    leaf = os.path.join(workdir, "leaf.pem")
    with open(root, "w") as f:
        f.write(blocks[-1])
    with open(inter, "w") as f:
        f.write("".join(blocks[:-1]))
    with open(leaf, "w") as f:
        f.write(leaf_pem)
    args = ["openssl", "verify", "-x509_strict", "-CAfile", root]
    if len(blocks) > 1:
        args += ["-untrusted", inter]
    r = subprocess.run(args + [leaf], capture_output=True, text=True)
    return r.returncode == 0, r.stdout + r.stderr
