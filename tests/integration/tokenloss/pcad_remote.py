"""pcad against a token reached through p11-kit's RPC: while the token is
gone the API answers a retryable error and /health 503, then both recover
without restarting pcad.  Prints TAP lines.  Env: PCA_DIR (appliance with
pcad.conf pointing at p11-kit-client.so), P11_SOCK, SOFTHSM2_CONF, ROOT_ARN.
"""
import os
import signal
import subprocess
import sys
import time
import urllib.request

from cryptography import x509

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "api"))
import pcaclient as P  # noqa: E402
from suite import health, tap  # noqa: E402
import botocore.exceptions  # noqa: E402

SOCK = os.environ["P11_SOCK"]
ROOT = os.environ["ROOT_ARN"]
server = None




def start_server():
    global server
    if os.path.exists(SOCK):
        os.unlink(SOCK)
    server = subprocess.Popen(
        ["p11-kit", "server", "-f", "--provider",
         os.environ.get("PCA_P11_MODULE", "/usr/lib/softhsm/libsofthsm2.so"),
         "-n", SOCK,
         "pkcs11:token=" + os.environ.get("PCA_P11_TOKEN", "openpca")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    for _ in range(200):
        if os.path.exists(SOCK):
            return True
        time.sleep(0.05)
    return False


def stop_server():
    global server
    if server is not None:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
        server = None




def issue(c, serial=None):
    arn = c.issue_certificate(
        CertificateAuthorityArn=ROOT, Csr=P.make_csr(),
        SigningAlgorithm=("SHA256WITHRSA" if os.environ.get(
            "PCA_TEST_RSA_ONLY") else "SHA256WITHECDSA"),
        Validity={"Value": 5, "Type": "DAYS"})["CertificateArn"]
    pem = c.get_certificate(CertificateAuthorityArn=ROOT,
                            CertificateArn=arn)["Certificate"]
    if serial is not None:
        serial.append(x509.load_pem_x509_certificate(
            pem.encode()).serial_number)
    return arn


def crl_lists(serial):
    """The root's CRL, as pcad serves it, lists serial."""
    url = P.HTTP + "/crl/" + ROOT.rsplit("/", 1)[1] + ".crl"
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            crl = x509.load_der_x509_crl(r.read())
    except Exception:  # noqa: BLE001
        return False
    return crl.get_revoked_certificate_by_serial_number(serial) is not None


daemon = P.Daemon()
try:
    tap(start_server(), "p11-kit server exposes the token")
    daemon.start()
    tap(True, "pcad starts against the remote token (sealed API keys open)")
    c = P.client(retries=0)
    serial = []
    try:
        gone_arn = issue(c, serial)
        tap(True, "issuance through pcad and the remote token")
    except Exception as e:  # noqa: BLE001
        gone_arn = None
        tap(False, "issuance through pcad and the remote token", e)
    stop_server()
    # a revocation while the token is gone: recorded now, its CRL built
    # once the token is back (the build in between fails for the token)
    revoked = False
    if gone_arn is not None:
        try:
            c.revoke_certificate(CertificateAuthorityArn=ROOT,
                                 CertificateSerial=format(serial[0], "x"),
                                 RevocationReason="KEY_COMPROMISE")
            revoked = True
        except botocore.exceptions.ClientError as e:
            tap(False, "token gone: the revocation is recorded", e)
    code = status = None
    try:
        issue(c)
    except botocore.exceptions.ClientError as e:
        code = e.response["Error"]["Code"]
        status = e.response["ResponseMetadata"]["HTTPStatusCode"]
    tap(code is not None and (status >= 500 or code == "ThrottlingException"),
        "token gone: a retryable error (%s, HTTP %s), never a 4xx fault of "
        "the caller" % (code, status))
    h = health(P.HTTP)[0]
    tap(h == 503, "token gone: /health answers 503", h)
    tap(daemon.proc.poll() is None, "pcad survived the token loss")
    start_server()
    ok = False
    deadline = time.time() + 15
    while time.time() < deadline and not ok:
        try:
            issue(c)
            ok = True
        except botocore.exceptions.ClientError:
            time.sleep(0.3)
    tap(ok, "token back: issuance resumes without restarting pcad")
    tap(health(P.HTTP)[0] == 200, "token back: /health answers 200")
    if revoked:
        # the failed build is tried again within seconds, not after the
        # minute a build that cannot succeed waits
        t0 = time.time()
        listed = False
        while time.time() < t0 + 20 and not listed:
            listed = crl_lists(serial[0])
            if not listed:
                time.sleep(0.5)
        log = ""
        if not listed:
            with open(os.path.join(os.environ["PCA_DIR"], "pcad.log"),
                      errors="replace") as f:
                log = "".join(f.readlines()[-15:])
        tap(listed, "token back: the CRL lists the revocation made while "
            "it was gone, %.1f s later" % (time.time() - t0), log)
finally:
    try:
        daemon.stop()
    except Exception:  # noqa: BLE001
        pass
    stop_server()
