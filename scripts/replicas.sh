#!/usr/bin/env bash
# Replicas, proven: three Latchkey replicas (A, B, C) on one private PostgreSQL with one master
# key (LATCHKEY_MASTER_KEY), and `drill replicas` (examples/drill.rs) checking that any replica
# serves any step:
#   - authorization-code flows with PKCE whose steps go round the replicas (authorize on one,
#     login form on the next, consent and code exchange on the others), refresh chains hopping
#     from replica to replica, userinfo on every replica;
#   - a client registered (RFC 7591, open registration) on A, read on B (RFC 7592), used on B,
#     C and A;
#   - a CLI change (`client rotate-secret`) seen by every replica within the documented bound:
#     the new secret works at once, the old one is refused within database.change_poll_interval_ms
#     plus the poll (the drill allows 1.5 s on a busy machine: --change-bound-ms);
#   - wrong passwords spread over the replicas, each from its own loopback address, add up to one
#     shared account lockout (login_throttle.account_lockout_failures), and `user unlock` frees it;
#   - then mixed load over all three for --duration seconds, `keys rotate --immediately` a third
#     of the way in (every access token verified against every live replica's JWKS throughout,
#     a replica's own JWKS serving its signing key at once, the others within the bound), and
#     replica C SIGKILLed two thirds of the way in (A and B must keep answering).
# It prints what it checked and exits 1 when a check fails.
#
# Usage: scripts/replicas.sh [--duration SECONDS] [--concurrency N]
#   --duration SECONDS  length of the mixed load (default 30)
#   --concurrency N     concurrent clients during the load (default 16)
# Environment: DRILL_SKIP_BUILD=1, DRILL_PROFILE=debug, DRILL_LATCHKEY, DRILL_BIN, DRILL_KEEP=1, DRILL_LOG_LEVEL, as for scripts/soak.sh.
#
# Everything runs on 127.0.0.1 with a private PostgreSQL cluster (see scripts/soak.sh); the load
# has a fixed length and everything started is stopped on exit. Requires: cargo, curl, python3,
# PostgreSQL server binaries (initdb, pg_ctl) and psql.

set -euo pipefail
DRILL_NAME=replicas
# shellcheck source=scripts/drill-lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/drill-lib.sh"

DURATION=30
CONCURRENCY=16
while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) DURATION="${2:?}"; shift 2 ;;
    --concurrency) CONCURRENCY="${2:?}"; shift 2 ;;
    *) other_argument "$1" ;;
  esac
done
check_number duration "$DURATION" 6 3600
check_number concurrency "$CONCURRENCY" 1 1024

drill_init
pg_init
URL="$(pg_database replicas)"
# The drill runs the CLI (rotate-secret, user unlock, keys rotate) against the same database.
export LATCHKEY__DATABASE__URL="$URL"
export LATCHKEY__REGISTRATION__OPEN=true
export LATCHKEY__PASSWORDS__MAX_QUEUED="$CONCURRENCY"
LOCKOUT="${LATCHKEY__LOGIN_THROTTLE__ACCOUNT_LOCKOUT_FAILURES:-20}"
PORTS=("$(free_port)" "$(free_port)" "$(free_port)")
# One issuer for all three, as behind a load balancer; the drill talks to each replica directly.
ISSUER="http://127.0.0.1:${PORTS[0]}"
TARGETS=()
for n in 0 1 2; do
  name="replica-$(printf '%s' abc | cut -c$((n + 1)))"
  start_server "$name" "$URL" "${PORTS[$n]}" "$ISSUER"
  TARGETS+=(--target "http://127.0.0.1:${PORTS[$n]}" --pid-file "$WORK/$name.pid")
done
SETUP="$(drill_setup "$URL" replicas)"
EVENTS="$WORK/events"
READY="$WORK/load-started"

"$DRILL" replicas --setup "$SETUP" --latchkey "$LATCHKEY" --issuer "$ISSUER" "${TARGETS[@]}" \
  --duration "$DURATION" --concurrency "$CONCURRENCY" --events "$EVENTS" --ready-file "$READY" \
  --lockout "$LOCKOUT" &
DRILL_PID=$!
# Kill C two thirds of the way into the mixed load (the checks before it take a while).
while [[ ! -e "$READY" ]] && kill -0 "$DRILL_PID" 2>/dev/null; do sleep 0.2; done
if [[ -e "$READY" ]]; then
  sleep $((DURATION * 2 / 3))
  log "SIGKILL replica C"
  echo "killed $(now_ms)" >>"$EVENTS"
  { kill -KILL "$(cat "$WORK/replica-c.pid")"; wait "$(cat "$WORK/replica-c.pid")"; } 2>/dev/null || true
fi
if wait "$DRILL_PID"; then
  log "every check passed"
else
  log "CHECKS FAILED"
  exit 1
fi
