"""Issues certificates through pcad's API with unmodified boto3 until the
file named by STOP exists, from THREADS threads.  Each certificate that got
a 200 is logged as "<t_request> <t_answer> <certificate ARN>" (epoch
seconds, float) to OUT; any error answer is logged as "error <name>".

usage: PCA_DIR=DIR python3 load.py CA_ARN OUT STOP [THREADS]"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "api"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dr  # noqa: E402
import pcaclient  # noqa: E402

ca, out, stop = sys.argv[1], sys.argv[2], sys.argv[3]
threads = int(sys.argv[4]) if len(sys.argv) > 4 else 2
csr = pcaclient.make_csr(cn="load.example.com", sans=())
lock = threading.Lock()
log = open(out, "a", buffering=1)


def worker():
    pca = dr.pca(attempts=1)
    while not os.path.exists(stop):
        t0 = time.time()
        try:
            arn = pca.issue_certificate(
                CertificateAuthorityArn=ca, Csr=csr,
                SigningAlgorithm="SHA256WITHECDSA",
                Validity={"Value": 30, "Type": "DAYS"})["CertificateArn"]
            line = "%.6f %.6f %s" % (t0, time.time(), arn)
        except Exception as e:  # every failure is counted by the test
            line = "error %s" % type(e).__name__
        with lock:
            log.write(line + "\n")


ts = [threading.Thread(target=worker) for _ in range(threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
