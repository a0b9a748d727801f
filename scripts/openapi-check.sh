#!/usr/bin/env bash
# Tests the live shop against its own OpenAPI document with an outside client (schemathesis):
# every /api operation gets generated requests, valid and invalid, as a signed-in customer
# and a signed-in admin, and the run fails on any 5xx or any answer whose status, content type
# or body the document does not describe.
#
#   scripts/openapi-check.sh [path/to/shop]    (default: target/release/shop, else target/debug/shop)
#
# The shop runs on a throwaway SQLite database with the demo catalog and a made-up bot token
# (nothing talks to Telegram). schemathesis lives in a venv under ~/.cache, installed once.
# OPENAPI_CHECK_EXAMPLES (default 8) bounds the generated cases per operation; the whole run
# is also cut off after OPENAPI_CHECK_SECONDS (default 170) and then fails.
set -euo pipefail
cd "$(dirname "$0")/.."

bin="${1:-}"
if [ -z "$bin" ]; then
  if [ -x target/release/shop ]; then bin=target/release/shop; else bin=target/debug/shop; fi
fi
[ -x "$bin" ] || { echo "no shop binary at $bin: build it first (cargo build --release -p shop)" >&2; exit 1; }

venv="${HOME}/.cache/shop-schemathesis"
if [ ! -x "$venv/bin/schemathesis" ]; then
  echo "installing schemathesis into $venv (once)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'schemathesis>=4.3,<5'
fi

work="$(mktemp -d)"
shop_pid=""
cleanup() {
  if [ -n "$shop_pid" ]; then kill "$shop_pid" 2>/dev/null || true; wait "$shop_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
token="123456789:openapi-check-token"
email="owner@openapi.test"
password="openapi check password"

BIND_ADDR="127.0.0.1:$port" \
DATABASE_URL="sqlite://$work/shop.db" \
PUBLIC_URL="$base" \
TELEGRAM_BOT_TOKEN="$token" \
TELEGRAM_API_URL="http://127.0.0.1:9" \
SEED_DEMO=1 \
RATE_LIMIT_PER_MINUTE=0 \
ADMIN_EMAIL="$email" \
ADMIN_PASSWORD="$password" \
MEDIA_DIR="$work/media" \
DIST_DIR="$work/dist" \
RUST_LOG="${RUST_LOG:-warn}" \
  "$bin" >"$work/shop.log" 2>&1 &
shop_pid=$!

for _ in $(seq 1 100); do
  curl -fs "$base/readyz" >/dev/null 2>&1 && break
  kill -0 "$shop_pid" 2>/dev/null || { cat "$work/shop.log" >&2; echo "the shop did not start" >&2; exit 1; }
  sleep 0.2
done
curl -fs "$base/readyz" >/dev/null || { cat "$work/shop.log" >&2; echo "the shop is not ready" >&2; exit 1; }

# A customer: initData signed the way Telegram signs it (HMAC-SHA256 with the key
# HMAC-SHA256("WebAppData", bot token) over the sorted key=value lines).
init_data="$(BOT_TOKEN="$token" python3 - <<'PY'
import hashlib, hmac, json, os, time, urllib.parse
pairs = {
    "auth_date": str(int(time.time())),
    "query_id": "openapi-check",
    "user": json.dumps({"id": 4242, "first_name": "Schema", "language_code": "en"}, separators=(",", ":")),
}
check = "\n".join(f"{k}={pairs[k]}" for k in sorted(pairs))
key = hmac.new(b"WebAppData", os.environ["BOT_TOKEN"].encode(), hashlib.sha256).digest()
pairs["hash"] = hmac.new(key, check.encode(), hashlib.sha256).hexdigest()
print(urllib.parse.urlencode(pairs))
PY
)"
status="$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: tma $init_data" "$base/api/me")"
[ "$status" = 200 ] || { echo "the signed initData was refused ($status)" >&2; exit 1; }

# One cash order, so the order routes (whose documented example id is 1) reach a real order
# instead of answering 404 to every generated case.
variant="$(curl -fsS "$base/api/products?limit=100" | python3 -c '
import json, sys
for p in json.load(sys.stdin)["items"]:
    for v in p["variants"]:
        if p["kind"] == "physical" and v["available"]:
            print(v["id"]); sys.exit()')"
curl -fsS -o /dev/null -H "Authorization: tma $init_data" -H 'Content-Type: application/json' \
  -d "{\"items\":[{\"variant_id\":$variant,\"quantity\":1}],\"payment_method\":\"cash\",\"contact\":{\"name\":\"Schema Check\",\"phone\":\"+998 90 000 00 00\",\"address\":\"Tashkent\"}}" \
  "$base/api/orders" || { echo "placing the first order failed" >&2; exit 1; }

# An admin: the session cookie from the login answer and the CSRF token from its body.
login="$(curl -fsS -c "$work/cookies" -H 'Content-Type: application/json' \
  -d "{\"email\":\"$email\",\"password\":\"$password\"}" "$base/api/admin/login")"
csrf="$(printf '%s' "$login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf_token"])')"
cookie="$(awk '$6 == "shop_admin" { print $6 "=" $7 }' "$work/cookies")"
[ -n "$cookie" ] || { echo "the admin login set no session cookie" >&2; exit 1; }

# One worker: schemathesis on CPython 3.11 can fail with "AST constructor recursion depth
# mismatch" when two workers parse at once.
# Left out: the calls that would end the run's own admin session (sign out, or disable or
# delete the signed-in owner once the run has added a second owner); their own tests cover them.
# `/api/products/{id}/share` asks the Bot API to prepare a message, and the Bot API is
# deliberately unreachable here: its 502 is documented and tests/telegram_inline.rs covers it.
echo "schemathesis against $base (examples per operation: ${OPENAPI_CHECK_EXAMPLES:-8})"
set +e
# Run from the temp folder: schemathesis and Hypothesis keep their caches in the current one.
(cd "$work" && timeout "${OPENAPI_CHECK_SECONDS:-170}" "$venv/bin/schemathesis" run "$base/api/openapi.json" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --phases examples,coverage,fuzzing \
  --max-examples "${OPENAPI_CHECK_EXAMPLES:-8}" \
  --workers 1 \
  --seed "${OPENAPI_CHECK_SEED:-19}" \
  --request-timeout 10 \
  --exclude-path-regex '^/api/admin/(logout|logout-everywhere|admins/\{id\}|admins/\{id\}/disable)$|^/api/products/\{id\}/share$' \
  -H "Authorization: tma $init_data" \
  -H "Cookie: $cookie" \
  -H "X-CSRF-Token: $csrf" \
  --report junit --report-dir "$work/report" \
  --no-color)
code=$?
set -e
if [ "$code" = 124 ]; then
  echo "schemathesis did not finish within ${OPENAPI_CHECK_SECONDS:-170} s" >&2
fi
if [ "$code" != 0 ]; then
  echo "--- shop log (last 40 lines)" >&2
  tail -n 40 "$work/shop.log" >&2
  exit "$code"
fi
echo "openapi-check: the shop answers as its document says"
