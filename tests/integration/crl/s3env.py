"""moto_server as the S3 endpoint of the CRL tests, with SigV4 enforced.

moto checks signatures once INITIAL_NO_AUTH_ACTION_COUNT unauthenticated
calls are used up: the first three create an IAM user, its access key and
an allow-all policy; everything after that must be signed with that key.
moto keeps its state in memory, so a restart needs setup() again (new key).
"""
import json
import os
import socket
import subprocess
import time
import urllib.request

import boto3
from botocore.config import Config

POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "*", "Resource": "*"}]})
DENY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]})


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Moto:
    def __init__(self, port, logdir):
        self.port = port
        self.url = "http://127.0.0.1:%d" % port
        self.logdir = logdir
        self.proc = None
        self.key = None

    def start(self):
        env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="3")
        log = open(os.path.join(self.logdir, "moto.log"), "ab")
        self.proc = subprocess.Popen(
            ["moto_server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=log, stderr=log, env=env)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                # a raw socket connect: an HTTP call would use up a free action
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("moto_server did not start")

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
            self.proc = None

    def iam(self, key=None):
        k = key or ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        return boto3.client("iam", endpoint_url=self.url, region_name="us-east-1",
                            aws_access_key_id=k[0], aws_secret_access_key=k[1])

    def setup(self, bucket):
        """IAM user + key + policy (the 3 free calls), then the bucket."""
        iam = self.iam()
        iam.create_user(UserName="pca")
        ak = iam.create_access_key(UserName="pca")["AccessKey"]
        self.key = (ak["AccessKeyId"], ak["SecretAccessKey"])
        iam.put_user_policy(UserName="pca", PolicyName="all",
                            PolicyDocument=POLICY)
        self.s3().create_bucket(Bucket=bucket)
        return self.key

    def denied_key(self):
        """A second user whose policy denies S3."""
        iam = self.iam(self.key)
        iam.create_user(UserName="nos3")
        ak = iam.create_access_key(UserName="nos3")["AccessKey"]
        iam.put_user_policy(UserName="nos3", PolicyName="deny",
                            PolicyDocument=DENY)
        return ak["AccessKeyId"], ak["SecretAccessKey"]

    def s3(self):
        return boto3.client("s3", endpoint_url=self.url, region_name="us-east-1",
                            aws_access_key_id=self.key[0],
                            aws_secret_access_key=self.key[1],
                            config=Config(s3={"addressing_style": "path"},
                                          retries={"max_attempts": 1}))

    def get(self, bucket, key):
        try:
            return self.s3().get_object(Bucket=bucket, Key=key)["Body"].read()
        except Exception:
            return None

    def keys(self, bucket):
        r = self.s3().list_objects_v2(Bucket=bucket)
        return [o["Key"] for o in r.get("Contents", [])]


def init_appliance(pcactl, app, moto, *args, env=None):
    """pcactl init APP on two free loopback ports with MOTO as its S3
    endpoint (ARGS follow): (exit status, output as text)."""
    r = subprocess.run([pcactl, "init", app, "--api-port", str(free_port()),
                        "--http-port", str(free_port()), "--s3-endpoint",
                        moto.url] + list(args), capture_output=True, env=env)
    return r.returncode, (r.stdout + r.stderr).decode(errors="replace")


def write_creds(path, key):
    with open(path, "w") as f:
        f.write("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
                % key)
    os.chmod(path, 0o600)
    # sync/ re-reads the file when its mtime changes (1 s resolution)
    t = time.time() + 2
    os.utime(path, (t, t))


def health(url):
    try:
        with urllib.request.urlopen(url + "/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False
