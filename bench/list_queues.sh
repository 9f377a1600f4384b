#!/usr/bin/env bash
# Listing many queues, side by side in one run: COUNT (10,000) durable queues
# are imported as a definitions file into Warren and, when Debian's
# rabbitmq-server is installed, into a private RabbitMQ; then
# `warrenctl list_queues name messages` and `rabbitmqctl list_queues name
# messages` each run RUNS times (wall time of the whole command, process
# start included). Prints the fastest and the median of each, and the ratio.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${WARREN_NODE_BIN:?set WARREN_NODE_BIN to the warren-node binary}"
: "${WARREN_CTL_BIN:?set WARREN_CTL_BIN to the warrenctl binary}"
COUNT=${COUNT:-10000}
RUNS=${RUNS:-5}
WORK=$(mktemp -d)
chmod 755 "$WORK"  # rabbitmq-server runs as the rabbitmq user
source "$here/lib.sh"
cleanup() { stop_warren; stop_rabbit; rm -rf "$WORK"; }
trap cleanup EXIT

queue_definitions "$COUNT" "$WORK/defs.json"

# time_runs OUT CMD...: runs CMD RUNS times; checks it lists COUNT queues;
# prints "fastest median" in seconds.
time_runs() {
  local out=$1; shift
  local times=()
  for _ in $(seq "$RUNS"); do
    local t0 t1 lines
    t0=$(date +%s.%N)
    "$@" >"$out"
    t1=$(date +%s.%N)
    lines=$(grep -c '^q-' "$out" || true)
    [ "$lines" -eq "$COUNT" ] || { echo "listed $lines queues, not $COUNT" >&2; return 1; }
    times+=("$(echo "$t1 - $t0" | bc)")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.3f %.3f\n", a[1], a[int((NR+1)/2)]}'
}

start_warren "$WORK/warren"
ctl() { "$WARREN_CTL_BIN" -n "127.0.0.1:$WARREN_GRPC_PORT" "$@"; }
ctl import_definitions "$WORK/defs.json" >/dev/null
read -r w_fast w_median < <(time_runs "$WORK/warren.out" ctl -q list_queues name messages)
stop_warren

r_fast=- r_median=-
if have_rabbit; then
  start_rabbit
  rabbit_env rabbitmqctl -n "$RABBIT_NODE" import_definitions "$WORK/defs.json" >/dev/null
  read -r r_fast r_median < <(time_runs "$WORK/rabbit.out" \
    rabbit_env rabbitmqctl -n "$RABBIT_NODE" -q list_queues name messages)
  stop_rabbit
else
  echo "rabbitmq-server is not installed: Warren's figures only"
fi

ratio() { [ "$2" = - ] && echo - || printf "%.3f" "$(echo "scale=4; $1 / $2" | bc)"; }
printf '\nlist_queues, %d queues (%d cores, %s) | %8s | %8s | Warren/RabbitMQ\n' \
  "$COUNT" "$(nproc)" "$(date -u +%F)" warren rabbitmq
printf '%-40s | %8s | %8s | %s\n' "fastest of $RUNS runs, s" "$w_fast" "$r_fast" \
  "$(ratio "$w_fast" "$r_fast")"
printf '%-40s | %8s | %8s | %s\n' "median of $RUNS runs, s" "$w_median" "$r_median" \
  "$(ratio "$w_median" "$r_median")"
