#!/usr/bin/env bash
# fuzz/run.sh SECONDS — builds the clang fuzz build (build-fuzz) if needed and
# runs every libFuzzer target for SECONDS, each on a scratch copy of its seed
# corpus (fuzz/corpus/<target>/ is never written). One line per target, then
# "N passed, N failed"; exit status 1 if any target failed.
#
#   bash fuzz/run.sh 60        # CI
#   bash fuzz/run.sh 1800      # the long run
#   FUZZ_JOBS=2 bash fuzz/run.sh 60   # two targets at a time
#
# Logs, crash artifacts and each run's grown corpus go to
# build-fuzz/fuzz-runs/<target>{.log,/}. FUZZ_BUILD_DIR overrides build-fuzz.
set -u

secs=${1:-}
if ! [[ $secs =~ ^[0-9]+$ ]] || [ "$secs" -eq 0 ]; then
  echo "usage: bash fuzz/run.sh SECONDS" >&2
  exit 2
fi
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
jobs=${FUZZ_JOBS:-1}
targets=(fuzz_batch_decode fuzz_segment_reader fuzz_index_lookup fuzz_offsets_meta fuzz_roundtrip)

if ! command -v clang++-14 >/dev/null 2>&1; then
  echo "fuzz/run.sh: clang++-14 is missing (apt-get install clang-14 libclang-rt-14-dev)" >&2
  exit 2
fi
if [ ! -f "$build/build.ninja" ]; then
  CXX=clang++-14 meson setup "$build" "$root" -Dfuzz=true -Dtests=false -Dexamples=false -Dtools=false \
    -Dbenchmarks=false -Db_lundef=false -Dbuildtype=debugoptimized >/dev/null || {
    echo "fuzz/run.sh: meson setup $build failed" >&2
    exit 2
  }
fi
if ! ninja -C "$build" "${targets[@]/#/fuzz/}" >"$build/fuzz-build.log" 2>&1; then
  cat "$build/fuzz-build.log" >&2
  echo "fuzz/run.sh: build failed" >&2
  exit 2
fi

out=$build/fuzz-runs
mkdir -p "$out"

# Runs target $1; writes its one-line result to $out/$1.result.
run_one() {
  local t=$1 dir=$out/$1 log=$out/$1.log
  rm -rf "$dir" "$out/$t.result"
  mkdir -p "$dir"
  cp -r "$root/fuzz/corpus/$t" "$dir/corpus"
  "$build/fuzz/$t" -max_total_time="$secs" -detect_leaks=1 -rss_limit_mb=2048 -timeout=10 \
    -artifact_prefix="$dir/" -print_final_stats=1 "$dir/corpus" >"$log" 2>&1
  local rc=$?
  local artifact
  artifact=$(ls "$dir" | grep -E '^(crash|leak|timeout|oom|slow-unit)-' | head -1)
  if [ $rc -eq 0 ] && [ -z "$artifact" ]; then
    local done cov
    done=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 runs in \2 s/p' "$log" | tail -1)
    cov=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 |
      sed -n 's/.*cov: \([0-9]*\) ft: \([0-9]*\) corp: \([0-9]*\).*/cov \1, ft \2, corpus \3/p')
    echo "fuzz $t: ok, ${done:-? runs} (${cov:-no stats})" >"$out/$t.result"
  elif [ -n "$artifact" ]; then
    echo "fuzz $t: FAILED (${artifact%%-*} artifact: $dir/$artifact; log: $log)" >"$out/$t.result"
  else
    echo "fuzz $t: FAILED (exit status $rc, no artifact; log: $log)" >"$out/$t.result"
  fi
}

passed=0
failed=0
report() {
  local t=$1
  cat "$out/$t.result"
  if grep -q ': ok,' "$out/$t.result"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}

if [ "$jobs" -le 1 ]; then
  for t in "${targets[@]}"; do
    run_one "$t"
    report "$t"
  done
else
  for t in "${targets[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
    run_one "$t" &
  done
  wait
  for t in "${targets[@]}"; do report "$t"; done
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
