"""M-of-N approvals end to end: a 2-of-4 quorum (three access keys and one
operator) on CreateCertificateAuthority and on IssueCertificate with a CA
template, through unmodified boto3 and raw OpenPCA.* calls against pcad;
pcactl approval as the operator; expiry under libfaketime; the audit chain
read back with mdb_dump.  One TAP line per check."""
import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))
import pcaclient as P  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402
from suite import plan, tap  # noqa: E402

T = "arn:aws:acm-pca:::template/"


def key():
    r = P.pcactl("key", "create", "--role", "admin")
    assert r.returncode == 0, r.stderr
    return P.parse_key(r.stdout)


def err(fn):
    try:
        return None, fn()
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["Error"]["Message"]


def ext(op, body, k):
    st, _, out = P.raw(op, body, k[0], k[1],
                       headers={"X-Amz-Target": "OpenPCA." + op})
    return st, out


def pending_id(msg):
    m = re.search(r"pending approval ([0-9a-f-]{36}), (\d+) of (\d+)", msg)
    return (m.group(1), int(m.group(2)), int(m.group(3))) if m else (None, 0, 0)


A1, A2, A3, R, X = key(), key(), key(), key(), key()
conf = open(P.CONF).read()
conf += ("\n[approval]\noperations = CreateCertificateAuthority, "
         "IssueCertificate:CA\napprovers = %s, %s, %s, operator:alice\n"
         "quorum = 2\nexpiry_hours = 1\n" % (A1[0], A2[0], A3[0]))
open(P.CONF, "w").write(conf)

# a root made offline by pcactl (the operator's tool is not gated)
r = P.pcactl("ca", "create", "--type", "ROOT", "--key-alg", "EC_prime256v1",
             "--signing-alg", "SHA256WITHECDSA", "--subject",
             "CN=Approval Root,O=OpenPCA Test,C=US", "--revocation", "none")
root = r.stdout.strip()
tmp = os.path.dirname(P.CONF)
ok = r.returncode == 0 and \
    P.pcactl("ca", "csr", root, "--out", tmp + "/root.csr").returncode == 0 and \
    P.pcactl("issue", "--ca", root, "--csr", tmp + "/root.csr",
             "--signing-alg", "SHA256WITHECDSA", "--validity", "10y",
             "--template", "RootCACertificate", "--out",
             tmp + "/root.pem").returncode == 0 and \
    P.pcactl("ca", "import", root, "--cert",
             tmp + "/root.pem").returncode == 0
tap(ok, "setup: five keys, [approval] 2 of 4, a root CA")
d = P.Daemon()
d.start()

# ---- CreateCertificateAuthority: pending -> approvals -> exactly one ----
cfg = {"KeyAlgorithm": "EC_prime256v1", "SigningAlgorithm": "SHA256WITHECDSA",
       "Subject": {"CommonName": "Approved Sub", "Country": "US"}}
create = lambda k: P.client(*k).create_certificate_authority(  # noqa: E731
    CertificateAuthorityConfiguration=cfg,
    CertificateAuthorityType="SUBORDINATE", IdempotencyToken="appr1")
n0 = len(P.client().list_certificate_authorities()["CertificateAuthorities"])
code, msg = err(lambda: create(A1))
rid, have, need = pending_id(msg)
tap(code == "RequestInProgressException" and rid and (have, need) == (0, 2),
    "CreateCertificateAuthority answers RequestInProgressException: pending "
    "approval <id>, 0 of 2", "%s %s" % (code, msg))
code, msg = err(lambda: create(A1))
tap(code == "RequestInProgressException" and pending_id(msg)[0] == rid,
    "the same call again: the same pending request", msg)
st, out = ext("ListApprovals", {"Status": "PENDING"}, A2)
tap(st == 200 and [a["Id"] for a in out["Approvals"]] == [rid] and
    out["Approvals"][0]["Requester"] == A1[0] and
    out["Approvals"][0]["Request"]["CertificateAuthorityConfiguration"]
    ["Subject"]["CommonName"] == "Approved Sub",
    "OpenPCA.ListApprovals shows it pending, with its requester and body", out)
st, out = ext("ApproveRequest", {"RequestId": rid}, A1)
tap(st == 400 and out.get("__type") == "AccessDeniedException" and
    "cannot approve" in out.get("message", ""),
    "the requester cannot approve its own request", out)
st, out = ext("ApproveRequest", {"RequestId": rid}, X)
tap(st == 400 and out.get("__type") == "AccessDeniedException" and
    "not an approver" in out.get("message", ""),
    "a key that is not an approver cannot approve", out)
st, out = ext("ApproveRequest", {"RequestId": rid}, A2)
tap(st == 200 and out["Status"] == "PENDING" and len(out["Approvals"]) == 1,
    "a first approval (1 of 2)", out)
st, out = ext("ApproveRequest", {"RequestId": rid}, A2)
tap(st == 400 and out.get("__type") == "InvalidRequestException",
    "the same approver twice is refused", out)
code, msg = err(lambda: create(A1))
tap(code == "RequestInProgressException" and pending_id(msg)[1:] == (1, 2),
    "still pending at 1 of 2", msg)
r = P.pcactl("approval", "approve", rid, "--as", "alice")
tap(r.returncode == 0 and "APPROVED" in r.stdout,
    "pcactl approval approve --as alice: quorum reached", r.stdout + r.stderr)
code, out1 = err(lambda: create(A1))
arn1 = out1.get("CertificateAuthorityArn") if code is None else None
tap(arn1 is not None, "the call repeated after the quorum runs", out1)
code, out2 = err(lambda: create(A1))
tap(code is None and out2.get("CertificateAuthorityArn") == arn1,
    "repeated once more: the same CA, not a second one", out2)
n1 = len(P.client().list_certificate_authorities()["CertificateAuthorities"])
tap(n1 == n0 + 1, "exactly one CA was created (%d -> %d)" % (n0, n1))
st, out = ext("ApproveRequest", {"RequestId": rid}, A3)
tap(st == 400 and out.get("__type") == "InvalidStateException",
    "an executed request takes no more approvals", out)

# ---- IssueCertificate with a CA template: the same, by two keys ----
csr = P.client().get_certificate_authority_csr(
    CertificateAuthorityArn=arn1)["Csr"]
issue = lambda k, t: P.client(*k).issue_certificate(  # noqa: E731
    CertificateAuthorityArn=root, Csr=csr.encode(),
    SigningAlgorithm="SHA256WITHECDSA", TemplateArn=T + t,
    Validity={"Type": "DAYS", "Value": 365}, IdempotencyToken="sub1")
before = P.pcactl("--json", "cert", "list", "--ca", root).stdout.count('"Serial"')
code, msg = err(lambda: issue(R, "SubordinateCACertificate_PathLen0/V1"))
rid2 = pending_id(msg)[0]
tap(code == "RequestInProgressException" and rid2 and rid2 != rid,
    "IssueCertificate with a CA template is pending approval", msg)
code, out = err(lambda: P.client(*R).issue_certificate(
    CertificateAuthorityArn=root, Csr=P.make_csr(),
    SigningAlgorithm="SHA256WITHECDSA",
    Validity={"Type": "DAYS", "Value": 30}))
tap(code is None and "CertificateArn" in out,
    "IssueCertificate with an end-entity template needs no approval", out)
for k in (A2, A3):
    st, out = ext("ApproveRequest", {"RequestId": rid2}, k)
tap(st == 200 and out["Status"] == "APPROVED", "two approvals by keys", out)
code, o1 = err(lambda: issue(R, "SubordinateCACertificate_PathLen0/V1"))
code2, o2 = err(lambda: issue(R, "SubordinateCACertificate_PathLen0/V1"))
tap(code is None and code2 is None and o1["CertificateArn"] == o2["CertificateArn"],
    "the approved issuance runs once; its repeat answers the same ARN",
    "%s %s" % (o1, o2))
after = P.pcactl("--json", "cert", "list", "--ca", root).stdout.count('"Serial"')
tap(after == before + 2, "exactly one CA certificate (and the leaf) issued "
    "(%d -> %d)" % (before, after))

# ---- denial ----
create2 = lambda: P.client(*R).create_certificate_authority(  # noqa: E731
    CertificateAuthorityConfiguration=dict(cfg, Subject={"CommonName": "Denied"}),
    CertificateAuthorityType="SUBORDINATE", IdempotencyToken="appr2")
code, msg = err(create2)
rid3 = pending_id(msg)[0]
st, out = ext("DenyRequest", {"RequestId": rid3, "Reason": "not in the plan"}, A3)
tap(st == 200 and out["Status"] == "DENIED" and out["DeniedBy"] == A3[0],
    "OpenPCA.DenyRequest denies it", out)
st, out = ext("ApproveRequest", {"RequestId": rid3}, A1)
tap(st == 400 and out.get("__type") == "InvalidStateException",
    "a denied request cannot be approved", out)
code, msg = err(create2)
tap(code == "RequestInProgressException" and pending_id(msg)[0] not in (rid3, None),
    "asking again after a denial opens a new request", msg)
n2 = len(P.client().list_certificate_authorities()["CertificateAuthorities"])
tap(n2 == n1, "the denied CA was never created")

# ---- expiry (libfaketime moves pcactl two hours ahead) ----
rid4 = pending_id(msg)[0]
# an ASan build with libfaketime preloaded: ASan need not come first
fenv = dict(os.environ, ASAN_OPTIONS=(os.environ.get("ASAN_OPTIONS", "") +
                                      ":verify_asan_link_order=0").lstrip(":"))
r = subprocess.run(["faketime", "-f", "+2h", os.path.join(P.BIN, "pcactl"),
                    "--config", P.CONF, "approval", "approve", rid4, "--as",
                    "alice"], capture_output=True, text=True, env=fenv)
tap(r.returncode != 0 and "EXPIRED" in r.stderr and
    len(r.stderr.strip().splitlines()) == 1,
    "a request past its expiry cannot be approved (one error line)", r.stderr)
r = P.pcactl("--json", "approval", "show", rid3)
tap(r.returncode == 0 and '"Reason": "not in the plan"' in r.stdout,
    "pcactl approval show tells the denial and its reason", r.stdout + r.stderr)

d.stop()
dump = subprocess.run(["mdb_dump", "-p", "-s", "audit",
                       os.path.join(os.path.dirname(P.CONF), "data")],
                      capture_output=True, text=True).stdout
seen = {w: (w in dump) for w in ("op=ApprovalRequested", "op=ApprovalGranted",
                                 "op=ApprovalDenied", "op=ApprovalExecuted")}
tap(all(seen.values()), "every step is in the audit chain (mdb_dump)", seen)
r = P.pcactl("store", "verify")
tap(r.returncode == 0, "store verify is clean", r.stdout + r.stderr)

# ---- configuration errors ----
bad = open(P.CONF).read().replace("IssueCertificate:CA", "IssueCertificateX")
open(P.CONF + ".bad", "w").write(bad)
r = subprocess.run([os.path.join(P.BIN, "pcad"), "--config", P.CONF + ".bad",
                    "--check-config"], capture_output=True, text=True)
tap(r.returncode != 0 and "IssueCertificateX" in r.stderr,
    "--check-config names an unknown operation", r.stderr)
bad = open(P.CONF).read().replace("quorum = 2", "quorum = 5")
open(P.CONF + ".bad", "w").write(bad)
r = subprocess.run([os.path.join(P.BIN, "pcad"), "--config", P.CONF + ".bad",
                    "--check-config"], capture_output=True, text=True)
tap(r.returncode != 0 and "quorum" in r.stderr,
    "--check-config refuses a quorum above the approvers", r.stderr)
sys.exit(plan())
