"""Root and intermediate rotated under API load, and a same-key renewal.

Run by tests/integration/test_rotation.sh with PCA_DIR, BIN and OUT set;
pcad is started here and stopped at the end.  Prints "PASS name" or
"FAIL name: detail" lines (the shell turns them into TAP) and leaves the
PEMs and ids in OUT for the openssl checks of the shell script.

The load: threads issue end-entity certificates through unmodified boto3
from an intermediate lineage and a root lineage.  A caller that reaches a
rotated CA gets InvalidStateException naming the successor and switches to
it; any other error is a failed issuance.
"""
import json
import os
import re
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "api"))

import botocore.exceptions  # noqa: E402

import pcaclient as P  # noqa: E402

OUT = os.environ["OUT"]
T = "arn:aws:acm-pca:::template/"
EC = {"KeyAlgorithm": "EC_prime256v1", "SigningAlgorithm": "SHA256WITHECDSA"}
REV = {"CrlConfiguration": {"Enabled": True, "S3BucketName": "rot-crl",
                            "ExpirationInDays": 7},
       "OcspConfiguration": {"Enabled": True}}
SUCC = re.compile(r"successor (arn:\S+certificate-authority/[0-9a-f-]{36})")
THREADS = {"int": 3, "root": 1}
PHASE_S = 3.0
RESULTS = []


def result(ok, name, detail=""):
    RESULTS.append(ok)
    print(("PASS %s" % name) if ok else ("FAIL %s: %s" % (name, detail)),
          flush=True)


def code_msg(e):
    return e.response["Error"]["Code"], e.response["Error"].get("Message", "")


def save(name, text):
    with open(os.path.join(OUT, name), "w") as f:
        f.write(text)


def rotate(arn, akid=None, secret=None, **kw):
    body = dict(CertificateAuthorityArn=arn, **kw)
    return P.raw("RotateCertificateAuthority", body, akid=akid,
                 secret=secret,
                 headers={"X-Amz-Target": "OpenPCA.RotateCertificateAuthority"})


def describe_raw(arn):
    st, _, body = P.raw("DescribeCertificateAuthority",
                        {"CertificateAuthorityArn": arn})
    return body["CertificateAuthority"] if st == 200 else {}


class World:
    def __init__(self):
        self.c = P.client(retries=2)
        self.csr = P.make_csr(cn="load.example.com",
                              sans=("load.example.com",))

    def issue(self, ca, csr=None, tmpl=None, validity=None, **kw):
        args = dict(CertificateAuthorityArn=ca, Csr=csr or self.csr,
                    SigningAlgorithm="SHA256WITHECDSA",
                    Validity=validity or {"Type": "DAYS", "Value": 1})
        if tmpl:
            args["TemplateArn"] = T + tmpl
        args.update(kw)
        return self.c.issue_certificate(**args)["CertificateArn"]

    def get(self, ca, arn):
        for _ in range(50):
            try:
                return self.c.get_certificate(CertificateAuthorityArn=ca,
                                              CertificateArn=arn)
            except botocore.exceptions.ClientError as e:
                if code_msg(e)[0] != "RequestInProgressException":
                    raise
                time.sleep(0.1)
        raise RuntimeError("certificate %s never ready" % arn)

    def ca_cert(self, ca):
        r = self.c.get_certificate_authority_certificate(
            CertificateAuthorityArn=ca)
        return r["Certificate"], r.get("CertificateChain", "")

    def create(self, type_, cn, **kw):
        cfg = dict(EC, Subject={"CommonName": cn, "Organization": "OpenPCA"
                                " Rotation", "Country": "US"})
        return self.c.create_certificate_authority(
            CertificateAuthorityConfiguration=cfg,
            CertificateAuthorityType=type_, RevocationConfiguration=REV,
            **kw)["CertificateAuthorityArn"]

    def csr_of(self, ca):
        return self.c.get_certificate_authority_csr(
            CertificateAuthorityArn=ca)["Csr"].encode()

    def setup(self):
        c = self.c
        self.root0 = self.create("ROOT", "Rotation Root",
                                 Tags=[{"Key": "team", "Value": "pki"}])
        a = self.issue(self.root0, self.csr_of(self.root0),
                       "RootCACertificate/V1", {"Type": "YEARS", "Value": 10})
        root_pem = self.get(self.root0, a)["Certificate"]
        c.import_certificate_authority_certificate(
            CertificateAuthorityArn=self.root0, Certificate=root_pem.encode())
        self.int0 = self.create("SUBORDINATE", "Rotation Issuing CA",
                                Tags=[{"Key": "team", "Value": "pki"},
                                      {"Key": "tier", "Value": "issuing"}])
        a = self.issue(self.root0, self.csr_of(self.int0),
                       "SubordinateCACertificate_PathLen0/V1",
                       {"Type": "YEARS", "Value": 5})
        int_pem = self.get(self.root0, a)["Certificate"]
        c.import_certificate_authority_certificate(
            CertificateAuthorityArn=self.int0, Certificate=int_pem.encode(),
            CertificateChain=root_pem.encode())
        self.policy = json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Sid": "share", "Effect": "Allow",
                           "Principal": {"AWS": "444455556666"},
                           "Action": ["acm-pca:IssueCertificate",
                                      "acm-pca:GetCertificate"],
                           "Resource": self.int0}]})
        c.put_policy(ResourceArn=self.int0, Policy=self.policy)
        c.create_permission(CertificateAuthorityArn=self.int0,
                            Principal="acm.amazonaws.com",
                            Actions=["IssueCertificate", "GetCertificate",
                                     "ListPermissions"])
        # leaves of the old chains (1 day: the old CAs retire after them)
        self.leaf_int0 = self.issue(self.int0)
        self.leaf_root0 = self.issue(self.root0)


class Load:
    def __init__(self, w):
        self.w = w
        self.target = {"int": w.int0, "root": w.root0}
        self.mu = threading.Lock()
        self.stop = threading.Event()
        self.ok = {"int": 0, "root": 0}
        self.redirects = {"int": 0, "root": 0}
        self.failures = []
        self.last = {}       # kind -> (ca, cert arn) of a recent issuance
        self.threads = []

    def worker(self, kind):
        c = P.client(retries=2)
        csr = P.make_csr(cn="%s.load.example.com" % kind,
                         sans=("%s.load.example.com" % kind,))
        while not self.stop.is_set():
            with self.mu:
                ca = self.target[kind]
            try:
                arn = c.issue_certificate(
                    CertificateAuthorityArn=ca, Csr=csr,
                    SigningAlgorithm="SHA256WITHECDSA",
                    Validity={"Type": "DAYS", "Value": 1})["CertificateArn"]
                with self.mu:
                    self.ok[kind] += 1
                    self.last[kind] = (ca, arn)
            except botocore.exceptions.ClientError as e:
                code, msg = code_msg(e)
                m = SUCC.search(msg)
                with self.mu:
                    if code == "InvalidStateException" and m:
                        self.redirects[kind] += 1
                        if self.target[kind] == ca:
                            self.target[kind] = m.group(1)
                    else:
                        self.failures.append("%s: %s %s" % (kind, code, msg))
            except Exception as e:  # connection errors are failures too
                with self.mu:
                    self.failures.append("%s: %r" % (kind, e))

    def start(self):
        for kind, n in THREADS.items():
            for _ in range(n):
                t = threading.Thread(target=self.worker, args=(kind,))
                t.start()
                self.threads.append(t)

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join()

    def recent(self, kind, ca, wait=10.0):
        """A certificate arn issued by ca through the load, or None."""
        deadline = time.time() + wait
        while time.time() < deadline:
            with self.mu:
                got = self.last.get(kind)
            if got and got[0] == ca:
                return got[1]
            time.sleep(0.1)
        return None


def check_rotation(w, old, new, what):
    d_old, d_new = describe_raw(old), describe_raw(new)
    link_old = d_old.get("OpenPCA", {})
    link_new = d_new.get("OpenPCA", {})
    result(link_old.get("SuccessorArn") == new and
           link_new.get("PredecessorArn") == old,
           "%s: DescribeCertificateAuthority shows the link both ways" % what,
           json.dumps([link_old, link_new]))
    r = w.c.describe_certificate_authority(CertificateAuthorityArn=old)
    ca = r["CertificateAuthority"]
    result("OpenPCA" not in ca and ca["Status"] == "ACTIVE",
           "%s: boto3 parses the describe and ignores the extra member; the "
           "old CA stays ACTIVE (CRL, OCSP)" % what, json.dumps(list(ca)))
    same = all(d_old.get(k) == d_new.get(k) for k in (
        "CertificateAuthorityConfiguration", "RevocationConfiguration",
        "Type", "UsageMode", "KeyStorageSecurityStandard"))
    result(same and d_new.get("Status") == "ACTIVE",
           "%s: the successor is ACTIVE with the same configuration" % what,
           json.dumps([d_old, d_new])[:600])
    t_old = w.c.list_tags(CertificateAuthorityArn=old)["Tags"]
    t_new = w.c.list_tags(CertificateAuthorityArn=new)["Tags"]
    result(t_old == t_new and t_old, "%s: tags carried over" % what,
           "%r %r" % (t_old, t_new))
    key_old = P.cert(w.ca_cert(old)[0]).public_key()
    key_new = P.cert(w.ca_cert(new)[0]).public_key()
    result(P.cert(w.ca_cert(old)[0]).subject ==
           P.cert(w.ca_cert(new)[0]).subject and
           key_old.public_numbers() != key_new.public_numbers(),
           "%s: same subject, new key" % what)
    try:
        w.issue(old)
        result(False, "%s: the old CA refuses to issue" % what, "issued")
    except botocore.exceptions.ClientError as e:
        code, msg = code_msg(e)
        result(code == "InvalidStateException" and new in msg,
               "%s: the old CA refuses to issue with InvalidStateException "
               "naming the successor" % what, "%s %s" % (code, msg))


def main():
    w = World()
    w.setup()
    result(True, "setup: root and intermediate with CRL and OCSP, tags, "
           "resource policy, permission")
    load = Load(w)
    load.start()
    time.sleep(PHASE_S)
    st, _, body = rotate(w.root0, IdempotencyToken="rot-root-1")
    root1 = body.get("CertificateAuthorityArn") if st == 200 else None
    result(st == 200 and root1, "OpenPCA.RotateCertificateAuthority on the "
           "root under load", "%s %s" % (st, body))
    st2, _, body2 = rotate(w.root0, IdempotencyToken="rot-root-1")
    result(st2 == 200 and body2.get("CertificateAuthorityArn") == root1,
           "the same IdempotencyToken gives the same successor",
           "%s %s" % (st2, body2))
    time.sleep(PHASE_S)
    st, _, body = rotate(w.int0)
    int1 = body.get("CertificateAuthorityArn") if st == 200 else None
    result(st == 200 and int1, "OpenPCA.RotateCertificateAuthority on the "
           "intermediate under load", "%s %s" % (st, body))
    time.sleep(PHASE_S)
    # same-key renewal of the new intermediate by its parent, under load
    int1_before = w.ca_cert(int1)[0]
    a = w.issue(root1, w.csr_of(int1), "SubordinateCACertificate_PathLen0/V1",
                {"Type": "YEARS", "Value": 4})
    renewed = w.get(root1, a)["Certificate"]
    root1_pem = w.ca_cert(root1)[0]
    try:
        w.c.import_certificate_authority_certificate(
            CertificateAuthorityArn=int1, Certificate=renewed.encode(),
            CertificateChain=root1_pem.encode())
        result(True, "same-key renewal: a new certificate from the parent "
               "imported over the ACTIVE intermediate under load")
    except botocore.exceptions.ClientError as e:
        result(False, "same-key renewal imported", "%s %s" % code_msg(e))
    time.sleep(PHASE_S)
    load.finish()

    total = load.ok["int"] + load.ok["root"]
    result(not load.failures and total > 0,
           "zero failed issuances under load (%d issued, %d + %d callers "
           "redirected to successors)" % (total, load.redirects["int"],
                                          load.redirects["root"]),
           "\n".join(load.failures[:10]))
    result(load.redirects["int"] >= 1 and load.redirects["root"] >= 1 and
           load.target == {"int": int1, "root": root1},
           "callers of the old CAs were told the successor and switched",
           "%r %r" % (load.redirects, load.target))

    check_rotation(w, w.root0, root1, "root")
    check_rotation(w, w.int0, int1, "intermediate")
    d = describe_raw(int1)
    pol = w.c.get_policy(ResourceArn=int1)["Policy"]
    result(int1 in pol and w.int0 not in pol,
           "intermediate: the resource policy moved to the successor's ARN",
           pol)
    perms = w.c.list_permissions(CertificateAuthorityArn=int1)["Permissions"]
    result(len(perms) == 1 and sorted(perms[0]["Actions"]) ==
           ["GetCertificate", "IssueCertificate", "ListPermissions"],
           "intermediate: permissions carried over", json.dumps(perms,
                                                                 default=str))
    chain1 = w.ca_cert(int1)[1]
    result(P.cert(chain1).public_key().public_numbers() ==
           P.cert(root1_pem).public_key().public_numbers(),
           "the intermediate's successor was signed by the root's successor")

    # the renewal is what is served from now on
    now_pem = w.ca_cert(int1)[0]
    result(now_pem.strip() == renewed.strip() and
           now_pem.strip() != int1_before.strip(),
           "renewal: GetCertificateAuthorityCertificate serves the new "
           "certificate")
    leaf_r = w.issue(int1)
    g = w.get(int1, leaf_r)
    result(g["CertificateChain"].strip().startswith(renewed.strip()),
           "renewal: GetCertificate's chain starts with the new certificate")
    # a certificate for another key, or with another subject, is refused
    old_int_pem = w.ca_cert(w.int0)[0]
    try:
        w.c.import_certificate_authority_certificate(
            CertificateAuthorityArn=int1, Certificate=old_int_pem.encode(),
            CertificateChain=w.ca_cert(w.root0)[0].encode())
        result(False, "renewal: a certificate for another key is refused",
               "imported")
    except botocore.exceptions.ClientError as e:
        result(code_msg(e)[0] == "CertificateMismatchException",
               "renewal: a certificate for another key is refused "
               "(CertificateMismatchException)", "%s %s" % code_msg(e))
    a = w.issue(root1, w.csr_of(int1),
                "SubordinateCACertificate_PathLen0_APIPassthrough/V1",
                {"Type": "YEARS", "Value": 4},
                ApiPassthrough={"Subject": {"CommonName": "Another Name"}})
    other = w.get(root1, a)["Certificate"]
    try:
        w.c.import_certificate_authority_certificate(
            CertificateAuthorityArn=int1, Certificate=other.encode(),
            CertificateChain=root1_pem.encode())
        result(False, "renewal: another subject is refused", "imported")
    except botocore.exceptions.ClientError as e:
        code, msg = code_msg(e)
        result(code == "CertificateMismatchException" and "subject" in msg,
               "renewal: the same key under another subject is refused "
               "(CertificateMismatchException)", "%s %s" % (code, msg))

    # errors of the new operation
    st, _, body = rotate(w.root0)
    result(st == 400 and body.get("__type", "").endswith(
        "InvalidStateException") and root1 in body.get("message", ""),
        "rotating a rotated CA again: InvalidStateException naming the "
        "successor", "%s %s" % (st, body))
    st, _, body = rotate(w.root0[:-12] + "000000000000")
    result(st == 400 and "ResourceNotFoundException" in body.get(
        "__type", ""), "rotating an unknown CA: ResourceNotFoundException",
        "%s %s" % (st, body))
    st, _, body = rotate("not-an-arn")
    result(st == 400, "a malformed ARN is refused", "%s %s" % (st, body))
    r = P.pcactl("key", "create", "--role", "auditor")
    if r.returncode != 0 or "aws_access_key_id" not in r.stdout:
        result(False, "pcactl key create --role auditor next to pcad",
               "exit %d: %s" % (r.returncode,
                                " | ".join(r.stderr.split("\n"))))
    else:
        akid, secret = P.parse_key(r.stdout)
        st, _, body = rotate(int1, akid, secret)
        result(st == 400 and "AccessDenied" in body.get("__type", ""),
               "an auditor key may not rotate (IAM)", "%s %s" % (st, body))

    # revoke a leaf of the old intermediate: its CRL and OCSP carry on
    leaf_old = w.get(w.int0, w.leaf_int0)["Certificate"]
    w.c.revoke_certificate(CertificateAuthorityArn=w.int0,
                           CertificateSerial=P.cert(leaf_old).serial_number
                           .to_bytes(16, "big").hex(":"),
                           RevocationReason="SUPERSEDED")
    result(True, "the old intermediate still revokes")

    # files for the shell's openssl checks
    save("root0.pem", w.ca_cert(w.root0)[0])
    save("root1.pem", root1_pem)
    save("int0.pem", old_int_pem)
    save("int1.pem", renewed)
    save("int1_first.pem", int1_before)
    save("leaf_int0.pem", leaf_old)
    save("leaf_root0.pem", w.get(w.root0, w.leaf_root0)["Certificate"])
    save("leaf_int1.pem", g["Certificate"])
    ca, arn = load.last["root"]
    save("leaf_root1.pem", w.get(ca, arn)["Certificate"])
    links = describe_raw(w.root0).get("OpenPCA", {}).get(
        "LinkCertificates", [])
    with open(os.path.join(OUT, "ids.env"), "w") as f:
        for k, v in (("ROOT0", w.root0), ("ROOT1", root1), ("INT0", w.int0),
                     ("INT1", int1)):
            f.write("%s=%s\n" % (k, v))
        f.write("LINKS='%s'\n" % " ".join(links))
    return 0 if all(RESULTS) else 1


if __name__ == "__main__":
    d = P.Daemon()
    d.start()
    try:
        rc = main()
    finally:
        d.stop()
    sys.exit(rc)
