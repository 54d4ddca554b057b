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
OURS_JVM_OPTS=${OURS_JVM_OPTS:--Xms1g -Xmx8g}
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

# start_redis: a fresh redis-server on a free port, pinned to the servers' core. Sets REDIS_PORT, REDIS_PID.
start_redis() {
  REDIS_PORT=$(free_port)
  local persistence
  eval "persistence=($REDIS_PERSISTENCE)"
  start_bg redis taskset -c "$SERVER_CORE" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
    --dir "$RESULTS" "${persistence[@]}" --client-output-buffer-limit "$REDIS_OUTPUT_BUFFER_PUBSUB"
  REDIS_PID=$BG_PID
  [ "$DRY_RUN" = 1 ] && return
  local deadline=$((SECONDS + 30))
  until [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; do
    alive "$REDIS_PID" || die "redis-server exited: $(tail -n 5 "$RESULTS/logs/redis.log")"
    [ "$SECONDS" -ge "$deadline" ] && die "redis-server not answering on $REDIS_PORT"
    sleep 0.1
  done
  log "redis ready on $REDIS_PORT (pid $REDIS_PID)"
}

redis_flush() {
  if [ "$DRY_RUN" = 1 ]; then echo "[dry-run] redis-cli -p $REDIS_PORT FLUSHALL"; return; fi
  alive "$REDIS_PID" || die "redis-server (pid $REDIS_PID) is gone"
  redis-cli -p "$REDIS_PORT" FLUSHALL >/dev/null
}

# Our service's settings for every run, beyond port, Redis and node id: run.txt records them as is.
OURS_ENV=(CHAT_INSTANCES=2 CHAT_MAX_CONNECTIONS=200000 CHAT_RATE_LIMIT_PER_SEC=1000 CHAT_RATE_LIMIT_BURST=2000
  CHAT_FRAME_RATE_PER_SEC=2000 CHAT_FRAME_BURST=4000 CHAT_MAX_PENDING_ACKS=10000 CHAT_PRESENCE_MAX_ONLINE=1000
  CHAT_LOG_LEVEL=WARN CHAT_DRAIN_MS=2000)

# start_server TARGET I NAME PORT EXTRA: starts replica I of TARGET on PORT and waits for readiness;
# returns 1 when the process exited first (its port taken meanwhile, for instance). Sets BG_PID.
start_server() {
  local target=$1 i=$2 name=$3 port=$4 extra=$5
  case $target in
    ours)
      # shellcheck disable=SC2086
      start_bg "$name" env CHAT_PORT="$port" CHAT_REDIS_URL="redis://127.0.0.1:$REDIS_PORT" \
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
