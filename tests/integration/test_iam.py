"""IAM key policies against pcad with unmodified boto3.

Run by tests/integration/test_iam.sh (fresh appliance, PCA_DIR and BIN set).
1. The decision table of tests/unit/iam/cases.json (the same cases the unit
   test evaluates with iam/): every case whose source address can be
   reproduced from here (127.0.0.1) goes through boto3 against pcad, and
   every case through `pcactl key policy simulate`; both must give the
   expected decision and agree with each other.
2. An `issuer` key against every template, with a CSR asking for cA=TRUE
   and (for API passthrough templates) a basicConstraints custom extension:
   no certificate with cA=TRUE comes out.
3. The CLI: validation errors naming the place, policy get/put, key list,
   a policy change taking effect on the running pcad.
Prints one TAP line per check.
"""
import base64
import json
import os
import re
import sys
import tempfile

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "api"))

import botocore.exceptions  # noqa: E402
from cryptography import x509  # noqa: E402

import pcaclient as P  # noqa: E402
from suite import status, tap  # noqa: E402

T = "arn:aws:acm-pca:::template/"
OTHER = "222233334444"
EC_CFG = {"KeyAlgorithm": "EC_prime256v1",
          "SigningAlgorithm": "SHA256WITHECDSA"}
CASES = os.path.join(HERE, "..", "unit", "iam", "cases.json")
MSG = re.compile(r"^User: arn:aws:iam::\d{12}:user/AKIA[A-Z0-9]{16} is not "
                 r"authorized to perform: (acm-pca|openpca):\w+"
                 r"( on resource: \S+)? "
                 r"(because no identity-based policy allows the action|"
                 r"because no resource-based policy allows the action|"
                 r"with an explicit deny in an identity-based policy|"
                 r"with an explicit deny in a resource-based policy)$")

TMP = tempfile.mkdtemp(prefix="pcaiam")


def templates():
    four = ["EndEntityCertificate", "EndEntityClientAuthCertificate",
            "EndEntityServerAuthCertificate", "CodeSigningCertificate",
            "OCSPSigningCertificate"] + [
        "SubordinateCACertificate_PathLen%d" % i for i in range(4)]
    blank = ["BlankEndEntityCertificate",
             "BlankEndEntityCertificate_CriticalBasicConstraints"] + [
        "BlankSubordinateCACertificate_PathLen%d" % i for i in range(4)]
    out = []
    for n in four:
        out += [n, n + "_CSRPassthrough", n + "_APIPassthrough",
                n + "_APICSRPassthrough"]
    out += ["RootCACertificate", "RootCACertificate_APIPassthrough"]
    for n in blank:
        out += [n + "_CSRPassthrough", n + "_APIPassthrough",
                n + "_APICSRPassthrough"]
    out += ["BlankRootCACertificate_APIPassthrough"] + [
        "BlankRootCACertificate_PathLen%d_APIPassthrough" % i
        for i in range(4)]
    return [t + "/V1" for t in out]


def code_msg(e):
    return e.response["Error"]["Code"], e.response["Error"].get("Message", "")


def classify(code, msg):
    if code == "AccessDeniedException":
        return "ExplicitDeny" if "explicit deny" in msg else "ImplicitDeny"
    if code == "InvalidArnException" and "is not in account" in msg:
        return "NotShared"
    return "Allow"


class World:
    """The CAs of the table (ACTIVE roots of the admin's account)."""

    def __init__(self, tab):
        self.c = P.client()
        self.tab = tab
        self.arn = {}
        for name in sorted(tab["cas"]):
            self.arn[name] = self.root(name)
        self.subs = {"${ACCOUNT}": P.ACCOUNT, "${OTHER}": OTHER,
                     "${REGION}": P.REGION}
        for name, arn in self.arn.items():
            self.subs["${%s}" % name] = arn
        for name, spec in tab["cas"].items():
            tags = [{"Key": k, "Value": v} for k, v in spec["tags"].items()]
            self.c.tag_certificate_authority(
                CertificateAuthorityArn=self.arn[name], Tags=tags)
            if "resource_policy" in spec:
                self.c.put_policy(ResourceArn=self.arn[name],
                                  Policy=self.subst(spec["resource_policy"]))
        self.keys = {}

    def root(self, cn):
        return P.new_root(self.c, {"CommonName": cn, "Organization": "T"})[0]

    def subst(self, obj):
        s = json.dumps(obj)
        for k, v in self.subs.items():
            s = s.replace(k, v)
        return s

    def key(self, pname, caller):
        if (pname, caller) in self.keys:
            return self.keys[(pname, caller)]
        spec = self.tab["policies"][pname]
        args = ["key", "create", "--account",
                OTHER if caller == "other" else P.ACCOUNT]
        if "managed" in spec:
            args += ["--role", spec["managed"]]
            for ca in spec.get("cas", []):
                args += ["--ca", self.subst(ca).strip('"')]
        else:
            path = os.path.join(TMP, pname + ".json")
            with open(path, "w") as f:
                f.write(self.subst(spec))
            args += ["--policy", path]
        r = P.pcactl(*args)
        if r.returncode != 0:
            raise RuntimeError("key create %s: %s" % (pname, r.stderr))
        self.keys[(pname, caller)] = P.parse_key(r.stdout)
        return self.keys[(pname, caller)]


get_cert = P.get_cert


def probe(w, case, akid, secret):
    """Runs the case's operation; returns (code or None, message)."""
    c = P.client(akid, secret)
    op = case["action"]
    ca = w.arn.get(case.get("resource"))
    tags = case.get("tags") or {}
    if op in ("ListCertificates", "GetComplianceReport"):
        body = {"CertificateAuthorityArn": ca} if ca else {}
        st, _, out = P.raw(op, body, akid, secret,
                           headers={"X-Amz-Target": "OpenPCA." + op})
        if st == 200:
            return None, ""
        return out.get("__type"), out.get("message", "")
    calls = {
        "IssueCertificate": lambda: c.issue_certificate(
            CertificateAuthorityArn=ca, Csr=P.make_csr(),
            SigningAlgorithm="SHA256WITHECDSA",
            Validity={"Type": "DAYS", "Value": 1},
            **({"TemplateArn": T + case["template"]}
               if case.get("template") else {})),
        "GetCertificate": lambda: c.get_certificate(
            CertificateAuthorityArn=ca,
            CertificateArn=ca + "/certificate/" + "ab" * 16),
        "DescribeCertificateAuthority": lambda:
            c.describe_certificate_authority(CertificateAuthorityArn=ca),
        "GetCertificateAuthorityCertificate": lambda:
            c.get_certificate_authority_certificate(
                CertificateAuthorityArn=ca),
        "GetPolicy": lambda: c.get_policy(ResourceArn=ca),
        "ListTags": lambda: c.list_tags(CertificateAuthorityArn=ca),
        "ListCertificateAuthorities": lambda:
            c.list_certificate_authorities(),
        "RevokeCertificate": lambda: c.revoke_certificate(
            CertificateAuthorityArn=ca, CertificateSerial="0123456789abcdef",
            RevocationReason="UNSPECIFIED"),
        "CreateCertificateAuthority": lambda:
            c.create_certificate_authority(
                CertificateAuthorityConfiguration=dict(
                    EC_CFG, Subject={"CommonName": "iam-probe"}),
                CertificateAuthorityType="ROOT",
                **({"Tags": [{"Key": k, "Value": v}
                             for k, v in tags.items()]} if tags else {})),
        "TagCertificateAuthority": lambda: c.tag_certificate_authority(
            CertificateAuthorityArn=ca,
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()]),
        "UntagCertificateAuthority": lambda: c.untag_certificate_authority(
            CertificateAuthorityArn=ca, Tags=[{"Key": k} for k in tags]),
        "PutPolicy": lambda: c.put_policy(ResourceArn=ca, Policy="{}"),
    }
    try:
        calls[op]()
        return None, ""
    except botocore.exceptions.ClientError as e:
        return code_msg(e)


def simulate(w, case, akid):
    args = ["--json", "key", "policy", "simulate", akid, "--action",
            case["action"]]
    if case.get("resource"):
        args += ["--resource", w.arn[case["resource"]]]
    if case.get("template"):
        args += ["--template", case["template"]]
    for k, v in (case.get("tags") or {}).items():
        args += ["--tag", k if v is None else "%s=%s" % (k, v)]
    args += ["--source-ip", case.get("source_ip") or "127.0.0.1"]
    r = P.pcactl(*args)
    if r.returncode != 0:
        return None, None, r.stderr
    o = json.loads(r.stdout)
    reason = o["Reason"]
    got = ("Allow" if o["Decision"] == "Allow" else
           "ExplicitDeny" if reason == "explicit deny" else
           "NotShared" if reason.startswith("not shared") else
           "ImplicitDeny")
    return got, o["Sid"], r.stdout


def table(w):
    cases = w.tab["cases"]
    tap(len(cases) >= 60, "the table has %d cases" % len(cases))
    for i, case in enumerate(cases):
        akid, secret = w.key(case["policy"], case.get("caller", "self"))
        want = case["expect"]
        name = "case %d %s" % (i, case["name"])
        sim, sid, simout = simulate(w, case, akid)
        ip = case.get("source_ip") or "127.0.0.1"
        if ip != "127.0.0.1":
            tap(sim == want and ("sid" not in case or sid == case["sid"]),
                name + " (simulate only: source %s)" % ip,
                "expected %s, simulate %s\n%s" % (want, sim, simout))
            continue
        code, msg = probe(w, case, akid, secret)
        got = classify(code, msg)
        shape = code != "AccessDeniedException" or MSG.match(msg)
        tap(got == want and sim == want and shape and
            ("sid" not in case or sid == case["sid"]),
            name, "expected %s, server %s (%s: %s), simulate %s\n%s" %
            (want, got, code, msg, sim, simout))


def ca_flag(pem):
    try:
        bc = P.cert(pem).extensions.get_extension_for_class(
            x509.BasicConstraints).value
        return bc.ca
    except x509.ExtensionNotFound:
        return False


def issuer_never_ca(w):
    """An issuer key gets no cA=TRUE certificate by any route."""
    akid, secret = w.key("issuer", "self")
    issuer = P.client(akid, secret)
    ca = w.arn["CA1"]
    csr = P.make_csr(extensions=[(x509.BasicConstraints(
        ca=True, path_length=None), True)])
    bc_true = base64.b64encode(bytes.fromhex("30030101ff")).decode()
    passthrough = {"Extensions": {"CustomExtensions": [
        {"ObjectIdentifier": "2.5.29.19", "Value": bc_true,
         "Critical": True}]}}
    issued = denied = refused = 0
    bad = []
    for t in templates():
        kw = dict(CertificateAuthorityArn=ca, Csr=csr,
                  SigningAlgorithm="SHA256WITHECDSA", TemplateArn=T + t,
                  Validity={"Type": "DAYS", "Value": 1})
        if "APIPassthrough" in t or "APICSRPassthrough" in t:
            kw["ApiPassthrough"] = passthrough
        ca_template = "CACertificate" in t or t.startswith("Blank")
        try:
            arn = issuer.issue_certificate(**kw)["CertificateArn"]
        except botocore.exceptions.ClientError as e:
            code, msg = code_msg(e)
            if code == "AccessDeniedException":
                denied += 1
            else:
                refused += 1
                if ca_template:
                    bad.append("%s: %s (not AccessDenied)" % (t, code))
            continue
        issued += 1
        if ca_template:
            bad.append("%s: issued" % t)
        if ca_flag(get_cert(w.c, ca, arn)):
            bad.append("%s: cA=TRUE" % t)
        # the same without the passthrough extension
        if "ApiPassthrough" in kw:
            del kw["ApiPassthrough"]
            try:
                arn = issuer.issue_certificate(**kw)["CertificateArn"]
                if ca_flag(get_cert(w.c, ca, arn)):
                    bad.append("%s (CSR only): cA=TRUE" % t)
            except botocore.exceptions.ClientError:
                pass
    tap(not bad and issued > 0 and denied > 0,
        "issuer: no cA=TRUE by any of %d templates (%d issued, %d denied, "
        "%d refused by the engine)" % (len(templates()), issued, denied,
                                       refused), "\n".join(bad))
    # the check can see a CA certificate: the admin gets one
    arn = w.c.issue_certificate(
        CertificateAuthorityArn=ca, Csr=csr, SigningAlgorithm="SHA256WITHECDSA",
        TemplateArn=T + "SubordinateCACertificate_PathLen0/V1",
        Validity={"Type": "DAYS", "Value": 1})["CertificateArn"]
    tap(ca_flag(get_cert(w.c, ca, arn)),
        "admin: SubordinateCACertificate_PathLen0 gives cA=TRUE (control)")


def cli(w):
    ca1 = w.arn["CA1"]
    bad = os.path.join(TMP, "bad.json")
    with open(bad, "w") as f:
        json.dump({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "acm-pca:*", "Resource": "*"},
            {"Effect": "Allow", "Action": "acm-pca:IssueCertificate",
             "Resource": "*", "Condition": {"StringEqualz": {
                 "acm-pca:TemplateArn": "x"}}}]}, f)
    r = P.pcactl("key", "create", "--policy", bad)
    tap(r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1 and
        "Statement[1].Condition: unknown operator StringEqualz" in r.stderr,
        "key create --policy: a bad policy is refused naming its place",
        r.stderr)
    r = P.pcactl("key", "create", "--role", "issuer", "--ca", ca1)
    akid, secret = P.parse_key(r.stdout)
    r = P.pcactl("key", "policy", "get", akid)
    tap(r.returncode == 0 and ca1 in r.stdout and "issuer" in r.stdout,
        "key policy get: the managed issuer policy over the named CA",
        r.stdout + r.stderr)
    r = P.pcactl("key", "policy", "put", akid, "--policy", bad)
    tap(r.returncode != 0 and "unknown operator StringEqualz" in r.stderr,
        "key policy put: validated", r.stderr)
    r = P.pcactl("--json", "key", "list")
    keys = {k["AccessKeyId"]: k for k in json.loads(r.stdout)}
    tap(keys.get(akid, {}).get("Policy") == "issuer" and
        keys[akid].get("CAs") == [ca1] and "PolicyDocument" in keys[akid],
        "key list shows the policy", r.stdout[:2000])
    r = P.pcactl("key", "policy", "simulate", akid, "--action",
                 "IssueCertificate", "--resource", ca1, "--template",
                 "RootCACertificate")
    tap(r.returncode == 0 and r.stdout.startswith("Deny (implicit deny)") and
        "no identity-based policy allows" in r.stdout,
        "key policy simulate: text output", r.stdout + r.stderr)
    r = P.pcactl("key", "policy", "simulate", akid, "--action", "Frobnicate")
    tap(r.returncode != 0 and "Frobnicate" in r.stderr,
        "key policy simulate: unknown action refused", r.stderr)
    try:
        w.c.put_policy(ResourceArn=ca1, Policy=json.dumps({
            "Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": OTHER},
                 "Action": "acm-pca:IssueCertificate", "Resource": ca1,
                 "Condition": {"StringEqualz": {"acm-pca:TemplateArn": "x"}}}
            ]}))
        got = "accepted"
    except botocore.exceptions.ClientError as e:
        got = "%s: %s" % code_msg(e)
    tap(got.startswith("InvalidPolicyException") and
        "Statement[0].Condition: unknown operator StringEqualz" in got,
        "PutPolicy: a resource policy is validated naming the place", got)
    # a change of policy applies to the running pcad from the next request
    c = P.client(akid, secret)
    c.describe_certificate_authority(CertificateAuthorityArn=ca1)
    deny = os.path.join(TMP, "deny.json")
    with open(deny, "w") as f:
        json.dump({"Version": "2012-10-17", "Statement": [
            {"Sid": "Everything", "Effect": "Allow", "Action": "*",
             "Resource": "*"},
            {"Sid": "NoDescribe", "Effect": "Deny",
             "Action": "acm-pca:Describe*", "Resource": ca1}]}, f)
    r = P.pcactl("key", "policy", "put", akid, "--policy", deny)
    try:
        c.describe_certificate_authority(CertificateAuthorityArn=ca1)
        got = "allowed"
    except botocore.exceptions.ClientError as e:
        got = "%s: %s" % code_msg(e)
    want = ("AccessDeniedException: User: arn:aws:iam::%s:user/%s is not "
            "authorized to perform: acm-pca:DescribeCertificateAuthority on "
            "resource: %s with an explicit deny in an identity-based policy"
            % (P.ACCOUNT, akid, ca1))
    tap(r.returncode == 0 and got == want,
        "key policy put takes effect on the running pcad", got)
    P.pcactl("key", "revoke", akid)


def main():
    with open(CASES) as f:
        tab = json.load(f)
    P.Daemon.start(DAEMON)
    try:
        w = World(tab)
        table(w)
        issuer_never_ca(w)
        cli(w)
    finally:
        DAEMON.stop()
    return status()


DAEMON = P.Daemon()

if __name__ == "__main__":
    sys.exit(main())
