"""Helpers of test_standby.sh: boto3 against moto (S3) and against pcad's
API (PCA_DIR says which appliance).

  sb.py shipped S3_URL BUCKET PREFIX CA_ARN OUT
        every certificate in the shipped change feed, as load.py lines
        ("0 0 <certificate ARN>") in OUT; prints how many
  sb.py epoch S3_URL BUCKET PREFIX     the highest fencing epoch (0: none)
  sb.py missing CA_ARN LOG             how many certificate ARNs of LOG
        GetCertificate does not find (prints the count)
  sb.py refused CA_ARN                 IssueCertificate is refused with 503
        ServiceUnavailable whose message names the primary (exit 0)
Prints "# ..." details."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "api"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "backup"))
import dr  # noqa: E402
from dr import s3  # noqa: E402


def pca():
    return dr.pca(attempts=1)


def keys(c, bucket, prefix):
    out = []
    for page in c.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix):
        out += [o["Key"] for o in page.get("Contents", [])]
    return sorted(out)


def shipped(url, bucket, prefix, ca, out):
    c = s3(url)
    n = 0
    with open(out, "w") as f:
        for k in keys(c, bucket, prefix + "/feed/"):
            doc = json.loads(c.get_object(Bucket=bucket, Key=k)["Body"].read())
            for r in doc["Records"]:
                if r["Type"] == "ISSUED" and r.get("Der") and \
                        ca.endswith("/" + r["CaId"]):
                    f.write("0 0 %s/certificate/%s\n" % (ca, r["Serial"].lower()))
                    n += 1
    print(n)
    return 0


def epoch(url, bucket, prefix):
    ks = keys(s3(url), bucket, prefix + "/fence/")
    print(max([0] + [int(k.rsplit("epoch-", 1)[1][:20]) for k in ks]))
    return 0


def missing(ca, log):
    c = pca()
    arns = [l.split()[2] for l in open(log) if not l.startswith("error")]
    n = 0
    for arn in arns:
        try:
            c.get_certificate(CertificateAuthorityArn=ca, CertificateArn=arn)
        except c.exceptions.RequestInProgressException:
            n += 1
        except Exception as e:
            if "NotFound" not in type(e).__name__ and \
                    "ResourceNotFound" not in str(e):
                raise
            n += 1
    print(n)
    return 0


def refused(ca):
    import pcaclient
    csr = pcaclient.make_csr(cn="sb.example.com", sans=())
    try:
        pca().issue_certificate(CertificateAuthorityArn=ca, Csr=csr,
                                SigningAlgorithm="SHA256WITHECDSA",
                                Validity={"Value": 30, "Type": "DAYS"})
    except Exception as e:
        r = getattr(e, "response", {})
        code = r.get("Error", {}).get("Code")
        status = r.get("ResponseMetadata", {}).get("HTTPStatusCode")
        msg = r.get("Error", {}).get("Message", "")
        print("# %s %s: %s" % (status, code, msg))
        return 0 if status == 503 and code == "ServiceUnavailable" and \
            "primary" in msg else 1
    print("# IssueCertificate succeeded")
    return 1


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    return {"shipped": shipped, "epoch": epoch, "missing": missing,
            "refused": refused}[cmd](*args)


sys.exit(main())
