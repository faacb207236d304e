#!/usr/bin/env python3
"""test_acme_more.sh's checks through acme_lib (TAP-ish "ok - NAME" /
"not ok - NAME" lines).

usage: more_checks.py SUITE DIRECTORY CA_BUNDLE HTTP01_PORT ARGS...
  profiles KID1 HMAC1 KID2 HMAC2   EAB policy binding and profiles
  chains OUTDIR                    issue one certificate, save chain+links
  replaces OUTDIR                  issue, renew with "replaces"
"""
import datetime
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import acme_lib  # noqa: E402
from cryptography import x509  # noqa: E402

SUITE, DIR, BUNDLE, H01 = sys.argv[1:5]
ARGS = sys.argv[5:]
FAILS = 0


def say(ok, name, extra=""):
    global FAILS
    print(("ok - " if ok else "not ok - ") + name, flush=True)
    if not ok:
        FAILS += 1
        for line in str(extra).splitlines()[:10]:
            print("#   " + line)


def expect_problem(name, fn, ptype, detail_has=None):
    try:
        r = fn()
    except acme_lib.Problem as e:
        ok = e.type == ptype and e.status < 500 and (
            detail_has is None or detail_has in e.doc.get("detail", ""))
        say(ok, name, "%d %s" % (e.status, e.doc))
        return e
    say(False, name, "no problem: %r" % (r,))
    return None


def days(pem):
    c = x509.load_pem_x509_certificate(pem.encode())
    nb = getattr(c, "not_valid_before_utc", None) or c.not_valid_before
    na = getattr(c, "not_valid_after_utc", None) or c.not_valid_after
    return (na - nb) / datetime.timedelta(days=1)


def profiles(kid1, hk1, kid2, hk2):
    tok = acme_lib.Tokens()
    acme_lib.responder(int(H01), tok)
    c1 = acme_lib.Client(DIR, BUNDLE, tok)
    meta = c1.dir.get("meta", {})
    say(set(meta.get("profiles", {})) >= {"narrow", "short", "toolong"} and
        meta["profiles"]["short"] == "seven days for the web",
        "the directory lists the CA's profiles in meta.profiles", meta)
    c1.register(eab=(kid1, hk1))
    # EAB key 1: policy narrow_web (ok.example.test only), no profile list
    expect_problem("a name outside the EAB key's policy: rejectedIdentifier "
                   "naming the policy and rule",
                   lambda: c1.order(["bad.example.test"]),
                   "rejectedIdentifier",
                   "policy narrow_web: rule san.dns_suffix_allow")
    try:
        o, pem, _ = c1.issue(["a.ok.example.test"])
        say(88 <= days(pem) <= 91 and "profile" not in o,
            "within its policy an order without profile issues ([acme] "
            "validity_days)", "%s days" % days(pem))
    except acme_lib.Problem as e:
        say(False, "within its policy an order without profile issues", e)
    expect_problem("an unknown profile: invalidProfile",
                   lambda: c1.order(["b.ok.example.test"], profile="nope"),
                   "invalidProfile")
    expect_problem("a profile of another policy: invalidProfile",
                   lambda: c1.order(["b.ok.example.test"], profile="short"),
                   "invalidProfile")
    expect_problem("profile must be a string: malformed",
                   lambda: c1.order(["b.ok.example.test"], profile=7),
                   "malformed")
    try:
        o, pem, _ = c1.issue(["c.ok.example.test"], profile="narrow")
        say(o.get("profile") == "narrow" and 4.9 <= days(pem) <= 5.1,
            "a profile of its policy: the order echoes it and the "
            "certificate has the profile's validity (5 days)",
            "%s %s days" % (o.get("profile"), days(pem)))
    except acme_lib.Problem as e:
        say(False, "a profile of its policy issues", e)
    o = c1.order(["d.ok.example.test"], profile="toolong")
    c1.validate(o)
    expect_problem("finalize is judged by the bound policy in the engine "
                   "(validity over the policy's max_days): badCSR naming "
                   "the rule", lambda: c1.finalize(o, ["d.ok.example.test"]),
                   "badCSR", "rule validity.max_days")
    # EAB key 2: profiles short only; its default is short
    c2 = acme_lib.Client(DIR, BUNDLE, tok)
    c2.register(eab=(kid2, hk2))
    try:
        o, pem, _ = c2.issue(["x.elsewhere.example.test"])
        say(o.get("profile") == "short" and 6.9 <= days(pem) <= 7.1,
            "an EAB key's first profile is its default (7 days)",
            "%s %s" % (o.get("profile"), days(pem)))
    except acme_lib.Problem as e:
        say(False, "an EAB key's first profile is its default", e)
    expect_problem("a profile the EAB key does not list: invalidProfile",
                   lambda: c2.order(["y.ok.example.test"], profile="narrow"),
                   "invalidProfile")


def alt_links(links):
    out = {}
    for l in links:
        for part in l.split(","):
            if 'rel="alternate"' in part:
                u = part.split(">")[0].strip().lstrip("<")
                out[u.rsplit("/", 1)[-1]] = u
    return out


def chains_before(outdir):
    tok = acme_lib.Tokens()
    acme_lib.responder(int(H01), tok)
    c = acme_lib.Client(DIR, BUNDLE, tok)
    c.register()
    o, pem, links = c.issue(["old.chain.example.test"])
    say(alt_links(links) == {}, "before a rotation: no alternate chain",
        links)
    with open(os.path.join(outdir, "old.url"), "w") as f:
        f.write(o["certificate"])
    with open(os.path.join(outdir, "old-default.pem"), "w") as f:
        f.write(pem)


def chains_after(outdir, newdir):
    tok = acme_lib.Tokens()
    acme_lib.responder(int(H01), tok)
    c = acme_lib.Client(DIR, BUNDLE, tok)
    c.register()
    with open(os.path.join(outdir, "old.url")) as f:
        url = f.read().strip()
    pem, links = c.download(url)
    alts = alt_links(links)
    say(list(alts) == ["by-successor"], "after the rotation the old root's "
        "certificate has an alternate chain (Link rel=alternate)", links)
    for name, u in alts.items():
        apem, alinks = c.download(u)
        say(apem.startswith(pem.split("-----END CERTIFICATE-----")[0]),
            "the alternate chain downloads and starts with the same leaf")
        with open(os.path.join(outdir, "old-alt.pem"), "w") as f:
            f.write(apem)
    e = expect_problem("an unknown alternate: 404 malformed",
                       lambda: c.download(url + "/alt/nope"), "malformed")
    n = acme_lib.Client(newdir, BUNDLE, tok)
    n.register()
    o, pem, links = n.issue(["new.chain.example.test"])
    alts = alt_links(links)
    say(list(alts) == ["by-predecessor"], "the successor root's "
        "certificate has an alternate chain through the old root", links)
    with open(os.path.join(outdir, "new-default.pem"), "w") as f:
        f.write(pem)
    for name, u in alts.items():
        with open(os.path.join(outdir, "new-alt.pem"), "w") as f:
            f.write(n.download(u)[0])


def main():
    if SUITE == "profiles":
        profiles(*ARGS[:4])
    elif SUITE == "chains-before":
        chains_before(ARGS[0])
    elif SUITE == "chains-after":
        chains_after(ARGS[0], ARGS[1])
    else:
        say(False, "unknown suite " + SUITE)
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
