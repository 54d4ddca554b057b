# Shared by bench/run.sh and bench/profile.sh (sourced, not run): process start and stop, free
# ports, readiness, the servers under test. Every process started here is recorded and killed on exit.
# Expects: ROOT (repository root), RESULTS (results dir), DRY_RUN (0|1).

BENCH_STARTED_PIDS=()
BENCH_DRY_PID=90000
SERVER_CORE=${BENCH_SERVER_CORE:-0}
GEN_CORE=${BENCH_GEN_CORE:-1}
PEER_DIR="$ROOT/bench/peers/socketio"
SERVICE_JAR=${CHAT_SERVICE_JAR:-$ROOT/chat-service/target/chat-service.jar}
BENCH_JAR=${CHAT_BENCH_JAR:-$ROOT/chat-bench/target/chat-bench.jar}
# The servers' JVM: the Serial collector (what the JVM picks on the one CPU each server gets) with a
# 32 MB young generation. Serial's default young generation here is a third of the heap, and its
# collections with 18,500 sockets live paused the event loop for 31 ms-1.3 s (round 4); G1 paused
# 32-71 ms even with its young generation fixed at 64 MB (docs/performance.md, round 5).
OURS_JVM_OPTS=${OURS_JVM_OPTS:--Xms1g -Xmx8g -XX:+UseSerialGC -Xmn32m -XX:MetaspaceSize=64m}
PEER_NODE_OPTS=${PEER_NODE_OPTS:---expose-gc --max-old-space-size=8192}
GEN_JVM_OPTS=${GEN_JVM_OPTS:--Xmx6g}
FLOOR_THREADS=${FLOOR_THREADS:-2}
REDIS_OUTPUT_BUFFER_PUBSUB=${REDIS_OUTPUT_BUFFER_PUBSUB:-pubsub 256mb 128mb 60}
# Redis persistence for the run, e.g. "--appendonly yes --appendfsync always" to measure what
# durability costs (docs/reliability.md); the AOF then goes into the results dir.
REDIS_PERSISTENCE=${REDIS_PERSISTENCE:---save '' --appendonly no}
READY_TIMEOUT_S=${BENCH_READY_TIMEOUT_S:-90}
STOP_TIMEOUT_S=${BENCH_STOP_TIMEOUT_S:-20}

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Prints a command line with each word quoted as the shell would need it.
show_cmd() {
  local out="" w
  for w in "$@"; do
    if [[ $w =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]]; then out+="$w "; else out+="$(printf '%q' "$w") "; fi
  done
  printf '%s\n' "${out% }"
}

# A free port below the kernel's ephemeral range: a port from that range, free when chosen, can be
# taken by any outgoing connection before the server binds it (the generator and other programs
# open thousands), so servers get ports no connect() hands out.
free_port() {
  local low hi p
  read -r low _ </proc/sys/net/ipv4/ip_local_port_range
  hi=$(( low - 1 )); [ "$hi" -gt 32767 ] && hi=32767
  [ "$hi" -lt 12000 ] && hi=32767
  for _ in $(seq 200); do
    p=$(( 10000 + (RANDOM * 32768 + RANDOM) % (hi - 10000) ))
    if python3 -c 'import socket,sys; s=socket.socket(); s.bind(("0.0.0.0",int(sys.argv[1]))); s.close()' "$p" 2>/dev/null; then
      echo "$p"; return
    fi
  done
  die "no free port found in 10000-$hi"
}

# Raises the open-files limit as far as the hard limit lets it; prints the resulting soft limit.
raise_nofile() {
  ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  ulimit -n
}

# start_bg NAME CMD...: runs CMD in the background with its output in $RESULTS/logs/NAME.log;
# sets BG_PID. taskset execs the command, so the pid is the server's own.
start_bg() {
  local name=$1; shift
  local logf="$RESULTS/logs/$name.log"
  if [ "$DRY_RUN" = 1 ]; then
    BENCH_DRY_PID=$((BENCH_DRY_PID + 1)); BG_PID=$BENCH_DRY_PID
    echo "[dry-run] $(show_cmd "$@") > $logf 2>&1 &   # pid $BG_PID"
    return
  fi
  "$@" >"$logf" 2>&1 &
  BG_PID=$!
  BENCH_STARTED_PIDS+=("$BG_PID")
  log "started $name pid=$BG_PID (log $logf)"
}

alive() { kill -0 "$1" 2>/dev/null; }

# stop_pid PID [TIMEOUT_S]: SIGTERM, then SIGKILL if it has not exited after TIMEOUT_S.
stop_pid() {
  local pid=$1 timeout=${2:-$STOP_TIMEOUT_S} waited=0
  [ "$DRY_RUN" = 1 ] && { echo "[dry-run] kill -TERM $pid (kill -9 after ${timeout}s)"; return; }
  if alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    while alive "$pid" && [ "$waited" -lt $((timeout * 10)) ]; do sleep 0.1; waited=$((waited + 1)); done
    if alive "$pid"; then
      log "pid $pid still running ${timeout}s after SIGTERM: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
  local keep=() p
  for p in "${BENCH_STARTED_PIDS[@]}"; do [ "$p" != "$pid" ] && keep+=("$p"); done
  BENCH_STARTED_PIDS=("${keep[@]}")
}

# On exit: every process this script started and that still runs gets SIGTERM, then SIGKILL.
cleanup_all() {
  local p
  for p in "${BENCH_STARTED_PIDS[@]}"; do alive "$p" && kill -TERM "$p" 2>/dev/null; done
  for _ in $(seq 50); do
    local any=0
    for p in "${BENCH_STARTED_PIDS[@]}"; do alive "$p" && any=1; done
    [ "$any" = 0 ] && break
    sleep 0.1
  done
  for p in "${BENCH_STARTED_PIDS[@]}"; do alive "$p" && kill -KILL "$p" 2>/dev/null; done
  BENCH_STARTED_PIDS=()
}

# wait_http NAME URL PID: until URL answers 2xx, the process dies, or READY_TIMEOUT_S passes.
wait_http() {
  local name=$1 url=$2 pid=$3 deadline=$((SECONDS + READY_TIMEOUT_S))
  [ "$DRY_RUN" = 1 ] && { echo "[dry-run] wait for $url"; return; }
  until curl -sf -o /dev/null --max-time 2 "$url"; do
    if ! alive "$pid"; then
      wait "$pid" 2>/dev/null || true
      log "$name (pid $pid) exited before $url answered; its log ends:"
      tail -n 20 "$RESULTS/logs/$name.log" >&2 || true
      return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 20 "$RESULTS/logs/$name.log" >&2 || true
      die "$name: $url not ready after ${READY_TIMEOUT_S}s"
    fi
    sleep 0.2
  done
  log "$name ready ($url)"
}

# Which Redis the servers use: standalone (one redis-server), or clusterN, a Redis Cluster of N
# masters (no replicas), every node pinned like the standalone one. run.sh's --redis sets it.
REDIS_MODE=${REDIS_MODE:-standalone}
# A cluster node's failure-detection timeout: at least 2000 ms, so that a loaded 2-core box does not
# mark a busy node as failed (there are no replicas to fail over to, but a node marked FAIL stops
# the cluster serving its slots).
REDIS_CLUSTER_NODE_TIMEOUT_MS=${REDIS_CLUSTER_NODE_TIMEOUT_MS:-5000}

# redis_masters: N for clusterN, 0 for standalone; dies on anything else.
redis_masters() {
  case $REDIS_MODE in
    standalone) echo 0 ;;
    cluster[1-9]|cluster[1-9][0-9]) echo "${REDIS_MODE#cluster}" ;;
    *) die "--redis: $REDIS_MODE is neither standalone nor clusterN (e.g. cluster1, cluster3)" ;;
  esac
}

# start_redis: a fresh Redis (REDIS_MODE), pinned to the servers' core. Sets REDIS_PORT and REDIS_PID
# (the first node), REDIS_PORTS and REDIS_PIDS (every node), REDIS_PID_LIST (comma-separated, for
# chat-bench's --redis-pid, which sums them) and OURS_REDIS_ENV (ours' CHAT_REDIS_* settings).
start_redis() {
  local masters
  masters=$(redis_masters)
  REDIS_PORTS=(); REDIS_PIDS=()
  if [ "$masters" = 0 ]; then
    start_redis_node redis "$(free_port)"
    OURS_REDIS_ENV=(CHAT_REDIS_URL="redis://127.0.0.1:${REDIS_PORTS[0]}")
  else
    local i
    for i in $(seq 1 "$masters"); do start_redis_node "redis-$i" "$(free_cluster_port)" --cluster-enabled yes \
      --cluster-config-file "nodes-$i.conf" --cluster-node-timeout "$REDIS_CLUSTER_NODE_TIMEOUT_MS"; done
    create_cluster
    local seeds=() p
    for p in "${REDIS_PORTS[@]}"; do seeds+=("redis://127.0.0.1:$p"); done
    OURS_REDIS_ENV=(CHAT_REDIS_MODE=cluster CHAT_REDIS_URL="$(IFS=,; echo "${seeds[*]}")")
  fi
  REDIS_PORT=${REDIS_PORTS[0]}
  REDIS_PID=${REDIS_PIDS[0]}
  REDIS_PID_LIST=$(IFS=,; echo "${REDIS_PIDS[*]}")
}

# start_redis_node NAME PORT [OPTION...]: one redis-server, its files in $RESULTS (a cluster node's
# in $RESULTS/NAME); waits for PONG.
start_redis_node() {
  local name=$1 port=$2; shift 2
  local persistence dir=$RESULTS
  [ "$name" = redis ] || { dir="$RESULTS/$name"; mkdir -p "$dir"; }
  eval "persistence=($REDIS_PERSISTENCE)"
  start_bg "$name" taskset -c "$SERVER_CORE" redis-server --port "$port" --bind 127.0.0.1 \
    --dir "$dir" "${persistence[@]}" --client-output-buffer-limit "$REDIS_OUTPUT_BUFFER_PUBSUB" "$@"
  REDIS_PORTS+=("$port"); REDIS_PIDS+=("$BG_PID")
  [ "$DRY_RUN" = 1 ] && return
  local deadline=$((SECONDS + 30))
  until [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ]; do
    alive "$BG_PID" || die "redis-server $name exited: $(tail -n 5 "$RESULTS/logs/$name.log")"
    [ "$SECONDS" -ge "$deadline" ] && die "redis-server $name not answering on $port"
    sleep 0.1
  done
  log "$name ready on $port (pid $BG_PID)"
}

# A free port whose cluster bus port (port + 10000) is free too, both below the ephemeral range.
free_cluster_port() {
  local low p
  read -r low _ </proc/sys/net/ipv4/ip_local_port_range
  for _ in $(seq 200); do
    p=$(free_port)
    if [ $((p + 10000)) -lt "$low" ] && [ $((p + 10000)) -le 65535 ] &&
      python3 -c 'import socket,sys; s=socket.socket(); s.bind(("0.0.0.0",int(sys.argv[1]))); s.close()' "$((p + 10000))" 2>/dev/null; then
      echo "$p"; return
    fi
  done
  die "no free port with a free bus port (port + 10000) below $low"
}

# run_or_show LOGFILE CMD...: runs CMD with its output appended to LOGFILE, or prints it under --dry-run.
run_or_show() {
  local logf=$1; shift
  if [ "$DRY_RUN" = 1 ]; then echo "[dry-run] $(show_cmd "$@") >> $logf"; return 0; fi
  log "$(show_cmd "$@")"
  "$@" >>"$logf" 2>&1
}

# create_cluster: the slots of REDIS_PORTS' nodes, as masters with no replicas; waits for
# cluster_state:ok on every node. redis-cli --cluster create needs 3 masters at least, so one or two
# get their slots by CLUSTER ADDSLOTSRANGE and meet by CLUSTER MEET.
create_cluster() {
  local n=${#REDIS_PORTS[@]} p i addrs=() logf="$RESULTS/logs/cluster-create.log"
  for p in "${REDIS_PORTS[@]}"; do addrs+=("127.0.0.1:$p"); done
  if [ "$n" -ge 3 ]; then
    run_or_show "$logf" redis-cli --cluster create "${addrs[@]}" --cluster-replicas 0 --cluster-yes ||
      die "redis-cli --cluster create failed (log $logf)"
  else
    for i in $(seq 0 $((n - 1))); do
      run_or_show "$logf" redis-cli -p "${REDIS_PORTS[$i]}" CLUSTER ADDSLOTSRANGE $((i * 16384 / n)) $(((i + 1) * 16384 / n - 1)) ||
        die "CLUSTER ADDSLOTSRANGE failed (log $logf)"
      if [ "$i" -gt 0 ]; then
        run_or_show "$logf" redis-cli -p "${REDIS_PORTS[0]}" CLUSTER MEET 127.0.0.1 "${REDIS_PORTS[$i]}" ||
          die "CLUSTER MEET failed (log $logf)"
      fi
    done
  fi
  if [ "$DRY_RUN" = 1 ]; then echo "[dry-run] wait for cluster_state:ok and $n known nodes on every node"; return; fi
  local deadline=$((SECONDS + 60)) ok
  while :; do
    ok=0
    for p in "${REDIS_PORTS[@]}"; do
      [ "$(redis-cli -p "$p" CLUSTER INFO 2>/dev/null | tr -d '\r' |
        grep -cx -e "cluster_state:ok" -e "cluster_known_nodes:$n")" = 2 ] && ok=$((ok + 1))
    done
    [ "$ok" = "$n" ] && break
    [ "$SECONDS" -ge "$deadline" ] && die "the cluster of $n masters did not reach cluster_state:ok in 60 s"
    sleep 0.2
  done
  log "redis cluster of $n master(s), no replicas, ready on ${REDIS_PORTS[*]}"
}

redis_flush() {
  local i
  for i in "${!REDIS_PORTS[@]}"; do
    if [ "$DRY_RUN" = 1 ]; then echo "[dry-run] redis-cli -p ${REDIS_PORTS[$i]} FLUSHALL"; continue; fi
    alive "${REDIS_PIDS[$i]}" || die "redis-server (pid ${REDIS_PIDS[$i]}) is gone"
    redis-cli -p "${REDIS_PORTS[$i]}" FLUSHALL >/dev/null
  done
}

stop_redis() {
  local p
  for p in "${REDIS_PIDS[@]}"; do stop_pid "$p"; done
}

# Our service's settings for every run, beyond port, Redis and node id: run.txt records them as is.
OURS_ENV=(CHAT_INSTANCES=${OURS_INSTANCES:-2} CHAT_MAX_CONNECTIONS=200000 CHAT_RATE_LIMIT_PER_SEC=1000 CHAT_RATE_LIMIT_BURST=2000
  CHAT_FRAME_RATE_PER_SEC=2000 CHAT_FRAME_BURST=4000 CHAT_MAX_PENDING_ACKS=10000 CHAT_PRESENCE_MAX_ONLINE=1000
  CHAT_LOG_LEVEL=WARN CHAT_DRAIN_MS=2000)

# start_server TARGET I NAME PORT EXTRA: starts replica I of TARGET on PORT and waits for readiness;
# returns 1 when the process exited first (its port taken meanwhile, for instance). Sets BG_PID.
start_server() {
  local target=$1 i=$2 name=$3 port=$4 extra=$5
  case $target in
    ours)
      # shellcheck disable=SC2086
      start_bg "$name" env CHAT_PORT="$port" "${OURS_REDIS_ENV[@]}" \
        CHAT_NODE_ID="bench-ours-$i" "${OURS_ENV[@]}" \
        taskset -c "$SERVER_CORE" java $OURS_JVM_OPTS $extra -jar "$SERVICE_JAR"
      wait_http "$name" "http://127.0.0.1:$port/health/ready" "$BG_PID"
      ;;
    socketio|socketio-sharded)
      local adapter=classic
      [ "$target" = socketio-sharded ] && adapter=sharded
      # shellcheck disable=SC2086
      start_bg "$name" env PORT="$port" REDIS_URL="redis://127.0.0.1:$REDIS_PORT" ADAPTER="$adapter" \
        taskset -c "$SERVER_CORE" node $PEER_NODE_OPTS "$PEER_DIR/server.js"
      wait_http "$name" "http://127.0.0.1:$port/stats" "$BG_PID"
      ;;
    floor)
      # The same JVM options as ours: the floor is our cost minus the protocol, on the same runtime.
      # shellcheck disable=SC2086
      start_bg "$name" taskset -c "$SERVER_CORE" java $OURS_JVM_OPTS $extra -jar "$BENCH_JAR" floor \
        --port "$port" --threads "$FLOOR_THREADS"
      wait_http "$name" "http://127.0.0.1:$port/health/ready" "$BG_PID"
      ;;
    *) die "unknown target $target (ours, socketio, socketio-sharded, floor)" ;;
  esac
}

# setup_run: what run.sh and profile.sh start with: a JDK 21+, and every started process killed on exit.
setup_run() {
  # shellcheck source=scripts/jdk.sh
  . "$ROOT/scripts/jdk.sh"
  use_jdk
  trap cleanup_all EXIT
  trap 'exit 130' INT TERM
}

# start_target TARGET REPLICAS TAG [EXTRA_JVM_OPTS]: starts the servers of one target
# (ours | socketio | socketio-sharded | floor) on free ports, waits for readiness. The floor is one
# process whatever REPLICAS is (it has no bus between processes): its url is given REPLICAS times.
# Sets TARGET_URLS (comma-separated ws:// URLs), TARGET_PIDS (comma-separated) and TARGET_PID_LIST (array).
start_target() {
  local target=$1 replicas=$2 tag=$3 extra=${4:-} i port name try urls=() pids=() processes=$2
  TARGET_PID_LIST=()
  [ "$target" = floor ] && processes=1
  for i in $(seq 1 "$processes"); do
    name="$tag-$target-$i"
    for try in 1 2 3; do
      port=$(free_port)
      if start_server "$target" "$i" "$name" "$port" "$extra"; then break; fi
      stop_pid "$BG_PID" 1
      [ "$try" = 3 ] && die "$name did not start (log $RESULTS/logs/$name.log)"
      log "$name: trying again on another port"
    done
    urls+=("ws://127.0.0.1:$port")
    pids+=("$BG_PID")
    TARGET_PID_LIST+=("$BG_PID")
  done
  while [ "${#urls[@]}" -lt "$replicas" ]; do urls+=("${urls[0]}"); done
  TARGET_URLS=$(IFS=,; echo "${urls[*]}")
  TARGET_PIDS=$(IFS=,; echo "${pids[*]}")
}

stop_target() {
  local p
  for p in "${TARGET_PID_LIST[@]}"; do stop_pid "$p"; done
  TARGET_PID_LIST=()
}

proto_of() { case $1 in ours|floor) echo ours ;; *) echo socketio ;; esac; }

# run_generator LOGNAME ARGS...: chat-bench on the generator's core, in the foreground; returns its exit code.
run_generator() {
  local name=$1; shift
  # shellcheck disable=SC2086
  local cmd=(taskset -c "$GEN_CORE" java $GEN_JVM_OPTS -jar "$BENCH_JAR" "$@")
  if [ "$DRY_RUN" = 1 ]; then echo "[dry-run] $(show_cmd "${cmd[@]}")"; return 0; fi
  log "generator: $(show_cmd "${cmd[@]}")"
  # In the background with a wait, so that a SIGTERM to this script runs its trap at once.
  local rc=0 gpid
  "${cmd[@]}" > >(tee "$RESULTS/logs/$name.log") 2>&1 &
  gpid=$!
  BENCH_STARTED_PIDS+=("$gpid")
  wait "$gpid" || rc=$?
  stop_pid "$gpid" 1
  return "$rc"
}

# build_if_needed SKIP: the jars (maven) and the peer's node_modules (npm ci).
build_if_needed() {
  local skip=$1
  if [ "$skip" = 1 ]; then
    log "build skipped"
  elif [ "$DRY_RUN" = 1 ]; then
    echo "[dry-run] ./mvnw -B -q -DskipTests package"
  else
    log "building: ./mvnw -B -q -DskipTests package ${MVN_ARGS:-}"
    # shellcheck disable=SC2086
    (cd "$ROOT" && ./mvnw -B -q -DskipTests ${MVN_ARGS:-} package)
  fi
  if [ ! -d "$PEER_DIR/node_modules" ]; then
    if [ "$DRY_RUN" = 1 ]; then echo "[dry-run] (cd $PEER_DIR && npm ci)"; else
      log "npm ci in $PEER_DIR"
      (cd "$PEER_DIR" && npm ci --no-audit --no-fund)
    fi
  fi
  if [ "$DRY_RUN" != 1 ]; then
    [ -f "$SERVICE_JAR" ] || die "no $SERVICE_JAR (build failed?)"
    [ -f "$BENCH_JAR" ] || die "no $BENCH_JAR: build the chat-bench module, or set CHAT_BENCH_JAR"
  fi
}
