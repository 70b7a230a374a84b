"""Logs in to a JupyterHub the way a browser does, with the standard library only.

    hub_login.py wait  BASE_URL SECONDS
    hub_login.py login BASE_URL USERNAME PASSWORD [OTP]
    hub_login.py many  BASE_URL JSON_LIST_OF_[USERNAME, PASSWORD, OTP_OR_NULL]

`wait` polls BASE_URL/hub/login until it answers 200. `login` fetches the login page
(which sets the `_xsrf` cookie and hidden field), then POSTs the form: `username`,
`password`, `otp` when given, and `_xsrf`. Redirects are not followed, so no single-user
server is spawned. It prints one JSON object with what a person would see: the status,
the Location header, the cookies set, whether the page offered an OTP field, and the
login page's error message.
"""

import html
import http.cookiejar
import json
import re
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

TIMEOUT = 60


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def opener(jar):
    return urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(jar), NoRedirect()
    )


def fetch(op, req):
    try:
        resp = op.open(req, timeout=TIMEOUT)
    except urllib.error.HTTPError as e:
        resp = e
    body = resp.read().decode("utf-8", "replace")
    return resp.status if hasattr(resp, "status") else resp.code, resp.headers, body


def error_text(body):
    m = re.search(r'<p class="login_error">\s*(.*?)\s*</p>', body, re.S)
    return html.unescape(m.group(1)).strip() if m else None


def wait(base, seconds):
    deadline = time.monotonic() + float(seconds)
    last = None
    while time.monotonic() < deadline:
        try:
            status, _, _ = fetch(opener(http.cookiejar.CookieJar()), base + "/hub/login")
            if status == 200:
                print(json.dumps({"ready": True}))
                return 0
            last = "status %d" % status
        except Exception as e:  # not listening yet
            last = repr(e)
        time.sleep(0.5)
    print(json.dumps({"ready": False, "last": last}))
    return 1


def attempt(base, username, password, otp=None, barrier=None):
    jar = http.cookiejar.CookieJar()
    op = opener(jar)
    status, _, page = fetch(op, base + "/hub/login")
    if status != 200:
        return {"error": "GET /hub/login: %d" % status}
    m = re.search(r'name="_xsrf"\s+value="([^"]*)"', page)
    xsrf = html.unescape(m.group(1)) if m else None
    form_cookies = sorted(c.name for c in jar)
    fields = {"username": username, "password": password}
    if otp is not None:
        fields["otp"] = otp
    if xsrf is not None:
        fields["_xsrf"] = xsrf
    req = urllib.request.Request(
        base + "/hub/login?next=",
        data=urllib.parse.urlencode(fields).encode(),
        method="POST",
    )
    req.add_header("Content-Type", "application/x-www-form-urlencoded")
    if barrier is not None:
        barrier.wait(timeout=TIMEOUT)
    status, headers, body = fetch(op, req)
    set_cookies = [c.split("=", 1)[0] for c in headers.get_all("Set-Cookie") or []]
    label = re.search(r'<label for="otp_input">(.*?)</label>', page)
    return {
        "get_cookies": form_cookies,
        "xsrf_field": xsrf is not None,
        "otp_field": 'name="otp"' in page,
        "otp_label": label.group(1) if label else None,
        "status": status,
        "location": headers.get("Location"),
        "set_cookies": set_cookies,
        "error": error_text(body),
    }


def login(base, username, password, otp=None):
    print(json.dumps(attempt(base, username, password, otp)))
    return 0


def many(base, spec):
    logins = json.loads(spec)
    barrier = threading.Barrier(len(logins))
    results = [None] * len(logins)

    def run(i, user, password, otp):
        try:
            results[i] = attempt(base, user, password, otp, barrier)
        except Exception as e:
            results[i] = {"error": repr(e)}

    threads = [
        threading.Thread(target=run, args=(i, *login)) for i, login in enumerate(logins)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        print(json.dumps(r))
    return 0


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "wait":
        sys.exit(wait(sys.argv[2], sys.argv[3]))
    if cmd == "login":
        sys.exit(login(*sys.argv[2:]))
    if cmd == "many":
        sys.exit(many(sys.argv[2], sys.argv[3]))
    sys.exit("unknown command " + cmd)
