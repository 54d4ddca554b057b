#!/usr/bin/env bash
# The side-by-side benchmark: our service against the Socket.IO peer (bench/peers/socketio), both
# on one Redis, servers and Redis pinned to core 0, the load generator (chat-bench) to core 1.
# Writes raw results to bench/results/<timestamp>/ and the report to docs/benchmarks.md.
#
#   bench/run.sh [--only idle,bigroom,rooms,latency,storm,steady]
#                [--targets ours,socketio,socketio-sharded,floor] [--steady-cases 500x40,2000x20]
#                [--quick] [--results DIR] [--storm-rate R] [--sharded-all] [--no-fit]
#                [--skip-build] [--no-report] [--report-out FILE] [--plots DIR] [--dry-run]
#                [--redis standalone|clusterN]
#
# --quick         small sizes to try the whole run in a few minutes; the report goes into the results
#                 dir instead of docs/ (unless --report-out)
# --sharded-all   run socketio-sharded in idle and bigroom too (skipped there by default: one process,
#                 so the adapter barely matters)
# --no-fit        do not shrink socket counts to the open-files limit (see below)
# --steady-cases  the steady scenario's rooms, MEMBERSxMSG_PER_S each, every one on freshly started
#                 servers (its first 10 s are measured cold); default 500x40,2000x20 (20k and 40k
#                 deliveries/s)
# floor           the floor target (chat-bench's FloorServer: writes the same frames, no protocol
#                 work) runs in bigroom and steady only, one process for any number of replicas
# --dry-run       print what would run (servers, generator, report) and start nothing
# --redis         standalone (default: one redis-server) or clusterN: a Redis Cluster of N masters, no
#                 replicas (cluster1, cluster3, ...), every node on the servers' core; ours then runs
#                 with CHAT_REDIS_MODE=cluster and the nodes as seeds, and its label gets -clusterN
#                 (ours-cluster3); the Socket.IO targets are skipped (the peer's client is standalone)
# Environment: CHAT_BENCH_JAR, CHAT_SERVICE_JAR (jar overrides), OURS_JVM_OPTS (default -Xms1g -Xmx8g
#   -XX:+UseSerialGC -Xmn32m -XX:MetaspaceSize=64m),
# GEN_JVM_OPTS (-Xmx6g), PEER_NODE_OPTS, MVN_ARGS (e.g. -o), BENCH_<SCENARIO>_OPTS (replace a
# scenario's generator options, e.g. BENCH_BIGROOM_OPTS='--members 500 --rates 5 --step-seconds 5';
# for steady they replace the durations, the case still gives --members and --rate),
# FLOOR_THREADS (the floor server's event loops, default 2 like CHAT_INSTANCES).
# REDIS_CLUSTER_NODE_TIMEOUT_MS (--redis clusterN: cluster-node-timeout, default 5000).
#
# Every socket is one open file in the generator and one in a server. When the open-files limit
# (raised to the hard limit here) is below a scenario's socket count, the count is lowered to fit
# (limit - 1500) and the run says so in run.txt; --no-fit runs the counts as given.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

ALL_SCENARIOS=(idle bigroom rooms latency storm steady)
ONLY=""
TARGETS="ours,socketio,socketio-sharded,floor"
STEADY_CASES=""
QUICK=0
RESULTS=""
STORM_RATE=""
SHARDED_ALL=0
FIT=1
SKIP_BUILD=0
NO_REPORT=0
REPORT_OUT=""
PLOTS_DIR=""
DRY_RUN=0
REDIS_MODE=standalone

usage() { sed -n '2,36p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case $1 in
    --only) ONLY=$2; shift 2 ;;
    --targets) TARGETS=$2; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --results) RESULTS=$2; shift 2 ;;
    --storm-rate) STORM_RATE=$2; shift 2 ;;
    --steady-cases) STEADY_CASES=$2; shift 2 ;;
    --sharded-all) SHARDED_ALL=1; shift ;;
    --no-fit) FIT=0; shift ;;
    --skip-build) SKIP_BUILD=1; shift ;;
    --no-report) NO_REPORT=1; shift ;;
    --report-out) REPORT_OUT=$2; shift 2 ;;
    --plots) PLOTS_DIR=$2; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    --redis) REDIS_MODE=$2; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "unknown option $1" >&2; usage 2 ;;
  esac
done

SCENARIOS=()
if [ -n "$ONLY" ]; then
  IFS=, read -r -a SCENARIOS <<<"$ONLY"
  for s in "${SCENARIOS[@]}"; do
    case " ${ALL_SCENARIOS[*]} smoke " in *" $s "*) ;; *) echo "unknown scenario $s" >&2; exit 2 ;; esac
  done
else
  SCENARIOS=("${ALL_SCENARIOS[@]}")
fi
IFS=, read -r -a TARGET_LIST <<<"$TARGETS"
for t in "${TARGET_LIST[@]}"; do
  case $t in ours|socketio|socketio-sharded|floor) ;; *) echo "unknown target $t" >&2; exit 2 ;; esac
done

case $REDIS_MODE in
  standalone|cluster[1-9]|cluster[1-9][0-9]) ;;
  *) echo "--redis: $REDIS_MODE is neither standalone nor clusterN (cluster1, cluster3, ...)" >&2; exit 2 ;;
esac

RESULTS=${RESULTS:-$ROOT/bench/results/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$RESULTS/logs"
RESULTS=$(cd "$RESULTS" && pwd)
if [ -z "$REPORT_OUT" ]; then
  if [ "$QUICK" = 1 ]; then REPORT_OUT=$RESULTS/benchmarks.md; else REPORT_OUT=$ROOT/docs/benchmarks.md; fi
fi
if [ -z "$PLOTS_DIR" ]; then
  if [ "$QUICK" = 1 ]; then PLOTS_DIR=$RESULTS/bench; else PLOTS_DIR=$ROOT/docs/bench; fi
fi

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
setup_run

NOFILE=$(raise_nofile)
SOCKET_CAP=$((NOFILE - 1500))

# Scenario sizes (full, then --quick). Sockets per scenario: idle the largest count, bigroom the
# members, rooms rooms x members, latency rooms x (receivers + 1) (its loads are deliveries/s),
# storm the clients.
if [ "$QUICK" = 1 ]; then
  IDLE_COUNTS=2000; IDLE_HOLD=5
  BIG_MEMBERS=1000; BIG_RATES=5,10; BIG_STEP=5; BIG_EXTRA="--warmup-seconds 2"
  ROOMS_ROOMS=100; ROOMS_MEMBERS=10; ROOMS_EXTRA="--rates 100,200 --step-seconds 5 --warmup-seconds 2"
  LAT_LOADS=2000; LAT_EXTRA="--rooms 10 --receivers 50 --step-seconds 5"
  STORM_CLIENTS=2000; STORM_RATE=${STORM_RATE:-500}; STORM_BEFORE=5; STORM_EXTRA="--after-seconds 10"
  STEADY_CASES=${STEADY_CASES:-100x40,400x20}; STEADY_EXTRA="--cold-seconds 3 --warmup-seconds 5 --measure-seconds 5"
else
  IDLE_COUNTS=5000,10000,50000,100000; IDLE_HOLD=30
  BIG_MEMBERS=10000; BIG_RATES=5,10,15,20,25,30,35,40,50,60,80,100,150,200; BIG_STEP=10; BIG_EXTRA="--warmup-seconds 45"
  ROOMS_ROOMS=2000; ROOMS_MEMBERS=10; ROOMS_EXTRA="--warmup-seconds 45 --rates 100,200,500,1000,2000,3000,4000,6000,8000,12000,16000"
  LAT_LOADS=10000,50000,100000; LAT_EXTRA="--warmup-seconds 45"
  STORM_CLIENTS=20000; STORM_RATE=${STORM_RATE:-1000}; STORM_BEFORE=40; STORM_EXTRA=""
  # Past the JIT's warm-up (the C2 compiler was still busy half a minute in), the first 10 s of it
  # measured as the cold window, then 60 s measured warm.
  STEADY_CASES=${STEADY_CASES:-500x40,2000x20}; STEADY_EXTRA="--cold-seconds 10 --warmup-seconds 40 --measure-seconds 60"
fi
IFS=, read -r -a STEADY_CASE_LIST <<<"$STEADY_CASES"
for c in "${STEADY_CASE_LIST[@]}"; do
  [[ $c =~ ^[0-9]+x[0-9]+$ ]] || { echo "--steady-cases: $c is not MEMBERSxRATE" >&2; exit 2; }
done

FIT_NOTES=()
# fit_list LIST: the values that fit under SOCKET_CAP, plus the cap itself when some did not.
fit_list() {
  local out=() dropped=0 v
  IFS=, read -r -a vals <<<"$1"
  for v in "${vals[@]}"; do if [ "$v" -le "$SOCKET_CAP" ]; then out+=("$v"); else dropped=1; fi; done
  [ "$dropped" = 1 ] && out+=("$SOCKET_CAP")
  (IFS=,; echo "${out[*]}")
}
fit_sizes() {
  [ "$FIT" = 1 ] || return 0
  local was
  was=$IDLE_COUNTS; IDLE_COUNTS=$(fit_list "$IDLE_COUNTS")
  [ "$was" != "$IDLE_COUNTS" ] && FIT_NOTES+=("idle --counts $was -> $IDLE_COUNTS")
  was=$BIG_MEMBERS; BIG_MEMBERS=$(fit_list "$BIG_MEMBERS")
  [ "$was" != "$BIG_MEMBERS" ] && FIT_NOTES+=("bigroom --members $was -> $BIG_MEMBERS")
  if [ $((ROOMS_ROOMS * ROOMS_MEMBERS)) -gt "$SOCKET_CAP" ]; then
    was=$ROOMS_ROOMS; ROOMS_ROOMS=$((SOCKET_CAP / ROOMS_MEMBERS))
    FIT_NOTES+=("rooms --rooms $was -> $ROOMS_ROOMS (x $ROOMS_MEMBERS members)")
  fi
  was=$STORM_CLIENTS; STORM_CLIENTS=$(fit_list "$STORM_CLIENTS")
  [ "$was" != "$STORM_CLIENTS" ] && FIT_NOTES+=("storm --clients $was -> $STORM_CLIENTS")
  local c fitted=()
  for c in "${STEADY_CASE_LIST[@]}"; do
    if [ "${c%x*}" -gt "$SOCKET_CAP" ]; then
      fitted+=("${SOCKET_CAP}x${c#*x}"); FIT_NOTES+=("steady case $c -> ${SOCKET_CAP}x${c#*x}")
    else fitted+=("$c"); fi
  done
  STEADY_CASE_LIST=("${fitted[@]}")
  return 0
}
fit_sizes

# scenario_opts SCENARIO: the generator's scenario options (BENCH_<SCENARIO>_OPTS replaces them).
scenario_opts() {
  local var="BENCH_$(echo "$1" | tr '[:lower:]' '[:upper:]')_OPTS"
  if [ -n "${!var:-}" ]; then echo "${!var}"; return; fi
  case $1 in
    idle) echo "--counts $IDLE_COUNTS --hold-seconds $IDLE_HOLD" ;;
    bigroom) echo "--members $BIG_MEMBERS --rates $BIG_RATES --step-seconds $BIG_STEP --stop-p99-ms 100 $BIG_EXTRA" ;;
    rooms) echo "--rooms $ROOMS_ROOMS --members $ROOMS_MEMBERS --stop-p99-ms 50 $ROOMS_EXTRA" ;;
    latency) echo "--loads $LAT_LOADS $LAT_EXTRA" ;;
    storm) echo "--clients $STORM_CLIENTS --rate $STORM_RATE --before-seconds $STORM_BEFORE $STORM_EXTRA" ;;
    steady) echo "$STEADY_EXTRA" ;;
    smoke) echo "" ;;
  esac
}
replicas_of() { case $1 in idle|bigroom|smoke) echo 1 ;; *) echo 2 ;; esac; }
runs_target() {  # runs_target SCENARIO TARGET
  case $2 in socketio*) [ "$REDIS_MODE" = standalone ] || return 1 ;; esac
  if [ "$2" = floor ]; then
    case $1 in bigroom|steady|smoke) return 0 ;; *) return 1 ;; esac
  fi
  [ "$2" != socketio-sharded ] && return 0
  case $1 in idle|bigroom|smoke) [ "$SHARDED_ALL" = 1 ] ;; *) return 0 ;; esac
}
skip_reason() {  # skip_reason TARGET
  if [ "$REDIS_MODE" != standalone ] && [[ $1 == socketio* ]]; then
    echo "--redis $REDIS_MODE: the peer connects with a standalone node-redis client"
  elif [ "$1" = floor ]; then echo "the floor runs in bigroom and steady only"
  else echo "one process; --sharded-all runs it"; fi
}

write_run_info() {
  local f=$RESULTS/run.txt
  {
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "git: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet 2>/dev/null || echo ' (uncommitted changes)')"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') x $(nproc) cores"
    echo "memory: $(free -g | awk '/Mem:/ {print $2}') GiB"
    echo "kernel: $(uname -r)"
    echo "java: $("$JAVA_HOME/bin/java" -version 2>&1 | head -1)"
    echo "node: $(node -v 2>/dev/null || echo missing)"
    echo "redis: $(redis-server --version | awk '{print $3}')"
    echo "peer: socket.io $(node -p "require('$PEER_DIR/package.json').dependencies['socket.io']"), @socket.io/redis-adapter $(node -p "require('$PEER_DIR/package.json').dependencies['@socket.io/redis-adapter']"), redis (node-redis) $(node -p "require('$PEER_DIR/package.json').dependencies.redis")"
    echo "pinning: servers and redis on core $SERVER_CORE, generator on core $GEN_CORE"
    echo "redis mode: $REDIS_MODE$( [ "$REDIS_MODE" = standalone ] || echo " ($(redis_masters) master(s), no replicas, --cluster-node-timeout $REDIS_CLUSTER_NODE_TIMEOUT_MS, every node on core $SERVER_CORE; ours with CHAT_REDIS_MODE=cluster, the nodes as seeds)")"
    echo "redis: $REDIS_PERSISTENCE --client-output-buffer-limit '$REDIS_OUTPUT_BUFFER_PUBSUB' (both targets), FLUSHALL between targets"
    echo "ours: java $OURS_JVM_OPTS, ${OURS_ENV[*]}"
    echo "peer: node $PEER_NODE_OPTS, transports websocket only, perMessageDeflate off, pingInterval 25000, pingTimeout 20000"
    echo "floor: java $OURS_JVM_OPTS, chat-bench floor --threads $FLOOR_THREADS (bigroom and steady; one process stands for every replica)"
    echo "generator: java $GEN_JVM_OPTS; clients ack at chat-client.js's default cadence (each result file records it under acks), Socket.IO clients emit an ack event at that cadence"
    echo "steady: cases ${STEADY_CASE_LIST[*]} (members x msg/s), $(scenario_opts steady), fresh servers per case"
    echo "open files limit: $NOFILE (hard $(ulimit -Hn)); socket cap $SOCKET_CAP; fit $( [ "$FIT" = 1 ] && echo on || echo off)"
    local n; for n in "${FIT_NOTES[@]}"; do echo "fitted to the open-files limit: $n"; done
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (the machine may be shared)"
    echo "quick: $QUICK"
    echo "scenarios: ${SCENARIOS[*]}"
    echo "targets: ${TARGET_LIST[*]}"
  } >"$f"
  log "run info in $f"
  cat "$f" >&2
}

log "results in $RESULTS"
build_if_needed "$SKIP_BUILD"
write_run_info
[ "$FIT" = 1 ] && [ "${#FIT_NOTES[@]}" -gt 0 ] && log "socket counts lowered to the open-files limit $NOFILE: ${FIT_NOTES[*]}"

start_redis
FAILED=()
# Each run is a scenario, or for steady one of its cases (scenario:case), on freshly started servers.
RUNS=()
for scenario in "${SCENARIOS[@]}"; do
  if [ "$scenario" = steady ]; then
    for c in "${STEADY_CASE_LIST[@]}"; do RUNS+=("steady:$c"); done
  else
    RUNS+=("$scenario")
  fi
done
for run in "${RUNS[@]}"; do
  scenario=${run%%:*}
  case_opts=(); tag=$scenario
  if [ "$run" != "$scenario" ]; then
    c=${run#*:}; tag="$scenario-$c"
    case_opts=(--members "${c%x*}" --rate "${c#*x}" --case "$c")
  fi
  replicas=$(replicas_of "$scenario")
  for target in "${TARGET_LIST[@]}"; do
    if ! runs_target "$scenario" "$target"; then
      log "== $tag / $target: skipped ($(skip_reason "$target"))"
      continue
    fi
    label=$target
    [ "$REDIS_MODE" = standalone ] || label="$target-$REDIS_MODE"
    log "== $tag / $label: $replicas replica(s)"
    redis_flush
    start_target "$target" "$replicas" "$tag"
    # shellcheck disable=SC2207
    read -r -a opts <<<"$(scenario_opts "$scenario")"
    opts+=("${case_opts[@]}")
    if [ "$scenario" = storm ]; then
      [ "${#TARGET_PID_LIST[@]}" -ge 2 ] || die "storm needs two replicas"
      opts+=(--kill-pid "${TARGET_PID_LIST[1]}")
    fi
    echo "load average before $tag/$label: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RESULTS/run.txt"
    if ! run_generator "gen-$tag-$label" "$scenario" --proto "$(proto_of "$target")" \
        --urls "$TARGET_URLS" --pids "$TARGET_PIDS" --redis-pid "$REDIS_PID_LIST" --label "$label" \
        --out "$RESULTS" "${opts[@]}"; then
      log "!! $tag / $label: the generator failed (log $RESULTS/logs/gen-$tag-$label.log)"
      FAILED+=("$tag/$label")
    fi
    echo "load average after $tag/$label: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RESULTS/run.txt"
    stop_target
  done
done
stop_redis

if [ "$NO_REPORT" = 1 ]; then
  log "report skipped (--no-report)"
else
  notes=()
  [ -f "$ROOT/bench/notes.md" ] && notes=(--notes "$ROOT/bench/notes.md")
  mkdir -p "$PLOTS_DIR" "$(dirname "$REPORT_OUT")"
  if run_generator report report --results "$RESULTS" --out "$REPORT_OUT" --plots "$PLOTS_DIR" --setup "$RESULTS/run.txt" "${notes[@]}" \
      --node "$(node -v)" --pinning "servers and Redis on core $SERVER_CORE, generator on core $GEN_CORE"; then
    log "report: $REPORT_OUT (plots in $PLOTS_DIR)"
  else
    FAILED+=(report)
  fi
fi

if [ "${#FAILED[@]}" -gt 0 ]; then
  log "failed: ${FAILED[*]}"
  exit 1
fi
log "done: results in $RESULTS"
