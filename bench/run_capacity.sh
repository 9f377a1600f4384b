#!/usr/bin/env bash
# Side-by-side capacity runs: Warren and, when Debian's rabbitmq-server is
# installed, a private RabbitMQ instance, both on free loopback ports, in one
# run so the numbers are comparable. Prints time and peak broker memory.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${WARREN_NODE_BIN:?set WARREN_NODE_BIN to the warren-node binary}"
CONNECTIONS=${CONNECTIONS:-10000}
CHANNELS=${CHANNELS:-2000}
source "$here/lib.sh"
bench_start

measure() {  # name pid port
  local name=$1 pid=$2 port=$3 t0 t1 c1 c2
  t0=$(date +%s.%N)
  c1=$(/usr/bin/python3 "$here/capacity.py" connections --count "$CONNECTIONS" --port "$port" || true)
  t1=$(date +%s.%N)
  c2=$(/usr/bin/python3 "$here/capacity.py" channels --count "$CHANNELS" --port "$port" || true)
  printf '%-10s | %s\n%-10s | %s\n%-10s | wall %.2fs for the connection run; peak RSS %s\n' \
    "$name" "$c1" "$name" "$c2" "$name" "$(echo "$t1 - $t0" | bc)" "$(peak_rss "$pid")"
}

start_warren "$WORK/warren"
measure warren "$WARREN_PID" "$WARREN_PORT"
stop_warren

if have_rabbit; then
  start_rabbit || { echo "rabbitmq      | did not start"; exit 1; }
  measure rabbitmq "$BEAM_PID" "$RABBIT_PORT"
else
  echo "rabbitmq      | skipped: Debian's rabbitmq-server is not installed"
fi
