"""Issuance policies and the lint gate, end to end with unmodified boto3.

Run by tests/integration/test_policy.sh (PCA_DIR: a fresh appliance, BIN).
Certificates are read back with python cryptography and `openssl verify`;
refusals are checked by boto3 error code and by the rule in the message.
Prints one TAP line per check.
"""
import base64
import ipaddress
import os
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "api"))

import botocore.exceptions  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa
from cryptography.hazmat.primitives.asymmetric import ec, rsa  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa

import pcaclient as P  # noqa: E402
from suite import plan, tap  # noqa: E402

T = "arn:aws:acm-pca:::template/"
TMP = tempfile.mkdtemp(prefix="poltest")


def csr(key=None, cn="a.example.com", dns=("a.example.com",), ips=(),
        ou=None):
    key = key or ec.generate_private_key(ec.SECP256R1())
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if ou:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou))
    b = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(attrs))
    names = [x509.DNSName(d) for d in dns] + [
        x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    if names:
        b = b.add_extension(x509.SubjectAlternativeName(names), False)
    return b.sign(key, hashes.SHA256()).public_bytes(
        serialization.Encoding.PEM)


def rsa_key(bits):
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def issue(c, ca, pem, tmpl="EndEntityCertificate/V1", days=30, unit="DAYS",
          **kw):
    arn = c.issue_certificate(
        CertificateAuthorityArn=ca, Csr=pem, SigningAlgorithm="SHA256WITHECDSA",
        TemplateArn=T + tmpl, Validity={"Type": unit, "Value": days},
        **kw)["CertificateArn"]
    return c.get_certificate(CertificateAuthorityArn=ca, CertificateArn=arn)


def expect_ok(name, c, ca, pem, check=None, **kw):
    try:
        out = issue(c, ca, pem, **kw)
        cert = P.cert(out["Certificate"])
        ok, why = P.openssl_verify(out["Certificate"],
                                   out["CertificateChain"], TMP)
        if ok and check is not None:
            ok, why = check(cert)
        tap(ok, name, why)
    except botocore.exceptions.ClientError as e:
        tap(False, name, e.response["Error"])


def expect_refused(name, code, rule, c, ca, pem, **kw):
    try:
        issue(c, ca, pem, **kw)
        tap(False, name, "issued")
    except botocore.exceptions.ClientError as e:
        err = e.response["Error"]
        ok = err["Code"] == code and rule in err.get("Message", "")
        tap(ok, name, "%s: %s" % (err["Code"], err.get("Message")))


def new_root(c, cn):
    return P.new_root(c, {"CommonName": cn, "Organization": "Policy Test"},
                      {"Type": "YEARS", "Value": 10})[0]


def eku_is(*want):
    def check(cert):
        got = cert.extensions.get_extension_for_class(
            x509.ExtendedKeyUsage).value
        return set(got) == set(want), "EKU %s" % list(got)
    return check


def setup(d):
    """CAs made under no policy, then the policy file binds them."""
    d.start()
    c = P.client()
    cas = {n: new_root(c, "Root " + n) for n in
           ("web", "client", "code", "internal", "corp", "free", "nc")}
    k = P.parse_key(P.pcactl("key", "create", "--role", "issuer").stdout)
    d.stop()
    uuid = {n: a.rsplit("/", 1)[1] for n, a in cas.items()}
    with open(os.path.join(P.DIR, "policies.conf"), "w") as f:
        f.write("""# written by test_policy.py
[policy corp]
base = web_server
max_validity_days = 60
dns_suffix_allow = example.com
dns_suffix_deny = .bad.example.com
wildcard = no
ip_ranges = 10.0.0.0/8
subject_forbidden = OU   # inline comment: stripped

# name constraints stamped on the subordinate CAs of the bound CA
[policy ncpol]
nc_permitted_dns = example.com  # a comment after a list
nc_excluded_dns = .bad.example.com
nc_permitted_ip = 10.0.0.0/8 fd00::/8
nc_permitted_email = example.com
nc_excluded_email = .bad.example.com

[bind]
%(web)s = web_server
%(client)s = client_auth
%(code)s = code_signing
%(internal)s = internal_service
%(corp)s = corp
%(corp)s %(key)s = client_auth
%(nc)s = ncpol
""" % dict(uuid, key=k[0]))
    with open(P.CONF, "a") as f:
        f.write("\n[policy]\nfile = policies.conf\n")
    d.start()
    return c, cas, P.client(*k)


def builtins(c, cas):
    web, cl, code, intl = cas["web"], cas["client"], cas["code"], cas[
        "internal"]
    S, C = ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH
    IA, MC = "InvalidArgsException", "MalformedCSRException"
    expect_ok("web_server accepts EC P-256, DNS SAN, serverAuth, 398 days",
              c, web, csr(), tmpl="EndEntityServerAuthCertificate/V1",
              days=398, check=eku_is(S))
    expect_ok("web_server accepts RSA 2048", c, web, csr(rsa_key(2048)),
              tmpl="EndEntityServerAuthCertificate/V1")
    expect_refused("web_server refuses 399 days", IA, "rule validity.max_days",
                   c, web, csr(), days=399)
    expect_refused("web_server refuses a certificate without DNS SAN", IA,
                   "rule san.dns_required", c, web, csr(dns=()))
    expect_refused("web_server refuses clientAuth only", IA,
                   "rule eku.required", c, web, csr(),
                   tmpl="EndEntityClientAuthCertificate/V1")
    expect_refused("web_server refuses codeSigning", IA, "rule eku.required",
                   c, web, csr(), tmpl="CodeSigningCertificate/V1")
    expect_ok("client_auth accepts clientAuth for 180 days", c, cl, csr(),
              tmpl="EndEntityClientAuthCertificate/V1", days=180,
              check=eku_is(C))
    expect_refused("client_auth refuses 181 days", IA,
                   "rule validity.max_days", c, cl, csr(),
                   tmpl="EndEntityClientAuthCertificate/V1", days=181)
    expect_refused("client_auth refuses serverAuth only", IA,
                   "rule eku.required", c, cl, csr(),
                   tmpl="EndEntityServerAuthCertificate/V1")
    expect_refused("client_auth refuses serverAuth next to clientAuth", IA,
                   "rule eku.allowed", c, cl, csr())
    expect_ok("code_signing accepts EC P-384 for 3 years", c, code,
              csr(ec.generate_private_key(ec.SECP384R1())),
              tmpl="CodeSigningCertificate/V1", days=3, unit="YEARS",
              check=eku_is(ExtendedKeyUsageOID.CODE_SIGNING))
    expect_ok("code_signing accepts RSA 3072", c, code, csr(rsa_key(3072)),
              tmpl="CodeSigningCertificate/V1")
    expect_refused("code_signing refuses EC P-256 (MalformedCSR)", MC,
                   "rule key.ec_min_bits", c, code, csr(),
                   tmpl="CodeSigningCertificate/V1")
    expect_refused("code_signing refuses RSA 2048 (MalformedCSR)", MC,
                   "rule key.rsa_min_bits", c, code, csr(rsa_key(2048)),
                   tmpl="CodeSigningCertificate/V1")
    expect_refused("code_signing refuses 4 years", IA,
                   "rule validity.max_days", c, code,
                   csr(ec.generate_private_key(ec.SECP384R1())),
                   tmpl="CodeSigningCertificate/V1", days=4, unit="YEARS")
    expect_refused("code_signing refuses serverAuth", IA, "rule eku.required",
                   c, code, csr(ec.generate_private_key(ec.SECP384R1())))
    expect_ok("internal_service accepts EC, server+clientAuth, 90 days", c,
              intl, csr(), days=90, check=eku_is(S, C))
    expect_refused("internal_service refuses RSA (MalformedCSR)", MC,
                   "rule key.algorithm", c, intl, csr(rsa_key(2048)))
    expect_refused("internal_service refuses 91 days", IA,
                   "rule validity.max_days", c, intl, csr(), days=91)
    expect_refused("internal_service refuses serverAuth only", IA,
                   "rule eku.required", c, intl, csr(),
                   tmpl="EndEntityServerAuthCertificate/V1")


def operator(c, cas, keyc):
    corp, IA = cas["corp"], "InvalidArgsException"
    expect_ok("corp accepts a.example.com + 10.1.2.3", c, corp,
              csr(ips=("10.1.2.3",)))
    expect_refused("corp refuses a name outside example.com", IA,
                   "rule san.dns_suffix_allow", c, corp,
                   csr(cn="a.example.org", dns=("a.example.org",)))
    expect_refused("corp refuses a denied suffix", IA,
                   "rule san.dns_suffix_deny", c, corp,
                   csr(cn="x.bad.example.com", dns=("x.bad.example.com",)))
    expect_refused("corp refuses a wildcard", IA, "rule san.dns_wildcard",
                   c, corp, csr(dns=("*.example.com",)))
    expect_refused("corp refuses an IP outside 10/8", IA,
                   "rule san.ip_ranges", c, corp, csr(ips=("192.168.1.1",)))
    expect_refused("corp refuses subject OU", IA, "rule subject.forbidden",
                   c, corp, csr(ou="Sales"))
    expect_refused("corp refuses 61 days (overrides base)", IA,
                   "rule validity.max_days", c, corp, csr(), days=61)
    expect_refused("access-key binding: client_auth for the issuer key", IA,
                   "policy client_auth: rule eku.allowed", keyc, corp, csr())
    expect_ok("access-key binding: the issuer key gets clientAuth", keyc,
              corp, csr(), tmpl="EndEntityClientAuthCertificate/V1")


def lint(c, cas):
    free = cas["free"]
    expect_ok("no policy bound: an ordinary certificate passes lint", c, free,
              csr())
    expect_refused("lint refuses keyCertSign without cA (Blank template)",
                   "InvalidArgsException",
                   "ext_key_usage_cert_sign_without_ca", c, free, csr(),
                   tmpl="BlankEndEntityCertificate_APIPassthrough/V1",
                   ApiPassthrough={"Extensions": {"KeyUsage": {
                       "KeyCertSign": True, "DigitalSignature": True}}})
    ku = base64.b64encode(bytes.fromhex("03020204")).decode()  # keyCertSign
    expect_refused("lint refuses keyCertSign without cA (CustomExtensions)",
                   "InvalidArgsException",
                   "ext_key_usage_cert_sign_without_ca", c, free, csr(),
                   tmpl="BlankEndEntityCertificate_APIPassthrough/V1",
                   ApiPassthrough={"Extensions": {"CustomExtensions": [{
                       "ObjectIdentifier": "2.5.29.15", "Value": ku}]}})
    dup = {"ObjectIdentifier": "1.3.6.1.4.1.99999.1",
           "Value": base64.b64encode(b"\x05\x00").decode()}
    expect_refused("a duplicated custom extension is refused (by tbs.c, "
                   "before lint)", "InvalidArgsException", "repeats",
                   c, free, csr(),
                   tmpl="EndEntityCertificate_APIPassthrough/V1",
                   ApiPassthrough={"Extensions": {
                       "CustomExtensions": [dup, dup]}})
    with open(os.path.join(P.DIR, "pcad.log")) as f:
        log = f.read()
    tap("lint gate refused" in log and
        "ext_key_usage_cert_sign_without_ca" in log,
        "the lint refusal is logged with its rule")


def new_sub(c, parent, cn, tmpl, **kw):
    """A SUBORDINATE CA signed by parent with tmpl; returns (arn, cert)."""
    sub = c.create_certificate_authority(
        CertificateAuthorityConfiguration={
            "KeyAlgorithm": "EC_prime256v1",
            "SigningAlgorithm": "SHA256WITHECDSA",
            "Subject": {"CommonName": cn, "Organization": "Policy Test"}},
        CertificateAuthorityType="SUBORDINATE")["CertificateAuthorityArn"]
    pem = c.get_certificate_authority_csr(CertificateAuthorityArn=sub)["Csr"]
    out = issue(c, parent, pem.encode(), tmpl=tmpl, days=5, unit="YEARS",
                **kw)
    c.import_certificate_authority_certificate(
        CertificateAuthorityArn=sub, Certificate=out["Certificate"].encode(),
        CertificateChain=out["CertificateChain"].encode())
    return sub, out["Certificate"]


def x509_text(pem):
    r = subprocess.run(["openssl", "x509", "-noout", "-text"], input=pem,
                       capture_output=True, text=True)
    return r.stdout + r.stderr


def leaf_verify(name, c, sub, dns, want_ok, want_err=""):
    try:
        out = issue(c, sub, csr(cn=dns[0], dns=dns))
        ok, why = P.openssl_verify(out["Certificate"],
                                   out["CertificateChain"], TMP)
        tap(ok == want_ok and want_err in why, name, why)
    except botocore.exceptions.ClientError as e:
        tap(False, name, e.response["Error"])


def name_constraints(c, cas):
    """The policy of the nc root stamps nameConstraints on its subs."""
    try:
        sub, cert = new_sub(c, cas["nc"], "NC Sub",
                            "SubordinateCACertificate_PathLen0/V1")
    except botocore.exceptions.ClientError as e:
        tap(False, "subordinate CA under the nc policy", e.response["Error"])
        return
    t = x509_text(cert)
    tap("X509v3 Name Constraints: critical" in t and "DNS:example.com" in t
        and "IP:10.0.0.0/255.0.0.0" in t and "email:example.com" in t and
        "Excluded:" in t and "DNS:.bad.example.com" in t,
        "openssl x509 -text shows the critical nameConstraints", t)
    leaf_verify("a leaf inside the permitted subtree verifies", c, sub,
                ("a.example.com",), True)
    leaf_verify("a leaf outside the permitted subtree fails openssl verify",
                c, sub, ("a.example.org",), False,
                "permitted subtree violation")
    leaf_verify("a leaf in the excluded subtree fails openssl verify",
                c, sub, ("x.bad.example.com",), False,
                "excluded subtree violation")
    # NameConstraints { permitted { dNSName "evil.com" } }, critical
    evil = base64.b64encode(bytes.fromhex("300ea00c300a8208") +
                            b"evil.com").decode()
    try:
        _, cert = new_sub(
            c, cas["nc"], "NC Sub 2",
            "SubordinateCACertificate_PathLen0_APIPassthrough/V1",
            ApiPassthrough={"Extensions": {"CustomExtensions": [{
                "ObjectIdentifier": "2.5.29.30", "Critical": True,
                "Value": evil}]}})
        t = x509_text(cert)
        tap("DNS:example.com" in t and "evil.com" not in t,
            "ApiPassthrough cannot replace the policy's nameConstraints", t)
    except botocore.exceptions.ClientError as e:
        tap(False, "ApiPassthrough cannot replace the policy's "
            "nameConstraints", e.response["Error"])
    try:
        _, cert = new_sub(c, cas["free"], "Free Sub",
                          "SubordinateCACertificate_PathLen0/V1")
        tap("Name Constraints" not in x509_text(cert),
            "a CA without such a policy stamps no nameConstraints")
    except botocore.exceptions.ClientError as e:
        tap(False, "a CA without such a policy stamps no nameConstraints",
            e.response["Error"])
    try:
        out = issue(c, cas["nc"], csr())
        tap("Name Constraints" not in x509_text(out["Certificate"]),
            "end-entity certificates of the nc CA carry none")
    except botocore.exceptions.ClientError as e:
        tap(False, "end-entity certificates of the nc CA carry none",
            e.response["Error"])


def pcactl_check():
    p256 = os.path.join(TMP, "p256.csr")
    with open(p256, "wb") as f:
        f.write(csr())
    r = P.pcactl("policy", "check", p256, "--policy", "code_signing")
    tap(r.returncode == 1 and "rule key.ec_min_bits" in r.stderr and
        "FAIL key.ec_min_bits" in r.stdout,
        "pcactl policy check explains a refusal", r.stdout + r.stderr)
    r = P.pcactl("policy", "check", p256, "--policy", "web_server",
                 "--days", "30")
    tap(r.returncode == 0 and "permitted" in r.stdout,
        "pcactl policy check explains an acceptance", r.stdout + r.stderr)
    r = P.pcactl("policy", "list")
    tap(r.returncode == 0 and r.stdout.split() == [
        "web_server", "client_auth", "code_signing", "internal_service",
        "corp", "ncpol"], "pcactl policy list", r.stdout + r.stderr)
    bad = os.path.join(P.DIR, "bad.conf")
    with open(bad, "w") as f:
        f.write("[policy x]\nmax_validity_days = 10\nbase = web_server\n")
    with open(P.CONF) as f:
        conf = f.read().replace("file = policies.conf", "file = bad.conf")
    with open(os.path.join(P.DIR, "bad-pcad.conf"), "w") as f:
        f.write(conf)
    r = subprocess.run([os.path.join(P.BIN, "pcad"), "--config",
                        os.path.join(P.DIR, "bad-pcad.conf"),
                        "--check-config"], capture_output=True, text=True)
    tap(r.returncode != 0 and "bad.conf:3" in r.stderr and r.stdout == "",
        "pcad --check-config refuses a bad policy file (on stderr)",
        r.stdout + r.stderr)
    r = subprocess.run([os.path.join(P.BIN, "pcad"), "--config", P.CONF,
                        "--check-config"], capture_output=True, text=True)
    tap(r.returncode == 0 and "configuration OK" in r.stdout,
        "pcad --check-config accepts the policy file with inline comments",
        r.stdout + r.stderr)


def main():
    d = P.Daemon()
    try:
        c, cas, keyc = setup(d)
        builtins(c, cas)
        operator(c, cas, keyc)
        lint(c, cas)
        name_constraints(c, cas)
        pcactl_check()
    except Exception as e:  # noqa: BLE001 - reported as a failed check
        tap(False, "setup or run: %r" % e)
    finally:
        d.stop()
    return plan()


if __name__ == "__main__":
    sys.exit(main())
