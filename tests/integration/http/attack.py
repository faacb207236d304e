#!/usr/bin/env python3
"""Loopback-only attacker and probes for test_http_hardening.sh.

Every mode prints result lines "PASS name" / "FAIL name: detail" (and "# "
comments); the shell turns them into TAP lines.  Counts and times are
bounded by the arguments; every socket is closed before exit.

  flood KIND --port P [--tls] --count N --probe-port Q --probe api|health|ocsp
        KIND: slowloris (a header line every second), idle (connect, send
        nothing), hello (half a TLS ClientHello).  Attack sockets come from
        127.0.0.2.. (--per-src each); the probe from 127.0.0.1 must answer
        within --max seconds, three times over --hold seconds.
  deadline --port P [--tls] --within S   a trickling head is cut off
  framing --port P [--tls]               RFC 9112 6.3 shapes: 400 + close
  percap --port P --cap C                one source beyond C is refused
  bigbody --port P                       64 KiB+ OCSP bodies: 413 + close
"""
import argparse
import socket
import ssl
import sys
import threading
import time

HOST = "127.0.0.1"


def out(ok, name, detail=""):
    print(("PASS %s" % name) if ok else ("FAIL %s: %s" % (name, detail)))
    sys.stdout.flush()


def tls_ctx():
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


def connect(port, src=HOST, tls=False, timeout=10):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((src, 0))
    s.connect((HOST, port))
    if tls:
        s = tls_ctx().wrap_socket(s, server_hostname="localhost")
    return s


def read_all(s, limit=1 << 20, timeout=5):
    """Everything until EOF (or timeout); (bytes, closed)."""
    s.settimeout(timeout)
    data = b""
    try:
        while len(data) < limit:
            b = s.recv(65536)
            if not b:
                return data, True
            data += b
    except (socket.timeout, ssl.SSLError):
        return data, False
    except OSError:
        return data, True
    return data, False


def statuses(data):
    return [int(l.split()[1]) for l in data.split(b"\r\n")
            if l.startswith(b"HTTP/1.") and len(l.split()) > 1]


# ---- probes: a normal request from 127.0.0.1 ----

def probe(kind, port):
    t0 = time.monotonic()
    try:
        if kind == "api":
            s = connect(port, tls=True, timeout=5)
            body = b"{}"
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: "
                      b"application/x-amz-json-1.1\r\nX-Amz-Target: "
                      b"ACMPrivateCA.ListCertificateAuthorities\r\n"
                      b"Connection: close\r\nContent-Length: 2\r\n\r\n" + body)
            want = 403   # no signature: MissingAuthenticationToken
        else:
            s = connect(port, timeout=5)
            if kind == "health":
                s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n"
                          b"Connection: close\r\n\r\n")
            else:
                s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: "
                          b"application/ocsp-request\r\nConnection: close\r\n"
                          b"Content-Length: 1\r\n\r\n0")
            want = 200   # health ok / OCSP malformedRequest
        data, _ = read_all(s, timeout=5)
        s.close()
        st = statuses(data)
        return (st[:1] == [want]), time.monotonic() - t0, st
    except OSError as e:
        return False, time.monotonic() - t0, str(e)


# ---- attackers ----

def client_hello_half():
    inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
    o = tls_ctx().wrap_bio(inc, outg, server_hostname="localhost")
    try:
        o.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = outg.read()
    return hello[:len(hello) // 2]


class Flood:
    def __init__(self, a):
        self.a = a
        self.socks = []
        self.stop = False
        self.lock = threading.Lock()
        self.refused = 0

    def src(self, i):
        return "127.0.0.%d" % (2 + i // self.a.per_src)

    def open_one(self, i, hello):
        a = self.a
        try:
            s = connect(a.port, self.src(i), tls=(a.tls and a.kind ==
                                                  "slowloris"), timeout=10)
            if a.kind == "slowloris":
                s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
            elif a.kind == "hello":
                s.sendall(hello)
            with self.lock:
                self.socks.append(s)
        except OSError:
            with self.lock:
                self.refused += 1

    def start(self):
        hello = client_hello_half() if self.a.kind == "hello" else b""
        ths = []
        for i in range(self.a.count):
            t = threading.Thread(target=self.open_one, args=(i, hello))
            t.start()
            ths.append(t)
            if len(ths) >= 64:
                for t in ths:
                    t.join()
                ths = []
        for t in ths:
            t.join()
        if self.a.kind == "slowloris":
            threading.Thread(target=self.trickle, daemon=True).start()

    def trickle(self):
        n = 0
        while not self.stop:
            time.sleep(1)
            n += 1
            with self.lock:
                socks = list(self.socks)
            for s in socks:
                try:
                    s.sendall(b"X-Slow-%d: %d\r\n" % (n, n))
                except OSError:
                    pass

    def close(self):
        self.stop = True
        with self.lock:
            for s in self.socks:
                try:
                    s.close()
                except OSError:
                    pass
            self.socks = []


def cmd_flood(a):
    f = Flood(a)
    t0 = time.monotonic()
    f.start()
    print("# %d %s connections open in %.1f s (%d refused)" % (
        len(f.socks), a.kind, time.monotonic() - t0, f.refused))
    worst, fails = 0.0, []
    try:
        for k in range(3):
            ok, dt, st = probe(a.probe, a.probe_port)
            worst = max(worst, dt)
            if not ok or dt > a.max:
                fails.append("probe %d: %s after %.2f s" % (k, st, dt))
            time.sleep(a.hold / 3.0)
    finally:
        f.close()
    out(not fails, "%s %d on port %d: %s probe answers within %.1f s "
        "(worst %.2f s)" % (a.kind, a.count, a.port, a.probe, a.max, worst),
        "; ".join(fails))


def cmd_deadline(a):
    s = connect(a.port, "127.0.0.2", tls=a.tls)
    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
    t0 = time.monotonic()
    closed = False
    s.settimeout(0.5)
    while time.monotonic() - t0 < a.within + 5:
        try:
            s.sendall(b"X-Trickle: 1\r\n")
            b = s.recv(4096)
            if not b:
                closed = True
                break
        except socket.timeout:
            continue
        except (OSError, ssl.SSLError):
            closed = True
            break
    dt = time.monotonic() - t0
    s.close()
    out(closed and dt <= a.within, "a head trickled a line every 0.5 s is "
        "cut off within %d s (%.1f s)" % (a.within, dt),
        "still open after %.1f s" % dt if not closed else "took %.1f s" % dt)


FRAMING = [
    ("Content-Length with Transfer-Encoding",
     b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n"),
    ("two different Content-Length headers",
     b"Content-Length: 5\r\nContent-Length: 6\r\n", b"hello"),
    ("'Content-Length :' with a space before the colon",
     b"Content-Length : 5\r\n", b"hello"),
    ("Transfer-Encoding: xchunked",
     b"Transfer-Encoding: xchunked\r\n", b"5\r\nhello\r\n0\r\n\r\n"),
    ("Transfer-Encoding: chunked, identity",
     b"Transfer-Encoding: chunked, identity\r\n", b"0\r\n\r\n"),
]


def cmd_framing(a):
    smuggled = (b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n" if not a.tls else
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                b"X-Amz-Target: ACMPrivateCA.ListCertificateAuthorities\r\n"
                b"\r\n{}")
    for name, hdrs, body in FRAMING:
        try:
            s = connect(a.port, tls=a.tls)
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: "
                      b"application/ocsp-request\r\n" + hdrs + b"\r\n" +
                      body + smuggled)
            data, closed = read_all(s, timeout=5)
            s.close()
            st = statuses(data)
            out(st == [400] and closed, "port %d: %s: 400, closed, nothing "
                "smuggled" % (a.port, name),
                "statuses %s, closed %s" % (st, closed))
        except OSError as e:
            out(False, "port %d: %s" % (a.port, name), str(e))


def cmd_percap(a):
    socks, refused = [], 0
    for i in range(a.cap + 20):
        try:
            s = connect(a.port, "127.0.0.9", timeout=3)
            socks.append(s)
        except OSError:
            refused += 1
    time.sleep(0.5)
    dead = 0
    for s in socks:         # a refused connection is accepted, then closed
        s.settimeout(0.05)
        try:
            if s.recv(1) == b"":
                dead += 1
        except socket.timeout:
            pass
        except OSError:
            dead += 1
    ok, dt, st = probe("health", a.port)
    for s in socks:
        s.close()
    out(dead + refused >= 20 and ok, "per-source cap %d: %d of %d from one "
        "address refused; another address still served (%.2f s)" % (
            a.cap, dead + refused, a.cap + 20, dt),
        "refused %d, probe %s" % (dead + refused, st))


def cmd_bigbody(a):
    big = b"\x30" * 70000
    cases = [("Content-Length 70000", b"Content-Length: 70000\r\n", big),
             ("chunked 70000", b"Transfer-Encoding: chunked\r\n",
              b"%x\r\n" % len(big) + big + b"\r\n0\r\n\r\n")]
    for name, hdrs, body in cases:
        try:
            s = connect(a.port)
            s.sendall(b"POST /ocsp HTTP/1.1\r\nHost: x\r\nContent-Type: "
                      b"application/ocsp-request\r\n" + hdrs + b"\r\n")
            try:
                s.sendall(body)
            except OSError:
                pass    # the server may close before reading it all
            data, closed = read_all(s, timeout=10)
            s.close()
            st = statuses(data)
            out(st == [413] and closed, "OCSP body %s: 413 and closed" % name,
                "statuses %s, closed %s" % (st, closed))
        except OSError as e:
            out(False, "OCSP body %s" % name, str(e))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode")
    p.add_argument("kind", nargs="?")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--tls", action="store_true")
    p.add_argument("--count", type=int, default=300)
    p.add_argument("--per-src", type=int, default=100)
    p.add_argument("--probe", default="health")
    p.add_argument("--probe-port", type=int)
    p.add_argument("--max", type=float, default=1.0)
    p.add_argument("--hold", type=float, default=3.0)
    p.add_argument("--within", type=int, default=10)
    p.add_argument("--cap", type=int, default=50)
    a = p.parse_args()
    a.count = min(a.count, 4000)
    {"flood": cmd_flood, "deadline": cmd_deadline, "framing": cmd_framing,
     "percap": cmd_percap, "bigbody": cmd_bigbody}[a.mode](a)


if __name__ == "__main__":
    main()
