#!/usr/bin/env bash
# A 3-node Warren cluster against a 3-node RabbitMQ cluster, side by side in
# one run, on loopback (the client: cluster_declares.py, the same for both).
#   1. DECLARES (10,000) queue.declares (durable, not exclusive, distinct
#      names) through one node: one connection, one channel, each waiting for
#      its declare-ok. Warren: through a follower, so every declare is
#      forwarded to the metadata leader; RabbitMQ: through rc2, a joined node.
#      Total time, declares/s, p50/p99 per declare, and the ratio. Then as
#      many again with DECLARE_CLIENTS (16) connections declaring at once, as
#      clients reconnecting after a failover do: declares/s and p99.
#   2. Failover: kill -9 of Warren's metadata leader, then the time until a
#      survivor logs a new leader and until a declare through a survivor
#      succeeds. RabbitMQ 3.10 has no metadata leader (Mnesia); for reference,
#      the time until a declare through rc2 succeeds after kill -9 of rc1.
#   3. perf.sh's scenario 2 (1 / 1, 1 KiB, confirms 100, prefetch 100,
#      SECONDS_EACH s) on a queue declared through node 1 (so it lives there),
#      with the client on node 1 and then on node 2, whose publishes,
#      deliveries and acks all cross to node 1: the forwarding cost, as the
#      share of the direct rate node 2 keeps (the project's goal: at least
#      50%). Needs WARREN_PERF_BIN; CLUSTER_PERF=0 skips it.
#   4. Replicated queues (docs/mirroring.md), 1 producer and 1 consumer, 1 KiB
#      persistent, confirms 100, prefetch 100, SECONDS_EACH s, the client on
#      the queue's node: a queue mirrored by the tutorial's ha-all policy (3
#      copies, every mirror in sync before it starts) and a quorum queue.
#      Consumed msg/s and p99 publish-to-delivery latency, each the median
#      of REPLICATED_RUNS (3) runs (one run's rate moved by 20-30% on this
#      shared machine). Goals: 5x RabbitMQ's mirrored queue and 3x its
#      quorum queue, with a lower p99.
#      Then SYNC_MESSAGES (1,000,000) 1 KiB messages queued, a policy that
#      mirrors them on both other nodes: the time until both are in sync,
#      and the publish rate with confirms meanwhile (sync_run).
#      Then the time from kill -9 of an ha-all queue's home to the first
#      delivery from its new home, to a consumer on another node
#      (mirror_failover.py). Needs WARREN_PERF_BIN and WARREN_CTL_BIN (with
#      CLUSTER_PERF=1).
# Warren's nodes form from seeds (docs/cluster.md); RabbitMQ's start as
# rc1..rc3@localhost with their own epmd and cookie (a private HOME), and rc2
# and rc3 join rc1 with stop_app, reset, join_cluster, start_app. Warren's
# cluster is stopped before RabbitMQ's starts. Everything is stopped at exit.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${WARREN_NODE_BIN:?set WARREN_NODE_BIN to the warren-node binary}"
DECLARES=${DECLARES:-10000}
SECONDS_EACH=${SECONDS_EACH:-10}
DECLARE_CLIENTS=${DECLARE_CLIENTS:-16}
CLUSTER_PERF=${CLUSTER_PERF:-1}
REPLICATED_RUNS=${REPLICATED_RUNS:-3}
[ -n "${WARREN_PERF_BIN:-}" ] || CLUSTER_PERF=0
[ -n "${WARREN_CTL_BIN:-}" ] || CLUSTER_PERF=0
source "$here/lib.sh"
ulimit -n "$(ulimit -Hn)"
WORK=$(mktemp -d)
chmod 755 "$WORK"  # rabbitmq-server runs as the rabbitmq user
client() { /usr/bin/python3 "$here/cluster_declares.py" "$@"; }
json_get() { /usr/bin/python3 -c 'import json, sys
v = json.loads(sys.argv[1]).get(sys.argv[2])
print("-" if v is None else v)' "$1" "$2"; }
loadavg() { cut -d' ' -f1 /proc/loadavg; }
letters() { /usr/bin/python3 -c 'import secrets, string, sys
sys.stdout.write("".join(secrets.choice(string.ascii_uppercase) for _ in range(int(sys.argv[1]))))' "$1"; }

# --- Warren ------------------------------------------------------------------
WPID=() WAMQP=() WGRPC=()

warren_cluster_up() {
  local i
  mkdir -p "$WORK/warren"
  letters 32 >"$WORK/warren/secret"
  chmod 600 "$WORK/warren/secret"
  local ports
  read -r -a ports <<<"$(free_ports 6)"
  for i in 1 2 3; do WGRPC[i]=${ports[2 * i - 2]}; WAMQP[i]=${ports[2 * i - 1]}; done
  for i in 1 2 3; do warren_start "$i" || return 1; done
}

# warren_start I: starts (or restarts, on its data) node warren@cI until it serves AMQP.
warren_start() {
  local i=$1 out
  local seeds="127.0.0.1:${WGRPC[1]},127.0.0.1:${WGRPC[2]},127.0.0.1:${WGRPC[3]}"
  out=$(/usr/bin/python3 "$here/start_until.py" --port "${WAMQP[i]}" --timeout 60 \
          --log "$WORK/warren/c$i.log" -- "$WARREN_NODE_BIN" --node-name "warren@c$i" \
          --cluster-secret-file "$WORK/warren/secret" --cluster-seeds "$seeds" \
          --grpc-listen "127.0.0.1:${WGRPC[i]}" --amqp-listen "127.0.0.1:${WAMQP[i]}" \
          --data-dir "$WORK/warren/c$i") \
    || { echo "warren@c$i did not start; its log:" >&2; tail -20 "$WORK/warren/c$i.log" >&2; return 1; }
  read -r WPID[i] _ <<<"$out"
}

# warren_leader: "NODE TERM" of the latest leader that says "(this node)" in
# its own log, once every running node's log names a leader in that term.
warren_leader() {
  local i t best=0 node=""
  for i in 1 2 3; do
    t=$(sed -n 's/.*cluster: member [0-9]* leads the metadata in term \([0-9]*\) (this node).*/\1/p' \
          "$WORK/warren/c$i.log" | tail -n 1)
    if [ -n "$t" ] && [ "$t" -gt "$best" ]; then best=$t; node=$i; fi
  done
  [ -n "$node" ] || return 1
  for i in 1 2 3; do
    alive "${WPID[i]}" || continue
    grep -q "leads the metadata in term $best\b" "$WORK/warren/c$i.log" || return 1
  done
  echo "$node $best"
}

# member_of NODE: NODE's member id (the seeds' places in sorted order).
member_of() {
  sed -n 's/.*cluster: the seeds make this node member \([0-9]*\) of.*/\1/p' "$WORK/warren/c$1.log" | head -n 1
}

# stop_all SECONDS WHAT PID...: SIGTERM to each PID (empty ones skipped), then
# SIGKILL to any still alive after SECONDS.
stop_all() {
  local seconds=$1 what=$2 pid
  shift 2
  for pid in "$@"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
  for pid in "$@"; do
    [ -n "$pid" ] || continue
    for _ in $(seq $((seconds * 20))); do alive "$pid" || break; sleep 0.05; done
    alive "$pid" && { echo "$what $pid did not stop in $seconds s; SIGKILL" >&2; kill -9 "$pid"; }
  done
  return 0
}

stop_warren_cluster() {
  stop_all 20 warren-node "${WPID[@]}"
  WPID=()
}

# free_ports N: N distinct free loopback ports (all bound at once, then freed).
free_ports() {
  /usr/bin/python3 -c 'import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))' "$1"
}

# environ_pids REGEX: the processes whose environment has a line matching REGEX.
environ_pids() {
  local p
  for p in /proc/[0-9]*; do
    { tr '\0' '\n' <"$p/environ"; } 2>/dev/null | grep -qx "$1" && echo "${p#/proc/}"
  done
  return 0
}

# --- RabbitMQ ----------------------------------------------------------------
RPID=() RAMQP=() RDIST=() REPMD=""
R=$WORK/rmq

# rc_env I CMD...: CMD as the rabbitmq user with node rcI's environment (the
# shared private HOME holds the cluster's cookie).
rc_env() {
  local i=$1; shift
  (cd "$R" && env HOME="$R/home" RABBITMQ_NODENAME="rc$i@localhost" \
     RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="${RAMQP[i]}" \
     RABBITMQ_DIST_PORT="${RDIST[i]}" RABBITMQ_MNESIA_BASE="$R/rc$i/mnesia" \
     RABBITMQ_LOG_BASE="$R/rc$i/log" RABBITMQ_ENABLED_PLUGINS_FILE="$R/plugins" \
     RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1} $RABBIT_LISTEN_OPTIONS" \
     ERL_EPMD_ADDRESS=127.0.0.1 ERL_EPMD_PORT="$REPMD" \
     setpriv --reuid rabbitmq --regid rabbitmq --init-groups "$@")
}
# rc_ctl I ARGS...: rabbitmqctl against rcI; its output goes to $R/ctl.log,
# shown if it fails.
rc_ctl() {
  local i=$1; shift
  echo "# rabbitmqctl -n rc$i@localhost $*" >>"$R/ctl.log"
  rc_env "$i" /usr/lib/rabbitmq/bin/rabbitmqctl -q -n "rc$i@localhost" "$@" 2>>"$R/ctl.log" \
    || { echo "rabbitmqctl -n rc$i@localhost $* failed:" >&2; tail -n 20 "$R/ctl.log" >&2; return 1; }
}

rabbit_cluster_up() {
  local i p starters=()
  mkdir -p "$R/home"; touch "$R/plugins"
  letters 20 >"$R/home/.erlang.cookie"
  local ports
  read -r -a ports <<<"$(free_ports 7)"
  REPMD=${ports[6]}
  for i in 1 2 3; do
    RAMQP[i]=${ports[2 * i - 2]}; RDIST[i]=${ports[2 * i - 1]}
    mkdir -p "$R/rc$i/mnesia" "$R/rc$i/log"
  done
  chown -R rabbitmq:rabbitmq "$R"
  chmod 700 "$R/home"; chmod 400 "$R/home/.erlang.cookie"
  # The three boot at once; each start is timed until its AMQP port serves.
  for i in 1 2 3; do
    rc_env "$i" true  # fails early if setpriv cannot switch user
    /usr/bin/python3 "$here/start_until.py" --port "${RAMQP[i]}" --timeout 120 \
      --log "$R/rc$i/console.log" -- env HOME="$R/home" RABBITMQ_NODENAME="rc$i@localhost" \
      RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="${RAMQP[i]}" \
      RABBITMQ_DIST_PORT="${RDIST[i]}" RABBITMQ_MNESIA_BASE="$R/rc$i/mnesia" \
      RABBITMQ_LOG_BASE="$R/rc$i/log" RABBITMQ_ENABLED_PLUGINS_FILE="$R/plugins" \
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1} $RABBIT_LISTEN_OPTIONS" \
      ERL_EPMD_ADDRESS=127.0.0.1 ERL_EPMD_PORT="$REPMD" \
      setsid setpriv --reuid rabbitmq --regid rabbitmq --init-groups \
      /usr/lib/rabbitmq/bin/rabbitmq-server >"$R/rc$i.start" &
    starters[i]=$!
  done
  for i in 1 2 3; do
    wait "${starters[i]}" || { echo "rc$i did not start:" >&2; tail -20 "$R/rc$i/console.log" >&2; return 1; }
  done
  for i in 1 2 3; do
    for p in $(pgrep -x beam.smp); do
      if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "RABBITMQ_NODE_PORT=${RAMQP[i]}"; then
        RPID[i]=$p
      fi
    done
    [ -n "${RPID[i]:-}" ] || { echo "no beam.smp found for rc$i" >&2; return 1; }
  done
  for i in 2 3; do
    rc_ctl "$i" stop_app >>"$R/ctl.log"
    rc_ctl "$i" reset >>"$R/ctl.log"
    rc_ctl "$i" join_cluster rc1@localhost >>"$R/ctl.log"
    rc_ctl "$i" start_app >>"$R/ctl.log"
  done
  local running
  running=$(rc_ctl 1 cluster_status --formatter json |
    /usr/bin/python3 -c 'import json, sys; print(len(json.load(sys.stdin)["running_nodes"]))')
  [ "$running" = 3 ] || { echo "RabbitMQ cluster has $running running nodes, not 3" >&2; return 1; }
}

stop_rabbit_cluster() {
  # Ours also when a start failed before its pid was recorded: the Erlang
  # processes whose environment names our scratch folder or our epmd port.
  stop_all 30 beam.smp "${RPID[@]}" $(environ_pids "RABBITMQ_MNESIA_BASE=$R/rc[123]/mnesia")
  [ -z "$REPMD" ] || stop_all 5 epmd $(environ_pids "ERL_EPMD_PORT=$REPMD")
  RPID=()
  if [ -n "$REPMD" ]; then
    env ERL_EPMD_PORT="$REPMD" epmd -port "$REPMD" -kill >/dev/null 2>&1 || true
    REPMD=""
  fi
  return 0
}

cleanup() { stop_warren_cluster; stop_rabbit_cluster; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# perf_run PORT TAG QUEUE: scenario 2 of perf.sh through PORT on QUEUE; the
# consumed rate, or FAIL.
# perf_pair NAME PORT1 PORT2: two queues declared through node 1, then
# perf_run with the client on node 1 and on node 2: "RATE1 RATE2".
perf_pair() {
  client declare --port "$2" perf-on-1 perf-on-2
  echo "$(perf_run "$2" "$1-1" perf-on-1) $(perf_run "$3" "$1-2" perf-on-2)"
}

perf_run() {
  local out="$WORK/perf-$2.json"
  if timeout --kill-after=10 $((SECONDS_EACH + 60)) "$WARREN_PERF_BIN" \
       -h "amqp://guest:guest@127.0.0.1:$1/%2F" -u "$3" --auto-delete false \
       -x 1 -y 1 -s 1024 -c 100 -q 100 -z "$SECONDS_EACH" --id "$2" --json "$out" \
       >"$WORK/perf-$2.log" 2>&1; then
    /usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["consume_rate"])' "$out"
  else
    tail -n 5 "$WORK/perf-$2.log" >&2; echo FAIL
  fi
}

# perf_replicated PORT TAG QUEUE [FLAGS...]: 1 / 1, 1 KiB persistent, confirms
# 100, prefetch 100 on QUEUE (declared already): "RATE P99_US", or "FAIL FAIL".
perf_replicated() {
  local port=$1 tag=$2 queue=$3 out="$WORK/perf-$2.json"
  shift 3
  if timeout --kill-after=10 $((SECONDS_EACH + 60)) "$WARREN_PERF_BIN" \
       -h "amqp://guest:guest@127.0.0.1:$port/%2F" -u "$queue" --auto-delete false --persistent \
       "$@" -x 1 -y 1 -s 1024 -c 100 -q 100 -z "$SECONDS_EACH" --id "$tag" --json "$out" \
       >"$WORK/perf-$tag.log" 2>&1; then
    /usr/bin/python3 -c 'import json, sys
j = json.load(open(sys.argv[1])); print(j["consume_rate"], j["latency_us"]["p99"])' "$out"
  else
    tail -n 5 "$WORK/perf-$tag.log" >&2; echo FAIL FAIL
  fi
}

# perf_median PORT TAG QUEUE [FLAGS...]: perf_replicated REPLICATED_RUNS
# times: "RATE P99_US RATES", the median rate and median p99 of the runs and
# each run's rate (r1/r2/...); "FAIL FAIL -" when a run failed.
perf_median() {
  local port=$1 tag=$2 i runs=""
  shift 2
  for i in $(seq "$REPLICATED_RUNS"); do
    runs+="$(perf_replicated "$port" "$tag-$i" "$@")"$'\n'
  done
  /usr/bin/python3 -c 'import statistics, sys
rows = [l.split() for l in sys.stdin.read().splitlines() if l.strip()]
if not rows or any("FAIL" in r for r in rows): print("FAIL FAIL -")
else: print("%.1f %.1f %s" % (statistics.median(float(r[0]) for r in rows),
    statistics.median(float(r[1]) for r in rows), "/".join("%.0f" % float(r[0]) for r in rows)))' <<<"$runs"
}

# synced_count QUEUE < JSON: how many mirrors list_queues' JSON lists in sync
# (on stdin: the listing of thousands of queues is past an argument's size).
synced_count() {
  /usr/bin/python3 -c 'import json, sys
rows = [r for r in json.load(sys.stdin) if r["name"] == sys.argv[1]]
s = rows[0]["synchronised_slave_pids"] if rows else []
print(len(s) if isinstance(s, list) else 0)' "$1"
}

# wait_synced QUEUE N CMD...: runs CMD (a list_queues name
# synchronised_slave_pids --formatter json) until QUEUE has N mirrors in sync,
# SYNC_WAIT_S (30) s at most.
wait_synced() {
  local queue=$1 n=$2 wait_s=${SYNC_WAIT_S:-30}
  shift 2
  for _ in $(seq $((wait_s * 10))); do
    [ "$( ("$@" 2>/dev/null || echo '[]') | synced_count "$queue")" = "$n" ] && return 0
    sleep 0.1
  done
  echo "$queue has no $n mirrors in sync after $wait_s s" >&2
  return 1
}

# mirror_failover PORT QUEUE PID: kill -9 of PID, the home of QUEUE, under a
# consumer on PORT: the seconds to its first delivery from the new home.
mirror_failover() {
  /usr/bin/python3 "$here/mirror_failover.py" --port "$1" --queue "$2" --kill "$3"
}

HA_POLICY='{"ha-mode":"all","ha-sync-mode":"automatic"}'
SYNC_MESSAGES=${SYNC_MESSAGES:-1000000}

# sync_run PORT TAG CTL...: SYNC_MESSAGES 1 KiB persistent messages into
# sync-q (unmirrored), then a policy mirrors it on both other nodes while a
# publisher with confirms goes on: "SECONDS RATE", the time until both
# mirrors are in sync (CTL... lists queues) and the publish rate meanwhile.
sync_run() {
  local port=$1 tag=$2 uri="amqp://guest:guest@127.0.0.1:$1/%2F" pub t0 t1
  shift 2
  timeout 900 "$WARREN_PERF_BIN" -h "$uri" -u sync-q --auto-delete false --persistent -x 1 -y 0 \
    -s 1024 -c 100 -C "$SYNC_MESSAGES" --id "$tag-load" >"$WORK/perf-$tag-load.log" 2>&1 \
    || { tail -n 5 "$WORK/perf-$tag-load.log" >&2; echo FAIL FAIL; return 0; }
  "$WARREN_PERF_BIN" -h "$uri" -u sync-q --auto-delete false --persistent -x 1 -y 0 -s 1024 \
    -c 100 -z 900 --id "$tag-during" --json "$WORK/perf-$tag-during.json" \
    >"$WORK/perf-$tag-during.log" 2>&1 &
  pub=$!
  sleep 1  # the publisher connected (only paces the measure; the rate is its own)
  t0=$(date +%s.%N)
  "$@" set_policy sync-bench '^sync-' "$HA_POLICY" >/dev/null
  local synced=0
  SYNC_WAIT_S=600 wait_synced sync-q 2 "$@" list_queues name synchronised_slave_pids \
    --formatter json && synced=1
  t1=$(date +%s.%N)
  kill -INT "$pub"; wait "$pub" || true
  [ "$synced" = 1 ] || { echo FAIL FAIL; return 0; }
  echo "$(printf '%.2f' "$(echo "$t1 - $t0" | bc)") $(/usr/bin/python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["publish_rate"])' "$WORK/perf-$tag-during.json")"
}

# --- runs --------------------------------------------------------------------
rabbit_version=$(dpkg-query -W -f='${Version}' rabbitmq-server 2>/dev/null || echo none)
commit=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)
echo "cluster bench $(date -u +%Y-%m-%dT%H:%M:%SZ): $(nproc) cores, Warren $commit, RabbitMQ $rabbit_version"

t0=$SECONDS
warren_cluster_up
echo "warren   | 3 nodes serving in $((SECONDS - t0)) s"
leader=""
for _ in $(seq 400); do leader=$(warren_leader) && break; sleep 0.05; done
[ -n "$leader" ] || { echo "no Warren metadata leader within 20 s" >&2; exit 1; }
read -r wl wterm <<<"$leader"
followers=()
for i in 1 2 3; do [ "$i" = "$wl" ] || followers+=("$i"); done
wf=${followers[0]} wo=${followers[1]}
echo "warren   | metadata leader warren@c$wl (member $(member_of "$wl"), term $wterm);" \
  "declares through warren@c$wf (member $(member_of "$wf")), load average $(loadavg)"
w_decl=$(client declares --port "${WAMQP[wf]}" --count "$DECLARES" --check-port "${WAMQP[wo]}")
echo "warren   | $w_decl"
w_cdecl=$(client declares --port "${WAMQP[wf]}" --count "$DECLARES" --prefix cdecl- \
            --clients "$DECLARE_CLIENTS")
echo "warren   | $w_cdecl"
w_ha="- -" w_qq="- -" w_mfail='{}' r_mfail='{}' w_sync="- -" r_sync="- -"
if [ "$CLUSTER_PERF" = 1 ]; then
  read -r w_perf1 w_perf2 <<<"$(perf_pair warren "${WAMQP[1]}" "${WAMQP[2]}")"
  wctl=("$WARREN_CTL_BIN" -n "127.0.0.1:${WGRPC[1]}")
  "${wctl[@]}" set_policy ha-bench '^ha-' "$HA_POLICY" >/dev/null
  client declare --port "${WAMQP[1]}" ha-perf
  client declare --port "${WAMQP[1]}" --quorum qq-perf
  wait_synced ha-perf 2 "${wctl[@]}" list_queues name synchronised_slave_pids --formatter json
  w_ha=$(perf_median "${WAMQP[1]}" warren-ha ha-perf)
  w_qq=$(perf_median "${WAMQP[1]}" warren-qq qq-perf --quorum-queue)
  echo "warren   | replicated queues (median msg/s, p99 us, runs): ha-all $w_ha, quorum $w_qq"
  w_sync=$(sync_run "${WAMQP[1]}" warren-sync "${wctl[@]}")
  echo "warren   | $SYNC_MESSAGES messages synced to 2 new mirrors (s, publishes/s meanwhile): $w_sync"
  # A mirrored queue homed on a follower (the leader stays for step 2),
  # consumed through the other follower; the killed node is started again.
  client declare --port "${WAMQP[wo]}" ha-failover
  wait_synced ha-failover 2 "${wctl[@]}" list_queues name synchronised_slave_pids --formatter json
  w_mfail=$(mirror_failover "${WAMQP[wf]}" ha-failover "${WPID[wo]}")
  echo "warren   | kill -9 of warren@c$wo, the home of ha-failover: $w_mfail"
  warren_start "$wo"
fi
w_fail=$(client failover --kill "${WPID[wl]}" --port "${WAMQP[wf]}" \
           --log "$WORK/warren/c$wf.log" "$WORK/warren/c$wo.log")
WPID[wl]=""
nm=$(json_get "$w_fail" new_leader_member) new_leader="(none logged)"
for i in 1 2 3; do
  if [ "$(member_of "$i")" = "$nm" ]; then new_leader="warren@c$i (member $nm)"; fi
done
echo "warren   | kill -9 of warren@c$wl: $w_fail; new leader $new_leader"
stop_warren_cluster

r_decl='{}' r_cdecl='{}' r_fail='{}' r_perf1=- r_perf2=- r_ha="- -" r_qq="- -"
if have_rabbit; then
  t0=$SECONDS
  # A port chosen free can be taken before a node binds it (an Erlang node's
  # own outgoing connections use the same range): one more try, new ports.
  if ! rabbit_cluster_up; then
    echo "rabbitmq | the cluster did not form; once more, on other ports" >&2
    stop_rabbit_cluster; rm -rf "$R"
    rabbit_cluster_up || { echo "rabbitmq | the cluster did not form" >&2; exit 1; }
  fi
  echo "rabbitmq | 3 nodes clustered in $((SECONDS - t0)) s; declares through rc2@localhost, load average $(loadavg)"
  r_decl=$(client declares --port "${RAMQP[2]}" --count "$DECLARES" --check-port "${RAMQP[3]}")
  echo "rabbitmq | $r_decl"
  r_cdecl=$(client declares --port "${RAMQP[2]}" --count "$DECLARES" --prefix cdecl- \
              --clients "$DECLARE_CLIENTS")
  echo "rabbitmq | $r_cdecl"
  if [ "$CLUSTER_PERF" = 1 ]; then
    read -r r_perf1 r_perf2 <<<"$(perf_pair rabbitmq "${RAMQP[1]}" "${RAMQP[2]}")"
    rc_ctl 1 set_policy ha-bench '^ha-' "$HA_POLICY" >>"$R/ctl.log"
    client declare --port "${RAMQP[1]}" ha-perf
    client declare --port "${RAMQP[1]}" --quorum qq-perf
    wait_synced ha-perf 2 rc_ctl 1 list_queues name synchronised_slave_pids --formatter json
    r_ha=$(perf_median "${RAMQP[1]}" rabbitmq-ha ha-perf)
    r_qq=$(perf_median "${RAMQP[1]}" rabbitmq-qq qq-perf --quorum-queue)
    echo "rabbitmq | replicated queues (median msg/s, p99 us, runs): ha-all $r_ha, quorum $r_qq"
    r_sync=$(sync_run "${RAMQP[1]}" rabbitmq-sync rc_ctl 1)
    echo "rabbitmq | $SYNC_MESSAGES messages synced to 2 new mirrors (s, publishes/s meanwhile): $r_sync"
  fi
  r_fail=$(client failover --kill "${RPID[1]}" --port "${RAMQP[2]}")
  RPID[1]=""
  echo "rabbitmq | kill -9 of rc1: $r_fail"
  if [ "$CLUSTER_PERF" = 1 ]; then
    # Its master on rc3, consumed through rc2 (rc1 is down now: one mirror).
    client declare --port "${RAMQP[3]}" ha-failover
    wait_synced ha-failover 1 rc_ctl 2 list_queues name synchronised_slave_pids --formatter json
    r_mfail=$(mirror_failover "${RAMQP[2]}" ha-failover "${RPID[3]}")
    RPID[3]=""
    echo "rabbitmq | kill -9 of rc3, the master of ha-failover: $r_mfail"
  fi
  stop_rabbit_cluster
else
  echo "rabbitmq-server is not installed (apt-get install rabbitmq-server): Warren's figures only"
fi

# ratio A B: A/B to 2 places, or - when either is missing.
ratio() {
  case "$1$2" in *-*|*FAIL*) echo - ;; *) printf '%.2f' "$(echo "scale=6; $1 / $2" | bc)" ;; esac
}
row() { printf '%-52s | %9s | %9s | %s\n' "$@"; }
g() { json_get "$1" "$2"; }
echo
row "3-node cluster, loopback, $(nproc) cores" warren rabbitmq "ratio"
row "$DECLARES declares through one node: total s" "$(g "$w_decl" seconds)" "$(g "$r_decl" seconds)" \
  "$(ratio "$(g "$r_decl" seconds)" "$(g "$w_decl" seconds)")"
row "  declares/s (the project's goal: 5x)" "$(g "$w_decl" rate)" "$(g "$r_decl" rate)" \
  "$(ratio "$(g "$w_decl" rate)" "$(g "$r_decl" rate)") (Warren/RabbitMQ)"
row "  p50 ms per declare" "$(g "$w_decl" p50_ms)" "$(g "$r_decl" p50_ms)" \
  "$(ratio "$(g "$r_decl" p50_ms)" "$(g "$w_decl" p50_ms)")"
row "  p99 ms per declare" "$(g "$w_decl" p99_ms)" "$(g "$r_decl" p99_ms)" \
  "$(ratio "$(g "$r_decl" p99_ms)" "$(g "$w_decl" p99_ms)")"
row "  client CPU s (pika)" "$(g "$w_decl" client_cpu_s)" "$(g "$r_decl" client_cpu_s)" ""
row "  $DECLARE_CLIENTS clients at once: declares/s" "$(g "$w_cdecl" rate)" "$(g "$r_cdecl" rate)" \
  "$(ratio "$(g "$w_cdecl" rate)" "$(g "$r_cdecl" rate)") (Warren/RabbitMQ)"
row "  $DECLARE_CLIENTS clients at once: p99 ms per declare" "$(g "$w_cdecl" p99_ms)" \
  "$(g "$r_cdecl" p99_ms)" "$(ratio "$(g "$r_cdecl" p99_ms)" "$(g "$w_cdecl" p99_ms)")"
row "kill -9 of the metadata leader: new leader logged, s" "$(g "$w_fail" leader_s)" "(none)" ""
row "  first declare through a survivor ok, s" "$(g "$w_fail" declare_s)" "$(g "$r_fail" declare_s)" \
  "RabbitMQ: kill -9 of rc1, no leader"
if [ "$CLUSTER_PERF" = 1 ]; then
  row "perf scenario 2, queue declared on node 1: msg/s," "" "" ""
  row "  client on node 1" "$w_perf1" "$r_perf1" "$(ratio "$w_perf1" "$r_perf1")"
  row "  client on node 2 (every message crosses)" "$w_perf2" "$r_perf2" "$(ratio "$w_perf2" "$r_perf2")"
  row "  node 2's share of node 1's rate (goal: 50%)" "$(ratio "$w_perf2" "$w_perf1")" \
    "$(ratio "$r_perf2" "$r_perf1")" ""
  read -r w_ha_rate w_ha_p99 _ <<<"$w_ha"
  read -r r_ha_rate r_ha_p99 _ <<<"$r_ha"
  read -r w_qq_rate w_qq_p99 _ <<<"$w_qq"
  read -r r_qq_rate r_qq_p99 _ <<<"$r_qq"
  row "1 KiB persistent, confirms 100, 1 / 1, on its node:" "" "" ""
  row "  ha-all mirrored queue, msg/s (goal: 5x)" "$w_ha_rate" "$r_ha_rate" \
    "$(ratio "$w_ha_rate" "$r_ha_rate")"
  row "  ha-all mirrored queue, p99 us" "$w_ha_p99" "$r_ha_p99" "$(ratio "$r_ha_p99" "$w_ha_p99")"
  row "  quorum queue, msg/s (goal: 3x)" "$w_qq_rate" "$r_qq_rate" \
    "$(ratio "$w_qq_rate" "$r_qq_rate")"
  row "  quorum queue, p99 us" "$w_qq_p99" "$r_qq_p99" "$(ratio "$r_qq_p99" "$w_qq_p99")"
  read -r w_sync_s w_sync_rate <<<"$w_sync"
  read -r r_sync_s r_sync_rate <<<"$r_sync"
  row "$SYNC_MESSAGES queued 1 KiB synced to 2 new mirrors, s" "$w_sync_s" "$r_sync_s" \
    "$(ratio "$r_sync_s" "$w_sync_s")"
  row "  publishes/s with confirms meanwhile" "$w_sync_rate" "$r_sync_rate" \
    "RabbitMQ's queue stops while it syncs"
  row "kill -9 of an ha-all queue's home: first delivery" "" "" ""
  row "  from the new home, s (goal: under 5)" "$(g "$w_mfail" first_delivery_s)" \
    "$(g "$r_mfail" first_delivery_s)" "RabbitMQ: rc1 already down, one mirror"
fi
echo "ratio: rates Warren/RabbitMQ, times RabbitMQ/Warren: above 1 means Warren did better"
echo "cluster bench took $SECONDS s"
