#!/usr/bin/env python3
"""HTTP benchmark: the release `shop` binary against a bare axum JSON handler, and its checkout
(`POST /api/orders`) against the commit ceiling (`backend/examples/ceiling.rs`: one conditional
stock UPDATE and one order INSERT per request, committed, through the shop's own `Db`); same load
tool (wrk), same connection count, same machine, same database, same run. Writes
docs/PERFORMANCE.md.

Orders go to one hot variant, then spread over 50 variants (each with 10^9 units of stock, so
the stock condition is checked and never fails); every order comes from a customer of its own
run (a customer may hold only 10 unpaid orders). The shop and the ceiling each get a 3-second
warm-up first (not measured), and on PostgreSQL every order row starts after VACUUM ANALYZE.

Usage: python3 bench/load.py [--duration 10] [--connections 32] [--only-checkout] [--db postgres]
Needs: wrk (apt-get install wrk), sqlite3 (apt-get install sqlite3), PostgreSQL on
127.0.0.1:5432 for the PostgreSQL rows.
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


def free_port() -> int:
    """A port nobody listens on now: other people's benchmarks may share the machine."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PORT_SHOP = free_port()
PORT_BARE = free_port()
PORT_CEILING = free_port()
BIN = os.path.join(ROOT, "target", "release")
SPREAD = 50
BENCH_STOCK = 1_000_000_000


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


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids) -> float:
    """User + system CPU time of these processes so far (a process gone meanwhile counts 0)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total / TICK


def postgres_pids() -> list[int]:
    """Every PostgreSQL server process on the machine (the backends serving the run among them)."""
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/comm") as f:
                    if f.read().strip() == "postgres":
                        pids.append(int(d))
            except OSError:
                pass
    return pids


def settle(name: str, db_url: str) -> None:
    """Before each order row: on PostgreSQL, VACUUM ANALYZE (as pgbench does before each run),
    so a row does not pay for the dead rows and statistics the rows before it left to
    autovacuum, and the shop and the ceiling start from the same state. SQLite has no
    vacuum to defer."""
    if name == "PostgreSQL":
        subprocess.run(["psql", db_url, "-qc", "VACUUM ANALYZE"], check=True, capture_output=True)


class Warmup:
    """The run's wrk arguments for a warm-up: the same connections, 3 seconds."""

    def __init__(self, args):
        self.connections = args.connections
        self.duration = 3


def wrk(url: str, args, script: str | None = None, server: int | None = None,
        postgres: bool = False) -> dict:
    """One wrk row. With `server` (a pid), also the CPU time the server and, with `postgres`,
    the PostgreSQL processes spent per request: unlike the rate, that barely depends on what
    else the machine is doing, so two runs on a busy machine can still be compared."""
    cmd = ["wrk", "-t2", f"-c{args.connections}", f"-d{args.duration}s", "--latency", url]
    if script:
        cmd[1:1] = ["-s", script]
    load = os.getloadavg()[0]
    pg = postgres_pids() if postgres else []
    before = (cpu_seconds([server]) if server else 0, cpu_seconds(pg))
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    pg = sorted(set(pg) | set(postgres_pids() if postgres else []))
    after = (cpu_seconds([server]) if server else 0, cpu_seconds(pg))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = to_ms(re.search(r"\s50%\s+(\S+)", out).group(1))
    p99 = to_ms(re.search(r"\s99%\s+(\S+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    per = 1e6 / max(requests, 1)
    return {"rps": rps, "p50": p50, "p99": p99, "errors": int(non2xx.group(1)) if non2xx else 0,
            "load": load, "cpu_us": (after[0] - before[0]) * per, "db_us": (after[1] - before[1]) * per}


def post_script(tmp: str, body: str, auth: str | None) -> str:
    path = os.path.join(tmp, "post.lua")
    headers = 'wrk.headers["Content-Type"] = "application/json"\n'
    if auth:
        headers += f'wrk.headers["Authorization"] = "tma {auth}"\n'
    with open(path, "w") as f:
        f.write(f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\n{headers}')
    return path


def order_script(tmp: str, name: str, path: str, body: str, variants: list[int],
                 users: list[str] | None, threads: int = 2) -> str:
    """A wrk script whose requests name a variant (the first, or any of `variants` at random)
    and, for the shop, a customer: each thread walks its own share of `users` in turn."""
    lua = [
        f"local variants = {{{', '.join(map(str, variants))}}}",
        f"local body = {json.dumps(body)}",
        "local users = {" + ",".join(json.dumps(u) for u in users or []) + "}",
        f"local threads = {threads}",
        "local counter = 0",
        "function setup(thread) thread:set('tid', counter); counter = counter + 1 end",
        "local n = 0",
        "function init(args) n = tid; math.randomseed(1000 + tid) end",
        "function request()",
        "  local v = variants[math.random(#variants)]",
        "  local h = {['Content-Type'] = 'application/json'}",
        "  if #users > 0 then h['Authorization'] = 'tma ' .. users[(n % #users) + 1]; n = n + threads end",
        f"  return wrk.format('POST', {json.dumps(path)}, h, string.format(body, v))",
        "end",
    ]
    out = os.path.join(tmp, name)
    with open(out, "w") as f:
        f.write("\n".join(lua) + "\n")
    return out


def add_bench_variants(name: str, db_url: str, tmp: str) -> None:
    """50 one-variant physical products priced in UZS with 10^9 units each, added by SQL while
    the shop is stopped (the same statements on both databases)."""
    sql = ["BEGIN;"]
    for i in range(1, SPREAD + 1):
        title = json.dumps({"en": f"Bench {i:02}"})
        sql.append(
            "INSERT INTO products (kind, title_json, created_at, updated_at) "
            f"VALUES ('physical', '{title}', 0, 0);")
        sql.append(
            "INSERT INTO variants (product_id, sku, price_minor, currency, stock, created_at, updated_at) "
            f"SELECT id, 'BENCH-{i:02}', 100000, 'UZS', {BENCH_STOCK}, 0, 0 FROM products "
            f"WHERE title_json = '{title}';")
    sql.append("COMMIT;")
    script = "\n".join(sql)
    if name == "SQLite":
        subprocess.run(["sqlite3", db_url.removeprefix("sqlite://")], input=script, text=True,
                       check=True, capture_output=True)
    else:
        subprocess.run(["psql", db_url, "-qv", "ON_ERROR_STOP=1"], input=script, text=True,
                       check=True, capture_output=True)


def bench_variants(port: int) -> list[int]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/products?limit=100") as r:
        ids = [v["id"] for p in json.load(r)["items"] for v in p["variants"]
               if v["sku"].startswith("BENCH-")]
    if len(ids) != SPREAD:
        raise SystemExit(f"expected {SPREAD} bench variants, found {len(ids)}")
    return sorted(ids)


def start_ceiling(db_url: str) -> subprocess.Popen:
    env = dict(os.environ, BIND_ADDR=f"127.0.0.1:{PORT_CEILING}", DATABASE_URL=db_url)
    p = subprocess.Popen([os.path.join(BIN, "examples", "ceiling")], env=env,
                         stdout=subprocess.DEVNULL)
    wait_up(f"http://127.0.0.1:{PORT_CEILING}/readyz")
    return p


def start_shop(db_url: str, tmp: str) -> subprocess.Popen:
    env = dict(os.environ)
    env.update({
        "BIND_ADDR": f"127.0.0.1:{PORT_SHOP}", "DATABASE_URL": db_url, "SEED_DEMO": "1",
        "RATE_LIMIT_PER_MINUTE": "0", "TELEGRAM_BOT_TOKEN": TOKEN, "RUST_LOG": "warn",
        "MEDIA_DIR": os.path.join(tmp, "media"), "DIST_DIR": os.path.join(tmp, "dist"),
    })
    p = subprocess.Popen([os.path.join(BIN, "shop")], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_up(f"http://127.0.0.1:{PORT_SHOP}/readyz")
    return p


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--bin-dir", default=os.path.join(ROOT, "target", "release"),
                    help="where the release `shop` and the examples are (a shared target dir)")
    ap.add_argument("--only-checkout", action="store_true",
                    help="skip the bare and catalog rows (docs/PERFORMANCE.md is not written)")
    ap.add_argument("--db", choices=("all", "sqlite", "postgres"), default="all",
                    help="which databases' rows to run")
    args = ap.parse_args()
    global BIN
    BIN = args.bin_dir
    for tool in ("wrk", "sqlite3"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is missing: apt-get install -y {tool}")
    if not args.skip_build:
        subprocess.run(["cargo", "build", "--release", "-p", "shop", "--bin", "shop", "--example", "bare",
                        "--example", "ceiling"], cwd=ROOT, check=True)
    tmp = tempfile.mkdtemp(prefix="shop-bench-")
    rows = []
    checkout = []
    started = os.getloadavg()

    if not args.only_checkout:
        env = dict(os.environ, BIND_ADDR=f"127.0.0.1:{PORT_BARE}")
        bare = subprocess.Popen([os.path.join(BIN, "examples", "bare")], env=env)
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

    # Customers of their own for each order run, so none reaches the cap of 10 unpaid orders
    # (wrk walks them in turn; a run of `duration` seconds at up to ~6 000 orders/s).
    per_run = max(5000, 1500 * args.duration)
    order_body = json.dumps({
        "items": [{"variant_id": 999999, "quantity": 1}], "payment_method": "cash",
        "contact": {"name": "Bench Buyer", "phone": "+998901234567", "address": "Tashkent, Bench st. 1"},
    }).replace("999999", "%d")
    dbs = [(n, u) for n, u in dbs if args.db == "all" or n.lower().startswith(args.db)]
    for name, url in dbs:
        # First start: migrations and the demo catalog; then the bench variants by SQL.
        shop = start_shop(url, tmp)
        shop.terminate()
        shop.wait()
        add_bench_variants(name, url, tmp)
        shop = start_shop(url, tmp)
        try:
            vids = bench_variants(PORT_SHOP)
            if not args.only_checkout:
                cat = wrk(f"http://127.0.0.1:{PORT_SHOP}/api/products?limit=20", args)
                rows.append((name, "GET /api/products?limit=20", cat, base_get))
            shop_rows = []
            # A short warm-up with customers of its own, not measured: the pool's connections
            # open and prepare their statements, and the tables hold orders and customers
            # when the plans the rows run are made (the ceiling's rows run after the shop's, on
            # a database that already has both).
            warm = [sign_init_data(90_000_000 + i) for i in range(per_run)]
            wrk(f"http://127.0.0.1:{PORT_SHOP}/api/orders", Warmup(args),
                order_script(tmp, "warm.lua", "/api/orders", order_body, vids, warm))
            for run, variants in enumerate((vids[:1], vids)):
                users = [sign_init_data(10_000_000 * (run + 1) + i) for i in range(per_run)]
                script = order_script(tmp, f"orders{run}.lua", "/api/orders", order_body, variants, users)
                settle(name, url)
                shop_rows.append(wrk(f"http://127.0.0.1:{PORT_SHOP}/api/orders", args, script,
                                     shop.pid, name == "PostgreSQL"))
        finally:
            shop.terminate()
            shop.wait()
        ceiling = start_ceiling(url)
        try:
            ceil_rows = []
            wrk(f"http://127.0.0.1:{PORT_CEILING}/ceiling", Warmup(args),
                order_script(tmp, "ceiling-warm.lua", "/ceiling", '{"variant_id": %d}', vids, None))
            for run, variants in enumerate((vids[:1], vids)):
                script = order_script(tmp, f"ceiling{run}.lua", "/ceiling", '{"variant_id": %d}', variants, None)
                settle(name, url)
                ceil_rows.append(wrk(f"http://127.0.0.1:{PORT_CEILING}/ceiling", args, script,
                                     ceiling.pid, name == "PostgreSQL"))
        finally:
            ceiling.terminate()
            ceiling.wait()
        for label, shop_r, ceil_r in zip(("1 hot variant", f"{SPREAD} variants"), shop_rows, ceil_rows):
            checkout.append((name, label, shop_r, ceil_r))

    cpu = platform.processor() or platform.machine()
    load_text = ", ".join(f"{x:.2f}" for x in started)
    lines = [
        "Measured by `python3 bench/load.py` (wrk, 2 threads, "
        f"{args.connections} connections, {args.duration} s per row) against `target/release/shop`, a bare "
        "axum JSON handler (`backend/examples/bare.rs`) and the commit ceiling (`backend/examples/ceiling.rs`) "
        f"in the same run on the same machine ({os.cpu_count()} cores, {cpu}; load average {load_text} "
        "when the run started, 1-minute load before each row in the tables). Load generator and server "
        "share those cores, so absolute numbers are low; the ratios are what to compare. Rate limiting "
        "off (`RATE_LIMIT_PER_MINUTE=0`).", "",
    ]
    if rows:
        lines += [
            "| database | route | req/s | p50 ms | p99 ms | non-2xx | load | req/s vs bare |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for db, route, r, base in rows:
            ratio = r["rps"] / base["rps"] * 100
            lines.append(f"| {db} | {route} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} | "
                         f"{r['errors']} | {r['load']:.2f} | {ratio:.0f} % |")
        lines.append("")
    lines += [
        "`POST /api/orders` (cash, 1 line, a new customer per order; after a 3 s warm-up, and on PostgreSQL "
        "after VACUUM ANALYZE before each row) against the commit ceiling on "
        "the same database. CPU µs/order is the CPU time the server process (+ the PostgreSQL "
        "processes) spent per request during the row, read from /proc: ",
        "",
        "| database | orders on | orders/s | p50 ms | p99 ms | non-2xx | load | CPU µs/order | ceiling/s "
        "| ceiling p50 ms | ceiling p99 ms | load | ceiling CPU µs/order | shop vs ceiling |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def cpu(r: dict) -> str:
        # The server's CPU time per request, plus PostgreSQL's when it served the run.
        return f"{r['cpu_us']:.0f}" + (f" + {r['db_us']:.0f}" if r["db_us"] else "")

    for db, label, r, c in checkout:
        ratio = r["rps"] / c["rps"] * 100
        lines.append(f"| {db} | {label} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} | {r['errors']} | "
                     f"{r['load']:.2f} | {cpu(r)} | {c['rps']:.0f} | {c['p50']:.2f} | {c['p99']:.2f} | "
                     f"{c['load']:.2f} | {cpu(c)} | {ratio:.0f} % |")
    lines += ["", f"Run on {time.strftime('%Y-%m-%d %H:%M')}."]
    out = "\n".join(lines) + "\n"
    print(out)
    if args.only_checkout:
        return
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
