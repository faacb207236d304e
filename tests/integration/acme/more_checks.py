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
    if len(ARGS) > 1:      # a subordinate CA's directory
        s = acme_lib.Client(ARGS[1], BUNDLE, tok)
        s.register()
        o, pem, links = s.issue(["sub.chain.example.test"])
        say(alt_links(links) == {}, "before a rotation: no alternate chain "
            "for a subordinate's certificate", links)
        with open(os.path.join(outdir, "sub.url"), "w") as f:
            f.write(ARGS[1].rsplit("/", 1)[0] + " " + o["certificate"])


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
    subf = os.path.join(outdir, "sub.url")
    if os.path.exists(subf):
        with open(subf) as f:
            sdir, surl = f.read().split()
        sc = acme_lib.Client(sdir + "/directory", BUNDLE, tok)
        sc.register()
        pem, links = sc.download(surl)
        alts = alt_links(links)
        say(list(alts) == ["by-successor"], "a subordinate's certificate "
            "under the rotated root has an alternate chain too", links)
        for name, u in alts.items():
            with open(os.path.join(outdir, "sub-alt.pem"), "w") as f:
                f.write(sc.download(u)[0])
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


def serial_of(pem):
    """The serial as the records spell it: whole bytes of hex, so a serial
    whose first byte is below 0x10 keeps its leading zero."""
    s = "%X" % x509.load_pem_x509_certificate(pem.encode()).serial_number
    return s.zfill(len(s) + len(s) % 2)


def replaces(outdir):
    tok = acme_lib.Tokens()
    acme_lib.responder(int(H01), tok)
    c = acme_lib.Client(DIR, BUNDLE, tok)
    c.register()
    _, pem_a, _ = c.issue(["ari.example.test"])
    rid = acme_lib.ari_id(pem_a)
    o = c.order(["ari.example.test"], replaces=rid)
    say(o.get("replaces") == rid, "newOrder with replaces: the order "
        "echoes it", o)
    c.validate(o)
    o = c.finalize(o, ["ari.example.test"])
    pem_b, _ = c.download(o["certificate"])
    with open(os.path.join(outdir, "serials"), "w") as f:
        f.write("%s %s\n" % (serial_of(pem_a), serial_of(pem_b)))
    expect_problem("replacing an already replaced certificate: "
                   "alreadyReplaced", lambda: c.order(
                       ["ari.example.test"], replaces=rid), "alreadyReplaced")
    expect_problem("replaces that is no certificate identifier: malformed",
                   lambda: c.order(["ari.example.test"], replaces="nodot"),
                   "malformed")
    other = acme_lib.Client(DIR, BUNDLE, tok)
    other.register()
    expect_problem("replacing another account's certificate: malformed",
                   lambda: other.order(["ari.example.test"],
                                       replaces=acme_lib.ari_id(pem_b)),
                   "malformed")


def prune_before(outdir):
    c = acme_lib.Client(DIR, BUNDLE)
    c.register()
    o = c.order(["prune.example.test"])
    c.save(os.path.join(outdir, "acct.json"))
    with open(os.path.join(outdir, "order.url"), "w") as f:
        f.write(o["url"] + "\n" + o["authorizations"][0])
    say(True, "an order left pending")


def prune_after(outdir, want_gone):
    c = acme_lib.Client(DIR, BUNDLE)
    c.load(os.path.join(outdir, "acct.json"))
    with open(os.path.join(outdir, "order.url")) as f:
        ourl, zurl = f.read().split()
    c.order(["later.example.test"])    # newOrder: pcad's hourly prune
    gone = []
    for u in (ourl, zurl):
        try:
            c.get(u)
            gone.append(False)
        except acme_lib.Problem as e:
            gone.append(e.status == 404)
    lst = json.loads(c.post(c.kid + "/orders", None)[2])["orders"]
    if want_gone == "1":
        say(gone == [True, True] and ourl not in lst,
            "orders and authorizations expired beyond keep_days are gone "
            "(404, and off the account's orders list)", (gone, lst))
    else:
        say(gone == [False, False] and ourl in lst,
            "within keep_days the expired order is kept", (gone, lst))


def failing():
    """One http-01 validation that fails (nothing served): invalid."""
    tok = acme_lib.Tokens()
    srv = acme_lib.responder(int(H01), tok)
    c = acme_lib.Client(DIR, BUNDLE, tok)
    c.register()
    o = c.order(["fail.example.test"])
    z = c.get(o["authorizations"][0])
    ch = [x for x in z["challenges"] if x["type"] == "http-01"][0]
    x = json.loads(c.post(ch["url"], {})[2])
    srv.shutdown()
    et = x.get("error", {}).get("type", "")
    say(x["status"] == "invalid" and (et.endswith(":incorrectResponse") or
                                      et.endswith(":connection")),
        "a challenge whose token is not served is invalid", x)
    o = c.get(o["url"])
    say(o["status"] == "invalid", "and so is its order", o)


def main():
    if SUITE == "profiles":
        profiles(*ARGS[:4])
    elif SUITE == "failing":
        failing()
    elif SUITE == "replaces":
        replaces(ARGS[0])
    elif SUITE == "prune-before":
        prune_before(ARGS[0])
    elif SUITE == "prune-after":
        prune_after(ARGS[0], ARGS[1])
    elif SUITE == "chains-before":
        chains_before(ARGS[0])
    elif SUITE == "chains-after":
        chains_after(ARGS[0], ARGS[1])
    else:
        say(False, "unknown suite " + SUITE)
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
