"""A compact ACME (RFC 8555) client over one persistent HTTPS connection,
with an http-01 responder of its own, for test_acme_more.sh and the ACME
benchmark (bench/acme_flows.py).  ES256 account keys, P-256 CSRs, nonces
taken from each answer's Replay-Nonce.
"""
import base64
import hashlib
import hmac
import http.client
import http.server
import json
import ssl
import threading
import time
import urllib.parse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class Problem(Exception):
    def __init__(self, status, doc):
        super().__init__("%d %s" % (status, doc))
        self.status = status
        self.doc = doc if isinstance(doc, dict) else {}
        self.type = self.doc.get("type", "").rsplit(":", 1)[-1]


class Tokens:
    """Key authorizations by token, served on http-01 by Responder."""

    def __init__(self):
        self.lock = threading.Lock()
        self.d = {}

    def put(self, token, ka):
        with self.lock:
            self.d[token] = ka

    def get(self, token):
        with self.lock:
            return self.d.get(token)

    def drop(self, token):
        with self.lock:
            self.d.pop(token, None)


def responder(port, tokens, host="127.0.0.1"):
    """A threaded http-01 server on port answering from tokens."""

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            pfx = "/.well-known/acme-challenge/"
            ka = tokens.get(self.path[len(pfx):]) \
                if self.path.startswith(pfx) else None
            body = (ka or "not found").encode()
            self.send_response(200 if ka else 404)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer((host, port), H)
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    return srv


class Client:
    def __init__(self, directory, cafile, tokens=None):
        u = urllib.parse.urlsplit(directory)
        self.host, self.port = u.hostname, u.port or 443
        self.ctx = ssl.create_default_context(cafile=cafile)
        self.conn = None
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.kid = None
        self.nonce = None
        self.tokens = tokens
        self.dir = json.loads(self.req("GET", directory)[2])

    def save(self, path):
        """The account (key PEM and URL) for a later process."""
        with open(path, "w") as f:
            json.dump({"kid": self.kid, "key": self.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption()).decode()}, f)

    def load(self, path):
        with open(path) as f:
            d = json.load(f)
        self.kid = d["kid"]
        self.key = serialization.load_pem_private_key(d["key"].encode(),
                                                      None)

    # ---- transport ----
    def req(self, method, url, body=None):
        u = urllib.parse.urlsplit(url)
        path = u.path + ("?" + u.query if u.query else "")
        hd = {"Content-Type": "application/jose+json"} if body else {}
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPSConnection(
                    self.host, self.port, context=self.ctx, timeout=60)
            try:
                self.conn.request(method, path, body=body, headers=hd)
                r = self.conn.getresponse()
                data = r.read()
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        h = {}
        for k, v in r.getheaders():
            h.setdefault(k.lower(), []).append(v)
        if "replay-nonce" in h:
            self.nonce = h["replay-nonce"][0]
        return r.status, h, data

    def new_nonce(self):
        self.req("HEAD", self.dir["newNonce"])
        return self.nonce

    # ---- JWS ----
    def jwk(self):
        n = self.key.public_key().public_numbers()
        return {"kty": "EC", "crv": "P-256", "x": b64(n.x.to_bytes(32, "big")),
                "y": b64(n.y.to_bytes(32, "big"))}

    def thumb(self):
        j = json.dumps(self.jwk(), sort_keys=True, separators=(",", ":"))
        return b64(hashlib.sha256(j.encode()).digest())

    def sign(self, url, payload, use_jwk=False):
        prot = {"alg": "ES256", "url": url,
                "nonce": self.nonce or self.new_nonce()}
        self.nonce = None
        if use_jwk or self.kid is None:
            prot["jwk"] = self.jwk()
        else:
            prot["kid"] = self.kid
        p64 = b64(json.dumps(prot).encode())
        pl64 = "" if payload is None else b64(json.dumps(payload).encode())
        r, s = decode_dss_signature(self.key.sign(
            (p64 + "." + pl64).encode(), ec.ECDSA(hashes.SHA256())))
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return json.dumps({"protected": p64, "payload": pl64,
                           "signature": b64(sig)}).encode()

    def post(self, url, payload, use_jwk=False, ok=(200, 201)):
        for attempt in range(3):
            st, h, data = self.req("POST", url, self.sign(url, payload,
                                                          use_jwk))
            if st in ok:
                return st, h, data
            try:
                doc = json.loads(data)
            except ValueError:
                doc = {"raw": data[:200].decode(errors="replace")}
            if doc.get("type", "").endswith(":badNonce") and attempt < 2:
                continue
            raise Problem(st, doc)

    # ---- resources ----
    def eab(self, kid, hmac_b64):
        prot = b64(json.dumps({"alg": "HS256", "kid": kid,
                               "url": self.dir["newAccount"]}).encode())
        pl = b64(json.dumps(self.jwk()).encode())
        mac = hmac.new(unb64(hmac_b64), (prot + "." + pl).encode(),
                       hashlib.sha256).digest()
        return {"protected": prot, "payload": pl, "signature": b64(mac)}

    def register(self, eab=None):
        p = {"termsOfServiceAgreed": True}
        if eab:
            p["externalAccountBinding"] = self.eab(*eab)
        st, h, data = self.post(self.dir["newAccount"], p, use_jwk=True)
        self.kid = h["location"][0]
        return json.loads(data)

    def order(self, names, profile=None, replaces=None):
        p = {"identifiers": [{"type": "dns", "value": n} for n in names]}
        if profile is not None:
            p["profile"] = profile
        if replaces is not None:
            p["replaces"] = replaces
        st, h, data = self.post(self.dir["newOrder"], p)
        o = json.loads(data)
        o["url"] = h["location"][0]
        return o

    def get(self, url):
        return json.loads(self.post(url, None)[2])

    def validate(self, order):
        """http-01 for every pending authorization (tokens served)."""
        for zu in order["authorizations"]:
            z = self.get(zu)
            if z["status"] == "valid":
                continue
            ch = [c for c in z["challenges"] if c["type"] == "http-01"][0]
            self.tokens.put(ch["token"], ch["token"] + "." + self.thumb())
            try:
                c = json.loads(self.post(ch["url"], {})[2])
                t0 = time.time()
                while c["status"] in ("pending", "processing"):
                    if time.time() - t0 > 30:
                        raise Problem(0, {"detail": "challenge stuck"})
                    time.sleep(0.05)
                    c = self.get(ch["url"])
                if c["status"] != "valid":
                    raise Problem(0, c.get("error", c))
            finally:
                self.tokens.drop(ch["token"])

    def finalize(self, order, names, key=None):
        key = key or ec.generate_private_key(ec.SECP256R1())
        csr = x509.CertificateSigningRequestBuilder().subject_name(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
        ).add_extension(x509.SubjectAlternativeName(
            [x509.DNSName(n) for n in names]), critical=False).sign(
                key, hashes.SHA256())
        der = csr.public_bytes(serialization.Encoding.DER)
        o = json.loads(self.post(order["finalize"], {"csr": b64(der)})[2])
        t0 = time.time()
        while o["status"] == "processing":
            if time.time() - t0 > 30:
                raise Problem(0, {"detail": "order stuck"})
            time.sleep(0.05)
            o = self.get(order["url"])
        if o["status"] != "valid":
            raise Problem(0, o)
        o["url"] = order["url"]
        return o

    def download(self, url):
        """(PEM chain, Link header values)."""
        st, h, data = self.post(url, None)
        return data.decode(), h.get("link", [])

    def issue(self, names, **kw):
        o = self.order(names, **kw)
        self.validate(o)
        o = self.finalize(o, names)
        pem, links = self.download(o["certificate"])
        return o, pem, links


def ari_id(pem):
    """RFC 9773 certificate identifier of the first certificate in pem."""
    c = x509.load_pem_x509_certificate(pem.encode())
    aki = c.extensions.get_extension_for_class(
        x509.AuthorityKeyIdentifier).value.key_identifier
    sn = c.serial_number.to_bytes((c.serial_number.bit_length() + 8) // 8,
                                  "big")
    return b64(aki) + "." + b64(sn)
