#!/usr/bin/env python3
"""Webhook receiver for test_monitor.sh, test_discover.sh and
test_alerts.sh: answers 200 to every POST and appends one line per POST to
LOG, after checking the body's id against the Idempotency-Key header:
  certificate.expiring  "CAID/SERIAL/DAYS" (the id; it must end in
                        threshold_days, sent as application/json)
  alert.raised          "KIND ID"
anything else: "BAD <body>".
usage: receiver.py PORTFILE LOG"""
import http.server
import json
import sys


def line(headers, body):
    if headers.get("Idempotency-Key") != body.get("id"):
        return None
    if body.get("event") == "certificate.expiring":
        if (body["id"].endswith("/%d" % body["threshold_days"]) and
                headers.get("Content-Type") == "application/json"):
            return body["id"]
    elif body.get("event") == "alert.raised":
        return "%s %s" % (body["kind"], body["id"])
    return None


class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(n))
        got = line(self.headers, body)
        with open(sys.argv[2], "a") as f:
            f.write((got or "BAD " + json.dumps(body)) + "\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


s = http.server.HTTPServer(("127.0.0.1", 0), H)
with open(sys.argv[1], "w") as f:
    f.write(str(s.server_address[1]))
s.serve_forever()
