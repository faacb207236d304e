"""The separated signer of a running pcad, seen from outside (test_privsep).

  procs.py pids FRONT_PID            prints "KEEPER SIGNER"
  procs.py scan PID PINFILE          exit 0 when the PIN is in PID's memory
  procs.py killload FRONT_PID        boto3 issue loop, kill -9 of the signer
                                     (TAP lines; env as pcaclient: PCA_DIR,
                                     BIN; ROOT_ARN)
  procs.py issue0                    one IssueCertificate without retries:
                                     prints "ok" or "HTTPSTATUS CODE"
"""
import os
import re
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "api"))
from suite import tap  # noqa: E402


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        rest = st[st.rfind(")") + 2:].split()
        comm = st[st.find("(") + 1:st.rfind(")")]
        if int(rest[1]) == pid:
            out.append((int(d), comm))
    return out


def keeper_signer(front):
    keepers = [p for p, c in children(front) if c == "pcad-keeper"]
    if not keepers:
        return None, None
    signers = [p for p, c in children(keepers[0]) if c == "pcad-signer"]
    return keepers[0], (signers[0] if signers else None)


def pin_in_memory(pid, pin):
    found = False
    with open("/proc/%d/maps" % pid) as maps, \
            open("/proc/%d/mem" % pid, "rb", 0) as mem:
        for line in maps:
            m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
            if not m or m.group(3)[0] != "r" or "[vvar]" in line:
                continue
            lo, hi = int(m.group(1), 16), int(m.group(2), 16)
            # read in chunks (overlapping by the PIN's length); regions of
            # over 4 GiB are reservations (an ASan build's shadow memory),
            # not data a PIN could be in
            if hi - lo > 4 << 30:
                continue
            pos, tail = lo, b""
            while pos < hi and not found:
                try:
                    mem.seek(pos)
                    chunk = mem.read(min(16 << 20, hi - pos))
                except (OSError, ValueError, OverflowError):
                    break
                if not chunk:
                    break
                found = pin in tail + chunk
                tail = chunk[-len(pin):]
                pos += len(chunk)
    return found


def killload(front):
    import pcaclient as P  # noqa: E402
    import urllib.request
    root = os.environ["ROOT_ARN"]
    stop = threading.Event()
    results = []   # "ok" or the exception text
    lock = threading.Lock()

    def loop():
        c = P.client(retries=9)
        while not stop.is_set():
            try:
                c.issue_certificate(
                    CertificateAuthorityArn=root, Csr=P.make_csr(),
                    SigningAlgorithm="SHA256WITHECDSA",
                    Validity={"Value": 5, "Type": "DAYS"})
                r = "ok"
            except Exception as e:  # noqa: BLE001
                r = "%s: %s" % (type(e).__name__, e)
            with lock:
                results.append((time.time(), r))

    def healthy():
        try:
            with urllib.request.urlopen(P.HTTP + "/health", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(2.0)
    _, old = keeper_signer(front)
    tap(old is not None, "a signer serves under load", old)
    t_kill = time.time()
    os.kill(old, signal.SIGKILL)
    back = None
    saw_503 = False
    while time.time() < t_kill + 10:
        _, new = keeper_signer(front)
        h = healthy()
        if not h:
            saw_503 = True
        if new is not None and new != old and h:
            back = time.time() - t_kill
            break
        time.sleep(0.02)
    tap(back is not None and back <= 2.0,
        "kill -9 of the signer: a new one serves within 2 s (%.2f s)"
        % (back if back is not None else -1))
    time.sleep(3.0)
    stop.set()
    for t in threads:
        t.join(120)
    bad = [r for _, r in results if r != "ok"]
    after = [r for t, r in results if t > t_kill + (back or 0) and r == "ok"]
    tap(len(results) > 0 and not bad,
        "no request got a non-retryable error (%d requests, boto3 standard "
        "retries)" % len(results), bad[:3])
    tap(len(after) > 0, "issuance goes on after the restart (%d)"
        % len(after))
    tap(keeper_signer(front)[0] is not None and os.path.exists(
        "/proc/%d" % front), "the front and the keeper lived on")
    print("# /health went 503 during the restart: %s" % saw_503)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "pids":
        k, s = keeper_signer(int(sys.argv[2]))
        print(k or 0, s or 0)
    elif cmd == "scan":
        with open(sys.argv[3], "rb") as f:
            pin = f.read().strip()
        sys.exit(0 if len(pin) >= 4 and pin_in_memory(int(sys.argv[2]), pin)
                 else 1)
    elif cmd == "killload":
        killload(int(sys.argv[2]))
    elif cmd == "issue0":
        import pcaclient as P  # noqa: E402
        import botocore.exceptions  # noqa: E402
        try:
            P.client(retries=0).issue_certificate(
                CertificateAuthorityArn=os.environ["ROOT_ARN"],
                Csr=P.make_csr(), SigningAlgorithm="SHA256WITHECDSA",
                Validity={"Value": 5, "Type": "DAYS"})
            print("ok")
        except botocore.exceptions.ClientError as e:
            print(e.response["ResponseMetadata"]["HTTPStatusCode"],
                  e.response["Error"]["Code"])
