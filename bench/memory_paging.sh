#!/usr/bin/env bash
# Queues far larger than memory: a Warren node with memory_limit = LIMIT_MIB
# (paging_ratio 0.5, so queues keep bodies on disk past half of it) takes
# TOTAL_MIB of persistent 4 KiB messages into one durable queue with no
# consumer (one publisher, confirms, 256 in flight), then one consumer drains
# them all, checking their order (sequence number in the body). The node's
# VmRSS is sampled every 0.5 s throughout; the kernel's VmHWM gives the exact
# peak. Prints the peak against the limit, both rates and ok/FAIL (fails when
# the peak passes LIMIT_MIB + MARGIN_MIB, the memory alarm goes off, or the
# drain is short or out of order). Defaults are the full-size run;
# TOTAL_MIB=512 makes a quick one.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${WARREN_NODE_BIN:?set WARREN_NODE_BIN to the warren-node binary}"
LIMIT_MIB=${LIMIT_MIB:-256}
TOTAL_MIB=${TOTAL_MIB:-2048}
MARGIN_MIB=${MARGIN_MIB:-32}
BODY=4096
COUNT=$((TOTAL_MIB * 1024 * 1024 / BODY))
WORK=$(mktemp -d)
source "$here/lib.sh"
sampler=""
cleanup() { [ -n "$sampler" ] && kill "$sampler" 2>/dev/null; stop_warren; rm -rf "$WORK"; }
trap cleanup EXIT

jars=/usr/share/java/amqp-client.jar:/usr/share/java/slf4j-api.jar:/usr/share/java/slf4j-nop.jar
javac -d "$WORK/classes" -cp "$jars" "$here/java/DurabilityBench.java"
bench() { java -cp "$WORK/classes:$jars" DurabilityBench "$@"; }

printf '[store]\nfsync = "always"\n[alarms]\nmemory_limit = "%dMiB"\npaging_ratio = 0.5\n' \
  "$LIMIT_MIB" >"$WORK/warren.toml"
start_warren "$WORK/data" "$WORK/warren.toml"

# rss_max FILE: the largest VmRSS sample (KiB) so far.
( max=0
  while rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$WARREN_PID/status" 2>/dev/null); do
    [ "$rss" -gt "$max" ] && { max=$rss; echo "$max" >"$WORK/rss.max"; }
    sleep 0.5
  done ) &
sampler=$!
rss_max() { cat "$WORK/rss.max" 2>/dev/null || echo 0; }

status=ok
read -r n fill_secs fill_rate < <(bench fill "$WARREN_PORT" paging "$COUNT" "$BODY") \
  || { status="FAIL: the publisher failed"; n=0 fill_secs=0 fill_rate=0; }
fill_sampled=$(rss_max)
fill_hwm=$(peak_rss "$WARREN_PID" | awk '{print $1}')
disk=$(du -sm "$WORK/data" | awk '{print $1}')
drain_secs=0 drain_rate=0
if [ "$status" = ok ]; then
  read -r _ drain_secs drain_rate < <(bench drain "$WARREN_PORT" paging "$COUNT") \
    || status="FAIL: the drain was short or out of order (above)"
fi
hwm=$(peak_rss "$WARREN_PID" | awk '{print $1}')
disk_after=$(du -sm "$WORK/data" | awk '{print $1}')
sampled=$(rss_max)
alarms=$(grep -c "memory alarm set" "$WORK/warren.log" || true)
if [ "$status" = ok ] && [ $((hwm / 1024)) -gt $((LIMIT_MIB + MARGIN_MIB)) ]; then
  status="FAIL: peak RSS over the limit plus $MARGIN_MIB MiB"
elif [ "$status" = ok ] && [ "$alarms" -gt 0 ]; then
  status="FAIL: the memory alarm went off (paging did not keep the node under its limit)"
fi

printf 'paging: %d x %d B = %d MiB into one durable queue, memory_limit %d MiB\n' \
  "$n" "$BODY" "$TOTAL_MIB" "$LIMIT_MIB"
printf '  publish (confirmed, no consumer): %.1f s, %s msgs/s; data dir %s MiB\n' \
  "$fill_secs" "$fill_rate" "$disk"
printf '  drain (one consumer, in order):   %.1f s, %s msgs/s; data dir then %s MiB\n' \
  "$drain_secs" "$drain_rate" "$disk_after"
printf '  peak RSS while publishing: %d MiB sampled, %d MiB VmHWM\n' \
  $((fill_sampled / 1024)) $((fill_hwm / 1024))
printf '  peak RSS overall:          %d MiB sampled, %d MiB VmHWM (limit %d MiB)\n' \
  $((sampled / 1024)) $((hwm / 1024)) "$LIMIT_MIB"
printf '  memory alarms raised: %s\n  %s\n' "$alarms" "$status"
[ "$status" = ok ]
