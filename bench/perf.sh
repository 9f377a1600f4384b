#!/usr/bin/env bash
# The performance matrix: the same warren-perf scenarios against a Warren node
# and a private Debian RabbitMQ on loopback (lib.sh), one table with both
# figures and their ratio, saved as bench/results/perf-<date>.json.
#   1. 1 producer / 1 consumer, 16 B, transient, auto-ack
#   2. 1 / 1, 1 KiB, confirms (window 100), manual ack, prefetch 100
#   3. 4 / 4, 1 KiB, persistent, one durable queue, confirms, prefetch 100
#   4. fanout from 1 producer to 10 queues with a consumer each (consumed rate)
#   5. topic exchange with 10,000 bindings, 1 / 1, 16 B
#   6. 1,000 queues, a consumer each, 1,000 msg/s in all: latency percentiles
#   7. memory: RSS growth per queued 1 KiB message, MEMORY_COUNT (1,000,000)
#      confirmed into one queue with no consumer, and the time it took
#   8. connection churn: 4 producers, each opening a connection, a channel,
#      confirm.select, 1 message, close, in a loop: connections per second
#   9. scenario 2 over AMQPS (TLS): the Warren/RabbitMQ ratio here divided by
#      scenario 2's is the cost of TLS to Warren relative to RabbitMQ
#  10. scenario 8 over AMQPS: full TLS handshakes (no resumption) + AMQP
#      handshake + close per second, the handshake rate
# For 9 and 10 each broker also listens for AMQPS on a fresh port, with a
# CA and certificate made by this run (lib.sh bench_pki); warren-perf
# verifies the certificate for 127.0.0.1.
# Timed scenarios run SECONDS_EACH (10) s. Every run gets a freshly started
# broker with an empty store, and runs alone: Warren is stopped before
# RabbitMQ starts and the other way round; the brokers alternate per
# scenario, so background load drifting over the run hits both alike. For
# each run: the broker's CPU seconds (utime+stime of warren-node / beam.smp)
# per million consumed messages (7: published; 8: connections), and
# warren-perf's own, to show where the client, not the broker, is the limit.
# PERF_SCENARIOS="1 2 5" runs a subset, PERF_BROKERS=warren one broker. A
# failed run is FAIL in the table; the others carry on; the exit status is 1.
# PERF_BUDGET (1000) s caps the whole matrix: runs that would not fit are FAIL.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${WARREN_NODE_BIN:?set WARREN_NODE_BIN to the warren-node binary}"
: "${WARREN_PERF_BIN:?set WARREN_PERF_BIN to the warren-perf binary}"
[ -x "$WARREN_PERF_BIN" ] || { echo "no warren-perf at $WARREN_PERF_BIN" >&2; exit 1; }
SECONDS_EACH=${SECONDS_EACH:-10}
PERF_SCENARIOS=${PERF_SCENARIOS:-1 2 3 4 5 6 7 8 9 10}
PERF_BROKERS=${PERF_BROKERS:-warren rabbitmq}
MEMORY_COUNT=${MEMORY_COUNT:-1000000}
PERF_BUDGET=${PERF_BUDGET:-1000}
deadline=$((SECONDS + PERF_BUDGET))
source "$here/lib.sh"
bench_start
mkdir -p "$WORK/runs"
# RabbitMQ reads its AMQPS listener from this file, rewritten before each
# start (lib.sh passes the environment on at the first).
RABBIT_CONF="$WORK/tls/rabbitmq.conf"
RABBIT_EXTRA_VARS=(RABBITMQ_CONFIG_FILE="$RABBIT_CONF")

for b in $PERF_BROKERS; do
  case $b in
    warren) ;;
    rabbitmq) have_rabbit || { echo "rabbitmq-server is not installed (apt-get install rabbitmq-server)" >&2; exit 1; } ;;
    *) echo "PERF_BROKERS: unknown broker $b (warren, rabbitmq)" >&2; exit 1 ;;
  esac
done
for s in $PERF_SCENARIOS; do
  case $s in [1-9]|10) ;; *) echo "PERF_SCENARIOS: no scenario $s (1-10)" >&2; exit 1 ;; esac
done
bench_pki "$WORK/tls" || { echo "openssl could not make the bench's certificates" >&2; exit 1; }

# scenario N: sets ARGS (warren-perf's arguments but -h, --id, --json),
# LIMIT (seconds before the run is killed) and TLS (1: over AMQPS).
scenario() {
  local z=(-z "$SECONDS_EACH")
  LIMIT=$((SECONDS_EACH + 60)); TLS=0
  case $1 in
    1) ARGS=(-u perf-1 -x 1 -y 1 -s 16 -a "${z[@]}") ;;
    2) ARGS=(-u perf-2 -x 1 -y 1 -s 1024 -c 100 -q 100 "${z[@]}") ;;
    3) ARGS=(-u perf-3 -x 4 -y 4 -s 1024 -f persistent -c 100 -q 100 "${z[@]}") ;;
    4) ARGS=(-e perf-fanout -t fanout --queue-pattern 'fan-%d' --queue-pattern-from 1
             --queue-pattern-to 10 -x 1 -y 10 -a -s 16 "${z[@]}") ;;
    5) ARGS=(-e perf-topic -t topic --topic-bindings 10000 -u perf-5 -x 1 -y 1 -a -s 16 "${z[@]}") ;;
    6) ARGS=(--queue-pattern 'lat-%d' --queue-pattern-from 1 --queue-pattern-to 1000
             -x 1 -y 1000 -r 1000 -s 16 -q 10 --channels-per-connection 50 "${z[@]}")
       LIMIT=$((SECONDS_EACH + 120)) ;;
    7) ARGS=(-u perf-7 -x 1 -y 0 -s 1024 -c 500 -C "$MEMORY_COUNT" --auto-delete false)
       LIMIT=${MEMORY_LIMIT:-300} ;;
    8) ARGS=(-u perf-8 --churn -x 4 -y 0 "${z[@]}") ;;
    9) ARGS=(-u perf-9 -x 1 -y 1 -s 1024 -c 100 -q 100 "${z[@]}"); TLS=1 ;;
    10) ARGS=(-u perf-10 --churn -x 4 -y 0 "${z[@]}"); TLS=1 ;;
  esac
}

# /proc figures of PID: user+system clock ticks, VmRSS and VmHWM in KiB.
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
rss_kib() { awk '$1 == "VmRSS:" {print $2}' "/proc/$1/status"; }
hwm_kib() { awk '$1 == "VmHWM:" {print $2}' "/proc/$1/status"; }
# Busy clock ticks of the whole machine (user, nice, system, irq, softirq,
# steal): less the broker's and warren-perf's, what other work took meanwhile.
busy_ticks() { awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }

# broker_up B TLS: a fresh broker with an empty store, with TLS=1 also
# serving AMQPS on TLS_PORT; sets PORT, BROKER_PID.
broker_up() {
  WARREN_EXTRA_ARGS=()
  echo "# AMQPS only for the TLS scenarios" >"$RABBIT_CONF"
  if [ "$2" = 1 ]; then
    TLS_PORT=$(free_port)
    WARREN_EXTRA_ARGS=(--amqps-listen "127.0.0.1:$TLS_PORT" --tls-cert "$TLS_CERT" --tls-key "$TLS_KEY")
    printf '%s\n' "listeners.ssl.default = 127.0.0.1:$TLS_PORT" "ssl_options.cacertfile = $TLS_CA" \
      "ssl_options.certfile = $TLS_CERT" "ssl_options.keyfile = $TLS_KEY" \
      "ssl_options.verify = verify_none" "ssl_options.fail_if_no_peer_cert = false" >"$RABBIT_CONF"
  fi
  chmod 644 "$RABBIT_CONF"
  case $1 in
    warren)
      rm -rf "$WORK/warren"
      start_warren "$WORK/warren" || return 1
      PORT=$WARREN_PORT; BROKER_PID=$WARREN_PID ;;
    rabbitmq)
      if [ -n "${RABBIT_NODE:-}" ]; then  # lib.sh keeps $WORK/rmq; start from empty
        rm -rf "$WORK/rmq/mnesia"; mkdir -p "$WORK/rmq/mnesia"
        chown rabbitmq:rabbitmq "$WORK/rmq/mnesia"
      fi
      start_rabbit || return 1
      PORT=$RABBIT_PORT; BROKER_PID=$BEAM_PID ;;
  esac
  if [ "$2" = 1 ]; then wait_port "$TLS_PORT" || { echo "no AMQPS listener on $TLS_PORT" >&2; return 1; }; fi
}
broker_down() { case $1 in warren) stop_warren ;; rabbitmq) stop_rabbit ;; esac; }

# run B N: one scenario on a fresh broker; writes runs/B-N.meta and .json.
# Returns non-zero if anything went wrong (the reason is in the .meta).
run() {
  local b=$1 n=$2 tag="$1-$2" rc=0 status=ok t0 t1 r0 r1 h1 m0 m1 load
  local meta="$WORK/runs/$tag.meta" log="$WORK/runs/$tag.log" tfile="$WORK/runs/$tag.time"
  scenario "$n"
  local left=$((deadline - SECONDS))
  {
    echo "args ${ARGS[*]}"
    if [ "$n" = 7 ]; then echo "expected_published $MEMORY_COUNT"; fi
  } >"$meta"
  if [ "$left" -lt $((LIMIT + 30)) ]; then
    echo "status skipped: ${left}s of PERF_BUDGET left, the run may need $((LIMIT + 30))s" >>"$meta"
    return 1
  fi
  if ! broker_up "$b" "$TLS" >>"$log" 2>&1; then
    echo "status the broker did not start" >>"$meta"
    broker_down "$b" >/dev/null 2>&1 || true
    return 1
  fi
  # The memory baseline after the boot's own allocations have settled.
  if [ "$n" = 7 ]; then sleep "${MEMORY_SETTLE:-3}"; fi
  load=$(cut -d' ' -f1 /proc/loadavg)
  t0=$(cpu_ticks "$BROKER_PID"); r0=$(rss_kib "$BROKER_PID"); m0=$(busy_ticks)
  local uri=(-h "amqp://guest:guest@127.0.0.1:$PORT/%2F")
  if [ "$TLS" = 1 ]; then uri=(-h "amqps://guest:guest@127.0.0.1:$TLS_PORT/%2F" --tls-ca "$TLS_CA"); fi
  timeout --kill-after=10 "$LIMIT" /usr/bin/time -f '%U %S %e %M' -o "$tfile" \
    "$WARREN_PERF_BIN" "${uri[@]}" "${ARGS[@]}" \
    --id "$tag" --json "$WORK/runs/$tag.json" >>"$log" 2>&1 || rc=$?
  m1=$(busy_ticks)
  if alive "$BROKER_PID"; then
    t1=$(cpu_ticks "$BROKER_PID"); r1=$(rss_kib "$BROKER_PID"); h1=$(hwm_kib "$BROKER_PID")
  else
    status="the broker died during the run"; t1=""; r1=""; h1=""
  fi
  case $rc in
    0) ;;
    124|137) [ "$status" = ok ] && status="killed after ${LIMIT}s" ;;
    *) [ "$status" = ok ] && status="warren-perf exited with status $rc" ;;
  esac
  {
    echo "status $status"; echo "rc $rc"; echo "clk_tck $(getconf CLK_TCK)"
    echo "start_seconds $START_SECONDS"; echo "loadavg_before $load"
    echo "ticks_before $t0"; echo "ticks_after $t1"
    echo "machine_busy_ticks $((m1 - m0))"
    echo "rss_before_kib $r0"; echo "rss_after_kib $r1"; echo "hwm_after_kib $h1"
    # /usr/bin/time puts "Command exited with non-zero status" first when it does.
    if [ -s "$tfile" ]; then tail -1 "$tfile" | awk '{print "perf_user_s " $1 "\nperf_sys_s " $2 \
      "\nperf_elapsed_s " $3 "\nperf_max_rss_kib " $4}'; fi
  } >>"$meta"
  broker_down "$b"
  [ "$status" = ok ]
}

rabbit_version=$(dpkg-query -W -f='${Version}' rabbitmq-server 2>/dev/null || echo none)
cpu_model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
commit=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)
date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
echo "perf matrix $date: $(nproc) x $cpu_model, Warren $commit, RabbitMQ $rabbit_version," \
  "$SECONDS_EACH s per timed scenario, scenarios $PERF_SCENARIOS, brokers $PERF_BROKERS"

failed=0
for n in $PERF_SCENARIOS; do
  for b in $PERF_BROKERS; do
    started=$SECONDS
    if run "$b" "$n"; then
      what=ok
    else
      what="FAIL ($(sed -n 's/^status //p' "$WORK/runs/$b-$n.meta"))"; failed=1
      [ -s "$WORK/runs/$b-$n.log" ] && tail -5 "$WORK/runs/$b-$n.log" | sed 's/^/    /' >&2
    fi
    load=$(sed -n 's/^loadavg_before //p' "$WORK/runs/$b-$n.meta")
    printf '%-8s scenario %d: %s (%ds%s)\n' "$b" "$n" "$what" $((SECONDS - started)) \
      "${load:+, load average before $load}"
  done
done

mkdir -p "$here/results"
/usr/bin/python3 "$here/perf_table.py" --runs "$WORK/runs" \
  --out "$here/results/perf-$(date -u +%Y%m%dT%H%M%S).json" \
  --scenarios "$PERF_SCENARIOS" --brokers "$PERF_BROKERS" \
  --meta "date=$date" --meta "nproc=$(nproc)" --meta "cpu_model=$cpu_model" \
  --meta "mem_total_kib=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)" \
  --meta "warren_commit=$commit" --meta "rabbitmq_version=$rabbit_version" \
  --meta "seconds_each=$SECONDS_EACH" || failed=1
echo "matrix took $SECONDS s"
exit "$failed"
