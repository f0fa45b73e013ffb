#!/usr/bin/env bash
# Scaling mode of scripts/bench.sh (sourced by it for `--cores LIST`; not run on its own).
#
# For each N in LIST and each backend: the server runs with N workers, pinned with taskset to cores
# 0..N-1; the load generator is pinned to the remaining cores (or shares them when none remain, as
# on a 2-core machine at N=2, which the table says); concurrency is 16·N. In the same run, `openssl
# speed -multi N rsa2048` measures the RSA-2048 sign rate on the same N cores. Printed per N:
# tokens/s ÷ sign/s, and the server's CPU time per token ÷ the CPU time of one signature.
# Goals (DESIGN/issue): tokens/sign >= 0.75 at N = 1 and 2 (0.7 up to 12 where there are cores),
# CPU per token <= 1.25 signatures, and throughput never falling as cores are added.

TARGET_TOKENS_PER_SIGN_SMALL=0.75  # N <= 2
TARGET_TOKENS_PER_SIGN_LARGE=0.70  # N > 2
TARGET_CPU_PER_SIGN=1.25

cpu_ticks() { # $1 pid -> utime + stime in clock ticks
  awk '{ print $14 + $15 }' "/proc/$1/stat"
}

sign_rate_on() { # $1 cores -> RSA-2048 sign/s on cores 0..N-1
  local n="$1" out="$WORK/openssl-cores-$1.out" v
  taskset -c "0-$((n - 1))" openssl speed -seconds "$OPENSSL_SECONDS" -multi "$n" rsa2048 >"$out" 2>&1 \
    || die "openssl speed on $n cores failed: $(tail -5 "$out")"
  v=$(awk '$1 == "rsa" && $2 == "2048" && $3 == "bits" { v = $(NF-1) } END { print v }' "$out")
  [[ -n "$v" ]] || die "could not read the sign/s figure from openssl speed on $n cores"
  echo "$v"
}

run_cores() { # $1 comma- or space-separated core counts
  local list total ticks_per_sec
  list=$(tr ',' ' ' <<<"$1")
  total=$(nproc)
  ticks_per_sec=$(getconf CLK_TCK)
  command -v taskset >/dev/null || die "taskset (util-linux) is required for --cores"
  for n in $list; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "--cores: '$n' is not a core count"
    (( n <= total )) || die "--cores: $n cores asked, this machine has $total"
  done
  local rows="$WORK/cores.tsv"
  : >"$rows"
  for backend in $BACKENDS; do
    for n in $list; do
      local db_url
      fresh_database "$backend" "cores$n"
      db_url="$DB_URL"
      local sign shared="no" conc=$((16 * n))
      sign=$(sign_rate_on "$n")
      export LATCHKEY__SERVER__WORKERS="$n"
      SERVER_PREFIX="taskset -c 0-$((n - 1))"
      if (( n < total )); then
        LOAD_PREFIX="taskset -c $n-$((total - 1))"
        LOAD_THREADS=$((total - n))
      else
        LOAD_PREFIX=""
        LOAD_THREADS=$total
        shared="yes"
      fi
      start_server "$backend" "$db_url"
      register_clients "$backend"
      [[ -n "${CLIENT_IDS[RS256]:-}" ]] || die "--cores measures RS256 tokens: keep RS256 in BENCH_ALGS"
      CLIENT_ID=${CLIENT_IDS[RS256]} CLIENT_SECRET=${CLIENT_SECRETS[RS256]}
      local url="$BASE/token"
      run_load "$backend-cores$n-warmup" "$url" "$conc" "$WARMUP" POST "$TOKEN_BODY" >/dev/null
      local t0 t1 rps p50 p99 errs details
      t0=$(cpu_ticks "$SERVER_PID")
      read -r rps p50 p99 errs details < <(run_load "$backend-cores$n" "$url" "$conc" "$DURATION" POST "$TOKEN_BODY")
      t1=$(cpu_ticks "$SERVER_PID")
      server_alive || die "$backend: server died at $n cores"
      stop_server
      unset LATCHKEY__SERVER__WORKERS
      SERVER_PREFIX="" LOAD_PREFIX="" LOAD_THREADS=""
      if [[ "$backend" == postgres ]]; then drop_pg_db; fi
      local secs ratio cpu_ratio
      secs=$(to_seconds "$DURATION")
      ratio=$(awk -v t="$rps" -v s="$sign" 'BEGIN{ printf "%.2f", t / s }')
      # Server CPU seconds per token, over the CPU seconds one signature takes on these cores.
      cpu_ratio=$(awk -v d="$((t1 - t0))" -v hz="$ticks_per_sec" -v r="$rps" -v secs="$secs" \
        -v s="$sign" -v n="$n" 'BEGIN{ tok = r * secs; if (tok == 0) { print "inf"; exit }
          printf "%.2f", ((d / hz) / tok) / (n / s) }')
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$backend" "$n" "$sign" "$rps" "$ratio" "$cpu_ratio" "$p99" "$errs" "$shared" >>"$rows"
      log "$backend cores=$n: $rps tokens/s, $sign sign/s, tokens/sign $ratio, CPU/token÷sign $cpu_ratio, errors $errs"
    done
  done

  echo
  echo "## Latchkey scaling benchmark (--cores $1)"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M:%S UTC'), $total CPUs, git $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'), tool $TOOL, ${DURATION} per run after ${WARMUP} warm-up, c = 16·N, openssl speed -multi N on the same N cores"
  echo
  echo "| backend | server cores | RSA-2048 sign/s | tokens/s | tokens / sign | CPU per token ÷ sign | p99 ms | errors | load shares cores |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---|"
  local fail=0 prev_backend="" prev_rps=0
  while IFS=$'\t' read -r b n sign rps ratio cpu p99 errs shared; do
    echo "| $b | $n | $sign | $rps | $ratio | $cpu | $p99 | $errs | $shared |"
  done <"$rows"
  echo
  while IFS=$'\t' read -r b n sign rps ratio cpu p99 errs shared; do
    local goal=$TARGET_TOKENS_PER_SIGN_LARGE
    (( n <= 2 )) && goal=$TARGET_TOKENS_PER_SIGN_SMALL
    local ok
    ok=$(awk -v r="$ratio" -v g="$goal" 'BEGIN{ print (r >= g) ? 1 : 0 }')
    echo "- $b N=$n: tokens/sign $ratio (goal >= $goal): $(pf "$ok")"
    [[ "$ok" == 1 ]] || fail=1
    ok=$(awk -v c="$cpu" -v g="$TARGET_CPU_PER_SIGN" 'BEGIN{ print (c != "inf" && c <= g) ? 1 : 0 }')
    echo "  CPU per token $cpu × one signature (goal <= $TARGET_CPU_PER_SIGN): $(pf "$ok")"
    [[ "$ok" == 1 ]] || fail=1
    [[ "$errs" == 0 ]] || { echo "  errors: $errs: FAIL"; fail=1; }
    if [[ "$b" == "$prev_backend" ]]; then
      ok=$(awk -v r="$rps" -v p="$prev_rps" 'BEGIN{ print (r >= p * 0.98) ? 1 : 0 }')
      echo "  throughput does not fall as cores are added ($prev_rps → $rps): $(pf "$ok")"
      [[ "$ok" == 1 ]] || fail=1
    fi
    prev_backend="$b" prev_rps="$rps"
  done <"$rows"
  echo
  echo "Total time: $(( $(date +%s) - START_TS )) s"
  return "$fail"
}
