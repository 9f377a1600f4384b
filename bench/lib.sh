# Shared by the bench scripts: free ports, and starting/stopping a Warren
# node and a private Debian RabbitMQ on loopback. Source it; set WORK first.

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_warren DATA_DIR [CONFIG]: sets WARREN_PID and WARREN_PORT.
start_warren() {
  local data=$1 config=${2:-} log="$WORK/warren-$RANDOM.log" args=()
  [ -n "$config" ] && args=(--config "$config")
  "$WARREN_NODE_BIN" --amqp-listen 127.0.0.1:0 --grpc-listen 127.0.0.1:0 --data-dir "$data" \
    "${args[@]}" 2>"$log" &
  WARREN_PID=$!
  WARREN_PORT=""
  for _ in $(seq 600); do
    WARREN_PORT=$(grep -oP 'amqp listening on [0-9.]+:\K\d+' "$log" || true)
    [ -n "$WARREN_PORT" ] && return 0
    kill -0 "$WARREN_PID" 2>/dev/null || { cat "$log"; return 1; }
    sleep 0.05
  done
  echo "warren-node did not start"; cat "$log"; return 1
}

stop_warren() { kill "$WARREN_PID" 2>/dev/null && wait "$WARREN_PID" 2>/dev/null || true; }

rabbit_env() {
  env HOME=/var/lib/rabbitmq RABBITMQ_NODENAME="$RABBIT_NODE" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_NODE_PORT="$RABBIT_PORT" RABBITMQ_DIST_PORT="$RABBIT_DIST_PORT" \
    RABBITMQ_MNESIA_BASE="$WORK/rmq/mnesia" RABBITMQ_LOG_BASE="$WORK/rmq/log" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$WORK/rmq/plugins" "$@"
}

# start_rabbit: a private instance under $WORK/rmq (kept across restarts);
# sets RABBIT_PORT, RABBIT_NODE and BEAM_PID. setpriv, unlike the packaged
# wrapper's su, keeps our raised open-file limit.
start_rabbit() {
  if [ -z "${RABBIT_NODE:-}" ]; then
    RABBIT_PORT=$(free_port); RABBIT_DIST_PORT=$(free_port)
    RABBIT_NODE="bench-$RABBIT_PORT@localhost"
    mkdir -p "$WORK/rmq/mnesia" "$WORK/rmq/log"; touch "$WORK/rmq/plugins"
    chown -R rabbitmq:rabbitmq "$WORK/rmq"
  fi
  rabbit_env setsid setpriv --reuid rabbitmq --regid rabbitmq --init-groups \
    /usr/lib/rabbitmq/bin/rabbitmq-server >/dev/null 2>&1 &
  # await_startup fails at once until the node has registered; retry, bounded.
  for _ in $(seq 120); do
    rabbit_env rabbitmqctl -n "$RABBIT_NODE" await_startup >/dev/null 2>&1 && break
    sleep 0.5
  done
  BEAM_PID=""
  for p in $(pgrep beam.smp); do
    if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "RABBITMQ_NODENAME=$RABBIT_NODE"; then
      BEAM_PID=$p
    fi
  done
  [ -n "$BEAM_PID" ]
}

stop_rabbit() {
  [ -n "${RABBIT_NODE:-}" ] || return 0
  rabbit_env rabbitmqctl -n "$RABBIT_NODE" stop >/dev/null 2>&1 || true
}

have_rabbit() { [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]; }

peak_rss() { grep VmHWM "/proc/$1/status" | awk '{print $2" "$3}'; }
