"""sts:GetCallerIdentity through boto3 and raw SigV4 requests (test_sts.sh).

Prints "PASS name" or "FAIL name: detail" per check."""
import os
import ssl
import urllib.request
import xml.etree.ElementTree as ET

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.credentials
from botocore.exceptions import ClientError

EP = os.environ["PCA_EP"]
CA = os.environ["PCA_CA"]
NS = "{https://sts.amazonaws.com/doc/2011-06-15/}"
BODY = "Action=GetCallerIdentity&Version=2011-06-15"
CTX = ssl.create_default_context(cafile=CA)


def check(name, cond, detail=""):
    print(("PASS %s" % name) if cond else ("FAIL %s: %s" % (name, detail)),
          flush=True)


def raw(body, service="sts", creds=None, sign=True, ctype=None):
    """POSTs body signed with SigV4 (scope service); (status, headers, xml)."""
    hdrs = {"Content-Type": ctype or
            "application/x-www-form-urlencoded; charset=utf-8"}
    req = botocore.awsrequest.AWSRequest("POST", EP + "/", data=body,
                                         headers=hdrs)
    if sign:
        if creds is None:
            c = boto3.Session().get_credentials()
            creds = botocore.credentials.Credentials(c.access_key,
                                                     c.secret_key)
        botocore.auth.SigV4Auth(creds, service, "us-east-1").add_auth(req)
    r = urllib.request.Request(EP + "/", data=body.encode(),
                               headers=dict(req.headers.items()),
                               method="POST")
    try:
        with urllib.request.urlopen(r, context=CTX) as f:
            return f.status, f.headers, f.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def err_of(xml):
    root = ET.fromstring(xml)
    e = root.find(NS + "Error")
    return (root.tag, e.findtext(NS + "Type"), e.findtext(NS + "Code"),
            e.findtext(NS + "Message"), root.findtext(NS + "RequestId"))


sts = boto3.client("sts", endpoint_url=EP, verify=CA)
akid = boto3.Session().get_credentials().access_key
r = sts.get_caller_identity()
check("boto3 get_caller_identity: Account, UserId, Arn",
      r["Account"] == "123456789012" and r["UserId"] == akid and
      r["Arn"] == "arn:aws:iam::123456789012:user/" + akid, r)
md = r["ResponseMetadata"]
check("boto3 sees the RequestId of ResponseMetadata and text/xml",
      len(md["RequestId"]) == 36 and
      md["HTTPHeaders"]["content-type"] == "text/xml" and
      md["HTTPHeaders"]["x-amzn-requestid"] == md["RequestId"], md)

st, hd, body = raw(BODY)
root = ET.fromstring(body)
res = root.find(NS + "GetCallerIdentityResult")
check("raw answer: GetCallerIdentityResponse/Result/{Arn,UserId,Account} "
      "and ResponseMetadata/RequestId in the STS namespace",
      st == 200 and root.tag == NS + "GetCallerIdentityResponse" and
      [c.tag for c in root] == [NS + "GetCallerIdentityResult",
                                NS + "ResponseMetadata"] and
      sorted(c.tag for c in res) ==
      sorted(NS + t for t in ("Arn", "UserId", "Account")) and
      root.find(NS + "ResponseMetadata").findtext(NS + "RequestId") ==
      hd["x-amzn-RequestId"], body)

other = boto3.client("sts", endpoint_url=EP, verify=CA,
                     region_name="us-east-1",
                     aws_access_key_id=os.environ["OAKID"],
                     aws_secret_access_key=os.environ["OSECRET"])
r = other.get_caller_identity()
check("a key of another account reports that account",
      r["Account"] == "210987654321" and
      r["Arn"] == "arn:aws:iam::210987654321:user/" + os.environ["OAKID"], r)

try:
    sts.assume_role(RoleArn="arn:aws:iam::123456789012:role/x",
                    RoleSessionName="openpca")
    check("AssumeRole answers InvalidAction", False, "succeeded")
except ClientError as e:
    check("AssumeRole answers InvalidAction (400, Sender, XML)",
          e.response["Error"]["Code"] == "InvalidAction" and
          e.response["Error"]["Type"] == "Sender" and
          e.response["ResponseMetadata"]["HTTPStatusCode"] == 400,
          e.response)

st, hd, body = raw("Action=GetSessionToken&Version=2011-06-15")
tag, typ, code, msg, rid = err_of(body)
check("any other action: ErrorResponse/Error{Type,Code,Message}/RequestId",
      st == 400 and tag == NS + "ErrorResponse" and code == "InvalidAction"
      and "GetSessionToken" in msg and rid == hd["x-amzn-RequestId"] and
      hd["Content-Type"] == "text/xml", body)

st, hd, body = raw("Action=GetCallerIdentity&Version=2099-01-01")
check("another API version answers InvalidAction",
      st == 400 and err_of(body)[2] == "InvalidAction", body)

st, hd, body = raw("Action=%3Cx%3E&Version=2011-06-15")
check("the action in the message is XML-escaped",
      st == 400 and err_of(body)[3] ==
      "Could not find operation <x> for version 2011-06-15", body)

st, hd, body = raw(BODY, sign=False)
check("unsigned: 403 MissingAuthenticationToken",
      st == 403 and err_of(body)[2] == "MissingAuthenticationToken", body)

c = boto3.Session().get_credentials()
st, hd, body = raw(BODY, creds=botocore.credentials.Credentials(
    c.access_key, "x" * 40))
check("a wrong secret: 403 SignatureDoesNotMatch",
      st == 403 and err_of(body)[2] == "SignatureDoesNotMatch", body)

st, hd, body = raw(BODY, creds=botocore.credentials.Credentials(
    "AKIAUNKNOWNUNKNOWN00", "x" * 40))
check("an unknown key: 403 InvalidClientTokenId",
      st == 403 and err_of(body)[2] == "InvalidClientTokenId", body)

st, hd, body = raw(BODY, service="acm-pca")
check("a signature scoped to acm-pca: IncompleteSignature naming sts",
      st == 400 and err_of(body)[2] == "IncompleteSignature" and
      "'sts'" in err_of(body)[3], body)

pca = boto3.client("acm-pca", endpoint_url=EP, verify=CA)
try:
    pca.list_certificate_authorities()
    ok = True
except ClientError as e:
    ok = e
check("the ACM-PCA JSON API still answers next to STS", ok is True, ok)

st, hd, body = raw('{}', service="acm-pca",
                   ctype="application/x-amz-json-1.1")
check("JSON without X-Amz-Target stays a JSON error",
      st == 400 and body.startswith(b"{") and
      b"UnknownOperationException" in body, body)
