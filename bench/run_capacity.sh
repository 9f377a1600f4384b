#!/usr/bin/env bash
# Side-by-side capacity runs: Warren and, when Debian's rabbitmq-server is
# installed, a private RabbitMQ instance, both on free loopback ports, in one
# run so the numbers are comparable. Prints time and peak broker memory.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${WARREN_NODE_BIN:?set WARREN_NODE_BIN to the warren-node binary}"
CONNECTIONS=${CONNECTIONS:-10000}
CHANNELS=${CHANNELS:-2000}
ulimit -n "$(ulimit -Hn)"
work=$(mktemp -d)
chmod 755 "$work"  # rabbitmq-server runs as the rabbitmq user
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "${rabbit_node:-}" ]; then
    HOME=/var/lib/rabbitmq rabbitmqctl -n "$rabbit_node" stop >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

measure() {  # name pid port
  local name=$1 pid=$2 port=$3 t0 t1 c1 c2
  t0=$(date +%s.%N)
  c1=$(/usr/bin/python3 "$here/capacity.py" connections --count "$CONNECTIONS" --port "$port" || true)
  t1=$(date +%s.%N)
  c2=$(/usr/bin/python3 "$here/capacity.py" channels --count "$CHANNELS" --port "$port" || true)
  printf '%-10s | %s\n%-10s | %s\n%-10s | wall %.2fs for the connection run; peak RSS %s\n' \
    "$name" "$c1" "$name" "$c2" "$name" "$(echo "$t1 - $t0" | bc)" \
    "$(grep VmHWM "/proc/$pid/status" | awk '{print $2" "$3}')"
}

"$WARREN_NODE_BIN" --amqp-listen 127.0.0.1:0 --grpc-listen 127.0.0.1:0 --data-dir "$work/warren" \
  2>"$work/warren.log" &
pids+=($!)
warren_pid=$!
for _ in $(seq 100); do
  port=$(grep -oP 'amqp listening on [0-9.]+:\K\d+' "$work/warren.log" || true)
  [ -n "$port" ] && break
  kill -0 "$warren_pid" || { cat "$work/warren.log"; exit 1; }
  sleep 0.1
done
measure warren "$warren_pid" "$port"

if command -v rabbitmq-server >/dev/null; then
  rport=$(free_port); dport=$(free_port)
  rabbit_node="bench-$rport@localhost"
  mkdir -p "$work/rmq/mnesia" "$work/rmq/log"; touch "$work/rmq/plugins"
  chown -R rabbitmq:rabbitmq "$work/rmq"
  HOME=/var/lib/rabbitmq RABBITMQ_NODENAME=$rabbit_node RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_NODE_PORT=$rport RABBITMQ_DIST_PORT=$dport RABBITMQ_MNESIA_BASE=$work/rmq/mnesia \
    RABBITMQ_LOG_BASE=$work/rmq/log RABBITMQ_ENABLED_PLUGINS_FILE=$work/rmq/plugins \
    setsid setpriv --reuid rabbitmq --regid rabbitmq --init-groups \
    /usr/lib/rabbitmq/bin/rabbitmq-server >/dev/null 2>&1 &
  # setpriv, unlike the packaged wrapper's su, keeps our raised open-file
  # limit, so RabbitMQ can hold as many connections as Warren.
  # await_startup fails at once until the node has registered; retry, bounded.
  for _ in $(seq 60); do
    HOME=/var/lib/rabbitmq rabbitmqctl -n "$rabbit_node" await_startup >/dev/null 2>&1 && break
    sleep 2
  done
  beam=""
  for p in $(pgrep beam.smp); do
    if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "RABBITMQ_NODENAME=$rabbit_node"; then
      beam=$p
    fi
  done
  [ -n "$beam" ] || { echo "rabbitmq      | did not start"; exit 1; }
  measure rabbitmq "$beam" "$rport"
else
  echo "rabbitmq      | skipped: Debian's rabbitmq-server is not installed"
fi
