#!/usr/bin/env bash
# franz against the peers a user would pick instead, measured side by side in
# one run (doc/benchmarks.md, "Peers").
#
#   bash bench/peers/run.sh setup     install the peers from Debian (apt; root or sudo)
#   bash bench/peers/run.sh           build, run every workload on franz and every
#                                     installed peer, write CSV, tables and SVG plots
#   bash bench/peers/run.sh smoke     N = 10k: every installed peer reads back exactly
#                                     what it wrote (CI); last line "N passed, N failed"
#
# Options (run): --records N (default 1M), --reps R (default 3), --out DIR
# (default doc/peers), --systems LIST (default: all installed), --tmpdir DIR
# (default /tmp: the data directories; use a disk-backed one).
# smoke takes --build-dir DIR (default build-peers) to reuse a build.
#
# Peers that are not installed are skipped with a note. Redis and NATS
# servers listen on 127.0.0.1 only, each in a fresh temporary directory,
# started and stopped by PID. Chronicle Queue runs on OpenJDK 17
# (bench/peers/chronicle/run.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."

mode=run
case "${1:-}" in
  setup | run | smoke) mode=$1; shift ;;
esac

records=1M
reps=3
out=doc/peers
systems=""
tmpdir=/tmp
build_dir=build-peers
while [ $# -gt 0 ]; do
  case "$1" in
    --records) records=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --systems) systems=$2; shift 2 ;;
    --tmpdir) tmpdir=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

all_systems="raw franz lmdb rocksdb leveldb sqlite tkrzw redis nats kafka chronicle"
[ -n "$systems" ] || systems=$all_systems
systems=${systems//,/ }

if [ "$mode" = setup ]; then
  pkgs=(liblmdb-dev librocksdb-dev libleveldb-dev libsqlite3-dev libtkrzw-dev redis-server libhiredis-dev
        nats-server libnats-dev librdkafka-dev libopenhft-chronicle-queue-java openjdk-17-jdk-headless gnuplot-nox)
  missing=()
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then echo "== peers: all installed"; exit 0; fi
  echo "== installing peers: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  # Under systemd the server packages also start their system services;
  # this script never uses them (it starts its own, on other ports).
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi

# --- build ----------------------------------------------------------------------------
if [ "$mode" = run ] || [ ! -f "$build_dir/build.ninja" ]; then
  if [ -f "$build_dir/build.ninja" ]; then
    meson setup --reconfigure "$build_dir" >/dev/null
  else
    meson setup "$build_dir" -Dbuildtype=release -Dtests=false -Dexamples=false -Dtools=false >/dev/null
  fi
fi
if ! log=$(ninja -C "$build_dir" 2>&1); then
  printf '%s\n' "$log" | tail -n 40
  echo "run.sh: build of $build_dir failed" >&2
  [ "$mode" = smoke ] && echo "0 passed, 1 failed"
  exit 1
fi
bin=$build_dir/bench/peers

# --- servers --------------------------------------------------------------------------
work=$(mktemp -d "$tmpdir/franz-peers-run-XXXXXX")
pids=()
stop_servers() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
  rm -rf "$work"
}
trap stop_servers EXIT

# A TCP port on 127.0.0.1 that nothing listens on.
free_port() {
  local p=$1
  while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}

# wait_port PORT PID NAME: until the server accepts connections (10 s).
wait_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || { echo "run.sh: $3 exited at start" >&2; return 1; }
    sleep 0.1
  done
  echo "run.sh: $3 did not listen on 127.0.0.1:$1" >&2
  return 1
}

# start_server SYSTEM: starts the system's server if it has one (setting
# server_arg to the program's --server option); returns 1 with a reason in
# skip_reason if it cannot. Servers write to log files, never to our stdout.
server_arg=""
skip_reason=""
start_server() {
  server_arg=""
  local port dir
  case "$1" in
    redis)
      command -v redis-server >/dev/null || { skip_reason="redis-server not installed"; return 1; }
      port=$(free_port 16379)
      dir="$work/redis-$port"
      mkdir -p "$dir"
      # AOF on (the adapter sets appendfsync per run with CONFIG SET); no RDB snapshots.
      redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --save '' --appendonly yes \
        --appendfsync no --daemonize no --logfile "$dir/redis.log" </dev/null >/dev/null 2>&1 &
      ;;
    nats)
      command -v nats-server >/dev/null || { skip_reason="nats-server not installed"; return 1; }
      port=$(free_port 14222)
      dir="$work/nats-$port"
      mkdir -p "$dir"
      nats-server -a 127.0.0.1 -p "$port" -js -sd "$dir/js" -l "$dir/nats.log" </dev/null >/dev/null 2>&1 &
      ;;
    *) return 0 ;;
  esac
  pids+=($!)
  if ! wait_port "$port" "$!" "$1 server"; then
    skip_reason="its server did not start (log: $dir)"
    return 1
  fi
  server_arg="--server 127.0.0.1:$port"
}

stop_servers_of_run() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}

# run_system SYSTEM ARGS...: runs one system's program (its server started
# first and stopped after); its stdout is the program's. Returns 77 with a
# note on stderr if the system is not installed.
run_system() {
  local s=$1 rc
  shift
  if [ "$s" = chronicle ]; then
    if [ ! -f bench/peers/chronicle/run.sh ]; then
      echo "run.sh: chronicle skipped: bench/peers/chronicle/run.sh missing" >&2
      return 77
    fi
    CHRONICLE_BUILD="$build_dir/chronicle" bash bench/peers/chronicle/run.sh --tmpdir "$tmpdir" "$@"
    return $?
  fi
  if [ ! -x "$bin/${s}_peer" ]; then
    echo "run.sh: $s skipped: not installed (bash bench/peers/run.sh setup)" >&2
    return 77
  fi
  if ! start_server "$s"; then
    stop_servers_of_run
    echo "run.sh: $s skipped: $skip_reason" >&2
    return 77
  fi
  set +e
  # shellcheck disable=SC2086 # server_arg is two words or none
  "$bin/${s}_peer" $server_arg --tmpdir "$tmpdir" "$@"
  rc=$?
  set -e
  stop_servers_of_run
  return $rc
}

# --- smoke ----------------------------------------------------------------------------
if [ "$mode" = smoke ]; then
  passed=0 failed=0
  for s in $systems; do
    set +e
    o=$(run_system "$s" --smoke --quiet 2>&1)
    rc=$?
    set -e
    if [ $rc -eq 77 ]; then
      printf '%s\n' "$o" | grep "skipped\|not installed" | sed 's/^/   /' || true
      continue
    fi
    last=$(printf '%s\n' "$o" | tail -n 1)
    if [ $rc -eq 0 ] && [[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
      passed=$((passed + BASH_REMATCH[1]))
      failed=$((failed + BASH_REMATCH[2]))
      printf '%s\n' "$o" | grep "read back exactly" | sed 's/^/   /' || true
    else
      failed=$((failed + 1))
      printf '%s\n' "$o" | tail -n 20 | sed "s/^/   $s: /"
    fi
  done
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit
fi

# --- run ------------------------------------------------------------------------------
mkdir -p "$out"
rm -f "$out"/results.csv "$out"/cdf-*.dat
csv=$out/results.csv
header=0
started=$(date -u '+%Y-%m-%d %H:%M UTC')
{
  echo "date: $started"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with local changes)')"
  echo "command: bash bench/peers/run.sh --records $records --reps $reps"
  echo "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
  echo "data directories: $tmpdir ($(df -T "$tmpdir" | awk 'NR==2 {print $2}'))"
} > "$out/run.txt"

# run_into_csv SYSTEM ARGS...
run_into_csv() {
  local s=$1 rows rc
  shift
  set +e
  rows=$(run_system "$s" --records "$records" --reps "$reps" --cdf-dir "$out" "$@")
  rc=$?
  set -e
  if [ $rc -eq 77 ]; then echo "$s: skipped (not installed)" >> "$out/run.txt"; return 0; fi
  if [ $rc -ne 0 ]; then echo "run.sh: $s failed (exit $rc)" >&2; echo "$s: FAILED (exit $rc)" >> "$out/run.txt"; return 0; fi
  if [ $header -eq 0 ]; then printf '%s\n' "$rows" | sed -n 1p > "$csv"; header=1; fi
  printf '%s\n' "$rows" | tail -n +2 >> "$csv"
}

standard=produce,produce_fsync,consume,append_latency,e2e
for s in $systems; do
  echo "== $s" >&2
  if [ "$s" = kafka ]; then
    # librdkafka's mock cluster answers each fetch with one message set, so
    # a consumer of one-record sends falls seconds behind: its e2e figure
    # would measure the mock, not Kafka (kafka_peer.cpp).
    run_into_csv "$s" --only produce,produce_fsync,consume,append_latency
    echo "kafka: e2e not run (the mock cluster serves one message set per fetch)" >> "$out/run.txt"
  else
    run_into_csv "$s" --only $standard
  fi
done

# The size sweep: franz, the raw file and the peer with the fastest produce.
best=$("$bin/peer_report" --best "$out")
echo "best peer (produce, no fsync): ${best:-none}" >> "$out/run.txt"
for s in franz raw $best; do
  echo "== $s: size sweep" >&2
  run_into_csv "$s" --only size_sweep
done
echo "== franz: partitions" >&2
run_into_csv franz --only partitions

"$bin/peer_report" "$out" > /dev/null
if command -v gnuplot >/dev/null; then
  (cd "$out" && gnuplot plots.gp)
else
  echo "run.sh: gnuplot not installed: no plots (bash bench/peers/run.sh setup)" >&2
fi
echo "finished: $(date -u '+%Y-%m-%d %H:%M UTC')" >> "$out/run.txt"
cat "$out/run.txt"
cat "$out/summary.md"
