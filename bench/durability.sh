#!/usr/bin/env bash
# Durability side by side, in one run: Warren and a private Debian RabbitMQ
# (when installed) on loopback, each alone on the machine while measured.
#   1. confirmed persistent throughput: 1 KiB bodies, one durable queue, no
#      consumer, publisher confirms with 256 in flight per publisher, with
#      1 and 8 publishers (one connection each), SECONDS each;
#   2. recovery: RECOVER_COUNT persistent 100-byte messages in a durable
#      queue, a clean stop, then the time from starting the broker until a
#      passive queue.declare reports them all.
# Prints a table and writes bench/results/durability-<date>.json.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${WARREN_NODE_BIN:?set WARREN_NODE_BIN to the warren-node binary}"
SECONDS_EACH=${SECONDS_EACH:-10}
RECOVER_COUNT=${RECOVER_COUNT:-1000000}
ulimit -n "$(ulimit -Hn)"
WORK=$(mktemp -d)
chmod 755 "$WORK"  # rabbitmq-server runs as the rabbitmq user
source "$here/lib.sh"
cleanup() { stop_warren; stop_rabbit; rm -rf "$WORK"; }
trap cleanup EXIT

jars=/usr/share/java/amqp-client.jar:/usr/share/java/slf4j-api.jar:/usr/share/java/slf4j-nop.jar
javac -d "$WORK/classes" -cp "$jars" "$here/java/DurabilityBench.java"
bench() { java -cp "$WORK/classes:$jars" DurabilityBench "$@"; }

# Seconds from now until a passive declare of QUEUE on PORT reports COUNT.
await_count() {  # port queue count t0
  /usr/bin/python3 - "$@" <<'PY'
import sys, time, pika
port, queue, count, t0 = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
deadline = time.time() + 600
while time.time() < deadline:
    try:
        c = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", port, connection_attempts=1))
        n = c.channel().queue_declare(queue, durable=True, passive=True).method.message_count
        c.close()
        if n == count:
            print("%.2f" % (time.time() - t0))
            sys.exit(0)
    except Exception:
        pass
    time.sleep(0.05)
sys.exit("queue %s never reached %d messages" % (queue, count))
PY
}

declare -A result
measure() {  # name up-fn down-fn; up-fn sets PORT once the broker serves
  local name=$1 up=$2 down=$3 t0 secs
  $up
  result[$name.pub1]=$(bench publish "$PORT" confirm1 1 "$SECONDS_EACH" 1024)
  result[$name.pub8]=$(bench publish "$PORT" confirm8 8 "$SECONDS_EACH" 1024)
  read -r _ secs _ < <(bench fill "$PORT" recover "$RECOVER_COUNT" 100)
  result[$name.fill]=$secs
  $down
  t0=$(date +%s.%N)
  $up
  result[$name.recover]=$(await_count "$PORT" recover "$RECOVER_COUNT" "$t0")
  result[$name.recover_rss_kib]=$(peak_rss "$BROKER_PID" | awk '{print $1}')
  $down
}

warren_up() { start_warren "$WORK/warren"; PORT=$WARREN_PORT; BROKER_PID=$WARREN_PID; }
rabbit_up() { start_rabbit; PORT=$RABBIT_PORT; BROKER_PID=$BEAM_PID; }
measure warren warren_up stop_warren
if have_rabbit; then
  measure rabbitmq rabbit_up stop_rabbit
  rabbit_version=$(dpkg-query -W -f='${Version}' rabbitmq-server)
else
  echo "rabbitmq-server is not installed: Warren's figures only"
fi

ratio() { /usr/bin/python3 -c "import sys; a,b=map(float,sys.argv[1:]); print('%.1fx' % (a/b) if b else '-')" "$@"; }
printf '\n%-44s | %12s | %12s | %s\n' "durability ($(nproc) cores, $(date -u +%F))" warren rabbitmq "ratio"
for row in "pub1:confirmed persistent msgs/s, 1 publisher:hi" \
           "pub8:confirmed persistent msgs/s, 8 publishers:hi" \
           "recover:seconds to recover $RECOVER_COUNT messages:lo" \
           "recover_rss_kib:peak RSS while recovering, KiB:lo"; do
  IFS=: read -r key label better <<<"$row"
  w=${result[warren.$key]}; r=${result[rabbitmq.$key]:-}
  if [ -z "$r" ]; then rat="-"
  elif [ "$better" = hi ]; then rat="$(ratio "$w" "$r") (Warren/RabbitMQ)"
  else rat="$(ratio "$r" "$w") less (RabbitMQ/Warren)"; fi
  printf '%-44s | %12s | %12s | %s\n' "$label" "$w" "${r:--}" "$rat"
done

mkdir -p "$here/results"
out="$here/results/durability-$(date -u +%Y%m%dT%H%M%S).json"
/usr/bin/python3 - "$out" "${rabbit_version:-}" <<PY
import json, sys
r = {k: v for k, v in [$(for k in "${!result[@]}"; do printf '("%s", "%s"),' "$k" "${result[$k]}"; done)]}
json.dump({"machine": {"cores": $(nproc)}, "rabbitmq_version": sys.argv[2] or None,
           "seconds_each": $SECONDS_EACH, "recover_count": $RECOVER_COUNT,
           "results": {k: float(v) for k, v in r.items()}}, open(sys.argv[1], "w"), indent=2)
PY
echo "saved $out"
