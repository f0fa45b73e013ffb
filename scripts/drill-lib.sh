# Shared by scripts/soak.sh and scripts/replicas.sh (sourced, not run): building the release
# binaries, a private PostgreSQL cluster on its own port that can be stopped and started
# mid-load, Latchkey servers on 127.0.0.1, and tearing everything down on exit.
#
# The caller sets DRILL_NAME (log prefix) before sourcing, then calls drill_init.
# shellcheck shell=bash

log() { printf '[%s] %s\n' "$DRILL_NAME" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "$DRILL_NAME" "$*" >&2; exit 2; }

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd -- "$SCRIPT_DIR/.." && pwd)"
WORK=""
PG_BIN=""
PG_DATA=""
PG_PORT=""
PG_AS=()          # runs a command as the postgres OS user when we are root (initdb refuses root)
SERVER_PIDS=()    # every server started, stopped on exit
DRILL_PID=""      # the load generator running in the background, if any
KEEP="${DRILL_KEEP:-0}"

drill_cleanup() {
  local rc=$?
  local pid
  if [[ -n "$DRILL_PID" ]]; then kill -TERM "$DRILL_PID" 2>/dev/null || true; fi
  for pid in "${SERVER_PIDS[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [[ -n "$PG_DATA" && -f "$PG_DATA/postmaster.pid" ]]; then
    "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  if [[ -n "$WORK" ]]; then
    if [[ "$KEEP" == 1 || $rc -ne 0 ]]; then log "work directory kept: $WORK"; else rm -rf -- "$WORK"; fi
  fi
  exit "$rc"
}

# Work directory, traps, tools; builds the release binary and the drill unless DRILL_SKIP_BUILD=1.
drill_init() {
  for t in cargo curl python3; do command -v "$t" >/dev/null || die "required tool '$t' not found"; done
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/latchkey-$DRILL_NAME.XXXXXX")"
  chmod 755 "$WORK"
  trap drill_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  local profile="${DRILL_PROFILE:-release}" flags=(--release)
  [[ "$profile" == release ]] || flags=()
  if [[ "${DRILL_SKIP_BUILD:-0}" != 1 ]]; then
    log "building the $profile binary and the drill (cargo build ${flags[*]} --bin latchkey --example drill)"
    (cd "$ROOT" && cargo build "${flags[@]}" --quiet --bin latchkey --example drill)
  fi
  LATCHKEY="${DRILL_LATCHKEY:-$ROOT/target/$profile/latchkey}"
  DRILL="${DRILL_BIN:-$ROOT/target/$profile/examples/drill}"
  [[ -x "$LATCHKEY" && -x "$DRILL" ]] || die "$profile binaries missing (run without DRILL_SKIP_BUILD)"
  # One master key for every process (replicas and the CLI), never written to disk.
  LATCHKEY_MASTER_KEY="$(python3 -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())')"
  export LATCHKEY_MASTER_KEY
  export LATCHKEY__LOG__LEVEL="${DRILL_LOG_LEVEL:-warn}"
}

# other_argument ARG: --help prints the calling script's header; anything else is an error.
other_argument() {
  case "$1" in
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -n 's/^# \{0,1\}//p'; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
}

# check_number NAME VALUE MIN MAX: dies unless VALUE is a whole number in [MIN, MAX].
check_number() {
  [[ "$2" =~ ^[0-9]+$ && "$2" -ge "$3" && "$2" -le "$4" ]] || die "--$1 must be $3 to $4"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

now_ms() { python3 -c 'import time; print(int(time.time()*1000))'; }

# A private cluster in $WORK/pg on a free port, listening on 127.0.0.1 only, trust auth.
pg_init() {
  local dir
  for dir in /usr/lib/postgresql/*/bin /usr/local/bin /usr/bin; do
    if [[ -x "$dir/pg_ctl" && -x "$dir/initdb" ]]; then PG_BIN="$dir"; fi
  done
  [[ -n "$PG_BIN" ]] || die "PostgreSQL server binaries (initdb, pg_ctl) not found"
  PG_DATA="$WORK/pg/data"
  PG_PORT="$(free_port)"
  mkdir -p "$WORK/pg"
  if [[ $(id -u) -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || die "running as root and there is no postgres user to run PostgreSQL"
    chown postgres "$WORK/pg"
    PG_AS=(runuser -u postgres --)
  fi
  "${PG_AS[@]}" "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 >"$WORK/pg/initdb.log" 2>&1 \
    || { cat "$WORK/pg/initdb.log" >&2; die "initdb failed"; }
  pg_start
  log "private PostgreSQL ($PG_BIN) on 127.0.0.1:$PG_PORT"
}

pg_start() {
  "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$WORK/pg/server.log" -w -t 60 \
    -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $WORK/pg -c max_connections=200" start >/dev/null \
    || { tail -20 "$WORK/pg/server.log" >&2; die "PostgreSQL did not start"; }
}

pg_stop() {
  "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null
}

# Creates database $1 and prints its URL.
pg_database() {
  psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qAtc "CREATE DATABASE \"$1\"" >/dev/null
  printf 'postgres://postgres@127.0.0.1:%s/%s' "$PG_PORT" "$1"
}

# start_server NAME DATABASE_URL PORT ISSUER: runs `latchkey serve`, waits for /healthz, writes
# $WORK/NAME.pid (the drill reads RSS and descriptors through it); the log is $WORK/NAME.log.
start_server() {
  local name=$1 url=$2 port=$3 issuer=$4 pid
  LATCHKEY__DATABASE__URL="$url" LATCHKEY__SERVER__BIND="127.0.0.1:$port" LATCHKEY__ISSUER="$issuer" \
    "$LATCHKEY" serve >>"$WORK/$name.log" 2>&1 &
  pid=$!
  SERVER_PIDS+=("$pid")
  echo "$pid" >"$WORK/$name.pid"
  for _ in $(seq 300); do
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  tail -20 "$WORK/$name.log" >&2
  die "server $name did not start"
}

# drill_setup DATABASE_URL NAME: registers the drill's clients and one user per client of the
# load (--concurrency) in that database; prints the setup file.
drill_setup() {
  local file="$WORK/setup-$2.json"
  LATCHKEY__DATABASE__URL="$1" "$DRILL" setup --latchkey "$LATCHKEY" --out "$file" --users "$CONCURRENCY"
  printf '%s' "$file"
}
