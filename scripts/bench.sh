#!/usr/bin/env bash
# Load benchmark for Latchkey: client-credentials token issuance per signing algorithm (RS256,
# ES256, EdDSA), JWKS and discovery, on SQLite and PostgreSQL, compared with this machine's
# two-core OpenSSL signing rate of the matching primitive (rsa2048, ecdsap256, ed25519) measured
# in the same run.
#
# Usage: scripts/bench.sh [--duration SECONDS] [--cores LIST]
#
#   --duration SECONDS   measured duration of each run (same as BENCH_DURATION)
#   --cores LIST         scaling mode (scripts/bench-cores.sh): for each N in LIST (e.g. "1,2" or
#                        "1,2,4,8,12"), the server is pinned with taskset to the first N cores
#                        (N workers), the load generator to the others, and the RSA-2048 sign rate
#                        is measured on the same N cores in the same run; prints tokens/s ÷ sign/s
#                        and CPU per token ÷ CPU per signature for each N and backend.
#
# Everything stays on 127.0.0.1, every run has a fixed duration, and the script stops by itself.
# Tunables (environment):
#   BENCH_DURATION=10s        measured duration of each run
#   BENCH_WARMUP=2s           unmeasured warm-up before each run
#   BENCH_CONCURRENCY="16 64" concurrency levels (connections)
#   BENCH_BACKENDS="sqlite postgres"
#   BENCH_ALGS="RS256 ES256 EdDSA"   signing algorithms configured (keys.algorithms); one client
#                             per algorithm (client add --access-token-alg) is measured
#   BENCH_TOOL=oha|wrk        force a load tool (default: oha, else wrk)
#   BENCH_PG="-h 127.0.0.1 -U postgres"  psql connection options (database is created and dropped)
#   BENCH_PG_URL=postgres://postgres@127.0.0.1:5432   base URL Latchkey uses for that server
#   BENCH_OPENSSL_SECONDS=5   duration of `openssl speed`
#   BENCH_SKIP_BUILD=1        use the existing release binary
#   BENCH_KEEP=1              keep the temporary directory (server logs, raw results)
#
# Requires: cargo, curl, jq, openssl, psql; installs oha (cargo install) or wrk (apt-get) if missing.

set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd -- "$SCRIPT_DIR/.." && pwd)"

DURATION="${BENCH_DURATION:-10s}"
CORES=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) DURATION="${2:?--duration needs SECONDS}s"; shift 2 ;;
    --duration=*) DURATION="${1#--duration=}s"; shift ;;
    --cores) CORES="${2:?--cores needs a LIST such as 1,2}"; shift 2 ;;
    --cores=*) CORES="${1#--cores=}"; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -n 's/^# \{0,1\}//p'; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
WARMUP="${BENCH_WARMUP:-2s}"
CONCURRENCY="${BENCH_CONCURRENCY:-16 64}"
BACKENDS="${BENCH_BACKENDS:-sqlite postgres}"
ALGS="${BENCH_ALGS:-RS256 ES256 EdDSA}"
PSQL_OPTS="${BENCH_PG:--h 127.0.0.1 -U postgres}"
PG_URL_BASE="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}"
OPENSSL_SECONDS="${BENCH_OPENSSL_SECONDS:-5}"
OPENSSL_MULTI=2

# Targets.
TARGET_TOKEN_PCT=60     # RS256 tokens/s >= 60% of the two-core RSA-2048 sign rate
TARGET_ES256_X=5        # ES256 tokens/s >= 5x RS256 tokens/s (same backend, same concurrency)
TARGET_STATIC_X=10      # JWKS and discovery >= 10x the token rate
TARGET_IDLE_RSS_MIB=30  # idle RSS < 30 MiB

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] ERROR: %s\n' "$*" >&2; exit 1; }

[[ " $ALGS " == *" RS256 "* ]] || die "BENCH_ALGS must include RS256 (keys.algorithms always does)"
for alg in $ALGS; do
  case "$alg" in RS256|ES256|EdDSA) ;; *) die "unknown algorithm '$alg' in BENCH_ALGS" ;; esac
done
ALGS_JSON="[$(printf '"%s",' $ALGS | sed 's/,$//')]"

START_TS=$(date +%s)
WORK="$(mktemp -d "${TMPDIR:-/tmp}/latchkey-bench.XXXXXX")"
SERVER_PID=""
PG_DB=""

stop_server() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}

drop_pg_db() {
  if [[ -n "$PG_DB" ]]; then
    # shellcheck disable=SC2086
    psql $PSQL_OPTS -v ON_ERROR_STOP=1 -qAtc "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" \
      >/dev/null 2>&1 || log "could not drop database $PG_DB"
    PG_DB=""
  fi
}

cleanup() {
  local rc=$?
  stop_server
  drop_pg_db
  if [[ "${BENCH_KEEP:-0}" == 1 || $rc -ne 0 ]]; then
    log "work directory kept: $WORK"
  else
    rm -rf -- "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------------------------
for t in cargo curl openssl awk base64; do
  command -v "$t" >/dev/null || die "required tool '$t' not found"
done
if ! command -v jq >/dev/null; then
  log "jq not found, installing it with apt-get"
  { apt-get update -qq && apt-get install -y -qq jq; } >&2 || die "jq is required and could not be installed"
fi
if [[ "$BACKENDS" == *postgres* ]]; then
  command -v psql >/dev/null || die "psql not found (needed for the PostgreSQL backend)"
fi

export PATH="$HOME/.cargo/bin:$PATH"

TOOL="${BENCH_TOOL:-}"
if [[ -z "$TOOL" ]]; then
  if command -v oha >/dev/null; then TOOL=oha
  elif command -v wrk >/dev/null; then TOOL=wrk
  else
    log "no load tool found; installing oha with cargo install"
    if cargo install oha --locked >&2 && command -v oha >/dev/null; then
      TOOL=oha
    else
      log "cargo install oha failed; trying wrk from apt"
      if { apt-get update -qq && apt-get install -y -qq wrk; } >&2 && command -v wrk >/dev/null; then
        TOOL=wrk
      else
        die "neither oha nor wrk is available and neither could be installed"
      fi
    fi
  fi
fi
case "$TOOL" in
  oha) command -v oha >/dev/null || die "BENCH_TOOL=oha but oha is not installed" ;;
  wrk) command -v wrk >/dev/null || die "BENCH_TOOL=wrk but wrk is not installed" ;;
  *) die "unknown BENCH_TOOL '$TOOL' (oha or wrk)" ;;
esac
log "load tool: $TOOL ($("$TOOL" --version 2>&1 | head -1 || true))"

# ---------------------------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------------------------
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/latchkey"
if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
  log "cargo build --release"
  (cd "$ROOT" && cargo build --release >&2)
fi
[[ -x "$BIN" ]] || die "release binary not found at $BIN"

# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------
to_seconds() { # 10s / 2m / 500ms / 10 -> seconds (may be fractional)
  local d="$1"
  case "$d" in
    *ms) awk -v v="${d%ms}" 'BEGIN{print v/1000}' ;;
    *s) echo "${d%s}" ;;
    *m) awk -v v="${d%m}" 'BEGIN{print v*60}' ;;
    *) echo "$d" ;;
  esac
}

free_port() {
  local p
  for _ in $(seq 200); do
    p=$(( 20000 + RANDOM % 40000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"; return 0
    fi
  done
  die "no free port found"
}

rss_kib() { # $1 pid, $2 field (VmRSS or VmHWM)
  awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

pf() { [[ "$1" == 1 ]] && echo PASS || echo FAIL; }

kib_to_mib() { awk -v k="$1" 'BEGIN{printf "%.1f", k/1024}'; }

server_alive() {
  [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null
}

# run_load NAME URL CONCURRENCY DURATION METHOD [BODY] -> prints "rps p50_ms p99_ms errors details"
WRK_LUA="$WORK/request.lua"
run_load() {
  local name="$1" url="$2" conc="$3" dur="$4" method="$5" body="${6:-}"
  local out="$WORK/raw-$name.out"
  if [[ "$TOOL" == oha ]]; then
    local args=(--no-tui -w -c "$conc" -z "$dur" -m "$method" --output-format json)
    if [[ "$method" == POST ]]; then
      args+=(-a "$CLIENT_ID:$CLIENT_SECRET" -T application/x-www-form-urlencoded -d "$body")
    fi
    # shellcheck disable=SC2086
    ${LOAD_PREFIX:-} oha "${args[@]}" "$url" >"$out" 2>"$out.err" || die "oha failed on $url: $(tail -5 "$out.err")"
    jq -r '
      def nz: if . == null then 0 else . end;
      [ (.summary.requestsPerSec | nz),
        ((.latencyPercentiles.p50 | nz) * 1000),
        ((.latencyPercentiles.p99 | nz) * 1000),
        ( ([.statusCodeDistribution // {} | to_entries[] | select((.key|tonumber) < 200 or (.key|tonumber) >= 300) | .value] | add // 0)
        + ([.errorDistribution // {} | to_entries[] | .value] | add // 0) ),
        ( ([.statusCodeDistribution // {} | to_entries[] | "\(.key)=\(.value)"]
          + [.errorDistribution // {} | to_entries[] | "\(.key|gsub(" ";"_"))=\(.value)"]) | join(",") )
      ] | @tsv' "$out" | awk -F'\t' '{printf "%.1f %.3f %.3f %d %s\n", $1, $2, $3, $4, $5}'
  else
    {
      echo "wrk.method = \"$method\""
      if [[ "$method" == POST ]]; then
        local basic
        basic=$(printf '%s:%s' "$CLIENT_ID" "$CLIENT_SECRET" | base64 -w0)
        echo "wrk.body = \"$body\""
        echo "wrk.headers[\"Content-Type\"] = \"application/x-www-form-urlencoded\""
        echo "wrk.headers[\"Authorization\"] = \"Basic $basic\""
      fi
      cat <<'LUA'
done = function(summary, latency, requests)
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.timeout + e.status
  io.write(string.format("RESULT %.1f %.3f %.3f %d connect=%d,read=%d,write=%d,timeout=%d,non2xx3xx=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors,
    e.connect, e.read, e.write, e.timeout, e.status))
end
LUA
    } >"$WRK_LUA"
    local threads=2
    (( conc < threads )) && threads=$conc
    # shellcheck disable=SC2086
    ${LOAD_PREFIX:-} wrk -t "${LOAD_THREADS:-$threads}" -c "$conc" -d "$dur" --latency -s "$WRK_LUA" "$url" >"$out" 2>&1 \
      || die "wrk failed on $url: $(tail -5 "$out")"
    # wrk counts only >= 400 as status errors; 3xx would slip through, but none of these endpoints redirect.
    awk '$1 == "RESULT" { print $2, $3, $4, $5, $6 }' "$out"
  fi
}

fresh_database() { # $1 backend, $2 name suffix -> sets DB_URL (and PG_DB, dropped by drop_pg_db)
  case "$1" in
    sqlite) DB_URL="sqlite://$WORK/latchkey-$2.db" ;;
    postgres)
      PG_DB="latchkey_bench_$$_$2_$RANDOM"
      # shellcheck disable=SC2086
      psql $PSQL_OPTS -v ON_ERROR_STOP=1 -qAtc "CREATE DATABASE \"$PG_DB\"" >/dev/null \
        || { PG_DB=""; die "could not create database (psql $PSQL_OPTS)"; }
      DB_URL="$PG_URL_BASE/$PG_DB"
      ;;
    *) die "unknown backend '$1'" ;;
  esac
}

start_server() { # $1 backend, $2 database URL; SERVER_PREFIX (e.g. taskset) runs before the binary
  local backend="$1" db_url="$2"
  PORT=$(free_port)
  BASE="http://127.0.0.1:$PORT"
  export LATCHKEY__ISSUER="$BASE"
  export LATCHKEY__SERVER__BIND="127.0.0.1:$PORT"
  export LATCHKEY__DATABASE__URL="$db_url"
  export LATCHKEY__KEYS__MASTER_KEY_FILE="$WORK/$backend-master.key"
  export LATCHKEY__LOG__LEVEL=warn
  export LATCHKEY__LOG__FORMAT=pretty
  export LATCHKEY__KEYS__ALGORITHMS="$ALGS_JSON"
  SERVER_LOG="$WORK/server-$backend.log"
  # shellcheck disable=SC2086
  (cd "$WORK" && exec ${SERVER_PREFIX:-} "$BIN" serve) >"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!
  local ok=0
  for _ in $(seq 300); do
    server_alive || { tail -20 "$SERVER_LOG" >&2; die "$backend: server exited during start-up"; }
    if curl -fs -o /dev/null --max-time 2 "$BASE/readyz"; then ok=1; break; fi
    sleep 0.1
  done
  [[ $ok == 1 ]] || { tail -20 "$SERVER_LOG" >&2; die "$backend: /readyz not 200 after 30 s"; }
  log "$backend: server pid $SERVER_PID ready on $BASE"
}

declare -A CLIENT_IDS CLIENT_SECRETS
register_clients() { # $1 backend: one client per algorithm, its access tokens signed with it
  local json alg resp
  for alg in $ALGS; do
    json=$(cd "$WORK" && "$BIN" client add "bench-$1-$alg" --grant client_credentials \
      --scope "api:read" --access-token-alg "$alg" --json) \
      || die "$1: latchkey client add --access-token-alg $alg failed"
    CLIENT_IDS[$alg]=$(jq -r .client_id <<<"$json")
    CLIENT_SECRETS[$alg]=$(jq -r .client_secret <<<"$json")
    [[ -n "${CLIENT_IDS[$alg]}" && "${CLIENT_IDS[$alg]}" != null && -n "${CLIENT_SECRETS[$alg]}" && "${CLIENT_SECRETS[$alg]}" != null ]] \
      || die "$1: client add printed no client_id/client_secret: $json"
    # Smoke test: one token of this algorithm, before measuring anything.
    resp=$(curl -sS --max-time 5 -u "${CLIENT_IDS[$alg]}:${CLIENT_SECRETS[$alg]}" -d "$TOKEN_BODY" "$BASE/token") \
      || die "$1: token request failed"
    jq -e '.access_token | type == "string" and (split(".") | length == 3)' <<<"$resp" >/dev/null \
      || die "$1: token endpoint did not return a JWT: $resp"
    jq -r '.access_token | split(".")[0] | gsub("-";"+") | gsub("_";"/") | . + ("=" * ((4 - length % 4) % 4)) | @base64d | fromjson | .alg' <<<"$resp" \
      | grep -qx "$alg" || die "$1: the $alg client's token is not signed with $alg: $resp"
  done
  curl -fsS -o /dev/null --max-time 5 "$BASE/jwks" || die "$1: GET /jwks failed"
  curl -fsS -o /dev/null --max-time 5 "$BASE/.well-known/openid-configuration" \
    || die "$1: GET discovery failed"
}

TOKEN_BODY="grant_type=client_credentials&scope=api%3Aread"
# token-ALG: client-credentials tokens signed with ALG.
ENDPOINTS=()
for alg in $ALGS; do ENDPOINTS+=("token-$alg"); done
ENDPOINTS+=(jwks discovery)
endpoint_path() {
  case "$1" in
    token-*) echo /token ;;
    jwks) echo /jwks ;;
    discovery) echo /.well-known/openid-configuration ;;
  esac
}
endpoint_method() { [[ "$1" == token-* ]] && echo POST || echo GET; }

if [[ -n "$CORES" ]]; then
  # shellcheck source=scripts/bench-cores.sh
  source "$SCRIPT_DIR/bench-cores.sh"
  run_cores "$CORES"
  exit $?
fi

# ---------------------------------------------------------------------------------------------
# 1. OpenSSL baseline
# ---------------------------------------------------------------------------------------------
# Measured before and after the load runs: these figures drift on shared or throttled machines, so
# both are shown and the higher one is the reference (the stricter target). One openssl run
# measures the primitive of every algorithm: rsa2048 (RS256), ecdsap256 (ES256), ed25519 (EdDSA).
declare -A SIGN_BEFORE SIGN_AFTER SIGN_RATE
openssl_primitive() {
  case "$1" in RS256) echo rsa2048 ;; ES256) echo ecdsap256 ;; EdDSA) echo ed25519 ;; esac
}
measure_sign_rates() { # $1 label (before|after); fills SIGN_BEFORE or SIGN_AFTER by algorithm
  local out="$WORK/openssl-$1.out" v alg primitives=()
  for alg in $ALGS; do primitives+=("$(openssl_primitive "$alg")"); done
  log "openssl speed -seconds $OPENSSL_SECONDS -multi $OPENSSL_MULTI ${primitives[*]} ($1)"
  openssl speed -seconds "$OPENSSL_SECONDS" -multi "$OPENSSL_MULTI" "${primitives[@]}" >"$out" 2>&1 \
    || die "openssl speed failed: $(tail -5 "$out")"
  for alg in $ALGS; do
    case "$alg" in
      RS256) v=$(awk '$1 == "rsa" && $2 == "2048" && $3 == "bits" { v = $(NF-1) } END { print v }' "$out") ;;
      ES256) v=$(awk '$3 == "ecdsa" && $4 == "(nistp256)" { v = $(NF-1) } END { print v }' "$out") ;;
      EdDSA) v=$(awk '$3 == "EdDSA" && $4 == "(Ed25519)" { v = $(NF-1) } END { print v }' "$out") ;;
    esac
    [[ -n "$v" ]] || die "could not read the $alg sign/s figure from openssl speed: $(tail -5 "$out")"
    log "two-core $(openssl_primitive "$alg") sign rate ($1): $v sign/s"
    if [[ "$1" == before ]]; then SIGN_BEFORE[$alg]=$v; else SIGN_AFTER[$alg]=$v; fi
  done
}
measure_sign_rates before

# ---------------------------------------------------------------------------------------------
# 2. Backends
# ---------------------------------------------------------------------------------------------
RESULTS="$WORK/results.tsv"   # backend endpoint conc rps p50 p99 errors details
: >"$RESULTS"
declare -A IDLE_RSS PEAK_RSS

for backend in $BACKENDS; do
  fresh_database "$backend" bench
  db_url="$DB_URL"
  start_server "$backend" "$db_url"
  register_clients "$backend"
  sleep 1
  IDLE_RSS[$backend]=$(rss_kib "$SERVER_PID" VmRSS)
  log "$backend: idle RSS $(kib_to_mib "${IDLE_RSS[$backend]}") MiB"

  for conc in $CONCURRENCY; do
    for ep in "${ENDPOINTS[@]}"; do
      url="$BASE$(endpoint_path "$ep")"
      method=$(endpoint_method "$ep")
      body=""
      if [[ "$ep" == token-* ]]; then
        body="$TOKEN_BODY"
        CLIENT_ID=${CLIENT_IDS[${ep#token-}]}
        CLIENT_SECRET=${CLIENT_SECRETS[${ep#token-}]}
      fi
      if [[ "$(to_seconds "$WARMUP")" != 0 ]]; then
        run_load "$backend-$ep-c$conc-warmup" "$url" "$conc" "$WARMUP" "$method" "$body" >/dev/null
      fi
      read -r rps p50 p99 errs details < <(run_load "$backend-$ep-c$conc" "$url" "$conc" "$DURATION" "$method" "$body")
      [[ -n "${rps:-}" ]] || die "$backend $ep c=$conc: no result from $TOOL"
      server_alive || { tail -20 "$SERVER_LOG" >&2; die "$backend: server died during $ep c=$conc"; }
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$backend" "$ep" "$conc" "$rps" "$p50" "$p99" "$errs" "$details" >>"$RESULTS"
      log "$backend $ep c=$conc: $rps req/s, p50 $p50 ms, p99 $p99 ms, errors $errs ($details)"
    done
  done

  PEAK_RSS[$backend]=$(rss_kib "$SERVER_PID" VmHWM)
  log "$backend: peak RSS $(kib_to_mib "${PEAK_RSS[$backend]}") MiB"
  stop_server
  cp "$SERVER_LOG" "$WORK/server-$backend.final.log" 2>/dev/null || true
  if [[ "$backend" == postgres ]]; then drop_pg_db; fi
done

measure_sign_rates after
for alg in $ALGS; do
  SIGN_RATE[$alg]=$(awk -v a="${SIGN_BEFORE[$alg]}" -v b="${SIGN_AFTER[$alg]}" 'BEGIN{print (a > b) ? a : b}')
done

# ---------------------------------------------------------------------------------------------
# 3. Report
# ---------------------------------------------------------------------------------------------
get() { # backend endpoint conc column(4=rps,5=p50,6=p99,7=errors)
  awk -F'\t' -v b="$1" -v e="$2" -v c="$3" -v col="$4" '$1==b && $2==e && $3==c { print $col }' "$RESULTS"
}
MISSED=0
# verdict OK(1|0): sets V to PASS or FAIL and counts misses (no subshell, so the count survives).
verdict() { if [[ "$1" == 1 ]]; then V=PASS; else V=FAIL; MISSED=$((MISSED + 1)); fi; }

echo
echo "## Latchkey benchmark"
echo
echo "$(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(nproc) CPUs, git $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD -- 2>/dev/null || echo ' (dirty tree)'), tool $TOOL, ${DURATION} per run after ${WARMUP} warm-up; load generator and server share the machine"
echo
printf '| %-8s | %-11s | %11s | %10s | %8s | %8s | %6s |\n' backend endpoint concurrency "req/s" "p50 ms" "p99 ms" errors
printf '|%s|%s|%s|%s|%s|%s|%s|\n' ---------- ------------- ------------: -----------: ---------: ---------: -------:
while IFS=$'\t' read -r b e c rps p50 p99 errs _; do
  printf '| %-8s | %-11s | %11s | %10s | %8s | %8s | %6s |\n' "$b" "$e" "$c" "$rps" "$p50" "$p99" "$errs"
done <"$RESULTS"

echo
echo "Two-core OpenSSL sign rates in this run (reference = higher of before and after the load):"
echo
printf '| %-9s | %-9s | %12s | %12s | %12s |\n' algorithm primitive "before" "after" "reference"
printf '|%s|%s|%s|%s|%s|\n' ----------- ----------- -------------: -------------: -------------:
for alg in $ALGS; do
  printf '| %-9s | %-9s | %12s | %12s | %12s |\n' "$alg" "$(openssl_primitive "$alg")" \
    "${SIGN_BEFORE[$alg]}" "${SIGN_AFTER[$alg]}" "${SIGN_RATE[$alg]}"
done

TOTAL_ERRORS=$(awk -F'\t' '{ s += $7 } END { print s + 0 }' "$RESULTS")

echo
echo "### Summary"
echo
for backend in $BACKENDS; do
  echo "- **$backend**"
  for conc in $(tr ' ' '\n' <<<"$CONCURRENCY" | sort -rn); do
    rs=$(get "$backend" token-RS256 "$conc" 4)
    jwks=$(get "$backend" jwks "$conc" 4)
    for alg in $ALGS; do
      tok=$(get "$backend" "token-$alg" "$conc" 4)
      pct=$(awk -v t="$tok" -v s="${SIGN_RATE[$alg]}" 'BEGIN{printf "%.1f", 100*t/s}')
      http=$(awk -v t="$tok" -v j="$jwks" 'BEGIN{ if (j > 0) printf "%.0f", 100*t/j; else print "?" }')
      line="  - c=$conc token $alg: $tok req/s = ${pct}% of $(openssl_primitive "$alg") sign rate, ${http}% of the JWKS rate"
      case "$alg" in
        RS256)
          ok=$(awk -v p="$pct" -v g="$TARGET_TOKEN_PCT" 'BEGIN{print (p >= g) ? 1 : 0}')
          verdict "$ok"; line+=" (target >= ${TARGET_TOKEN_PCT}% of sign rate): $V" ;;
        ES256)
          x=$(awk -v t="$tok" -v r="$rs" 'BEGIN{ if (r > 0) printf "%.1f", t/r; else print "inf" }')
          ok=$(awk -v x="$x" -v g="$TARGET_ES256_X" 'BEGIN{print (x == "inf" || x >= g) ? 1 : 0}')
          verdict "$ok"; line+=" = ${x}x RS256 (target >= ${TARGET_ES256_X}x): $V" ;;
        *)
          x=$(awk -v t="$tok" -v r="$rs" 'BEGIN{ if (r > 0) printf "%.1f", t/r; else print "inf" }')
          line+=" = ${x}x RS256" ;;
      esac
      echo "$line"
    done
  done
  for conc in $(tr ' ' '\n' <<<"$CONCURRENCY" | sort -rn); do
    tok=$(get "$backend" token-RS256 "$conc" 4)
    for ep in jwks discovery; do
      r=$(get "$backend" "$ep" "$conc" 4)
      x=$(awk -v r="$r" -v t="$tok" 'BEGIN{ if (t > 0) printf "%.1f", r/t; else print "inf" }')
      ok=$(awk -v x="$x" -v g="$TARGET_STATIC_X" 'BEGIN{print (x == "inf" || x >= g) ? 1 : 0}')
      verdict "$ok"
      echo "  - c=$conc $ep: $r req/s = ${x}x RS256 token rate (target >= ${TARGET_STATIC_X}x): $V"
    done
  done
  errs=$(awk -F'\t' -v b="$backend" '$1==b { s += $7 } END { print s + 0 }' "$RESULTS")
  verdict "$([[ $errs == 0 ]] && echo 1 || echo 0)"
  echo "  - errors (non-2xx + transport): $errs (target 0): $V"
  idle=$(kib_to_mib "${IDLE_RSS[$backend]}")
  peak=$(kib_to_mib "${PEAK_RSS[$backend]}")
  ok=$(awk -v i="$idle" -v g="$TARGET_IDLE_RSS_MIB" 'BEGIN{print (i < g) ? 1 : 0}')
  verdict "$ok"
  echo "  - idle RSS: $idle MiB (target < ${TARGET_IDLE_RSS_MIB} MiB): $V; peak RSS (VmHWM): $peak MiB"
done

if [[ "$TOTAL_ERRORS" != 0 ]]; then
  echo
  echo "### Error details (status code / error distribution per run)"
  echo
  awk -F'\t' '$7 != 0 { printf "- %s %s c=%s: %s\n", $1, $2, $3, $8 }' "$RESULTS"
fi

for backend in $BACKENDS; do
  f="$WORK/server-$backend.final.log"
  [[ -f "$f" ]] || continue
  n=$(grep -Eac 'ERROR' "$f" || true)
  if [[ "$n" != 0 ]]; then
    echo
    echo "### $backend server log: $n ERROR lines (first 5)"
    echo '```'
    grep -Ea 'ERROR' "$f" | head -5 | sed 's/\x1b\[[0-9;]*m//g'
    echo '```'
  fi
done

echo
echo "Total time: $(( $(date +%s) - START_TS )) s"
if [[ "$MISSED" != 0 ]]; then
  log "$MISSED goal(s) missed"
  exit 1
fi
