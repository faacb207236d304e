import json
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

creds = Credentials("AKIAEXAMPLEKEY000001", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
cases = [
    ("list", "https://127.0.0.1:8443/", "us-east-1", b"{}",
     {"X-Amz-Target": "ACMPrivateCA.ListCertificateAuthorities",
      "Content-Type": "application/x-amz-json-1.1"}),
    ("issue", "https://pca.example:8443/", "eu-west-3",
     b'{"CertificateAuthorityArn":"arn:aws:acm-pca:eu-west-3:123456789012:certificate-authority/0b8a4c1e-2f6a-4d1e-9c3b-7a5d6e8f9a0b","Csr":"LS0t","SigningAlgorithm":"SHA256WITHECDSA","Validity":{"Value":365,"Type":"DAYS"}}',
     {"X-Amz-Target": "ACMPrivateCA.IssueCertificate",
      "Content-Type": "application/x-amz-json-1.1"}),
    ("path", "https://127.0.0.1:9443/base/./a//b/../c%20d/?b=2&a=1", "us-east-1", b'{"MaxResults":1}',
     {"X-Amz-Target": "ACMPrivateCA.ListCertificateAuthorities",
      "Content-Type": "application/x-amz-json-1.1",
      "Amz-Sdk-Invocation-Id": "  spaced   value  here "}),
]
out = []
for name, url, region, body, hdrs in cases:
    req = AWSRequest(method="POST", url=url, data=body, headers=dict(hdrs))
    a = SigV4Auth(creds, "acm-pca", region)
    ts = "20261128T235516Z"
    req.context["timestamp"] = ts
    req.headers["X-Amz-Date"] = ts
    # botocore adds host in headers_to_sign from the URL
    canon = a.canonical_request(req)
    sts = a.string_to_sign(req, canon)
    sig = a.signature(sts, req)
    hts = a.headers_to_sign(req)
    signed = a.signed_headers(hts)
    hdr_list = [(k.lower(), v) for k, v in req.headers.items()] + [("host", hts["host"])]
    out.append(dict(name=name, path=url.split("://",1)[1].split("/",1)[1].split("?")[0], query=url.split("?")[1] if "?" in url else "",
                    region=region, body=body.decode(), headers=hdr_list, signed=signed, canonical=canon, sig=sig,
                    authz="AWS4-HMAC-SHA256 Credential=%s/%s/%s/acm-pca/aws4_request, SignedHeaders=%s, Signature=%s" % (creds.access_key, ts[:8], region, signed, sig)))
print(json.dumps(out, indent=1))
