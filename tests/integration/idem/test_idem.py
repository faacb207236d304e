"""IssueCertificate IdempotencyToken under concurrency and across accounts
(issue 15 defects 5 and 6).  Run by tests/integration/test_idempotency.sh,
which makes a fresh appliance and sets PCA_DIR and BIN.  One TAP line per
check."""
import hashlib
import json
import os
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "api"))

import botocore.exceptions  # noqa: E402

import pcaclient as P  # noqa: E402
from suite import run, tap  # noqa: E402

T = "arn:aws:acm-pca:::template/"
OTHER = "222233334444"




def code_of(e):
    return e.response["Error"]["Code"]


def issue(c, ca, csr, tmpl="EndEntityCertificate/V1", validity=None, **kw):
    return c.issue_certificate(
        CertificateAuthorityArn=ca, Csr=csr, SigningAlgorithm="SHA256WITHECDSA",
        TemplateArn=T + tmpl, Validity=validity or {"Type": "DAYS", "Value": 7},
        **kw)["CertificateArn"]


def end_entity_certs(ca):
    """Certificates of the CA in the store, root's own excluded."""
    r = P.pcactl("--json", "cert", "list", "--ca", ca)
    if r.returncode != 0:
        raise RuntimeError("pcactl cert list: " + r.stderr)
    items = json.loads(r.stdout)
    if isinstance(items, dict):
        items = items.get("Certificates", items.get("items", []))
    return [i for i in items if "RootCA" not in json.dumps(i)]


def parallel(n, fn):
    """Runs fn(i) in n threads released together; results or exceptions."""
    out = [None] * n
    gate = threading.Barrier(n)

    def run(i):
        try:
            gate.wait()
            out[i] = fn(i)
        except Exception as e:  # noqa: BLE001 - reported by the caller
            out[i] = e
    ts = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    return out


def check_concurrent(c, ca):
    csr = P.make_csr(cn="idem.example.com", sans=("idem.example.com",))
    clients = [P.client() for _ in range(20)]
    before = len(end_entity_certs(ca))
    res = parallel(20, lambda i: issue(clients[i], ca, csr,
                                       IdempotencyToken="par-20"))
    errs = [r for r in res if not isinstance(r, str)]
    arns = set(r for r in res if isinstance(r, str))
    tap(not errs and len(arns) == 1,
        "20 parallel IssueCertificate with one token give one ARN",
        "ARNs: %d, errors: %s" % (len(arns), errs[:3]))
    after = end_entity_certs(ca)
    tap(len(after) - before == 1,
        "20 parallel calls with one token leave one certificate in the store",
        "new certificates: %d" % (len(after) - before))
    if len(arns) == 1:
        arn = arns.pop()
        try:
            c.get_certificate(CertificateAuthorityArn=ca, CertificateArn=arn)
            tap(True, "the winner's certificate is ready for every caller")
        except botocore.exceptions.ClientError as e:
            tap(False, "the winner's certificate is ready for every caller",
                e)
    pairs_ok = 0
    for k in range(10):
        res = parallel(2, lambda i: issue(clients[i], ca, csr,
                                          IdempotencyToken="pair-%d" % k))
        if all(isinstance(r, str) for r in res) and res[0] == res[1]:
            pairs_ok += 1
    tap(pairs_ok == 10, "10 overlapping pairs with one token: one ARN each",
        "%d of 10 pairs agreed" % pairs_ok)
    tap(len(end_entity_certs(ca)) - before == 11,
        "... and one certificate per token in the store",
        "new certificates: %d" % (len(end_entity_certs(ca)) - before))


def check_mismatch(c, ca):
    csr1 = P.make_csr(cn="a.example.com", sans=("a.example.com",))
    csr2 = P.make_csr(cn="b.example.com", sans=("b.example.com",))
    a1 = issue(c, ca, csr1, IdempotencyToken="mm")
    tap(issue(c, ca, csr1, IdempotencyToken="mm") == a1,
        "a repeat with the same arguments returns the same ARN")
    try:
        a2 = issue(c, ca, csr2, IdempotencyToken="mm")
        tap(False, "a token reused with another CSR is InvalidArgs",
            "got %s (first %s)" % (a2, a1))
    except botocore.exceptions.ClientError as e:
        msg = e.response["Error"].get("Message", "")
        tap(code_of(e) == "InvalidArgsException" and
            "IdempotencyToken" in msg,
            "a token reused with another CSR is InvalidArgs", msg)
    try:
        issue(c, ca, csr1, validity={"Type": "DAYS", "Value": 8},
              IdempotencyToken="mm")
        tap(False, "a token reused with another Validity is InvalidArgs")
    except botocore.exceptions.ClientError as e:
        tap(code_of(e) == "InvalidArgsException",
            "a token reused with another Validity is InvalidArgs",
            code_of(e))


def check_cross_account(c, ca):
    r = P.pcactl("key", "create", "--role", "admin", "--account", OTHER)
    if r.returncode != 0:
        tap(False, "a key for a second account", r.stderr)
        return None
    other = P.client(*P.parse_key(r.stdout))
    c.put_policy(ResourceArn=ca, Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": OTHER},
             "Action": ["acm-pca:IssueCertificate", "acm-pca:GetCertificate"],
             "Resource": ca}]}))
    mine = P.make_csr(cn="owner.example.com", sans=("owner.example.com",))
    theirs = P.make_csr(cn="other.example.com", sans=("other.example.com",))
    a_owner = issue(c, ca, mine, IdempotencyToken="shared-tok")
    try:
        a_other = issue(other, ca, theirs, IdempotencyToken="shared-tok")
        tap(a_other != a_owner,
            "another account reusing the owner's token gets its own "
            "certificate", "both got %s" % a_owner)
        pem = other.get_certificate(CertificateAuthorityArn=ca,
                                    CertificateArn=a_other)["Certificate"]
        cn = P.cert(pem).subject.rfc4514_string()
        tap("other.example.com" in cn,
            "... for its own CSR", cn)
        tap(issue(other, ca, theirs, IdempotencyToken="shared-tok") ==
            a_other, "... and its own replays return it")
    except botocore.exceptions.ClientError as e:
        tap(False, "another account reusing the owner's token gets its own "
            "certificate", e)
    return other


def request_digest(csr, tmpl="EndEntityCertificate/V1", days=7):
    """ca/idem.c's SHA-256 over the arguments, for planted entries."""
    h = hashlib.sha256()

    def add(b):
        h.update(len(b).to_bytes(8, "big"))
        h.update(b)

    def s(x):
        add(b"" if x is None else x.encode() + b"\0")
    add(csr)
    for x in ("SHA256WITHECDSA", T + tmpl, "DAYS", str(days), None, "0",
              None):
        s(x)
    return h.hexdigest()


def idem_line(key, result):
    val = b"\x01" + (int(time.time()) + 300).to_bytes(8, "big") + \
        result.encode()
    return key.encode() + b"\n" + "".join(
        "\\%02x" % b if b < 0x20 or b > 0x7e or b == 0x5c else chr(b)
        for b in val).encode() + b"\n"


def check_legacy(c, ca, other):
    """An entry in the pre-scope format still answers the owner; a claim
    whose certificate is gone (purged, or its pcad died) is released."""
    csr = P.make_csr(cn="legacy.example.com", sans=("legacy.example.com",))
    arn = issue(c, ca, csr)
    P.DAEMON_STOP()
    key = "issue|%s|%s|%s|legacy-tok" % (P.ACCOUNT, P.REGION, ca)
    text = idem_line(key, arn)
    orphan_csr = P.make_csr(cn="orphan.example.com",
                            sans=("orphan.example.com",))
    ghost = ca + "/certificate/" + "7f" * 16
    text += idem_line("issue2|%s|%s|%s|orphan-tok" % (P.ACCOUNT, P.REGION,
                                                      ca),
                      request_digest(orphan_csr) + " " + ghost)
    store = os.path.join(P.DIR, P.conf_value("store", "path"))
    r = subprocess.run(["mdb_load", "-T", "-s", "idem", store], input=text,
                       capture_output=True)
    P.DAEMON_START()
    if r.returncode != 0:
        tap(False, "a pre-scope idempotency entry can be planted",
            r.stderr.decode())
        return
    c = P.client()
    tap(issue(c, ca, csr, IdempotencyToken="legacy-tok") == arn,
        "a pre-scope idempotency entry still answers the CA owner")
    if other is not None:
        o = issue(other, ca, P.make_csr(cn="o2.example.com",
                                        sans=("o2.example.com",)),
                  IdempotencyToken="legacy-tok")
        tap(o != arn, "... but never another account")
    try:
        a = issue(c, ca, orphan_csr, IdempotencyToken="orphan-tok")
        tap(a != ghost and issue(c, ca, orphan_csr,
                                 IdempotencyToken="orphan-tok") == a,
            "a claim whose certificate does not exist is released and "
            "issued anew", a)
    except botocore.exceptions.ClientError as e:
        tap(False, "a claim whose certificate does not exist is released "
            "and issued anew", e)


def main():
    d = P.Daemon()
    P.DAEMON_STOP = d.stop
    P.DAEMON_START = d.start

    def body():
        c = P.client()
        ca, _ = P.new_root(c, {"CommonName": "Idem Root",
                               "Organization": "T"})
        check_concurrent(c, ca)
        check_mismatch(c, ca)
        other = check_cross_account(c, ca)
        check_legacy(c, ca, other)
    return run(d, "test_idempotency", body)


if __name__ == "__main__":
    sys.exit(main())
