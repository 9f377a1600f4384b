#!/usr/bin/env bash
# Queues far larger than memory: a node with memory_limit = LIMIT takes TOTAL
# of persistent 4 KiB messages into one durable queue with no consumer
# (publisher confirms, 256 in flight), then one consumer drains them all,
# checking their order. Prints the node's peak RSS against the limit and both
# rates. Defaults are the issue's full size; e.g. TOTAL_MIB=512 for a quick run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${WARREN_NODE_BIN:?set WARREN_NODE_BIN to the warren-node binary}"
LIMIT_MIB=${LIMIT_MIB:-256}
TOTAL_MIB=${TOTAL_MIB:-2048}
BODY=4096
COUNT=$((TOTAL_MIB * 1024 * 1024 / BODY))
WORK=$(mktemp -d)
source "$here/lib.sh"
cleanup() { stop_warren; rm -rf "$WORK"; }
trap cleanup EXIT

jars=/usr/share/java/amqp-client.jar:/usr/share/java/slf4j-api.jar:/usr/share/java/slf4j-nop.jar
javac -d "$WORK/classes" -cp "$jars" "$here/java/DurabilityBench.java"
bench() { java -cp "$WORK/classes:$jars" DurabilityBench "$@"; }

printf '[alarms]\nmemory_limit = "%dMiB"\n' "$LIMIT_MIB" >"$WORK/warren.toml"
start_warren "$WORK/data" "$WORK/warren.toml"
read -r n fill_secs fill_rate < <(bench fill "$WARREN_PORT" paging "$COUNT" "$BODY")
fill_peak=$(peak_rss "$WARREN_PID" | awk '{print $1}')
disk=$(du -sm "$WORK/data" | awk '{print $1}')
read -r _ drain_secs drain_rate < <(bench drain "$WARREN_PORT" paging "$COUNT")
peak=$(peak_rss "$WARREN_PID" | awk '{print $1}')
blocked=$(grep -c "memory alarm set" "$WORK"/warren-*.log || true)
printf 'paging: %d x %d B = %d MiB into one durable queue, memory_limit %d MiB\n' \
  "$n" "$BODY" "$TOTAL_MIB" "$LIMIT_MIB"
printf '  publish (confirmed): %.1f s, %s msgs/s; log on disk %s MiB\n' "$fill_secs" "$fill_rate" "$disk"
printf '  drain (in order):    %.1f s, %s msgs/s\n' "$drain_secs" "$drain_rate"
printf '  peak RSS: %d MiB after filling, %d MiB overall (limit %d MiB); memory alarms: %s\n' \
  $((fill_peak / 1024)) $((peak / 1024)) "$LIMIT_MIB" "$blocked"
[ $((peak / 1024)) -le $((LIMIT_MIB + 32)) ] && echo "  ok: under the limit plus 32 MiB" \
  || { echo "  FAIL: over the limit plus 32 MiB"; exit 1; }
