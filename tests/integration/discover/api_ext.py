"""External certificates through OpenPCA.ListCertificates (Origin OURS,
EXTERNAL, ALL) and OpenPCA.GetExternalCertificate, signed like botocore against pcad, as the inventory tests
call it.  Run by test_discover.sh while pcad runs, after the discovery and
imports there: 6 external certificates (Ext Root, ext, old, self,
imported, job) and our leaf seen at an endpoint (and imported).

    api_ext.py START_N ROOT_ARN OURS_SERIAL OURS_ENDPOINT

prints TAP lines numbered from START_N + 1; exits 1 on a failure."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "api"))
import pcaclient as P  # noqa: E402
from suite import start_at, status, tap  # noqa: E402

start_at(int(sys.argv[1]))
ROOT, SERIAL, WHERE = sys.argv[2:5]
EXTERNAL = ["Ext Root", "ext.example.com", "imported.example.com",
            "job.example.com", "old.example.com", "self.example.com"]


def check(name, ok, detail=""):
    """tap() with the name first, as this suite's checks read."""
    tap(ok, name, detail)


def call(body):
    return P.raw("ListCertificates", body,
                 headers={"X-Amz-Target": "OpenPCA.ListCertificates"})


list_all = P.list_certificates


def cn(item):
    return item["Subject"].split("CN=")[1].split("/")[0]


def by_cn(items):
    return {cn(i): i for i in items if i.get("Source") == "EXTERNAL"}


ours, _ = list_all({})
check("no Origin: only ours, output as before (no Source member)",
      ours and all("Source" not in c and "CertificateArn" in c
                   for c in ours), ours[:2])
seen = [c for c in ours if c["Serial"] == SERIAL]
check("no Origin: our certificate seen by discovery carries SeenAt",
      len(seen) == 1 and WHERE in [e["where"] for e in
                                   seen[0].get("SeenAt", [])] and
      all("SeenAt" not in c for c in ours if c not in seen),
      seen)

ext, _ = list_all({"Origin": "EXTERNAL"})
names = sorted(cn(c) for c in ext)
check("Origin EXTERNAL: exactly the 6 external certificates",
      names == EXTERNAL and all(c["Source"] == "EXTERNAL" for c in ext),
      names)
e = by_cn(ext)
check("Origin EXTERNAL: where and when each was seen",
      sorted(x["sni"] for x in e["ext.example.com"]["SeenAt"]
             if x["source"] == "scan") == ["", "ext.example.com"] and
      all(c["FirstSeen"] <= c["LastSeen"] for c in ext) and
      len(e["ext.example.com"]["Fingerprint"]) == 64,
      e.get("ext.example.com"))
check("Origin EXTERNAL: findings (expired, unknown issuer, self-signed)",
      sorted(e["old.example.com"]["Findings"]) ==
      ["EXPIRED", "UNKNOWN_ISSUER"] and
      e["old.example.com"]["Status"] == "EXPIRED" and
      e["self.example.com"]["Findings"] == ["SELF_SIGNED"] and
      e["ext.example.com"]["Findings"] == [] and
      e["Ext Root"]["Findings"] == ["SELF_SIGNED"],
      {k: v["Findings"] for k, v in e.items()})

paged, pages = list_all({"Origin": "EXTERNAL"}, page=2)
check("Origin EXTERNAL, 2 a page: the same 6 once each over 3 pages",
      sorted(cn(c) for c in paged) == EXTERNAL and pages == 3,
      (sorted(cn(c) for c in paged), pages))

both, pages = list_all({"Origin": "ALL"}, page=3)
o = [c for c in both if c.get("Source") == "OURS"]
x = [c for c in both if c.get("Source") == "EXTERNAL"]
check("Origin ALL, 3 a page: ours (Source OURS) then the externals",
      len(o) == len(ours) and sorted(cn(c) for c in x) == EXTERNAL and
      len(both) == len(o) + len(x) and
      both.index(x[0]) == len(o), (len(o), len(ours), len(x), pages))

r, _ = list_all({"Origin": "EXTERNAL", "Status": "EXPIRED"})
check("Origin EXTERNAL, Status EXPIRED: the expired one",
      [cn(c) for c in r] == ["old.example.com"], r)
r, _ = list_all({"Origin": "ALL", "NameContains": "SELF.example"})
check("Origin ALL, NameContains (any case): the self-signed one",
      [cn(c) for c in r] == ["self.example.com"], r)
r, _ = list_all({"Origin": "EXTERNAL",
                 "ExpiringBefore": int(time.time()) + 25 * 86400})
check("Origin EXTERNAL, ExpiringBefore 25 days",
      sorted(cn(c) for c in r) ==
      ["ext.example.com", "old.example.com", "self.example.com"],
      sorted(cn(c) for c in r))
r, _ = list_all({"Origin": "EXTERNAL", "CertificateAuthorityArn": ROOT})
r2, _ = list_all({"Origin": "EXTERNAL", "Status": "REVOKED"})
check("Origin EXTERNAL with a CA or Status REVOKED: none",
      r == [] and r2 == [], (r, r2))

st, _, r = call({"Origin": "MINE"})
check("Origin MINE: 400 ValidationException",
      st == 400 and "ValidationException" in str(r), (st, r))
st, _, r = call({"Origin": "EXTERNAL", "MaxResults": 2})
st2, _, r2 = call({"Origin": "ALL", "NextToken": r.get("NextToken", "")})
check("a NextToken of Origin EXTERNAL is refused for Origin ALL",
      st == 200 and st2 == 400 and "InvalidNextToken" in str(r2), (st2, r2))



def get_ext(fp):
    return P.raw("GetExternalCertificate", {"Fingerprint": fp},
                 headers={"X-Amz-Target": "OpenPCA.GetExternalCertificate"})


old = e["old.example.com"]
st, _, r = get_ext(old["Fingerprint"])
pem_ok = False
if st == 200:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    c = x509.load_pem_x509_certificate(r["Certificate"].encode())
    pem_ok = c.fingerprint(hashes.SHA256()).hex() == old["Fingerprint"]
check("GetExternalCertificate: the item and its PEM (SHA-256 matches)",
      st == 200 and pem_ok and r["Subject"] == old["Subject"] and
      sorted(r["Findings"]) == ["EXPIRED", "UNKNOWN_ISSUER"] and
      r["SeenAt"] == old["SeenAt"], (st, str(r)[:300]))
st, _, r = get_ext("0" * 64)
check("GetExternalCertificate: an unknown fingerprint is 400 "
      "ResourceNotFoundException",
      st == 400 and "ResourceNotFoundException" in str(r), (st, r))
st, _, r = get_ext("ABC")
st2, _, r2 = get_ext("G" * 64)
check("GetExternalCertificate: a malformed fingerprint is refused (400)",
      st == 400 and "ValidationException" in str(r) and st2 == 400 and
      "64 lower-case hex" in str(r2), (st, r, st2, r2))

sys.stdout.flush()
sys.exit(status())
