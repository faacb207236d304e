#!/usr/bin/env python3
"""A small, deliberately hostile ACME client (python cryptography) for
test_acme.sh: each check prints "ok - NAME" or "not ok - NAME".  Every
answer must be a problem document (application/problem+json,
urn:ietf:params:acme:error:*) with the expected type, never a 5xx.

usage: jws_client.py DIRECTORY_URL CA_BUNDLE HTTP01_PORT PCACTL CA_ARN
       jws_client.py ... CA_ARN --eab KID HMAC_KEY   (EAB required: the
       checks of external account binding only)
"""
import base64
import hashlib
import http.server
import json
import os
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

DIR, BUNDLE, H01, PCACTL, ARN = sys.argv[1:6]
CTX = ssl.create_default_context(cafile=BUNDLE)
FAILS = 0


def say(ok, name, extra=""):
    global FAILS
    if ok:
        print("ok - " + name)
    else:
        FAILS += 1
        print("not ok - " + name)
        for line in str(extra).splitlines()[:10]:
            print("#   " + line)


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def hdrs(m):
    d = {}
    for k, v in m.items():
        d[k] = d[k] + ", " + v if k in d else v
    return d


def request(method, url, body=None, ctype="application/jose+json"):
    req = urllib.request.Request(url, data=body, method=method)
    if body is not None:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, context=CTX, timeout=60) as r:
            return r.status, hdrs(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, hdrs(e.headers), e.read()


D = json.loads(request("GET", DIR)[2])


def nonce():
    return request("HEAD", D["newNonce"])[1]["Replay-Nonce"]


class Key:
    def __init__(self, kind="ES256"):
        self.kind = kind
        if kind == "ES256":
            self.k = ec.generate_private_key(ec.SECP256R1())
        elif kind == "ES384":
            self.k = ec.generate_private_key(ec.SECP384R1())
        elif kind == "RS256":
            self.k = rsa.generate_private_key(65537, 2048)
        else:
            self.k = ed25519.Ed25519PrivateKey.generate()

    def jwk(self):
        p = self.k.public_key()
        if self.kind in ("ES256", "ES384"):
            n = p.public_numbers()
            ln = 32 if self.kind == "ES256" else 48
            return {"kty": "EC", "crv": "P-256" if ln == 32 else "P-384",
                    "x": b64(n.x.to_bytes(ln, "big")),
                    "y": b64(n.y.to_bytes(ln, "big"))}
        if self.kind == "RS256":
            n = p.public_numbers()
            return {"kty": "RSA", "e": b64(n.e.to_bytes(3, "big")),
                    "n": b64(n.n.to_bytes(256, "big"))}
        raw = p.public_bytes(serialization.Encoding.Raw,
                             serialization.PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "x": b64(raw)}

    def thumb(self):
        j = json.dumps(self.jwk(), sort_keys=True, separators=(",", ":"))
        return b64(hashlib.sha256(j.encode()).digest())

    def sign(self, data):
        if self.kind == "RS256":
            return self.k.sign(data, padding.PKCS1v15(), hashes.SHA256())
        if self.kind == "EdDSA":
            return self.k.sign(data)
        h = hashes.SHA256() if self.kind == "ES256" else hashes.SHA384()
        ln = 32 if self.kind == "ES256" else 48
        r, s = decode_dss_signature(self.k.sign(data, ec.ECDSA(h)))
        return r.to_bytes(ln, "big") + s.to_bytes(ln, "big")


def jws(key, url, payload, kid=None, n=None, alg=None, extra=None,
        use_nonce=True):
    prot = {"alg": alg or key.kind, "url": url}
    if use_nonce:
        prot["nonce"] = n or nonce()
    if kid:
        prot["kid"] = kid
    else:
        prot["jwk"] = key.jwk()
    if extra:
        prot.update(extra)
    p64 = b64(json.dumps(prot).encode())
    pl64 = "" if payload is None else b64(json.dumps(payload).encode())
    sig = key.sign((p64 + "." + pl64).encode())
    return json.dumps({"protected": p64, "payload": pl64,
                       "signature": b64(sig)}).encode()


def post(key, url, payload, **kw):
    return request("POST", url, jws(key, url, payload, **kw))


def problem(name, resp, want_type, want_status=None):
    st, h, body = resp
    try:
        doc = json.loads(body)
    except ValueError:
        doc = {}
    ok = (st < 500 and h.get("Content-Type", "").startswith(
        "application/problem+json") and
        doc.get("type") == "urn:ietf:params:acme:error:" + want_type and
        (want_status is None or st == want_status))
    say(ok, name, "%d %s" % (st, body[:300]))


def eab_binding(key, kid, hmac_b64, url, mac_key=None):
    import hmac as hm
    prot = b64(json.dumps({"alg": "HS256", "kid": kid, "url": url}).encode())
    pl = b64(json.dumps(key.jwk()).encode())
    k = mac_key or base64.urlsafe_b64decode(hmac_b64 + "=" * (-len(hmac_b64) % 4))
    mac = hm.new(k, (prot + "." + pl).encode(), hashlib.sha256).digest()
    return {"protected": prot, "payload": pl, "signature": b64(mac)}


def eab_suite(kid, hk):
    k = Key()
    problem("EAB required, none given: externalAccountRequired",
            post(k, D["newAccount"], {"termsOfServiceAgreed": True}),
            "externalAccountRequired", 403)
    problem("EAB with a wrong HMAC key: unauthorized",
            post(k, D["newAccount"], {"termsOfServiceAgreed": True,
                 "externalAccountBinding": eab_binding(
                     k, kid, hk, D["newAccount"], mac_key=b"x" * 32)}),
            "unauthorized", 401)
    problem("EAB with an unknown kid: unauthorized",
            post(k, D["newAccount"], {"termsOfServiceAgreed": True,
                 "externalAccountBinding": eab_binding(
                     k, kid + "x", hk, D["newAccount"])}),
            "unauthorized", 401)
    problem("EAB over another key's jwk: malformed",
            post(k, D["newAccount"], {"termsOfServiceAgreed": True,
                 "externalAccountBinding": eab_binding(
                     Key(), kid, hk, D["newAccount"])}), "malformed")
    st, h, body = post(k, D["newAccount"], {
        "termsOfServiceAgreed": True,
        "externalAccountBinding": eab_binding(k, kid, hk, D["newAccount"])})
    say(st == 201, "EAB with the right key: account created",
        "%d %s" % (st, body))
    kid_url = h.get("Location", "")
    k2 = Key()
    problem("the same EAB key for a second account: unauthorized",
            post(k2, D["newAccount"], {"termsOfServiceAgreed": True,
                 "externalAccountBinding": eab_binding(
                     k2, kid, hk, D["newAccount"])}), "unauthorized")
    st, _, body = post(k, D["newOrder"], {"identifiers": [
        {"type": "dns", "value": "evil.example.test"}]}, kid=kid_url)
    doc = json.loads(body)
    say(st == 400 and doc.get("type", "").endswith("rejectedIdentifier") and
        "eab.example.test" in doc.get("detail", ""),
        "a name outside the EAB binding: rejectedIdentifier naming the rule",
        "%d %s" % (st, body))
    st, _, body = post(k, D["newOrder"], {"identifiers": [
        {"type": "dns", "value": "www.eab.example.test"}]}, kid=kid_url)
    say(st == 201, "a name inside the EAB binding: order created",
        "%d %s" % (st, body))
    sys.exit(1 if FAILS else 0)


if len(sys.argv) > 8 and sys.argv[6] == "--eab":
    eab_suite(sys.argv[7], sys.argv[8])

# ---- accounts, every algorithm ----
acct = Key("ES256")
st, h, body = post(acct, D["newAccount"], {"termsOfServiceAgreed": True})
say(st == 201 and "Location" in h, "newAccount ES256: 201 with Location",
    "%d %s" % (st, body))
KID = h.get("Location")
for kind in ("ES384", "RS256", "EdDSA"):
    k = Key(kind)
    st, _, body = post(k, D["newAccount"], {"termsOfServiceAgreed": True})
    say(st == 201, "newAccount %s: 201" % kind, "%d %s" % (st, body))
st, _, _ = post(acct, D["newAccount"], {"onlyReturnExisting": True})
say(st == 200, "newAccount onlyReturnExisting finds the account")
problem("onlyReturnExisting with an unknown key: accountDoesNotExist",
        post(Key(), D["newAccount"], {"onlyReturnExisting": True}),
        "accountDoesNotExist")

# ---- JWS rules ----
n = nonce()
request("POST", D["newAccount"], jws(acct, D["newAccount"], {}, n=n))
problem("a replayed nonce: badNonce",
        request("POST", D["newAccount"], jws(acct, D["newAccount"], {}, n=n)),
        "badNonce", 400)
problem("a made-up nonce: badNonce",
        post(acct, D["newAccount"], {}, n="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        "badNonce", 400)
problem("no nonce: malformed",
        post(acct, D["newAccount"], {}, use_nonce=False), "malformed")
problem("a url that is not the request URL: unauthorized",
        request("POST", D["newAccount"],
                jws(acct, D["newOrder"], {})), "unauthorized")
problem("alg none: badSignatureAlgorithm",
        post(acct, D["newAccount"], {}, alg="none"), "badSignatureAlgorithm")
problem("alg HS256: badSignatureAlgorithm",
        post(acct, D["newAccount"], {}, alg="HS256"), "badSignatureAlgorithm")
problem("alg ES256 with an RSA key: badPublicKey",
        post(Key("RS256"), D["newAccount"], {}, alg="ES256"), "badPublicKey")
problem("crit: malformed",
        post(acct, D["newAccount"], {}, extra={"crit": ["exp"], "exp": 1}),
        "malformed")
body = bytearray(jws(acct, D["newAccount"], {}))
body[-20] = ord("A") if body[-20] != ord("A") else ord("B")
problem("a bad signature: unauthorized",
        request("POST", D["newAccount"], bytes(body)), "unauthorized")
problem("an oversized body: a 413 problem",
        request("POST", D["newAccount"], b"{" + b" " * 200000 + b"}"),
        "malformed", 413)
problem("not JSON: malformed",
        request("POST", D["newAccount"], b"\x00\xffjunk"), "malformed")
problem("the wrong Content-Type: malformed",
        request("POST", D["newAccount"], jws(acct, D["newAccount"], {}),
                ctype="application/json"), "malformed", 415)
problem("jwk on newOrder: malformed",
        post(acct, D["newOrder"], {"identifiers": []}), "malformed")
problem("a kid of no account: accountDoesNotExist",
        post(acct, D["newOrder"], {}, kid=KID + "x"), "accountDoesNotExist")
problem("GET of an account URL: a 405 problem",
        request("GET", KID), "malformed", 405)

# ---- orders ----
problem("a wildcard not as the whole leftmost label: rejectedIdentifier",
        post(acct, D["newOrder"], {"identifiers": [
            {"type": "dns", "value": "a*.w.example.test"}]}, kid=KID),
        "rejectedIdentifier")
problem("a malformed name: rejectedIdentifier",
        post(acct, D["newOrder"], {"identifiers": [
            {"type": "dns", "value": "bad_name..example"}]}, kid=KID),
        "rejectedIdentifier")
problem("an email identifier: unsupportedIdentifier",
        post(acct, D["newOrder"], {"identifiers": [
            {"type": "email", "value": "a@b.test"}]}, kid=KID),
        "unsupportedIdentifier")
st, h, body = post(acct, D["newOrder"], {"identifiers": [
    {"type": "dns", "value": "py.acme.example.test"},
    {"type": "ip", "value": "127.0.0.1"}]}, kid=KID)
order = json.loads(body)
say(st == 201 and order.get("status") == "pending",
    "newOrder dns+ip: 201 pending", "%d %s" % (st, body))
OURL = h.get("Location")
problem("finalize with a CSR that does not parse: badCSR",
        post(acct, order["finalize"], {"csr": "AAAA"}, kid=KID), "badCSR")
csrkey = ec.generate_private_key(ec.SECP256R1())


def csr(names, ips=()):
    import ipaddress
    sans = [x509.DNSName(d) for d in names] + \
        [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    c = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([])).add_extension(
        x509.SubjectAlternativeName(sans), False).sign(csrkey, hashes.SHA256())
    return b64(c.public_bytes(serialization.Encoding.DER))


problem("finalize before validation (good CSR): orderNotReady",
        post(acct, order["finalize"],
             {"csr": csr(["py.acme.example.test"], ["127.0.0.1"])}, kid=KID),
        "orderNotReady", 403)

# http-01 responder on H01
TOKENS = {}


class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        t = self.path.rsplit("/", 1)[-1]
        v = TOKENS.get(t)
        self.send_response(200 if v else 404)
        self.end_headers()
        if v:
            self.wfile.write(v.encode())

    def log_message(self, *a):
        pass


srv = http.server.HTTPServer(("127.0.0.1", int(H01)), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()
for az in order["authorizations"]:
    a = json.loads(post(acct, az, None, kid=KID)[2])
    ch = [c for c in a["challenges"] if c["type"] == "http-01"][0]
    TOKENS[ch["token"]] = ch["token"] + "." + acct.thumb()
    st, h, body = post(acct, ch["url"], {}, kid=KID)
    say(st == 200 and "rel=\"up\"" in h.get("Link", ""),
        "challenge %s: 200 with Link up" % a["identifier"]["value"],
        "%d %s" % (st, body))
for i in range(50):
    o = json.loads(post(acct, OURL, None, kid=KID)[2])
    if o["status"] != "pending":
        break
    time.sleep(0.2)
say(o["status"] == "ready", "the order becomes ready", json.dumps(o))
problem("a CSR with other names: badCSR",
        post(acct, order["finalize"],
             {"csr": csr(["other.example.test"], ["127.0.0.1"])}, kid=KID),
        "badCSR")
st, _, body = post(acct, order["finalize"],
                   {"csr": csr(["py.acme.example.test"], ["127.0.0.1"])},
                   kid=KID)
o = json.loads(body)
say(st == 200 and o.get("status") == "valid" and "certificate" in o,
    "finalize: valid with a certificate URL", "%d %s" % (st, body))
st, h, pem = post(acct, o.get("certificate", KID), None, kid=KID)
say(st == 200 and h.get("Content-Type") ==
    "application/pem-certificate-chain" and pem.count(b"BEGIN CERT") >= 1,
    "certificate download: PEM chain", "%d %s" % (st, pem[:200]))
cert = x509.load_pem_x509_certificates(pem)[0]
st, h, body = post(acct, KID + "/orders", None, kid=KID)
say(st == 200 and OURL in json.loads(body).get("orders", []),
    "the account's orders list has the order")

# ---- ARI ----
aki = cert.extensions.get_extension_for_class(
    x509.AuthorityKeyIdentifier).value.key_identifier
ser = cert.serial_number.to_bytes((cert.serial_number.bit_length() + 8) // 8,
                                  "big")
RI = D["renewalInfo"] + "/" + b64(aki) + "." + b64(ser)
st, h, body = request("GET", RI)
w = json.loads(body).get("suggestedWindow", {}) if st == 200 else {}
now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
say(st == 200 and w.get("start", "") > now and "Retry-After" in h,
    "renewalInfo: a window in the future", "%d %s" % (st, body))
r = subprocess.run([PCACTL, "cert", "renew-early", "--serial",
                    "%x" % cert.serial_number, "--ca", ARN],
                   capture_output=True, text=True)
st, h, body = request("GET", RI)
w = json.loads(body).get("suggestedWindow", {}) if st == 200 else {}
now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
say(r.returncode == 0 and st == 200 and w.get("end", "9") <= now,
    "after pcactl cert renew-early the window is in the past",
    "%s %s %d %s" % (r.returncode, r.stderr, st, body))

# ---- revocation by the certificate's key, keyChange, deactivation ----
class CK(Key):
    def __init__(self, k):
        self.kind = "ES256"
        self.k = k


der = cert.public_bytes(serialization.Encoding.DER)
st, _, body = post(CK(csrkey), D["revokeCert"],
                   {"certificate": b64(der), "reason": 1})
say(st == 200, "revokeCert signed by the certificate's key", body)
problem("revoking it again: alreadyRevoked",
        post(acct, D["revokeCert"], {"certificate": b64(der)}, kid=KID),
        "alreadyRevoked")
new = Key("ES256")
inner = json.loads(jws(new, D["keyChange"], {"account": KID,
                                              "oldKey": acct.jwk()},
                       use_nonce=False))
st, _, body = post(acct, D["keyChange"], inner, kid=KID)
say(st == 200, "keyChange to a new key", "%d %s" % (st, body))
problem("the old key no longer signs: unauthorized",
        post(acct, KID, None, kid=KID), "unauthorized")
st, _, body = post(new, KID, {"status": "deactivated"}, kid=KID)
say(st == 200 and json.loads(body).get("status") == "deactivated",
    "account deactivation", body)
problem("a deactivated account: unauthorized",
        post(new, D["newOrder"], {"identifiers": [
            {"type": "dns", "value": "x.example.test"}]}, kid=KID),
        "unauthorized", 401)
srv.shutdown()
sys.exit(1 if FAILS else 0)
