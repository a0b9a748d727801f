#!/usr/bin/env python3
"""HTTP benchmark: the release `shop` binary against a bare axum JSON handler, same load tool
(wrk), same connection count, same machine, same run. Writes docs/PERFORMANCE.md.

Usage: python3 bench/load.py [--duration 10] [--connections 32]
Needs: wrk (apt-get install wrk), PostgreSQL on 127.0.0.1:5432 for the PostgreSQL rows.
Traffic goes to 127.0.0.1 only; every run is bounded by --duration.
"""
import argparse
import hashlib
import hmac
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKEN = "123456789:BENCH-token"
PORT_SHOP = 18080
PORT_BARE = 18090


def sign_init_data(user_id: int) -> str:
    user = json.dumps({"id": user_id, "first_name": "Bench", "language_code": "en"}, separators=(",", ":"))
    pairs = {"auth_date": str(int(time.time())), "query_id": "bench", "user": user}
    check = "\n".join(f"{k}={pairs[k]}" for k in sorted(pairs))
    secret = hmac.new(b"WebAppData", TOKEN.encode(), hashlib.sha256).digest()
    pairs["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return urllib.parse.urlencode(pairs, quote_via=urllib.parse.quote)


def wait_up(url: str, timeout: float = 60) -> None:
    end = time.time() + timeout
    while time.time() < end:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except Exception:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def to_ms(v: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", v)
    n, unit = float(m.group(1)), m.group(2)
    return n / 1000 if unit == "us" else n * 1000 if unit == "s" else n


def wrk(url: str, args, script: str | None = None) -> dict:
    cmd = ["wrk", "-t2", f"-c{args.connections}", f"-d{args.duration}s", "--latency", url]
    if script:
        cmd[1:1] = ["-s", script]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = to_ms(re.search(r"\s50%\s+(\S+)", out).group(1))
    p99 = to_ms(re.search(r"\s99%\s+(\S+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": p50, "p99": p99, "errors": int(non2xx.group(1)) if non2xx else 0}


def post_script(tmp: str, body: str, auth: str | None) -> str:
    path = os.path.join(tmp, "post.lua")
    headers = 'wrk.headers["Content-Type"] = "application/json"\n'
    if auth:
        headers += f'wrk.headers["Authorization"] = "tma {auth}"\n'
    with open(path, "w") as f:
        f.write(f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\n{headers}')
    return path


def start_shop(db_url: str, tmp: str) -> subprocess.Popen:
    env = dict(os.environ)
    env.update({
        "BIND_ADDR": f"127.0.0.1:{PORT_SHOP}", "DATABASE_URL": db_url, "SEED_DEMO": "1",
        "RATE_LIMIT_PER_MINUTE": "0", "TELEGRAM_BOT_TOKEN": TOKEN, "RUST_LOG": "warn",
        "MEDIA_DIR": os.path.join(tmp, "media"), "DIST_DIR": os.path.join(tmp, "dist"),
    })
    p = subprocess.Popen([os.path.join(ROOT, "target/release/shop")], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_up(f"http://127.0.0.1:{PORT_SHOP}/readyz")
    return p


def unlimited_variant() -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{PORT_SHOP}/api/products?limit=100") as r:
        for p in json.load(r)["items"]:
            for v in p["variants"]:
                if v["stock"] is None and v["price"]["currency"] == "UZS":
                    return v["id"]
    raise SystemExit("no unlimited UZS variant in the demo catalog")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--skip-build", action="store_true")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    if not args.skip_build:
        subprocess.run(["cargo", "build", "--release", "-p", "shop", "--bin", "shop", "--example", "bare"],
                       cwd=ROOT, check=True)
    tmp = tempfile.mkdtemp(prefix="shop-bench-")
    rows = []
    order_body = None

    env = dict(os.environ, BIND_ADDR=f"127.0.0.1:{PORT_BARE}")
    bare = subprocess.Popen([os.path.join(ROOT, "target/release/examples/bare")], env=env)
    try:
        wait_up(f"http://127.0.0.1:{PORT_BARE}/bare")
        base_get = wrk(f"http://127.0.0.1:{PORT_BARE}/bare", args)
        base_post = wrk(f"http://127.0.0.1:{PORT_BARE}/bare", args, post_script(tmp, "{}", None))
    finally:
        bare.terminate()
        bare.wait()
    rows.append(("bare axum JSON", "GET /bare", base_get, base_get))
    rows.append(("bare axum JSON", "POST /bare", base_post, base_post))

    dbs = [("SQLite", f"sqlite://{tmp}/bench.db")]
    try:
        # Two calls: psql runs one -c string as a single transaction, and CREATE DATABASE
        # cannot run inside one.
        for sql in ("DROP DATABASE IF EXISTS shop_bench WITH (FORCE)", "CREATE DATABASE shop_bench"):
            subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qc", sql],
                           check=True, capture_output=True)
        dbs.append(("PostgreSQL", "postgres://postgres@127.0.0.1:5432/shop_bench"))
    except Exception as e:  # noqa: BLE001
        print(f"PostgreSQL unavailable, skipping: {e}", file=sys.stderr)

    for name, url in dbs:
        shop = start_shop(url, tmp)
        try:
            cat = wrk(f"http://127.0.0.1:{PORT_SHOP}/api/products?limit=20", args)
            vid = unlimited_variant()
            order_body = json.dumps({
                "items": [{"variant_id": vid, "quantity": 1}], "payment_method": "cash",
                "contact": {"name": "Bench Buyer", "phone": "+998901234567", "address": "Tashkent, Bench st. 1"},
            })
            orders = wrk(f"http://127.0.0.1:{PORT_SHOP}/api/orders", args,
                         post_script(tmp, order_body, sign_init_data(4242)))
        finally:
            shop.terminate()
            shop.wait()
        rows.append((name, "GET /api/products?limit=20", cat, base_get))
        rows.append((name, "POST /api/orders (cash, 1 line)", orders, base_post))

    cpu = platform.processor() or platform.machine()
    lines = [
        "# Performance", "",
        "Measured by `python3 bench/load.py` (wrk, 2 threads, "
        f"{args.connections} connections, {args.duration} s per row) against `target/release/shop` and a bare "
        "axum JSON handler (`backend/examples/bare.rs`) in the same run on the same machine "
        f"({os.cpu_count()} cores, {cpu}). Load generator and server share those cores, so absolute "
        "numbers are low; the ratios are what to compare. Rate limiting off (`RATE_LIMIT_PER_MINUTE=0`).", "",
        "| database | route | req/s | p50 ms | p99 ms | non-2xx | req/s vs bare |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for db, route, r, base in rows:
        ratio = r["rps"] / base["rps"] * 100
        lines.append(f"| {db} | {route} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} | {r['errors']} | {ratio:.0f} % |")
    lines += ["", f"Run on {time.strftime('%Y-%m-%d')}."]
    out = "\n".join(lines) + "\n"
    print(out)
    path = os.path.join(ROOT, "docs", "PERFORMANCE.md")
    existing = open(path).read() if os.path.exists(path) else ""
    marker = "<!-- bench/load.py -->"
    if marker in existing:
        head, _, rest = existing.partition(marker)
        _, _, tail = rest.partition(marker)
        out = head + marker + "\n" + out + marker + tail
    else:
        out = existing + ("\n" if existing else "") + marker + "\n" + out + marker + "\n"
    with open(path, "w") as f:
        f.write(out)


if __name__ == "__main__":
    main()
