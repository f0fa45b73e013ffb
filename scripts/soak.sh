#!/usr/bin/env bash
# Fault drills: mixed load against Latchkey, and what survives an outage. Four phases, each
# `--duration` seconds at `--concurrency` clients:
#   1. sqlite            one server on SQLite, steady state
#   2. postgres          one server on a private PostgreSQL cluster, steady state
#   3. postgres-restart  the same, with PostgreSQL stopped a third of the way in and started
#                        again --outage seconds later
#   4. replica-kill      two replicas on that PostgreSQL, load spread over both; replica B is
#                        SIGKILLed a third of the way in and started again --outage seconds later
# The load (examples/drill.rs, `drill soak`) mixes client credentials, password grants, full
# authorization-code flows with PKCE through the login and consent forms, refresh chains,
# introspection, revocation and JWKS; every access token is verified against the served JWKS with
# an independent JWT library, and every refresh token handed out is accounted for afterwards
# (still works, rotated by the client, revoked by the client and refused, or revoked by a
# detected reuse). Each phase prints requests, outcomes by endpoint, status and error, 5xx,
# connection errors, lost chains, recovery time after the outage, and each server's RSS and
# descriptors before and after.
#
# Usage: scripts/soak.sh [--duration SECONDS] [--concurrency N] [--outage SECONDS] [--phases LIST]
#   --duration SECONDS  length of each phase (default 60)
#   --concurrency N     concurrent clients (default 64)
#   --outage SECONDS    how long PostgreSQL or replica B stays down (default 3)
#   --phases LIST       comma-separated subset of sqlite,postgres,postgres-restart,replica-kill
# Environment: DRILL_SKIP_BUILD=1 (use the built binaries), DRILL_PROFILE=debug (build and run
# the debug binaries instead of release: quicker to build, slower to run), DRILL_LATCHKEY and
# DRILL_BIN (paths of the server and drill binaries to use instead), DRILL_KEEP=1 (keep the
# work directory with the server logs), DRILL_LOG_LEVEL (servers' log level, default warn).
#
# Goals (exit status 1 when one is missed): zero 5xx and zero connection errors in steady state;
# during an outage only 503 temporarily_unavailable with Retry-After (database) or refused
# connections to the killed replica, none after the recovery goal (5 s) past its return; zero lost
# refresh chains; every revoked refresh token refused; every access token verifies; no
# unexpected answer. The password queue (passwords.max_queued) is sized to the concurrency, so
# its designed overload answer (503, measured by scripts/abuse.sh) is not mistaken for a fault.
#
# Everything runs on 127.0.0.1 with a private PostgreSQL cluster (initdb into a temporary
# directory, its own port; run as the postgres OS user when started as root): the system's
# PostgreSQL is never touched. Every phase has a fixed length, and everything started is stopped
# on exit. Requires: cargo, curl, python3, PostgreSQL server binaries (initdb, pg_ctl) and psql.

set -euo pipefail
DRILL_NAME=soak
# shellcheck source=scripts/drill-lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/drill-lib.sh"

DURATION=60
CONCURRENCY=64
OUTAGE=3
PHASES="sqlite,postgres,postgres-restart,replica-kill"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) DURATION="${2:?}"; shift 2 ;;
    --concurrency) CONCURRENCY="${2:?}"; shift 2 ;;
    --outage) OUTAGE="${2:?}"; shift 2 ;;
    --phases) PHASES="${2:?}"; shift 2 ;;
    *) other_argument "$1" ;;
  esac
done
check_number duration "$DURATION" 6 3600
check_number concurrency "$CONCURRENCY" 1 1024
check_number outage "$OUTAGE" 1 $((DURATION - 1))

drill_init
export LATCHKEY__PASSWORDS__MAX_QUEUED="$CONCURRENCY"
FAILED=()

# run_phase NAME OUTAGE_KIND EVENTS_FILE PID_FILE… -- TARGET…
run_phase() {
  local phase=$1 outage=$2 events=$3; shift 3
  local args=(--phase "$phase" --outage "$outage" --events "$events" --duration "$DURATION"
              --concurrency "$CONCURRENCY" --issuer "$ISSUER" --setup "$SETUP")
  while [[ "$1" != -- ]]; do args+=(--pid-file "$1"); shift; done; shift
  local target; for target in "$@"; do args+=(--target "$target"); done
  "$DRILL" soak "${args[@]}" &
  DRILL_PID=$!
}

finish_phase() { # $1 name
  if wait "$DRILL_PID"; then log "phase $1: goals met"; else FAILED+=("$1"); log "phase $1: GOALS MISSED"; fi
}

wanted() { [[ ",$PHASES," == *",$1,"* ]]; }

if wanted sqlite; then
  PORT_A="$(free_port)"; ISSUER="http://127.0.0.1:$PORT_A"
  mkdir -p "$WORK/sqlite"
  URL="sqlite://$WORK/sqlite/latchkey.db"
  start_server sqlite "$URL" "$PORT_A" "$ISSUER"
  SETUP="$(drill_setup "$URL" sqlite)"
  run_phase sqlite none "$WORK/events-sqlite" "$WORK/sqlite.pid" -- "$ISSUER"
  finish_phase sqlite
  SQLITE_PID="$(cat "$WORK/sqlite.pid")"
  kill -TERM "$SQLITE_PID"
  wait "$SQLITE_PID" || log "the SQLite server exited with status $? on SIGTERM"
fi

if wanted postgres || wanted postgres-restart || wanted replica-kill; then
  pg_init
  URL="$(pg_database soak)"
  PORT_A="$(free_port)"; PORT_B="$(free_port)"; ISSUER="http://127.0.0.1:$PORT_A"
  start_server replica-a "$URL" "$PORT_A" "$ISSUER"
  SETUP="$(drill_setup "$URL" postgres)"
fi

if wanted postgres; then
  run_phase postgres none "$WORK/events-postgres" "$WORK/replica-a.pid" -- "$ISSUER"
  finish_phase postgres
fi

if wanted postgres-restart; then
  EVENTS="$WORK/events-restart"
  run_phase postgres-restart database "$EVENTS" "$WORK/replica-a.pid" -- "$ISSUER"
  sleep $((DURATION / 3))
  log "stopping PostgreSQL for $OUTAGE s"
  echo "down $(now_ms)" >>"$EVENTS"
  pg_stop
  sleep "$OUTAGE"
  pg_start
  echo "up $(now_ms)" >>"$EVENTS"
  log "PostgreSQL is back"
  finish_phase postgres-restart
fi

if wanted replica-kill; then
  EVENTS="$WORK/events-kill"
  start_server replica-b "$URL" "$PORT_B" "$ISSUER"
  run_phase replica-kill replica "$EVENTS" "$WORK/replica-a.pid" "$WORK/replica-b.pid" -- \
    "http://127.0.0.1:$PORT_A" "http://127.0.0.1:$PORT_B"
  sleep $((DURATION / 3))
  log "SIGKILL replica B for $OUTAGE s"
  echo "down $(now_ms)" >>"$EVENTS"
  { kill -KILL "$(cat "$WORK/replica-b.pid")"; wait "$(cat "$WORK/replica-b.pid")"; } 2>/dev/null || true
  sleep "$OUTAGE"
  start_server replica-b "$URL" "$PORT_B" "$ISSUER"
  echo "up $(now_ms)" >>"$EVENTS"
  log "replica B is back"
  finish_phase replica-kill
fi

if [[ ${#FAILED[@]} -gt 0 ]]; then
  log "goals missed in: ${FAILED[*]}"
  exit 1
fi
log "every phase met its goals"
