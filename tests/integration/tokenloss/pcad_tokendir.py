"""pcad while SoftHSM's token directory is moved away for about 6 s during
an issue loop (issue 15, defect 1): every failure is retryable (503 or
ThrottlingException, never a 4xx fault of the caller), /health answers 503
naming the token while it is gone, and issuance and /health recover in the
same pcad once the directory is back.  Prints TAP lines.
Env: PCA_DIR (appliance on SoftHSM), TOKENDIR, ROOT_ARN, BIN.
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "api"))
import pcaclient as P  # noqa: E402
from suite import health, tap  # noqa: E402
import botocore.exceptions  # noqa: E402

TOKENDIR = os.environ["TOKENDIR"]
AWAY = TOKENDIR + ".away"
ROOT = os.environ["ROOT_ARN"]






def issue(c):
    arn = c.issue_certificate(
        CertificateAuthorityArn=ROOT, Csr=P.make_csr(),
        SigningAlgorithm="SHA256WITHECDSA",
        Validity={"Value": 5, "Type": "DAYS"})["CertificateArn"]
    return arn


class Loop(threading.Thread):
    """Issues without SDK retries; records every outcome with its time."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.events = []   # (time, "ok" | (status, code, message))
        self.arns = []
        self.c = P.client(retries=0)

    def run(self):
        while not self.stop.is_set():
            try:
                self.arns.append(issue(self.c))
                self.events.append((time.time(), "ok"))
            except botocore.exceptions.ClientError as e:
                md = e.response["ResponseMetadata"]
                self.events.append((time.time(), (
                    md["HTTPStatusCode"], e.response["Error"]["Code"],
                    e.response["Error"].get("Message", ""))))
                time.sleep(0.02)
            except Exception as e:  # noqa: BLE001
                self.events.append((time.time(), (None, type(e).__name__,
                                                  str(e))))
                time.sleep(0.02)


daemon = P.Daemon()
loop = None
try:
    daemon.start()
    pid = daemon.proc.pid
    c = P.client(retries=0)
    issue(c)
    st, _ = health(P.HTTP)
    tap(st == 200, "pcad issues and /health is 200 before the loss", st)
    loop = Loop()
    loop.start()
    time.sleep(1.0)
    os.rename(TOKENDIR, AWAY)
    t_gone = time.time()
    time.sleep(1.0)
    st, body = health(P.HTTP)
    tap(st == 503 and body.get("component") == "token",
        "token gone: /health answers 503 naming the token", (st, body))
    time.sleep(max(0.0, t_gone + 6.0 - time.time()))
    st2, body2 = health(P.HTTP)
    tap(st2 == 503, "token still gone after 6 s: /health still 503",
        (st2, body2))
    os.rename(AWAY, TOKENDIR)
    t_back = time.time()
    deadline = t_back + 20
    while time.time() < deadline:
        if any(t > t_back and e == "ok" for t, e in list(loop.events)):
            break
        time.sleep(0.1)
    time.sleep(0.5)
    loop.stop.set()
    loop.join(30)
    errs = [e for t, e in loop.events if e != "ok"]
    bad = [e for e in errs
           if not (e[0] == 503 or e[1] == "ThrottlingException")]
    during = [e for t, e in loop.events if t_gone + 0.5 < t < t_back]
    tap(len(errs) > 0 and not bad,
        "while the token was gone: %d failures, all retryable (503 or "
        "ThrottlingException)" % len(errs),
        "non-retryable: %s" % bad[:5])
    tap(during and all(e != "ok" for e in during),
        "nothing was issued while the token was gone (%d attempts)"
        % len(during))
    after = [t for t, e in loop.events if t > t_back and e == "ok"]
    tap(bool(after), "token back: issuance resumed %.1f s later, without "
        "restarting pcad" % ((after[0] - t_back) if after else -1),
        [e for t, e in loop.events if t > t_back][:5])
    st, body = health(P.HTTP)
    tap(st == 200 and body.get("token") == "ok",
        "token back: /health 200 with token ok", (st, body))
    tap(daemon.proc.poll() is None and daemon.proc.pid == pid,
        "the same pcad process throughout")
    got = 0
    for arn in loop.arns:
        try:
            c.get_certificate(CertificateAuthorityArn=ROOT,
                              CertificateArn=arn)
            got += 1
        except botocore.exceptions.ClientError:
            pass
    tap(got == len(loop.arns) and got > 0,
        "every certificate issued with 200 is retrievable (%d)" % got)
finally:
    if loop is not None:
        loop.stop.set()
    if os.path.isdir(AWAY) and not os.path.exists(TOKENDIR):
        os.rename(AWAY, TOKENDIR)
    try:
        daemon.stop()
    except Exception:  # noqa: BLE001
        pass
