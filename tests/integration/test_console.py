"""The web console in headless Chromium (python3-selenium, chromium-driver)
and over raw HTTPS (http.client).  Run by test_console.sh:

    test_console.py API_URL AUDITOR_JSON DENIED_JSON ARTIFACT_DIR N

prints TAP lines numbered from N + 1 and the plan; exits 1 on a failure.
"""
import http.client
import json
import os
import re
import ssl
import sys
import urllib.parse

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

API, AUD_F, DENY_F, ART, START = sys.argv[1:6]
N = int(START)
FAILS = 0
AUD = json.load(open(AUD_F))
DENY = json.load(open(DENY_F))
HOST = urllib.parse.urlsplit(API).netloc
ALERTS_N = int(os.environ.get("ALERTS_N", "0"))
# as X509_NAME_oneline writes it (a '/' inside a value escaped)
EVIL = '/CN=<script>alert("x")<\\/script>/O=it\'s "quoted" & <b>co<\\/b>'


def tap(name, good, detail=""):
    global N, FAILS
    N += 1
    if good:
        print("ok %d - %s" % (N, name))
    else:
        FAILS += 1
        print("not ok %d - %s" % (N, name))
        for line in str(detail).splitlines()[:20]:
            print("#   " + line)
    sys.stdout.flush()


# ---- raw HTTPS ----

CTX = ssl._create_unverified_context()


def req(method, path, body=None, headers=None):
    c = http.client.HTTPSConnection(HOST, context=CTX, timeout=30)
    h = dict(headers or {})
    if body is not None:
        h.setdefault("Content-Type", "application/x-www-form-urlencoded")
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read().decode("utf-8", "replace")
    out = (r.status, {k.lower(): v for k, v in r.getheaders()}, data,
           r.getheader("Set-Cookie"))
    c.close()
    return out


ORIGIN = {"Origin": "https://" + HOST}


def login(key, secret, headers=ORIGIN):
    body = urllib.parse.urlencode({"akid": key, "secret": secret})
    return req("POST", "/console/login", body, headers)


def cookie_of(setc):
    m = re.match(r"(pca_console=[0-9a-f]{64})", setc or "")
    return m.group(1) if m else None


st, h, body, setc = login(AUD["AccessKeyId"], AUD["SecretAccessKey"][:-1] +
                          ("x" if AUD["SecretAccessKey"][-1] != "x" else "y"))
tap("wrong secret refused (401, no cookie)",
    st == 401 and setc is None and "Wrong access key" in body, (st, setc))
st, h, body, setc = login("AKIAUNKNOWNKEY000000", "x" * 40)
tap("unknown key refused (401)", st == 401 and setc is None, st)
st, h, body, setc = login(AUD["AccessKeyId"], AUD["SecretAccessKey"], {})
tap("POST without Origin refused (403)", st == 403 and setc is None, st)
st, h, body, setc = login(AUD["AccessKeyId"], AUD["SecretAccessKey"],
                          {"Origin": "https://evil.example"})
tap("POST from another Origin refused (403)", st == 403 and setc is None, st)
st, h, body, setc = login(AUD["AccessKeyId"], AUD["SecretAccessKey"])
flags = [f.strip() for f in (setc or "").split(";")]
tap("sign-in: 303 and the session cookie HttpOnly; Secure; "
    "SameSite=Strict; Path=/console/",
    st == 303 and cookie_of(setc) is not None and "HttpOnly" in flags and
    "Secure" in flags and "SameSite=Strict" in flags and
    "Path=/console/" in flags, (st, setc))
ck = {"Cookie": cookie_of(setc)}
st, h, page, _ = req("GET", "/console/", headers=ck)
csp = h.get("content-security-policy", "")
tap("a page with the session: 200, strict CSP, nosniff, no-store",
    st == 200 and "default-src 'none'" in csp and
    "frame-ancestors 'none'" in csp and "script-src" not in csp and
    h.get("x-content-type-options") == "nosniff" and
    h.get("cache-control") == "no-store", (st, h))
tap("no script anywhere on the page", "<script" not in page.lower(), page)
m = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
csrf = m.group(1) if m else ""
st, h, _, _ = req("POST", "/console/logout", "x=1", dict(ck, **ORIGIN))
st2, _, _, _ = req("GET", "/console/", headers=ck)
tap("CSRF: sign-out without the token refused (403), session kept",
    st == 403 and st2 == 200, (st, st2))
st, h, _, _ = req("POST", "/console/logout", "csrf=" + "0" * 64,
                  dict(ck, **ORIGIN))
tap("CSRF: a wrong token refused (403)", st == 403, st)
st, h, _, _ = req("POST", "/console/logout", "csrf=" + csrf,
                  dict(ck, **ORIGIN))
st2, h2, _, _ = req("GET", "/console/", headers=ck)
tap("sign-out with the token ends the session",
    st == 303 and st2 == 303 and
    h2.get("location") == "/console/login", (st, st2, h2))
st, h, _, _ = req("GET", "/console/inventory")
tap("no session: redirected to sign-in",
    st == 303 and h.get("location") == "/console/login", (st, h))
st, h, _, setc = login(DENY["AccessKeyId"], DENY["SecretAccessKey"])
dk = {"Cookie": cookie_of(setc)}
st, _, body, _ = req("GET", "/console/inventory", headers=dk)
tap("denied key: inventory is 403 with the IAM sentence",
    st == 403 and "explicit deny" in body and "AccessDenied" in body,
    (st, body[-600:]))
st, _, body, _ = req("GET", "/console/audit", headers=dk)
tap("denied key: audit chain is 403", st == 403 and "refusal" in body, st)
st, _, body, _ = req("GET", "/console/", headers=dk)
tap("denied key: the hierarchy it may list is shown",
    st == 200 and "Console Root" in body, st)
st, _, body, _ = req("GET", "/console/inventory?name=%3Cscript%3E%22x",
                     headers=dk)
tap("a query value comes back escaped",
    "&lt;script&gt;&quot;x" in body and "<script" not in body, body[:800])
st, _, body, _ = req("GET", "/console/no-such-page", headers=dk)
tap("unknown console page: 404", st == 404, st)

# ---- the browser ----

opts = Options()
for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
          "--disable-dev-shm-usage", "--window-size=1280,1000"):
    opts.add_argument(a)
opts.binary_location = "/usr/bin/chromium"
opts.accept_insecure_certs = True
opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
drv = webdriver.Chrome(service=Service("/usr/bin/chromedriver"),
                       options=opts)
drv.set_page_load_timeout(60)
errors = []


def shot(name):
    drv.save_screenshot(os.path.join(ART, name + ".png"))


def logs():
    for e in drv.get_log("browser"):
        if e.get("level") == "SEVERE":
            errors.append(e.get("message"))


def signin(key):
    drv.find_element(By.ID, "akid").send_keys(key["AccessKeyId"])
    drv.find_element(By.ID, "secret").send_keys(key["SecretAccessKey"])
    drv.find_element(By.ID, "signin").click()
    WebDriverWait(drv, 30).until(
        lambda d: d.find_elements(By.ID, "signout") != [])


def text(css):
    els = drv.find_elements(By.CSS_SELECTOR, css)
    return els[0].text if els else ""


try:
    drv.get(API + "/console/login")
    shot("login")
    signin(AUD)
    tap("browser: auditor signs in and lands on the CA hierarchy",
        text("h1") == "CA hierarchy" and
        AUD["AccessKeyId"] in text("#who"), drv.page_source[:800])
    c = {x["name"]: x for x in drv.get_cookies()}.get("pca_console", {})
    tap("browser: session cookie httpOnly, secure, sameSite Strict",
        c.get("httpOnly") is True and c.get("secure") is True and
        c.get("sameSite") == "Strict", c)
    shot("hierarchy")
    nested = drv.find_elements(By.CSS_SELECTOR,
                               "#hierarchy > li.ca ul.tree li.ca")
    tap("hierarchy: the root with the subordinate under it, ACTIVE",
        "Console Root" in text("#hierarchy") and len(nested) == 1 and
        "Console Sub" in nested[0].text and "ACTIVE" in nested[0].text,
        text("#hierarchy"))
    logs()

    drv.get(API + "/console/inventory")
    shot("inventory")
    rows = drv.find_elements(By.CSS_SELECTOR, "#inventory tr.cert")
    tap("inventory: every certificate (2 CA + 6 end-entity)",
        len(rows) == 8, len(rows))
    drv.get(API + "/console/inventory?status=&name=e40&ca=&template="
            "&days=")
    rows = drv.find_elements(By.CSS_SELECTOR, "#inventory tr.cert")
    tap("inventory: NameContains filter", len(rows) == 1 and
        "e40.console.test" in rows[0].text, [r.text for r in rows])
    drv.get(API + "/console/inventory?days=30&status=ISSUED")
    rows = drv.find_elements(By.CSS_SELECTOR, "#inventory tr.cert")
    tap("inventory: expiring within 30 days", len(rows) == 4,
        [r.text for r in rows])
    rows[0].find_element(By.CSS_SELECTOR, "a").click()
    WebDriverWait(drv, 30).until(lambda d: text("h1") == "Certificate")
    shot("certificate")
    dec = text("#decoded")
    chain = drv.find_elements(By.CSS_SELECTOR, "#chain li")
    tap("certificate detail: decoded fields and the chain",
        "Subject:" in dec and "console.test" in dec and
        "X509v3 Subject Alternative Name" in dec and len(chain) >= 1 and
        "Console Root" in text("#chain"), text("main")[:600])
    logs()

    drv.get(API + "/console/timeline")
    shot("timeline")
    bars = drv.find_elements(By.CSS_SELECTOR, "#timeline rect.bar")
    counts = sorted(int(b.get_attribute("data-count")) for b in bars)
    tap("timeline: 4 bars (root w1, root w2 x2, sub w1, sub w6)",
        len(bars) == 4 and counts == [1, 1, 1, 2], counts)
    logs()

    drv.get(API + "/console/freshness")
    shot("freshness")
    rows = drv.find_elements(By.CSS_SELECTOR, "#freshness tr.fresh")
    tap("freshness: a row per CA with its CRL age and OCSP",
        len(rows) == 2 and "OCSP" in text("#ocsp") and
        all("ago" in r.text or "none yet" in r.text for r in rows) and
        any("ago" in r.text for r in rows), [r.text for r in rows])
    logs()

    drv.get(API + "/console/audit")
    shot("audit")
    v = drv.find_element(By.ID, "verdict")
    tap("audit chain: verified",
        "Verified" in v.text and "ok" in v.get_attribute("class") and
        len(drv.find_elements(By.CSS_SELECTOR, "#audit tr")) > 5, v.text)
    tap("audit chain: console sign-ins are recorded (who, source, result)",
        "op=ConsoleSignIn who=%s source=127.0.0.1 result=OK" %
        AUD["AccessKeyId"] in text("#audit") and
        "result=Refused" in text("#audit"), text("#audit")[-800:])
    logs()

    drv.get(API + "/console/alerts")
    shot("alerts")
    rows = drv.find_elements(By.CSS_SELECTOR, "#alerts tr.alert")
    ca_rows = [r.text for r in rows if "ca_template_issuance" in r.text]
    acked = [r.text for r in rows if "acked" in r.get_attribute("class")]
    tap("alerts: every alert, the CA-template issuance with its principal "
        "and CA", len(rows) == ALERTS_N and len(ca_rows) == 1 and
        "pcactl" in ca_rows[0] and "Console Root" in ca_rows[0] and
        "open" in ca_rows[0], [r.text for r in rows])
    tap("alerts: the acknowledged one says by whom",
        len(acked) == 1 and "acknowledged by pcactl" in acked[0] and
        "first_template_use" in acked[0], acked)
    drv.get(API + "/console/alerts?state=open")
    rows = drv.find_elements(By.CSS_SELECTOR, "#alerts tr.alert")
    tap("alerts: open only", len(rows) == ALERTS_N - 1 and
        all("acked" not in r.get_attribute("class") for r in rows),
        len(rows))
    logs()

    drv.get(API + "/console/discovery")
    shot("discovery")
    rows = drv.find_elements(By.CSS_SELECTOR, "#external tr.ext")
    subj = {r.find_element(By.CSS_SELECTOR, "td.subject").text:
            r.find_element(By.CSS_SELECTOR, "td.findings").text.split()
            for r in rows}
    tap("discovery: the 2 external certificates with their findings",
        len(rows) == 2 and sorted(subj.get(EVIL, [])) ==
        ["SELF_SIGNED", "SHA1", "WEAK_KEY"] and
        sorted(subj.get("/CN=old.example.com/O=Elsewhere", [])) ==
        ["EXPIRED", "UNKNOWN_ISSUER"], subj)
    tap("discovery: a subject of markup and quotes is shown as text "
        "(no script or b element, escaped in the source)",
        drv.find_elements(By.TAG_NAME, "script") == [] and
        drv.find_elements(By.CSS_SELECTOR, "main b") == [] and
        "<script" not in drv.page_source and
        "&lt;script&gt;alert(\"x\")&lt;" in drv.page_source,
        drv.page_source[:1500])
    evil = [r for r in rows
            if r.find_element(By.CSS_SELECTOR, "td.subject").text == EVIL]
    EVIL_URL = ""
    if evil:
        evil[0].find_element(By.CSS_SELECTOR, "a").click()
        WebDriverWait(drv, 30).until(
            lambda d: text("h1") == "External certificate")
        EVIL_URL = drv.current_url
        shot("external")
        dec = text("#decoded")
        tap("external certificate: decoded (RSA 1024, SHA-1), as text",
            "Public-Key: (1024 bit)" in dec and "sha1WithRSA" in dec and
            drv.find_elements(By.TAG_NAME, "script") == [] and
            "WEAK_KEY" in text("#summary"), text("main")[:800])
        drv.get(API + "/console/discovery")
    else:
        tap("external certificate: decoded (RSA 1024, SHA-1), as text",
            False, "no row for the markup subject")
    seen = drv.find_elements(By.CSS_SELECTOR, "#seen-ours tr.ours")
    tap("discovery: our certificate seen (imported from a file)",
        len(seen) == 1 and "Console Root" in seen[0].text and
        "a3.console.test.pem" in seen[0].text, [r.text for r in seen])
    seen[0].find_element(By.CSS_SELECTOR, "a").click()
    WebDriverWait(drv, 30).until(lambda d: text("h1") == "Certificate")
    tap("discovery: the serial links to its certificate",
        "a3.console.test" in text("#decoded"), text("main")[:400])
    logs()

    drv.find_element(By.ID, "signout").click()
    WebDriverWait(drv, 30).until(
        lambda d: d.find_elements(By.ID, "signin") != [])
    tap("browser: sign-out returns to the sign-in page",
        drv.find_elements(By.ID, "signin") != [], drv.current_url)
    drv.get(API + "/console/")
    tap("browser: after sign-out the pages need a sign-in",
        drv.find_elements(By.ID, "signin") != [], drv.current_url)

    signin(DENY)
    drv.get(API + "/console/inventory")
    shot("inventory-denied")
    tap("browser: the denied key sees a readable refusal",
        "Not allowed" in text("#refusal") and
        "not authorized" in text("#refusal"), text("main"))
    for page in ("alerts", "discovery", EVIL_URL):
        drv.get(page if page.startswith("https:") else
                API + "/console/" + page)
        name = "external" if page == EVIL_URL else page
        shot(name + "-denied")
        tap("browser: the denied key is refused the %s page" % name,
            "Not allowed" in text("#refusal") and
            drv.find_elements(By.CSS_SELECTOR, "tr.alert, tr.ext") == [],
            text("main"))
    # a 403 page is expected to be logged as a failed load; nothing else
    for e in drv.get_log("browser"):
        if e.get("level") == "SEVERE" and "403" not in e.get("message", ""):
            errors.append(e.get("message"))
    tap("no browser console errors", errors == [], "\n".join(errors))
finally:
    drv.quit()

# last: this address is throttled for a minute afterwards
codes = [login(AUD["AccessKeyId"], "wrong-secret-%d" % i)[0]
         for i in range(5)]
st, _, body, setc = login(AUD["AccessKeyId"], AUD["SecretAccessKey"])
tap("5 failed sign-ins from one address: the next is 429, even the right "
    "secret", codes == [401] * 5 and st == 429 and setc is None and
    "Too many failed sign-ins" in body, (codes, st))

print("1..%d" % N)
sys.exit(1 if FAILS else 0)
