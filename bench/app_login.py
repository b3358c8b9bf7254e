#!/usr/bin/env python3
"""What an app's login through latchkey (as an OpenID Provider) costs, beside latchkey's own
token refresh, in one run (compare the ratios; absolute figures depend on the machine).

    bench/app_login.py BASE_URL USERNAME PASSWORD CLIENT_ID [N]

CLIENT_ID: a public client registered with `--skip-consent` and the redirect URI
http://127.0.0.1:9/cb, e.g.
    latchkey client create --name Bench --public --skip-consent --redirect-uri http://127.0.0.1:9/cb --json
Sequential requests (N of each, default 150): the code exchange at /oauth2/token (ID token
and access token signed), the app's refresh, UserInfo, and /api/token/refresh.
"""
import base64
import hashlib
import http.cookiejar
import json
import secrets
import statistics
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

REDIRECT = "http://127.0.0.1:9/cb"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def main():
    base, username, password, client_id = sys.argv[1:5]
    n = int(sys.argv[5]) if len(sys.argv) > 5 else 150
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect)

    def call(opener, path, data=None, json_body=None, headers=None):
        headers = dict(headers or {})
        body = None
        if json_body is not None:
            body, headers["content-type"] = json.dumps(json_body).encode(), "application/json"
        elif data is not None:
            body = urllib.parse.urlencode(data).encode()
        request = urllib.request.Request(base + path, data=body, headers=headers)
        try:
            with opener.open(request) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    status, _, _ = call(browser, "/api/login", json_body={"username": username, "password": password},
                        headers={"origin": base})
    assert status == 200, f"login: {status}"
    plain = urllib.request.build_opener(NoRedirect)

    def code():
        verifier = secrets.token_urlsafe(40)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        query = urllib.parse.urlencode({"client_id": client_id, "redirect_uri": REDIRECT, "response_type": "code",
                                        "scope": "openid profile email", "code_challenge": challenge,
                                        "code_challenge_method": "S256"})
        status, headers, _ = call(browser, "/oauth2/authorize?" + query)
        assert status == 302, f"authorize: {status}"
        params = urllib.parse.parse_qs(urllib.parse.urlparse(headers["location"]).query)
        return params["code"][0], verifier

    def timed(f):
        start = time.perf_counter()
        result = f()
        return (time.perf_counter() - start) * 1000, result

    figures = {"code exchange": [], "app refresh": [], "userinfo": [], "own /api/token/refresh": []}
    for _ in range(n):
        c, verifier = code()
        ms, (_, _, body) = timed(lambda: call(plain, "/oauth2/token", data={
            "grant_type": "authorization_code", "code": c, "redirect_uri": REDIRECT,
            "code_verifier": verifier, "client_id": client_id}))
        figures["code exchange"].append(ms)
        tokens = json.loads(body)
        ms, (_, _, body) = timed(lambda: call(plain, "/oauth2/token", data={
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": client_id}))
        figures["app refresh"].append(ms)
        access = json.loads(body)["access_token"]
        ms, _ = timed(lambda: call(plain, "/oauth2/userinfo", headers={"authorization": "Bearer " + access}))
        figures["userinfo"].append(ms)
    _, _, body = call(plain, "/api/token", json_body={"username": username, "password": password})
    refresh = json.loads(body)["refresh_token"]
    for _ in range(n):
        ms, (_, _, body) = timed(lambda: call(plain, "/api/token/refresh", json_body={"refresh_token": refresh}))
        figures["own /api/token/refresh"].append(ms)
        refresh = json.loads(body)["refresh_token"]
    own = statistics.median(figures["own /api/token/refresh"])
    for name, xs in figures.items():
        xs.sort()
        median = statistics.median(xs)
        print(f"{name:26s} median {median:6.2f} ms  p90 {xs[int(len(xs) * 0.9)]:6.2f} ms  ×{median / own:4.1f}")


if __name__ == "__main__":
    main()
