"""What the python suites run by tests/integration/*.sh share besides
pcaclient: TAP lines (the shell side counts them; plan() prints the plan
where a suite ends with one, status() is the exit status of one that does
not) and pcad's /health as (status, JSON body).  Suites elsewhere put this
folder on sys.path and import it."""
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request

_N = 0
_FAILS = 0


def tap(ok, name, note=""):
    """One TAP line; a failure's note follows as '#' lines (at most 20)."""
    global _N, _FAILS
    _N += 1
    if not ok:
        _FAILS += 1
    print("%s %d - %s" % ("ok" if ok else "not ok", _N, name))
    if not ok and note:
        for line in str(note).splitlines()[:20]:
            print("#   " + line[:400])
    sys.stdout.flush()
    return ok


def start_at(n):
    """The next check is numbered n + 1 (a suite whose lines continue the
    numbering of the shell script that runs it)."""
    global _N
    _N = n


def status():
    """The exit status for the suite: 1 once a check has failed."""
    return 1 if _FAILS else 0


def plan():
    """Prints the plan line; the exit status for the suite."""
    print("1..%d" % _N, flush=True)
    return status()


def run(daemon, name, body):
    """Starts daemon (a pcaclient.Daemon) and runs body(): an exception
    out of it is one failed check "NAME ran to the end"; then stops the
    daemon, one check "pcad stops cleanly".  Prints the plan; the exit
    status for the suite."""
    daemon.start()
    try:
        body()
    except Exception as e:  # noqa: BLE001 - reported as a failed check
        tap(False, "%s ran to the end" % name, repr(e))
    finally:
        rc = daemon.stop()
        tap(rc == 0, "pcad stops cleanly", "exit status %s" % rc)
    return plan()


def sh(*args, input=None, env=None):
    """Runs ARGS: (exit status, stdout and stderr as text)."""
    r = subprocess.run(list(args), capture_output=True, input=input, env=env)
    return r.returncode, (r.stdout + r.stderr).decode(errors="replace")


def wait_for(fn, timeout, step=0.1):
    """fn() every step seconds until it is true or timeout seconds have
    passed; its last value."""
    end = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() > end:
            return v
        time.sleep(step)


def health(base):
    """GET base/health: (status or None when unreachable, parsed body)."""
    try:
        with urllib.request.urlopen(base + "/health", timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        try:
            return e.code, json.loads(e.read())
        except ValueError:
            return e.code, {}
    except OSError as e:
        return None, {"error": str(e)}
