"""pcad with its store on a small tmpfs that fills up (issue 15, defect 11):
issuance answers a retryable 503 and /health answers 503 naming the store
(it said "store ok" before); once there is room again both recover in the
same pcad.  Prints TAP lines.  Env: PCA_DIR, STORE_DIR (the tmpfs),
ROOT_ARN, BIN.
"""
import errno
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "api"))
import pcaclient as P  # noqa: E402
from suite import health, tap  # noqa: E402
import botocore.exceptions  # noqa: E402

STORE = os.environ["STORE_DIR"]
ROOT = os.environ["ROOT_ARN"]
FILLER = os.path.join(STORE, "filler")






def issue(c):
    """(ARN, None) or (None, (HTTP status, error code))."""
    try:
        arn = c.issue_certificate(
            CertificateAuthorityArn=ROOT, Csr=P.make_csr(),
            SigningAlgorithm="SHA256WITHECDSA",
            Validity={"Value": 5, "Type": "DAYS"})["CertificateArn"]
        return arn, None
    except botocore.exceptions.ClientError as e:
        return None, (e.response["ResponseMetadata"]["HTTPStatusCode"],
                      e.response["Error"]["Code"])


def fill():
    """Writes FILLER until the filesystem refuses."""
    block = b"\0" * 65536
    with open(FILLER, "wb") as f:
        try:
            while True:
                f.write(block)
                f.flush()
        except OSError as e:
            if e.errno != errno.ENOSPC:
                raise
    # LMDB may still have free pages inside its file: issue until it fails


daemon = P.Daemon()
try:
    daemon.start()
    pid = daemon.proc.pid
    c = P.client(retries=0)
    arn, err = issue(c)
    st, body = health(P.HTTP)
    tap(arn is not None and st == 200 and body.get("store") == "ok",
        "room on the disk: issuance works, /health 200 store ok",
        (err, st, body))
    fill()
    errs, issued = [], []
    for _ in range(200):
        arn, err = issue(c)
        if arn:
            issued.append(arn)
        else:
            errs.append(err)
            if len(errs) >= 3:
                break
    tap(errs and all(e[0] == 503 for e in errs),
        "disk full: issuance answers 503 (retryable) after %d more"
        % len(issued), errs[:5])
    st, body = health(P.HTTP)
    tap(st == 503 and body.get("component") == "store",
        "disk full: /health answers 503 naming the store", (st, body))
    os.unlink(FILLER)
    ok = False
    deadline = time.time() + 15
    while time.time() < deadline:
        st, body = health(P.HTTP)
        if st == 200:
            ok = True
            break
        time.sleep(0.2)
    tap(ok and body.get("store") == "ok",
        "room again: /health 200 store ok, without restarting pcad",
        (st, body))
    arn, err = issue(c)
    tap(arn is not None, "room again: issuance works", err)
    for a in issued + ([arn] if arn else []):
        c.get_certificate(CertificateAuthorityArn=ROOT, CertificateArn=a)
    tap(True, "every certificate answered 200 is retrievable (%d)"
        % (len(issued) + (1 if arn else 0)))
    tap(daemon.proc.poll() is None and daemon.proc.pid == pid,
        "the same pcad process throughout")
finally:
    if os.path.exists(FILLER):
        os.unlink(FILLER)
    try:
        daemon.stop()
    except Exception:  # noqa: BLE001
        pass
