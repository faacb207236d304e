"""pcad killed at each named crash point of issuance (PCA_CRASHPOINT, see
ca/crashpoint.c), then started again: every certificate a client got a 200
for is retrievable, and the store verifies clean.  Prints TAP lines and
writes the serials answered 200 to ISSUED_OUT (one a line).
Env: PCA_DIR, ROOT_ARN, BIN, POINTS (space-separated), ISSUED_OUT, SEED.
"""
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "api"))
import pcaclient as P  # noqa: E402
import botocore.exceptions  # noqa: E402
from suite import tap  # noqa: E402

ROOT = os.environ["ROOT_ARN"]
POINTS = os.environ["POINTS"].split()
rnd = random.Random(os.environ.get("SEED", "1"))
answered = []
out = open(os.environ["ISSUED_OUT"], "a")
for point in POINTS:
    at = rnd.randint(1, 6)
    os.environ["PCA_CRASHPOINT"] = "%s:%d" % (point, at)
    d = P.Daemon()
    got = []
    try:
        d.start()
        c = P.client(retries=0)
        for _ in range(20):
            try:
                arn = c.issue_certificate(
                    CertificateAuthorityArn=ROOT, Csr=P.make_csr(),
                    SigningAlgorithm="SHA256WITHECDSA",
                    Validity={"Value": 5, "Type": "DAYS"})["CertificateArn"]
            except botocore.exceptions.ClientError as e:
                tap(False, "%s: an API error instead of a crash" % point, e)
                break
            except Exception:  # noqa: BLE001 - the connection died
                break
            got.append(arn)
            out.write(arn.rsplit("/", 1)[1] + "\n")
            out.flush()
    except RuntimeError:
        pass  # died while starting (an issuance of its own)
    rc = d.proc.wait(timeout=30) if d.proc is not None else None
    d.proc = None
    del os.environ["PCA_CRASHPOINT"]
    tap(rc == -9, "pcad killed itself at crash point %s:%d after %d "
        "answered issuances" % (point, at, len(got)), "rc=%s" % rc)
    answered += got
    d = P.Daemon()
    try:
        d.start()
        c = P.client(retries=0)
        missing = []
        for arn in got:
            try:
                c.get_certificate(CertificateAuthorityArn=ROOT,
                                  CertificateArn=arn)
            except botocore.exceptions.ClientError as e:
                missing.append((arn, e.response["Error"]["Code"]))
        tap(not missing, "%s: restarted; every certificate answered 200 is "
            "retrievable (%d)" % (point, len(got)), missing[:3])
    finally:
        d.stop()
    v = P.pcactl("store", "verify")
    tap(v.returncode == 0, "%s: store verify is clean after the restart"
        % point, v.stdout + v.stderr)
