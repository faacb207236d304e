#!/usr/bin/env python3
"""Webhook receiver for test_alerts.sh: answers 200 to every POST and
appends the body's id (checked against the Idempotency-Key header and the
event name) and kind to LOG, one line per POST.
usage: receiver.py PORTFILE LOG"""
import http.server
import json
import sys


class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(n))
        ok = (self.headers.get("Idempotency-Key") == body.get("id") and
              body.get("event") == "alert.raised")
        with open(sys.argv[2], "a") as f:
            f.write(("%s %s" % (body["kind"], body["id"]) if ok else
                     "BAD " + json.dumps(body)) + "\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


s = http.server.HTTPServer(("127.0.0.1", 0), H)
with open(sys.argv[1], "w") as f:
    f.write(str(s.server_address[1]))
s.serve_forever()
