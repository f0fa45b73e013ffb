#!/usr/bin/env bash
# Replays two floods against a local Latchkey and prints what they cost it:
#   1. password flood: many concurrent wrong passwords on the password grant, from many loopback
#      source addresses (so the per-address throttle does not stop them all), while a legitimate
#      user logs in twice a second, on the password grant and on the login page from a browser
#      where they signed in before (a known device); prints peak RSS (VmHWM), the legitimate
#      logins' latency and answers, and the flood's answers.
#   2. /authorize flood: many concurrent unauthenticated GET /authorize with large but legal
#      parameters (a 4000-byte state, a 500-byte nonce, a 200-byte login_hint), each from a fresh
#      browser; prints requests/s, the answers, rows written (every table's row count before and
#      after) and the /token latency of an unrelated client during the flood.
#   3. slow bodies: more connections than the server's descriptor limit (1024), each trickling
#      its body one byte a second; prints descriptors held, how the slow connections ended, and
#      whether /healthz stays served.
#
# Usage: scripts/abuse.sh [--duration SECONDS] [--binary PATH]
#   --duration SECONDS  length of each flood (default 10)
#   --binary PATH       a built latchkey binary (default: cargo build --release)
#
# Everything targets 127.0.0.1 (and other 127.0.0.0/8 source addresses), every phase has a fixed
# duration, and the script stops by itself. It exits non-zero when a goal is missed:
#   - peak RSS <= 64 MiB + passwords.max_concurrent x argon2 memory
#   - no legitimate login waits longer than the queue bound: (passwords.max_queued /
#     max_concurrent + 2) x the time of one login measured before the flood (a login refused as
#     busy answers at once, by design)
#   - every login-page sign-in from the known device succeeds (its password checks wait in the
#     priority lane; the password grant's legitimate logins share the flood's lane and may be
#     told busy)
#   - the /authorize flood writes no row and gets no 5xx answer
#   - every slow body is cut off (408 / closed), the server never runs out of descriptors, and
#     every /healthz during the flood is answered with 200 within the body deadline + 2 s (new
#     connections wait in the backlog while every connection slot is held)
# Requires: bash, curl, python3 (standard library only).

set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd -- "$SCRIPT_DIR/.." && pwd)"
DURATION=10
BINARY=""
WORKERS=2            # passwords.max_concurrent
MEMORY_KIB=19456     # passwords.memory_kib
FLOOD_THREADS=64
SLOW_CONNECTIONS=1100
QUEUED=16            # passwords.max_queued
BODY_TIMEOUT=10      # server.body_timeout_secs

while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) DURATION="$2"; shift 2 ;;
    --binary) BINARY="$2"; shift 2 ;;
    *) echo "usage: $0 [--duration SECONDS] [--binary PATH]" >&2; exit 2 ;;
  esac
done
[[ "$DURATION" =~ ^[0-9]+$ && "$DURATION" -ge 1 && "$DURATION" -le 600 ]] \
  || { echo "--duration must be 1 to 600 seconds" >&2; exit 2; }

log() { printf '[abuse] %s\n' "$*" >&2; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/latchkey-abuse.XXXXXX")"
SERVER_PID=""
cleanup() {
  local rc=$?
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  if [[ $rc -ne 0 ]]; then log "work directory kept: $WORK"; else rm -rf -- "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -z "$BINARY" ]]; then
  log "building the release binary"
  (cd "$ROOT" && cargo build --release --quiet)
  BINARY="$ROOT/target/release/latchkey"
fi
[[ -x "$BINARY" ]] || { echo "no executable at $BINARY" >&2; exit 2; }

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
export LATCHKEY__ISSUER="$BASE"
export LATCHKEY__SERVER__BIND="127.0.0.1:$PORT"
export LATCHKEY__DATABASE__URL="sqlite://$WORK/data/latchkey.db"
export LATCHKEY__KEYS__MASTER_KEY_FILE="$WORK/master.key"
export LATCHKEY__PASSWORDS__MAX_CONCURRENT="$WORKERS"
export LATCHKEY__PASSWORDS__MEMORY_KIB="$MEMORY_KIB"
export LATCHKEY__PASSWORDS__MAX_QUEUED="$QUEUED"
export LATCHKEY__SERVER__BODY_TIMEOUT_SECS="$BODY_TIMEOUT"
export LATCHKEY__LOG__LEVEL=warn

"$BINARY" migrate >/dev/null
echo 'a long legitimate passphrase' | "$BINARY" user add alice --password-stdin >/dev/null
CLIENT_JSON="$("$BINARY" client add abuse --grant password --scope openid --json)"
CLIENT_ID="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["client_id"])' <<<"$CLIENT_JSON")"
CLIENT_SECRET="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])' <<<"$CLIENT_JSON")"
WEB_JSON="$("$BINARY" client add abuse-web --grant authorization_code --public \
  --redirect-uri http://127.0.0.1:9/callback --scope "openid profile" --json)"
WEB_ID="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["client_id"])' <<<"$WEB_JSON")"
SERVICE_JSON="$("$BINARY" client add abuse-service --grant client_credentials --scope "api:read" --json)"
SERVICE_ID="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["client_id"])' <<<"$SERVICE_JSON")"
SERVICE_SECRET="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])' <<<"$SERVICE_JSON")"

# The server runs with the common default descriptor limit, as in the observed failure.
( ulimit -n 1024; exec "$BINARY" serve ) >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
  curl -fsS "$BASE/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "$BASE/healthz" >/dev/null || { log "server did not start"; cat "$WORK/server.log" >&2; exit 1; }
IDLE_KIB="$(awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status")"
log "server pid $SERVER_PID on $BASE, idle RSS $((IDLE_KIB / 1024)) MiB"

export PORT DURATION FLOOD_THREADS SLOW_CONNECTIONS CLIENT_ID CLIENT_SECRET SERVER_PID
export WEB_ID SERVICE_ID SERVICE_SECRET DATABASE_FILE="$WORK/data/latchkey.db"
export GOAL_RSS_KIB=$((64 * 1024 + WORKERS * MEMORY_KIB)) IDLE_KIB WORKERS QUEUED BODY_TIMEOUT
python3 - <<'PY'
import base64, hashlib, http.client, json, os, random, resource, socket, sqlite3, statistics, sys
import threading, time, urllib.parse

port = int(os.environ["PORT"]); duration = int(os.environ["DURATION"])
pid = os.environ["SERVER_PID"]
basic = "Basic " + base64.b64encode(
    f'{os.environ["CLIENT_ID"]}:{os.environ["CLIENT_SECRET"]}'.encode()).decode()
failed = []

def status_kib(field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0

def descriptors():
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1

def post_token(authorization, body, source="127.0.0.1"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
    started = time.monotonic()
    try:
        conn.request("POST", "/token", body, {
            "Authorization": authorization, "Content-Type": "application/x-www-form-urlencoded"})
        status = conn.getresponse().status
    except OSError:
        status = "error"
    finally:
        conn.close()
    return status, (time.monotonic() - started) * 1000

def token(username, password, source="127.0.0.1"):
    return post_token(basic, f"grant_type=password&username={username}&password={password}", source)

import http.cookiejar, re, urllib.error, urllib.request

class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None

def open_status(opener, request):
    try:
        response = opener.open(request, timeout=30)
        return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, ""
    except OSError:
        return "error", {}, ""

def browser_login(opener):
    # The login page of a fresh authorization request (prompt=login), then the form.
    started = time.monotonic()
    base = f"http://127.0.0.1:{port}"
    path = "/authorize?" + urllib.parse.urlencode({
        "response_type": "code", "client_id": os.environ["WEB_ID"],
        "redirect_uri": "http://127.0.0.1:9/callback", "scope": "openid",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256", "state": "s", "prompt": "login"})
    status, headers, _ = open_status(opener, base + path)
    if status not in (302, 303):
        return status, (time.monotonic() - started) * 1000
    status, _, page = open_status(opener, base + headers["Location"])
    fields = dict(re.findall(r'name="(request|csrf)" value="([^"]*)"', page))
    body = urllib.parse.urlencode({**fields, "username": "alice",
                                   "password": "a long legitimate passphrase"}).encode()
    status, _, _ = open_status(opener, urllib.request.Request(base + "/login", data=body))
    return status, (time.monotonic() - started) * 1000

# The browser where alice signs in: a known device after its first sign-in.
home = urllib.request.build_opener(
    urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect())
first_login = browser_login(home)[0]
if first_login not in (302, 303):
    failed.append(f"browser sign-in before the flood answered {first_login}")

# 1. Password flood. First the time of one login on a quiet server.
quiet = sorted(token("alice", "a+long+legitimate+passphrase")[1] for _ in range(5))[2]
max_login_ms = (int(os.environ["QUEUED"]) / int(os.environ["WORKERS"]) + 2) * quiet
stop = time.monotonic() + duration
flood = {}
lock = threading.Lock()
def flooder(n):
    while time.monotonic() < stop:
        source = f"127.0.{random.randint(1, 254)}.{random.randint(2, 254)}"
        status, _ = token(f"user{random.randint(0, 10**9)}", "Summer2026!", source)
        with lock:
            flood[status] = flood.get(status, 0) + 1
threads = [threading.Thread(target=flooder, args=(n,)) for n in range(int(os.environ["FLOOD_THREADS"]))]
for t in threads: t.start()
legit, legit_status = [], {}
browser, browser_status = [], {}
while time.monotonic() < stop:
    status, ms = token("alice", "a+long+legitimate+passphrase")
    legit.append(ms); legit_status[status] = legit_status.get(status, 0) + 1
    status, ms = browser_login(home)
    browser.append(ms); browser_status[status] = browser_status.get(status, 0) + 1
    time.sleep(0.5)
for t in threads: t.join()
peak_kib = status_kib("VmHWM"); after_kib = status_kib("VmRSS")
goal = int(os.environ["GOAL_RSS_KIB"])
print(f"password flood ({os.environ['FLOOD_THREADS']} threads, {duration} s, random users from "
      f"127.0.0.0/8): {sum(flood.values())} requests, answers {dict(sorted(flood.items(), key=str))}")
print(f"  server RSS: idle {int(os.environ['IDLE_KIB'])//1024} MiB, peak {peak_kib//1024} MiB "
      f"(goal <= {goal//1024} MiB), after {after_kib//1024} MiB")
print(f"  legitimate login during the flood: {len(legit)} tries, answers {legit_status}, "
      f"latency p50 {statistics.median(legit):.0f} ms, max {max(legit):.0f} ms "
      f"(goal <= {max_login_ms:.0f} ms: the queue bound at {quiet:.0f} ms a login when quiet)")
print(f"  legitimate sign-in on the login page from a known device: {len(browser)} tries, "
      f"answers {browser_status} (goal: every one a redirect, signed in), latency p50 "
      f"{statistics.median(browser):.0f} ms, max {max(browser):.0f} ms")
if not set(browser_status) <= {302, 303}: failed.append("known-device sign-in during the flood")
if peak_kib > goal: failed.append("peak RSS")
if max(legit) > max_login_ms: failed.append("legitimate login latency")

# 2. /authorize flood: unauthenticated requests with large but legal parameters.
def row_counts():
    db = sqlite3.connect(f"file:{os.environ['DATABASE_FILE']}?mode=ro", uri=True, timeout=30)
    try:
        tables = [r[0] for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        return {t: db.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        db.close()

service = "Basic " + base64.b64encode(
    f'{os.environ["SERVICE_ID"]}:{os.environ["SERVICE_SECRET"]}'.encode()).decode()
def service_token():
    return post_token(service, "grant_type=client_credentials&scope=api%3Aread")

verifier = "v" * 64
challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
def authorize_path():
    return "/authorize?" + urllib.parse.urlencode({
        "response_type": "code", "client_id": os.environ["WEB_ID"],
        "redirect_uri": "http://127.0.0.1:9/callback", "scope": "openid profile",
        "code_challenge": challenge, "code_challenge_method": "S256",
        "state": "%08x" % random.getrandbits(32) + "s" * 3992, "nonce": "n" * 500,
        "login_hint": "h" * 200})
quiet_token = sorted(service_token()[1] for _ in range(5))[2]
before = row_counts()
stop = time.monotonic() + duration
answers = {}
def authorize_flooder():
    while time.monotonic() < stop:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("GET", authorize_path())
            status = conn.getresponse().status
        except OSError:
            status = "error"
        finally:
            conn.close()
        with lock:
            answers[status] = answers.get(status, 0) + 1
started = time.monotonic()
threads = [threading.Thread(target=authorize_flooder) for _ in range(int(os.environ["FLOOD_THREADS"]))]
for t in threads: t.start()
token_ms, token_status = [], {}
while time.monotonic() < stop:
    status, ms = service_token()
    token_ms.append(ms); token_status[status] = token_status.get(status, 0) + 1
    time.sleep(0.2)
for t in threads: t.join()
elapsed = time.monotonic() - started
after = row_counts()
written = {t: after.get(t, 0) - before.get(t, 0) for t in after if after.get(t, 0) != before.get(t, 0)}
total = sum(answers.values())
print(f"/authorize flood ({os.environ['FLOOD_THREADS']} threads, {duration} s, 4.7 KB of parameters "
      f"each, no cookies): {total} requests, {total / elapsed:.0f} requests/s, answers "
      f"{dict(sorted(answers.items(), key=str))}")
print(f"  rows written: {sum(written.values())} {written or ''}(goal 0; "
      f"{sum(after.values())} rows in {len(after)} tables)")
print(f"  unrelated client's /token during the flood: {len(token_ms)} requests, answers {token_status}, "
      f"latency p50 {statistics.median(token_ms):.0f} ms, max {max(token_ms):.0f} ms "
      f"({quiet_token:.0f} ms when quiet)")
if written: failed.append("rows written by /authorize")
if any(isinstance(s, int) and s >= 500 for s in answers) or "error" in answers:
    failed.append("/authorize 5xx or errors")
if any(isinstance(s, int) and s >= 500 for s in token_status) or "error" in token_status:
    failed.append("/token 5xx or errors during the /authorize flood")

# 3. Slow bodies.
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
wanted = int(os.environ["SLOW_CONNECTIONS"])
slow = []
for _ in range(wanted):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        s.setblocking(False)
        s.send(b"POST /token HTTP/1.1\r\nHost: latchkey\r\n"
               b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n")
        slow.append(s)
    except OSError:
        break
peak_fds, health, health_ms, closed = descriptors(), {}, [], 0
# At least 15 s, so that the server's 10 s body deadline falls inside the phase.
slow_duration = max(duration, 15)
stop = time.monotonic() + slow_duration
while time.monotonic() < stop:
    for s in list(slow):
        try:
            s.send(b"a")
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            slow.remove(s); s.close(); closed += 1
    peak_fds = max(peak_fds, descriptors())
    started = time.monotonic()
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.request("GET", "/healthz"); status = c.getresponse().status; c.close()
    except OSError:
        status = "error"
    health[status] = health.get(status, 0) + 1
    health_ms.append((time.monotonic() - started) * 1000)
    time.sleep(1)
answered = 0
for s in slow:
    try:
        s.setblocking(True); s.settimeout(0.2)
        if s.recv(64).startswith(b"HTTP/1.1 408"): answered += 1
    except OSError:
        pass
    s.close()
print(f"slow bodies ({wanted} wanted, {len(slow) + closed} opened, 1 byte/s, "
      f"server limit 1024 descriptors, {slow_duration} s): peak descriptors held {peak_fds}, "
      f"cut off by the server {closed + answered}")
print(f"  /healthz during the flood: answers {health}, p50 {statistics.median(health_ms):.0f} ms, "
      f"max {max(health_ms):.0f} ms (goal <= {(int(os.environ['BODY_TIMEOUT']) + 2) * 1000} ms)")
body_deadline_ms = (int(os.environ["BODY_TIMEOUT"]) + 2) * 1000
if health.get(200, 0) != sum(health.values()) or max(health_ms) > body_deadline_ms:
    failed.append("/healthz during slow bodies")
if peak_fds >= 1024: failed.append("descriptors exhausted")
if closed + answered == 0: failed.append("slow bodies never cut off")
if failed:
    print("GOALS MISSED: " + ", ".join(failed)); sys.exit(1)
print("all goals met")
PY
log "server warnings: $(grep -c 'near the limit' "$WORK/server.log" || true) descriptor-limit warning(s), $(grep -ci 'too many open files' "$WORK/server.log" || true) 'too many open files'"
