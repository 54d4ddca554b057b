#!/usr/bin/env bash
# Profiles our service under one benchmark scenario with Java Flight Recorder (settings=profile) and
# prints the hottest methods and the allocation by class, so a shortfall in docs/benchmarks.md can be
# explained from a profile. Same setup as bench/run.sh: server and Redis on core 0, chat-bench on core 1.
#
#   bench/profile.sh [--scenario bigroom] [--rate 100] [--members 10000] [--seconds 30]
#                    [--results DIR] [--skip-build] [--dry-run] [-- generator options]
#
# bigroom (default): --members M --rates R --step-seconds S, one rate held for S seconds, one replica.
# Any other scenario but storm: give its generator options after `--` (run.sh's sizes are a guide);
# idle runs one replica, rooms and latency two (each gets its own recording).
# Writes to the results dir (default bench/results/profile-<timestamp>): ours-<scenario>-<pid>.jfr,
# and per recording <name>.hot-methods.txt, .allocation-by-class.txt, .gc-pauses.txt, .cpu-load.txt.
# Environment: as for run.sh (CHAT_BENCH_JAR, CHAT_SERVICE_JAR, OURS_JVM_OPTS, GEN_JVM_OPTS, MVN_ARGS).
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
GEN_EXTRA=()
while [ $# -gt 0 ]; do
  case $1 in
    --scenario) SCENARIO=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --members) MEMBERS=$2; shift 2 ;;
    --seconds) SECONDS_HELD=$2; shift 2 ;;
    --results) RESULTS=$2; shift 2 ;;
    --skip-build) SKIP_BUILD=1; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    --) shift; GEN_EXTRA=("$@"); break ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
case $SCENARIO in
  bigroom|idle|smoke) REPLICAS=1 ;;
  rooms|latency) REPLICAS=2 ;;
  storm) echo "storm kills a replica: profile another scenario" >&2; exit 2 ;;
  *) echo "unknown scenario $SCENARIO" >&2; exit 2 ;;
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
# The recording runs from the start and is dumped by jcmd once the generator is
# done, before the server stops, so it covers the whole scenario and nothing of the shutdown.
start_target ours "$REPLICAS" "profile-$SCENARIO" \
  "-XX:StartFlightRecording=name=bench,settings=profile"
rc=0
run_generator "gen-profile-$SCENARIO" "$SCENARIO" --proto ours --urls "$TARGET_URLS" --pids "$TARGET_PIDS" \
  --redis-pid "$REDIS_PID" --label ours --out "$RESULTS" "${GEN_OPTS[@]}" || rc=$?
[ "$rc" = 0 ] || log "the generator exited with $rc; profiling what ran"

recordings=()
for pid in "${TARGET_PID_LIST[@]}"; do
  f="$RESULTS/ours-$SCENARIO-$pid.jfr"
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
