"""Backups to and from S3: moto_server as S3 with SigV4 enforced; the object
is judged by boto3 and python's tarfile and hashlib.  Prints TAP lines."""
import hashlib
import io
import json
import os
import sys
import tarfile

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "crl"))
sys.path.insert(0, os.path.join(HERE, "..", "api"))
import s3env  # noqa: E402
from suite import plan, sh, tap  # noqa: E402

TMP = os.environ["BK_TMP"]
BIN = os.environ["BIN"]
APP = os.path.join(TMP, "app")
BUCKET = "backup-bucket"
PCACTL = os.path.join(BIN, "pcactl")


def ctl(*args):
    return sh(PCACTL, "--config", os.path.join(APP, "pcad.conf"), *args)


moto = s3env.Moto(s3env.free_port(), TMP)
try:
    moto.start()
    key = moto.setup(BUCKET)
    env = dict(os.environ, AWS_ACCESS_KEY_ID=key[0], AWS_SECRET_ACCESS_KEY=key[1])
    rc, out = s3env.init_appliance(PCACTL, APP, moto, "--region",
                                   "us-east-1", env=env)
    tap(rc == 0, "pcactl init --s3-endpoint", out)
    rc, root = ctl("ca", "create", "--type", "ROOT", "--key-alg",
                   "EC_prime256v1", "--signing-alg", "SHA256WITHECDSA",
                   "--subject", "CN=S3 Backup Root,O=OpenPCA Test,C=US",
                   "--revocation", "none")
    root = root.strip()
    csr = os.path.join(TMP, "root.csr")
    pem = os.path.join(TMP, "root.pem")
    ok = rc == 0 and ctl("ca", "csr", root, "--out", csr)[0] == 0 and \
        ctl("issue", "--ca", root, "--csr", csr, "--signing-alg",
            "SHA256WITHECDSA", "--validity", "10y", "--template",
            "RootCACertificate", "--out", pem)[0] == 0 and \
        ctl("ca", "import", root, "--cert", pem)[0] == 0
    tap(ok, "setup: an ACTIVE root CA")

    rc, out = ctl("backup", "--to", "s3://%s/nightly/" % BUCKET)
    tap(rc == 0 and "s3://%s/nightly/openpca-" % BUCKET in out,
        "pcactl backup --to s3://bucket/prefix/", out)
    url = out.strip().split(" -> ")[-1]
    okey = url[len("s3://%s/" % BUCKET):]
    tap(okey in moto.keys(BUCKET) and okey.endswith(".tar"),
        "the backup is an object under the prefix (boto3 lists it)",
        "%s not in %s" % (okey, moto.keys(BUCKET)))
    body = moto.get(BUCKET, okey) or b""
    try:
        with tarfile.open(fileobj=io.BytesIO(body)) as t:
            names = t.getnames()
            man = json.load(t.extractfile("manifest.json"))
            good = names[0] == "manifest.json" and all(
                hashlib.sha256(t.extractfile(p["Name"]).read()).hexdigest() ==
                p["Sha256"] for p in man["Parts"])
        detail = names
    except Exception as e:  # a broken object fails the check below
        good, detail = False, e
    tap(good, "the object is a tar whose parts match the manifest's SHA-256",
        detail)
    rc, out = ctl("backup", "verify", url)
    tap(rc == 0 and "backup verified" in out, "pcactl backup verify s3://...",
        out)
    tap(not [f for f in os.listdir("/tmp") if f.startswith("openpca-backup.")],
        "no local copy of the archive is left behind")

    creds = os.path.join(APP, "s3.credentials")
    dest = os.path.join(TMP, "restored")
    rc, out = sh(PCACTL, "restore", url, dest, "--pin-file",
                 os.path.join(APP, "hsm", "user.pin"), "--s3-endpoint",
                 moto.url, "--s3-credentials", creds)
    tap(rc == 0 and "restored backup" in out, "pcactl restore s3://... DIR", out)
    rc, out = sh(PCACTL, "--config", os.path.join(dest, "pcad.conf"), "store",
                 "verify")
    tap(rc == 0 and "1 CAs, 1 certificates" in out,
        "the restored store verifies clean with the CA and its certificate",
        out)

    rc, out = sh(PCACTL, "restore", "s3://%s/nightly/none.tar" % BUCKET,
                 os.path.join(TMP, "r404"), "--pin-file",
                 os.path.join(APP, "hsm", "user.pin"), "--s3-endpoint",
                 moto.url, "--s3-credentials", creds)
    tap(rc != 0 and "404" in out and len(out.strip().splitlines()) == 1 and
        not os.path.exists(os.path.join(TMP, "r404")),
        "restore of a missing object: one error line, nothing left", out)
    rc, out = sh(PCACTL, "restore", url, os.path.join(TMP, "r-noep"),
                 "--pin-file", os.path.join(APP, "hsm", "user.pin"))
    tap(rc != 0 and "--s3-endpoint" in out,
        "restore from S3 without an endpoint says what is missing", out)
    rc, out = ctl("backup", "--to", "s3://no-such-bucket/x/")
    tap(rc != 0 and "no-such-bucket" in out and
        len(out.strip().splitlines()) == 1,
        "backup to a missing bucket: one error line naming it", out)
finally:
    moto.stop()
sys.exit(plan())
