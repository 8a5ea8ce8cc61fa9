#!/usr/bin/env python3
"""Sequential latency probes against a running host (127.0.0.1 only, bounded).

usage: measure.py BASE_URL [ROUNDS]
Prints median/min/max milliseconds of: login (one Argon2id verify + a session write),
refresh (the same kind of write, no password work), GET /v1/me (auth + principal rate
limit), GET /v1/health. login - refresh approximates one password verification.
"""
import http.client
import json
import statistics
import sys
import time
import urllib.parse
import uuid

base = urllib.parse.urlparse(sys.argv[1])
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 30
assert base.hostname in ("127.0.0.1", "localhost"), "loopback only"
conn = http.client.HTTPConnection(base.hostname, base.port, timeout=30)


def call(method, path, body=None, token=None):
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = "Bearer " + token
    t = time.perf_counter()
    conn.request(method, path, json.dumps(body) if body is not None else None, headers)
    res = conn.getresponse()
    data = res.read()
    return (time.perf_counter() - t) * 1000, res.status, data


email = f"measure.{uuid.uuid4().hex}@example.test"
password = "correct horse battery staple"
_, status, data = call("POST", "/v1/auth/register", {"email": email, "password": password, "name": "M"})
assert status == 201, (status, data)
tokens = json.loads(data)
rows = {"login": [], "refresh": [], "GET /v1/me": [], "GET /v1/health": []}
refresh = tokens["refresh_token"]
for _ in range(rounds):
    ms, status, data = call("POST", "/v1/auth/login", {"email": email, "password": password})
    assert status == 200, (status, data)
    rows["login"].append(ms)
    ms, status, data = call("POST", "/v1/auth/refresh", {"refresh_token": refresh})
    assert status == 200, (status, data)
    refresh = json.loads(data)["refresh_token"]
    rows["refresh"].append(ms)
for _ in range(rounds * 4):
    ms, status, _ = call("GET", "/v1/me", token=tokens["access_token"])
    assert status == 200
    rows["GET /v1/me"].append(ms)
    ms, status, _ = call("GET", "/v1/health")
    assert status == 200
    rows["GET /v1/health"].append(ms)
for name, xs in rows.items():
    print(f"{name}\tmedian {statistics.median(xs):.2f}\tmin {min(xs):.2f}\tmax {max(xs):.2f}\tn {len(xs)}")
print(f"login - refresh (median)\t{statistics.median(rows['login']) - statistics.median(rows['refresh']):.2f}")
