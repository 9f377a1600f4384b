#!/usr/bin/env bash
# Durability side by side, in one run: Warren (fsync = "always") and a
# private Debian RabbitMQ (when installed, default settings) on loopback, each
# alone on the machine while measured, with the Java client (bench/java).
#   1. confirmed persistent throughput: 1 KiB bodies, delivery_mode 2, one
#      durable queue, no consumer (the queue grows), publisher confirms with
#      256 in flight per publisher, 1 and 8 publishers (one connection each),
#      SECONDS_EACH seconds each; the queue is deleted after each run;
#   2. recovery: RECOVER_COUNT persistent 100-byte messages in a durable
#      queue (one confirmed publisher), a clean stop, then the time from
#      starting the broker process until a passive queue.declare reports them
#      all (connection attempts every 50 ms), and the peak RSS of that run
#      and of the run that published them (a fresh process for that).
#      For scale, the same time for the first start on an empty store.
# Prints a table and writes bench/results/durability-<date>.json.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${WARREN_NODE_BIN:?set WARREN_NODE_BIN to the warren-node binary}"
SECONDS_EACH=${SECONDS_EACH:-10}
RECOVER_COUNT=${RECOVER_COUNT:-1000000}
source "$here/lib.sh"
bench_start

jars=/usr/share/java/amqp-client.jar:/usr/share/java/slf4j-api.jar:/usr/share/java/slf4j-nop.jar
javac -d "$WORK/classes" -cp "$jars" "$here/java/DurabilityBench.java"
bench() { java -cp "$WORK/classes:$jars" DurabilityBench "$@"; }

# Confirms wait for a group-committed fsync (Warren's default, made explicit).
cat >"$WORK/warren.toml" <<'TOML'
[store]
fsync = "always"
TOML

declare -A result
measure() {  # name up-fn down-fn; up-fn [QUEUE COUNT] sets PORT, BROKER_PID, START_SECONDS
  local name=$1 up=$2 down=$3
  $up
  result[$name.start_empty]=$START_SECONDS
  result[$name.pub1]=$(bench publish "$PORT" confirm1 1 "$SECONDS_EACH" 1024)
  result[$name.pub8]=$(bench publish "$PORT" confirm8 8 "$SECONDS_EACH" 1024)
  $down  # a fresh process, so that its peak RSS is that of the 1M messages
  $up
  result[$name.fill]=$(bench fill "$PORT" recover "$RECOVER_COUNT" 100 | awk '{print $2}')
  result[$name.fill_rss_kib]=$(peak_rss "$BROKER_PID" | awk '{print $1}')
  $down
  $up recover "$RECOVER_COUNT"
  result[$name.recover]=$START_SECONDS
  result[$name.recover_rss_kib]=$(peak_rss "$BROKER_PID" | awk '{print $1}')
  $down
}

warren_up() {
  start_warren "$WORK/warren" "$WORK/warren.toml" "$@"
  PORT=$WARREN_PORT; BROKER_PID=$WARREN_PID
}
rabbit_up() { start_rabbit "$@"; PORT=$RABBIT_PORT; BROKER_PID=$BEAM_PID; }
measure warren warren_up stop_warren
if have_rabbit; then
  measure rabbitmq rabbit_up stop_rabbit
  rabbit_version=$(dpkg-query -W -f='${Version}' rabbitmq-server)
else
  echo "rabbitmq-server is not installed: Warren's figures only"
fi

ratio() { /usr/bin/python3 -c "import sys; a,b=map(float,sys.argv[1:]); print('%.2f' % (a/b) if b else '-')" "$@"; }
printf '\n%-46s | %10s | %10s | %15s\n' "durability ($(nproc) cores, $(date -u +%F))" warren rabbitmq \
  "Warren/RabbitMQ"
for row in "pub1:confirmed persistent msgs/s, 1 publisher:higher" \
           "pub8:confirmed persistent msgs/s, 8 publishers:higher" \
           "fill:s to publish $RECOVER_COUNT x 100 B, 1 publisher:lower" \
           "fill_rss_kib:peak RSS holding them, KiB:lower" \
           "start_empty:s from start to serving, empty store:lower" \
           "recover:s from start to $RECOVER_COUNT msgs recovered:lower" \
           "recover_rss_kib:peak RSS of the recovering run, KiB:lower"; do
  IFS=: read -r key label better <<<"$row"
  w=${result[warren.$key]}; r=${result[rabbitmq.$key]:-}
  rat=-; [ -n "$r" ] && rat=$(ratio "$w" "$r")
  printf '%-46s | %10s | %10s | %8s (%s is better)\n' "$label" "$w" "${r:--}" "$rat" "$better"
done

mkdir -p "$here/results"
out="$here/results/durability-$(date -u +%Y%m%dT%H%M%S).json"
commit=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || true)
for k in "${!result[@]}"; do echo "$k ${result[$k]}"; done |
  /usr/bin/python3 -c '
import json, sys
out, rabbit, commit, secs, count, cores = sys.argv[1:]
res = {}
for line in sys.stdin:
    key, value = line.split()
    broker, metric = key.split(".", 1)
    res.setdefault(broker, {})[metric] = float(value)
ratios = {m: round(v / res["rabbitmq"][m], 3) for m, v in res.get("warren", {}).items()
          if res.get("rabbitmq", {}).get(m)}
json.dump({"machine": {"cores": int(cores)}, "warren_commit": commit or None,
           "rabbitmq_version": rabbit or None,
           "setup": {"seconds_each": int(secs), "body_bytes": 1024, "window_per_publisher": 256,
                     "consumer": "none", "warren_fsync": "always", "recover_count": int(count),
                     "recover_body_bytes": 100},
           "results": res, "warren_over_rabbitmq": ratios}, open(out, "w"), indent=2)
' "$out" "${rabbit_version:-}" "$commit" "$SECONDS_EACH" "$RECOVER_COUNT" "$(nproc)"
echo "saved $out"
