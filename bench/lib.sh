# Shared by the bench scripts: free ports, and starting/stopping a Warren
# node and a private Debian RabbitMQ on loopback. Source it, then call
# bench_start (or set WORK yourself).
# Every start goes through start_until.py, which times it from the moment
# the process starts until it serves (or until a queue holds COUNT messages).

here=${here:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}

# queue_definitions COUNT FILE: a definitions file of COUNT durable queues
# q-00000... on "/", readable by the rabbitmq user.
queue_definitions() {
  /usr/bin/python3 - "$1" >"$2" <<'PY'
import json, sys
n = int(sys.argv[1])
print(json.dumps({"queues": [{"name": "q-%05d" % i, "vhost": "/", "durable": True,
                              "auto_delete": False, "arguments": {}} for i in range(n)]}))
PY
  chmod 644 "$2"
}

# bench_start: the open-file limit raised to the hard limit (a descriptor per
# client), a scratch folder WORK the rabbitmq user can read, and a trap that
# stops both brokers and removes WORK when the script exits.
bench_start() {
  ulimit -n "$(ulimit -Hn)"
  WORK=$(mktemp -d)
  chmod 755 "$WORK"  # rabbitmq-server runs as the rabbitmq user
  trap 'stop_warren; stop_rabbit; rm -rf "$WORK"' EXIT
}

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_warren DATA_DIR [CONFIG [QUEUE COUNT]]: sets WARREN_PID, WARREN_PORT,
# WARREN_GRPC_PORT and START_SECONDS (until it serves, or until QUEUE holds
# COUNT messages). WARREN_EXTRA_ARGS (an array) adds to its command line,
# e.g. --amqps-listen with its certificate.
WARREN_EXTRA_ARGS=()
start_warren() {
  local data=$1 config=${2:-} wait=() args=("${WARREN_EXTRA_ARGS[@]}") out
  [ -n "$config" ] && args+=(--config "$config")
  [ -n "${3:-}" ] && wait=(--queue "$3" --count "$4")
  WARREN_PORT=$(free_port); WARREN_GRPC_PORT=$(free_port)
  out=$(/usr/bin/python3 "$here/start_until.py" --port "$WARREN_PORT" "${wait[@]}" \
          --log "$WORK/warren.log" -- "$WARREN_NODE_BIN" --amqp-listen "127.0.0.1:$WARREN_PORT" \
          --grpc-listen "127.0.0.1:$WARREN_GRPC_PORT" --data-dir "$data" "${args[@]}") \
    || { tail -20 "$WORK/warren.log"; return 1; }
  read -r WARREN_PID START_SECONDS <<<"$out"
}

stop_warren() {
  [ -n "${WARREN_PID:-}" ] || return 0
  kill "$WARREN_PID" 2>/dev/null || true
  for _ in $(seq 400); do alive "$WARREN_PID" || break; sleep 0.05; done
  alive "$WARREN_PID" && { echo "warren-node ignored SIGTERM for 20 s; SIGKILL" >&2; kill -9 "$WARREN_PID"; }
  WARREN_PID=""
}

# alive PID: the process exists and is not a zombie.
alive() { local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1; [ "$(awk '{print $3}' <<<"$s")" != Z ]; }

# RabbitMQ's default AMQP listener options plus reuseaddr: its port comes
# from the ephemeral range, and a client socket of an earlier run still in
# TIME_WAIT on that number would otherwise stop a restart (eaddrinuse).
RABBIT_LISTEN_OPTIONS="-rabbit tcp_listen_options [{backlog,128},{nodelay,true},{linger,{true,0}},{exit_on_close,false},{reuseaddr,true}]"

# rabbit_env CMD ARGS...: CMD with the private node's environment.
rabbit_env() { env "${RABBIT_VARS[@]}" "$@"; }
RABBIT_EXTRA_VARS=()

# start_rabbit [QUEUE COUNT]: a private instance under $WORK/rmq (kept across
# restarts) with its own ports and epmd; sets RABBIT_PORT, RABBIT_NODE,
# BEAM_PID and START_SECONDS. RABBIT_EXTRA_VARS (an array of NAME=VALUE)
# adds to its environment, e.g. RABBITMQ_CONFIG_FILE. setpriv, unlike the
# packaged wrapper's su, keeps our raised open-file limit.
start_rabbit() {
  local wait=() out
  if [ -z "${RABBIT_NODE:-}" ]; then
    RABBIT_PORT=$(free_port); RABBIT_DIST_PORT=$(free_port); RABBIT_EPMD_PORT=$(free_port)
    RABBIT_NODE="bench-$RABBIT_PORT@localhost"
    RABBIT_VARS=(HOME=/var/lib/rabbitmq RABBITMQ_NODENAME="$RABBIT_NODE"
      RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$RABBIT_PORT"
      RABBITMQ_DIST_PORT="$RABBIT_DIST_PORT" RABBITMQ_MNESIA_BASE="$WORK/rmq/mnesia"
      RABBITMQ_LOG_BASE="$WORK/rmq/log" RABBITMQ_ENABLED_PLUGINS_FILE="$WORK/rmq/plugins"
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1} $RABBIT_LISTEN_OPTIONS"
      ERL_EPMD_ADDRESS=127.0.0.1 ERL_EPMD_PORT="$RABBIT_EPMD_PORT" "${RABBIT_EXTRA_VARS[@]}")
    mkdir -p "$WORK/rmq/mnesia" "$WORK/rmq/log"; touch "$WORK/rmq/plugins"
    chown -R rabbitmq:rabbitmq "$WORK/rmq"
  fi
  [ -n "${1:-}" ] && wait=(--queue "$1" --count "$2")
  out=$(/usr/bin/python3 "$here/start_until.py" --port "$RABBIT_PORT" "${wait[@]}" \
          --log "$WORK/rmq/console.log" -- \
          env "${RABBIT_VARS[@]}" setsid setpriv --reuid rabbitmq --regid rabbitmq --init-groups \
          /usr/lib/rabbitmq/bin/rabbitmq-server) \
    || { tail -20 "$WORK/rmq/console.log"; return 1; }
  read -r _ START_SECONDS <<<"$out"
  BEAM_PID=""
  for p in $(pgrep beam.smp); do
    if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "RABBITMQ_NODENAME=$RABBIT_NODE"; then
      BEAM_PID=$p
    fi
  done
  [ -n "$BEAM_PID" ]
}

# Stops the node and waits for its VM to exit; its epmd goes too.
stop_rabbit() {
  [ -n "${RABBIT_NODE:-}" ] || return 0
  rabbit_env rabbitmqctl -n "$RABBIT_NODE" stop >/dev/null 2>&1 || true
  if [ -n "${BEAM_PID:-}" ]; then
    for _ in $(seq 600); do alive "$BEAM_PID" || break; sleep 0.05; done
    alive "$BEAM_PID" && { echo "rabbitmq did not stop in 30 s; SIGKILL" >&2; kill -9 "$BEAM_PID"; }
  fi
  rabbit_env epmd -port "$RABBIT_EPMD_PORT" -kill >/dev/null 2>&1 || true
  BEAM_PID=""
}

have_rabbit() { [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]; }

# bench_pki DIR: a CA and a server certificate for localhost and 127.0.0.1
# made now with openssl (tests/tls/certs.py), readable by the rabbitmq user;
# sets TLS_CA, TLS_CERT and TLS_KEY.
bench_pki() {
  local out
  out=$(/usr/bin/python3 - "$here/../tests/tls" "$1" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import certs
pki = certs.Pki(sys.argv[2], name="Warren Bench CA")
server = pki.issue("localhost")
print(pki.ca, server.cert, server.key)
PY
  ) || return 1
  read -r TLS_CA TLS_CERT TLS_KEY <<<"$out"
  chmod 755 "$1"; chmod 644 "$TLS_CA" "$TLS_CERT" "$TLS_KEY"
}

# wait_port PORT [SECONDS]: until a TCP connect to 127.0.0.1:PORT succeeds
# (a broker's second listener may open just after the first), 30 s at most.
wait_port() {
  local deadline=$((SECONDS + ${2:-30}))
  until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.05
  done
}

peak_rss() { grep VmHWM "/proc/$1/status" | awk '{print $2" "$3}'; }
