#!/usr/bin/env python3
"""A small ACME client (python cryptography) for test_acme_dns.sh: the
checks no stock client can make, printing "ok - NAME" / "not ok - NAME".

usage: dns_client.py DIRECTORY_URL CA_BUNDLE MODE NAME [ARG]
  offer NAME        newOrder [NAME, *.NAME]: the wildcard's authorization
                    names NAME, says "wildcard": true and offers dns-01
                    only; NAME's offers http-01, tls-alpn-01 and dns-01;
                    bad wildcards are rejected
  wrong NAME        a wrong TXT value at _acme-challenge.NAME (published
                    with knsupdate: KNOT_PORT, KNOT_SECRET) makes the
                    authorization invalid (incorrectResponse)
  down NAME MAXSEC  with the resolver down the dns-01 answer comes within
                    MAXSEC seconds, invalid with a "dns" problem
  validate NAMES STATE  orders each comma-separated name and validates it
                    by dns-01 (TXT published with knsupdate); saves the
                    account key and orders in the file STATE
  finalize NAME STATE WANT  finalizes NAME's order from STATE: WANT is
                    "valid" or "caa" (the CAA re-check at finalize)
"""
import base64
import hashlib
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

DIR, BUNDLE, MODE, NAME = sys.argv[1:5]
ARG = sys.argv[5] if len(sys.argv) > 5 else None
WANT = sys.argv[6] if len(sys.argv) > 6 else None
CTX = ssl.create_default_context(cafile=BUNDLE)


def say(ok, name, extra=""):
    print(("ok - " if ok else "not ok - ") + name)
    if not ok:
        for line in str(extra).splitlines()[:10]:
            print("#   " + line)


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def request(method, url, body=None):
    req = urllib.request.Request(url, data=body, method=method)
    if body is not None:
        req.add_header("Content-Type", "application/jose+json")
    try:
        with urllib.request.urlopen(req, context=CTX, timeout=120) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


D = json.loads(request("GET", DIR)[2])
if MODE == "finalize":
    with open(ARG) as f:
        STATE = json.load(f)
    K = serialization.load_pem_private_key(STATE["key"].encode(), None)
else:
    STATE = {}
    K = ec.generate_private_key(ec.SECP256R1())
N = K.public_key().public_numbers()
JWK = {"crv": "P-256", "kty": "EC", "x": b64(N.x.to_bytes(32, "big")),
       "y": b64(N.y.to_bytes(32, "big"))}
THUMB = b64(hashlib.sha256(json.dumps(JWK, sort_keys=True,
                                      separators=(",", ":")).encode()).digest())
KID = None


def post(url, payload):
    nonce = request("HEAD", D["newNonce"])[1]["Replay-Nonce"]
    prot = {"alg": "ES256", "url": url, "nonce": nonce}
    if KID:
        prot["kid"] = KID
    else:
        prot["jwk"] = JWK
    p = b64(json.dumps(prot).encode())
    pl = "" if payload is None else b64(json.dumps(payload).encode())
    r, s = decode_dss_signature(K.sign((p + "." + pl).encode(),
                                       ec.ECDSA(hashes.SHA256())))
    body = json.dumps({"protected": p, "payload": pl,
                       "signature": b64(r.to_bytes(32, "big") +
                                        s.to_bytes(32, "big"))}).encode()
    st, h, b = request("POST", url, body)
    try:
        j = json.loads(b) if b else {}
    except ValueError:
        j = {"raw": b.decode(errors="replace")}
    return st, h, j


def account():
    global KID
    st, h, j = post(D["newAccount"], {"termsOfServiceAgreed": True})
    if st not in (200, 201):
        raise SystemExit("not ok - newAccount: %d %s" % (st, j))
    KID = h["Location"]


def order(names):
    ids = [{"type": "dns", "value": n} for n in names]
    return post(D["newOrder"], {"identifiers": ids})


def authzs(o):
    return [post(u, None)[2] for u in o["authorizations"]]


def chal(z, typ):
    for c in z["challenges"]:
        if c["type"] == typ:
            return c
    return None


def knsupdate(cmds):
    script = "server 127.0.0.1 %s\nzone test.\nkey hmac-sha256:acme-key %s\n" \
        % (os.environ["KNOT_PORT"], os.environ["KNOT_SECRET"])
    script += "\n".join(cmds) + "\nsend\nquit\n"
    subprocess.run(["knsupdate"], input=script.encode(), check=True,
                   timeout=30)


def offer():
    st, _, o = order([NAME, "*." + NAME])
    if st != 201:
        say(False, "newOrder with a wildcard is accepted", o)
        return
    say("*." + NAME in [i["value"] for i in o["identifiers"]],
        "the order keeps the identifier *.%s" % NAME, o)
    zs = authzs(o)
    wz = [z for z in zs if z.get("wildcard")]
    pz = [z for z in zs if not z.get("wildcard")]
    say(len(wz) == 1 and wz[0]["identifier"]["value"] == NAME,
        "the wildcard's authorization names the base domain with "
        "\"wildcard\": true", zs)
    say(len(wz) == 1 and [c["type"] for c in wz[0]["challenges"]] ==
        ["dns-01"], "a wildcard is offered dns-01 only", zs)
    say(len(pz) == 1 and sorted(c["type"] for c in pz[0]["challenges"]) ==
        ["dns-01", "http-01", "tls-alpn-01"],
        "a plain name is offered http-01, tls-alpn-01 and dns-01", zs)
    for bad in ("*.*." + NAME, "a.*." + NAME, "*" + NAME, "*.test."):
        st, _, j = order([bad])
        say(st == 400 and j.get("type", "").endswith(":rejectedIdentifier"),
            "newOrder %s is rejectedIdentifier" % bad, "%d %s" % (st, j))
    st, _, j = post(D["newOrder"], {"identifiers": [{"type": "ip",
                                                     "value": "127.0.0.1"}]})
    if st == 201:
        z = authzs(j)[0]
        say("dns-01" not in [c["type"] for c in z["challenges"]],
            "an ip identifier is not offered dns-01 (RFC 8738)", z)


def run_dns01(name):
    st, _, o = order([name])
    if st != 201:
        return None, None, "newOrder: %d %s" % (st, o)
    z = authzs(o)[0]
    c = chal(z, "dns-01")
    return o, c, z


def wrong():
    o, c, z = run_dns01(NAME)
    if c is None:
        say(False, "an order for %s offers dns-01" % NAME, z)
        return
    good = b64(hashlib.sha256((c["token"] + "." + THUMB).encode()).digest())
    knsupdate(["update delete _acme-challenge.%s. TXT" % NAME,
               "update add _acme-challenge.%s. 1 TXT \"%s\"" %
               (NAME, "x" + good[1:])])
    st, _, r = post(c["url"], {})
    z = post(o["authorizations"][0], None)[2]
    err = [ch.get("error", {}) for ch in z["challenges"]
           if ch["type"] == "dns-01"][0]
    say(z.get("status") == "invalid", "a wrong TXT value: the authorization "
        "is invalid", z)
    say(err.get("type") == "urn:ietf:params:acme:error:incorrectResponse" and
        ("_acme-challenge." + NAME) in err.get("detail", ""),
        "a wrong TXT value: incorrectResponse naming _acme-challenge.%s" %
        NAME, err)


def down():
    o, c, z = run_dns01(NAME)
    if c is None:
        say(False, "an order for %s offers dns-01" % NAME, z)
        return
    t0 = time.monotonic()
    st, _, r = post(c["url"], {})
    dt = time.monotonic() - t0
    z = post(o["authorizations"][0], None)[2]
    err = [ch.get("error", {}) for ch in z["challenges"]
           if ch["type"] == "dns-01"][0]
    say(dt < float(ARG), "resolver down: the challenge answers in %.1f s "
        "(bound %s s)" % (dt, ARG))
    say(z.get("status") == "invalid" and
        err.get("type") == "urn:ietf:params:acme:error:dns",
        "resolver down: invalid with a dns problem (%s)" %
        err.get("detail", ""), z)


def validate():
    orders = {}
    for name in NAME.split(","):
        o, c, z = run_dns01(name)
        if c is None:
            say(False, "an order for %s offers dns-01" % name, z)
            continue
        ka = b64(hashlib.sha256((c["token"] + "." + THUMB).encode()).digest())
        knsupdate(["update delete _acme-challenge.%s. TXT" % name,
                   "update add _acme-challenge.%s. 1 TXT \"%s\"" % (name, ka)])
        post(c["url"], {})
        z = post(o["authorizations"][0], None)[2]
        say(z.get("status") == "valid", "%s: dns-01 valid" % name, z)
        orders[name] = o["finalize"]
    with open(ARG, "w") as f:
        json.dump({"kid": KID, "orders": orders, "key": K.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode()}, f)


def finalize():
    ck = ec.generate_private_key(ec.SECP256R1())
    req = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, NAME)])
    ).add_extension(x509.SubjectAlternativeName([x509.DNSName(NAME)]),
                    critical=False).sign(ck, hashes.SHA256())
    der = req.public_bytes(serialization.Encoding.DER)
    st, _, j = post(STATE["orders"][NAME], {"csr": b64(der)})
    if WANT == "valid":
        say(st == 200 and j.get("status") == "valid",
            "finalize %s: issued" % NAME, "%d %s" % (st, j))
    else:
        say(st == 403 and j.get("type") == "urn:ietf:params:acme:error:caa"
            and "again at finalize" in j.get("detail", ""),
            "finalize %s: the CAA re-check refuses (%s)" %
            (NAME, j.get("detail", "")), "%d %s" % (st, j))


if MODE == "finalize":
    KID = STATE["kid"]
else:
    account()
{"offer": offer, "wrong": wrong, "down": down, "validate": validate,
 "finalize": finalize}[MODE]()
