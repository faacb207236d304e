"""OpenPCA.ListCertificates and pcactl cert list against the fill manifest."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "api"))
import pcaclient as P  # noqa: E402
from suite import plan, tap  # noqa: E402


def check(name, ok, detail=""):
    """tap() with the name first, as this suite's checks read."""
    tap(ok, name, detail)


def manifest():
    rows = []
    for line in open(os.environ["MANIFEST"]):
        ca, ser, st, na, tmpl, cn = line.split()
        rows.append(dict(ca=ca, serial=ser, status=st, na=int(na),
                         tmpl=tmpl, cn=cn))
    return rows


def status_at(r, now):
    if r["status"] in ("PENDING", "REVOKED"):
        return r["status"]
    return "EXPIRED" if r["na"] < now else "ISSUED"


list_all = P.list_certificates


def keyset(items):
    return {(i["CertificateAuthorityArn"].rsplit("/", 1)[1], i["Serial"])
            for i in items}


def main():
    rows = manifest()
    cas = sorted({r["ca"] for r in rows})
    d = P.Daemon()
    d.start()
    try:
        cas_arn = {}
        st, _, r = P.raw("ListCertificateAuthorities", {})
        for c in r["CertificateAuthorities"]:
            cas_arn[c["Arn"].rsplit("/", 1)[1]] = c["Arn"]
        now = int(time.time())
        t30 = now + 30 * 86400
        tarn = "arn:aws:acm-pca:::template/EndEntityClientAuthCertificate/V1"
        cases = [
            ("all", {}, lambda r: True),
            ("by CA", {"CertificateAuthorityArn": cas_arn[cas[0]]},
             lambda r: r["ca"] == cas[0]),
            ("status ISSUED", {"Status": "ISSUED"},
             lambda r: status_at(r, now) == "ISSUED"),
            ("status REVOKED", {"Status": "REVOKED"},
             lambda r: r["status"] == "REVOKED"),
            ("status EXPIRED", {"Status": "EXPIRED"},
             lambda r: status_at(r, now) == "EXPIRED"),
            ("status PENDING", {"Status": "PENDING"},
             lambda r: r["status"] == "PENDING"),
            ("expiring within 30 days",
             {"Status": "ISSUED", "ExpiringBefore": t30},
             lambda r: status_at(r, now) == "ISSUED" and r["na"] < t30),
            ("expiring before (any status)", {"ExpiringBefore": t30},
             lambda r: r["na"] < t30),
            ("name substring", {"NameContains": "CORP.example"},
             lambda r: "corp.example" in r["cn"]),
            ("name substring, exact host", {"NameContains": "host-4242."},
             lambda r: r["cn"].startswith("host-4242.")),
            ("template", {"TemplateArn": tarn},
             lambda r: r["tmpl"] == "EndEntityClientAuthCertificate/V1"),
            ("CA + template + status + name",
             {"CertificateAuthorityArn": cas_arn[cas[1]], "TemplateArn": tarn,
              "Status": "ISSUED", "NameContains": "web.example"},
             lambda r: r["ca"] == cas[1] and status_at(r, now) == "ISSUED"
             and r["tmpl"] == "EndEntityClientAuthCertificate/V1"
             and "web.example" in r["cn"]),
            ("issued through ACME (none of the fill)",
             {"IssuedThroughAcme": True}, lambda r: False),
            ("IssuedThroughAcme false is no filter",
             {"IssuedThroughAcme": False}, lambda r: True),
        ]
        for name, body, pred in cases:
            want = {(r["ca"], r["serial"]) for r in rows if pred(r)}
            got, calls = list_all(body, page=1000)
            dup = len(got) != len(keyset(got))
            check("API %s: %d certificates exactly (%d calls)" %
                  (name, len(want), calls), keyset(got) == want and not dup,
                  "missing %d extra %d dup %s" % (len(want - keyset(got)),
                                                  len(keyset(got) - want), dup))
        got, calls = list_all({"Status": "ISSUED", "ExpiringBefore": t30},
                              page=7)
        want = {(r["ca"], r["serial"]) for r in rows
                if status_at(r, now) == "ISSUED" and r["na"] < t30}
        check("pages of 7 cover the set once (%d calls)" % calls,
              keyset(got) == want and len(got) == len(want))
        nas = [i["NotAfter"] for i in got]
        check("items come in NotAfter order", nas == sorted(nas))
        one = [i for i in got if i["Serial"] == got[0]["Serial"]][0]
        r0 = [r for r in rows if r["serial"] == one["Serial"]][0]
        check("item shape: subject, SANs, template, status",
              one["Subject"] == "CN=" + r0["cn"] and
              one["SubjectAlternativeNames"] == ["DNS:" + r0["cn"]] and
              one["Status"] == "ISSUED" and
              one["TemplateArn"].endswith(r0["tmpl"]) and
              one["CertificateArn"] == one["CertificateAuthorityArn"] +
              "/certificate/" + one["Serial"], one)
        rv, _ = list_all({"Status": "REVOKED"}, page=3)
        check("revoked items carry RevokedAt and RevocationReason",
              all(i.get("RevocationReason") == "KEY_COMPROMISE" and
                  "RevokedAt" in i for i in rv))
        st, _, r = P.raw("ListCertificates", {"NextToken": "bogus"},
                         headers={"X-Amz-Target": "OpenPCA.ListCertificates"})
        check("forged NextToken: InvalidNextTokenException",
              st == 400 and r.get("__type") == "InvalidNextTokenException", r)
        _, _, r1 = P.raw("ListCertificates", {"Status": "REVOKED",
                                              "MaxResults": 2},
                         headers={"X-Amz-Target": "OpenPCA.ListCertificates"})
        st, _, r = P.raw("ListCertificates", {"Status": "ISSUED",
                                              "NextToken": r1["NextToken"]},
                         headers={"X-Amz-Target": "OpenPCA.ListCertificates"})
        check("NextToken of other filters refused",
              st == 400 and r.get("__type") == "InvalidNextTokenException", r)
        every, _ = list_all({}, page=1000)
        check("no item of a certificate not issued through ACME has Acme",
              len(every) == len(rows) and
              not any("Acme" in i for i in every))
        x = every[len(every) // 2]
        ca_x = x["CertificateAuthorityArn"]
        got, calls = list_all({"CertificateAuthorityArn": ca_x,
                               "Serial": x["Serial"].lower()})
        check("Serial: that one certificate, read directly (1 call)",
              got == [x] and calls == 1, (got, x))
        other = "ISSUED" if x["Status"] != "ISSUED" else "REVOKED"
        got, _ = list_all({"CertificateAuthorityArn": ca_x,
                           "Serial": x["Serial"], "Status": other})
        got2, _ = list_all({"CertificateAuthorityArn": ca_x,
                            "Serial": "7F" * 20})
        check("Serial with other filters that exclude it, or unknown: "
              "empty", got == [] and got2 == [], (got, got2))
        bad = []
        for body in ({"Serial": x["Serial"]},
                     {"CertificateAuthorityArn": ca_x, "Serial": "xyz"},
                     {"CertificateAuthorityArn": ca_x, "Serial": "AB" * 21}):
            st, _, r = P.raw("ListCertificates", body, headers={
                "X-Amz-Target": "OpenPCA.ListCertificates"})
            bad.append((st, r.get("__type")))
        check("Serial without a CA, not hex, or over 20 octets: 400",
              all(b[0] == 400 and b[1] in ("InvalidArgsException",
                                           "ValidationException")
                  for b in bad), bad)
        st, _, r = P.raw("ListCertificates", {"IssuedThroughAcme": "yes"},
                         headers={"X-Amz-Target": "OpenPCA.ListCertificates"})
        check("IssuedThroughAcme not a boolean: SerializationException",
              st == 400 and r.get("__type") == "SerializationException", r)
        st, _, r = P.raw("ListCertificates", {"Status": "BOGUS"},
                         headers={"X-Amz-Target": "OpenPCA.ListCertificates"})
        check("bad Status: ValidationException",
              st == 400 and r.get("__type") == "ValidationException", r)
        st, _, r = P.raw("ListCertificates", {})
        check("ACMPrivateCA.ListCertificates is unknown",
              st == 400 and r.get("__type") == "UnknownOperationException", r)
        for role, ok in (("auditor", True), ("issuer", False)):
            k = P.parse_key(P.pcactl("key", "create", "--role", role,
                                     "--account", "111122223333").stdout)
            st, _, r = P.raw("ListCertificates", {"MaxResults": 1},
                             akid=k[0], secret=k[1],
                             headers={"X-Amz-Target":
                                      "OpenPCA.ListCertificates"})
            check("role %s %s" % (role, "allowed" if ok else "denied"),
                  (st == 200) == ok, r)
    finally:
        d.stop()
    # pcactl, offline, over the same store
    now = int(time.time())
    pc = [
        (["--status", "REVOKED"], lambda r: r["status"] == "REVOKED"),
        (["--ca", cas[0], "--status", "issued"],
         lambda r: r["ca"] == cas[0] and status_at(r, now) == "ISSUED"),
        (["--expiring-days", "30"],
         lambda r: status_at(r, now) == "ISSUED" and r["na"] <= now + 30 * 86400),
        (["--subject", "corp.example", "--template",
          "EndEntityCertificate/V1"],
         lambda r: "corp.example" in r["cn"] and
         r["tmpl"] == "EndEntityCertificate/V1"),
        (["--expiring-before", str(now + 10 * 86400)],
         lambda r: r["na"] < now + 10 * 86400),
    ]
    for args, pred in pc:
        res = P.pcactl("--json", "cert", "list", *args)
        if res.returncode != 0:
            check("pcactl cert list %s" % " ".join(args), False, res.stderr)
            continue
        out = json.loads(res.stdout)
        got = {(o["CaId"], o["Serial"]) for o in out}
        want = {(r["ca"], r["serial"]) for r in rows if pred(r)}
        check("pcactl cert list %s: %d exactly" % (" ".join(args), len(want)),
              got == want and len(out) == len(got),
              "missing %d extra %d" % (len(want - got), len(got - want)))
    return plan()


if __name__ == "__main__":
    sys.exit(main())
