#!/usr/bin/env bash
# Profiles our service (or the floor) under one benchmark scenario, so a shortfall in
# docs/benchmarks.md can be explained from a profile. Same setup as bench/run.sh: server and Redis on
# core 0, chat-bench on core 1.
#
#   bench/profile.sh [--scenario bigroom] [--rate 100] [--members 10000] [--seconds 30]
#                    [--profiler jfr|async] [--target ours|floor]
#                    [--results DIR] [--skip-build] [--dry-run] [-- generator options]
#
# bigroom (default): --members M --rates R --step-seconds S, one rate held for S seconds, one replica.
# Any other scenario: give its generator options after `--` (run.sh's sizes are a guide); idle runs
# one replica, rooms, latency, steady and storm two (each gets its own recording).
# --profiler jfr (default): Java Flight Recorder (settings=profile), dumped by jcmd before the
#   servers stop; prints JFR's hot methods and allocation by class.
# --profiler async: async-profiler (tools.profiler:async-profiler from Maven Central, CPU samples
#   every ms with the kernel's and the JVM's own frames: system calls, the JIT, the collector),
#   written when a server exits; prints chat-bench profile-window's summary of each recording.
#   storm needs it: the killed replica's recording is lost, and the survivor's is summed twice,
#   over the seconds before the kill and over the recovery (the kill to 99% resumed).
# --target floor: the floor server instead of ours (bigroom and steady), to set a profile of ours
#   against the kernel's cost.
# Writes to the results dir (default bench/results/profile-<timestamp>): <target>-<scenario>-<pid>.jfr,
# and per recording <name>.hot-methods.txt, .allocation-by-class.txt, .gc-pauses.txt, .cpu-load.txt
# (jfr) or <name>.window-*.txt (async).
# Environment: as for run.sh (CHAT_BENCH_JAR, CHAT_SERVICE_JAR, OURS_JVM_OPTS, GEN_JVM_OPTS, MVN_ARGS);
# ASYNC_PROFILER_VERSION (4.2), ASYNC_PROFILER_OPTS (event=cpu,interval=1ms).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

SCENARIO=bigroom
RATE=100
MEMBERS=10000
SECONDS_HELD=30
RESULTS=""
SKIP_BUILD=0
DRY_RUN=0
PROFILER=jfr
TARGET=ours
GEN_EXTRA=()
while [ $# -gt 0 ]; do
  case $1 in
    --scenario) SCENARIO=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --members) MEMBERS=$2; shift 2 ;;
    --seconds) SECONDS_HELD=$2; shift 2 ;;
    --results) RESULTS=$2; shift 2 ;;
    --profiler) PROFILER=$2; shift 2 ;;
    --target) TARGET=$2; shift 2 ;;
    --skip-build) SKIP_BUILD=1; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    --) shift; GEN_EXTRA=("$@"); break ;;
    -h|--help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
case $SCENARIO in
  bigroom|idle|smoke) REPLICAS=1 ;;
  rooms|latency|steady) REPLICAS=2 ;;
  storm)
    REPLICAS=2
    [ "$PROFILER" = async ] || { echo "storm kills a replica: profile it with --profiler async" >&2; exit 2; } ;;
  *) echo "unknown scenario $SCENARIO" >&2; exit 2 ;;
esac
case $PROFILER in jfr|async) ;; *) echo "--profiler is jfr or async" >&2; exit 2 ;; esac
case $TARGET in
  ours) ;;
  floor) case $SCENARIO in bigroom|steady) ;; *) echo "the floor runs bigroom and steady only" >&2; exit 2 ;; esac ;;
  *) echo "--target is ours or floor" >&2; exit 2 ;;
esac
if [ "$SCENARIO" = bigroom ]; then
  # One step at the given rate; a high stop threshold so the step runs its whole time.
  GEN_OPTS=(--members "$MEMBERS" --rates "$RATE" --step-seconds "$SECONDS_HELD" --stop-p99-ms 600000 "${GEN_EXTRA[@]}")
else
  [ "${#GEN_EXTRA[@]}" -gt 0 ] || { echo "give $SCENARIO's generator options after --" >&2; exit 2; }
  GEN_OPTS=("${GEN_EXTRA[@]}")
fi

RESULTS=${RESULTS:-$ROOT/bench/results/profile-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$RESULTS/logs"
RESULTS=$(cd "$RESULTS" && pwd)

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
setup_run
NOFILE=$(raise_nofile)
log "results in $RESULTS (open files limit $NOFILE)"

build_if_needed "$SKIP_BUILD"
start_redis
redis_flush

# async_profiler_lib: the linux-x64 agent, unpacked from the Maven Central jar once into bench/target.
async_profiler_lib() {
  local v=${ASYNC_PROFILER_VERSION:-4.2} dir="$ROOT/bench/target/async-profiler"
  local lib="$dir/$v/linux-x64/libasyncProfiler.so"
  if [ ! -f "$lib" ]; then
    # Fetched once from Maven Central, whatever MVN_ARGS says (-o could not fetch it).
    (cd "$ROOT" && ./mvnw -B -q org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy -Dartifact="tools.profiler:async-profiler:$v" \
      -DoutputDirectory="$dir") >&2 || die "could not fetch tools.profiler:async-profiler:$v"
    mkdir -p "$dir/$v" && (cd "$dir/$v" && jar xf "../async-profiler-$v.jar" linux-x64/libasyncProfiler.so) \
      || die "could not unpack async-profiler-$v.jar"
  fi
  echo "$lib"
}

if [ "$PROFILER" = async ]; then
  if [ "$DRY_RUN" = 1 ]; then LIB=bench/target/async-profiler/libasyncProfiler.so; else LIB=$(async_profiler_lib); fi
  AGENT="-agentpath:$LIB=start,${ASYNC_PROFILER_OPTS:-event=cpu,interval=1ms},jfr,file=$RESULTS/$TARGET-$SCENARIO-%p.jfr"
else
  # The recording runs from the start and is dumped by jcmd once the generator is
  # done, before the server stops, so it covers the whole scenario and nothing of the shutdown.
  AGENT="-XX:StartFlightRecording=name=bench,settings=profile"
fi
start_target "$TARGET" "$REPLICAS" "profile-$SCENARIO" "$AGENT"
KILL=()
[ "$SCENARIO" = storm ] && KILL=(--kill-pid "${TARGET_PID_LIST[1]}")
rc=0
run_generator "gen-profile-$SCENARIO" "$SCENARIO" --proto ours --urls "$TARGET_URLS" --pids "$TARGET_PIDS" \
  --redis-pid "$REDIS_PID" --label "$TARGET" --out "$RESULTS" "${KILL[@]}" "${GEN_OPTS[@]}" || rc=$?
[ "$rc" = 0 ] || log "the generator exited with $rc; profiling what ran"

recordings=()
if [ "$PROFILER" = async ]; then
  # async-profiler writes its recording when the JVM exits.
  PIDS_RAN=("${TARGET_PID_LIST[@]}")
  stop_target
  stop_pid "$REDIS_PID"
  [ "$DRY_RUN" = 1 ] && { log "profile in $RESULTS"; exit "$rc"; }
  json_ms() {  # json_ms FILE KEY: a numeric field of a result file, empty when absent
    grep -o "\"$2\" *: *[0-9]*" "$1" 2>/dev/null | grep -o '[0-9]*$' || true
  }
  window() {  # window FILE NAME [--from MS --to MS]
    local f=$1 name=$2; shift 2
    java -jar "$BENCH_JAR" profile-window --file "$f" --top 30 "$@" >"${f%.jfr}.window-$name.txt" 2>&1 \
      || log "profile-window failed for $f"
    echo "===== $(basename "$f"): $name ====="
    head -n 60 "${f%.jfr}.window-$name.txt"
  }
  for pid in "${PIDS_RAN[@]}"; do
    f="$RESULTS/$TARGET-$SCENARIO-$pid.jfr"
    if [ "$SCENARIO" = storm ] && [ "$pid" = "${KILL[1]}" ]; then
      log "pid $pid was killed by the scenario: its recording is incomplete, only the survivor's is read"
      continue
    fi
    [ -s "$f" ] || { log "no recording from pid $pid"; continue; }
    if [ "$SCENARIO" = storm ]; then
      json="$RESULTS/storm-$TARGET.json"
      kill_ms=$(json_ms "$json" killAtEpochMs)
      done_ms=$(json_ms "$json" rejoined99EpochMs)
      [ -n "$kill_ms" ] || { log "no kill time in $json"; continue; }
      window "$f" before-kill --from $((kill_ms - 10000)) --to "$kill_ms"
      [ -n "$done_ms" ] && window "$f" recovery --from "$kill_ms" --to "$done_ms"
    elif [ "$SCENARIO" = steady ]; then
      json=$(ls "$RESULTS"/steady*-"$TARGET".json 2>/dev/null | head -n 1)
      from_ms=$(json_ms "$json" warmFromEpochMs)
      to_ms=$(json_ms "$json" warmToEpochMs)
      [ -n "$from_ms" ] && [ -n "$to_ms" ] || { log "no warm window in $json"; window "$f" whole-run; continue; }
      window "$f" warm --from "$from_ms" --to "$to_ms"
    else
      window "$f" whole-run
    fi
  done
  log "profile in $RESULTS"
  exit "$rc"
fi

for pid in "${TARGET_PID_LIST[@]}"; do
  f="$RESULTS/$TARGET-$SCENARIO-$pid.jfr"
  if [ "$DRY_RUN" = 1 ]; then echo "[dry-run] jcmd $pid JFR.dump name=bench filename=$f"; continue; fi
  if jcmd "$pid" JFR.dump name=bench filename="$f" >"$RESULTS/logs/jcmd-$pid.log" 2>&1 && [ -s "$f" ]; then
    recordings+=("$f")
  else
    log "JFR.dump failed for pid $pid: $(tail -n 3 "$RESULTS/logs/jcmd-$pid.log")"
  fi
done
stop_target
stop_pid "$REDIS_PID"

for f in "${recordings[@]}"; do
  base=${f%.jfr}
  for view in hot-methods allocation-by-class gc-pauses cpu-load; do
    jfr view --width 160 "$view" "$f" >"$base.$view.txt" 2>&1 || log "jfr view $view failed for $f"
  done
  echo "===== $(basename "$f"): hot methods ====="
  cat "$base.hot-methods.txt"
  echo "===== $(basename "$f"): allocation by class ====="
  cat "$base.allocation-by-class.txt"
done
log "profile in $RESULTS"
exit "$rc"
