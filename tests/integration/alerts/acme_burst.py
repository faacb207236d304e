#!/usr/bin/env python3
"""test_alerts.sh: one ACME account (acme/acme_lib.py) orders N
certificates at once, one thread each (http-01 served here on HTTP01_PORT).

usage: acme_burst.py DIRECTORY CA_BUNDLE HTTP01_PORT N
Prints "ACCOUNT_ID ISSUED" (the account's id as the kid URL ends).
"""
import os
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "acme"))
import acme_lib  # noqa: E402


def main():
    directory, bundle, port, n = sys.argv[1], sys.argv[2], sys.argv[3], \
        int(sys.argv[4])
    tok = acme_lib.Tokens()
    acme_lib.responder(int(port), tok)
    first = acme_lib.Client(directory, bundle, tok)
    first.register()
    fd, path = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    first.save(path)
    issued = []
    errors = []

    def one(i):
        try:
            c = first if i == 0 else acme_lib.Client(directory, bundle, tok)
            if i:
                c.load(path)
            c.issue(["b%d.burst.example.test" % i])
            issued.append(i)
        except Exception as e:  # reported, the count tells the test
            errors.append("%d: %s" % (i, e))

    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    os.unlink(path)
    for e in errors:
        print("# " + e, file=sys.stderr)
    print(first.kid.rstrip("/").rsplit("/", 1)[-1], len(issued))


if __name__ == "__main__":
    main()
