#!/usr/bin/env bash
# Chronicle Queue 3.6 in the peer benchmarks: builds and runs ChronicleBench
# (next to this script) with Debian's libopenhft-chronicle-queue-java on the
# installed JDK. Options go through to ChronicleBench (as to the C++ peers:
# --records, --record-bytes, --batch, --reps, --only, --sizes, --sweep-bytes,
# --cdf-dir, --smoke, --tmpdir, --no-prewarm, --quiet; --help lists them).
#
#   bash bench/peers/chronicle/run.sh --smoke
#   bash bench/peers/chronicle/run.sh --only produce,consume --records 100k --reps 1
#
# The classpath comes from dpkg -L of the packages (the jars of Chronicle
# 3.6's manifest Class-Path: lang, asm, compiler, snappy, affinity, jna,
# annotations, slf4j-api), never from guessed names. The package's 4.x
# snapshot jar (openhft-chronicle-queue-4.*) is left out: it does not run on
# Java 17. Class files go to $CHRONICLE_BUILD (default
# /tmp/franz-chronicle-build), rebuilt when the source or the classpath
# changes. Extra JVM options (e.g. -Xlog:safepoint) can go in
# CHRONICLE_JAVA_OPTS; none are needed. Exit 77 with "chronicle: not
# installed (...)" when java, javac or a jar is missing.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src="$here/ChronicleBench.java"
build=${CHRONICLE_BUILD:-/tmp/franz-chronicle-build}

missing() {
  echo "chronicle: not installed ($*)" >&2
  exit 77
}

command -v java >/dev/null 2>&1 || missing "java"
command -v javac >/dev/null 2>&1 || missing "javac"
command -v dpkg >/dev/null 2>&1 || missing "dpkg, to find the jars"

# add_jar PACKAGE REGEX: the first /usr/share/java jar of PACKAGE whose file
# name matches REGEX (versioned names: each jar once) goes on the classpath.
cp=()
add_jar() {
  local pkg=$1 re=$2 list j
  list=$(dpkg -L "$pkg" 2>/dev/null) || missing "$pkg"
  j=$(grep -E "^/usr/share/java/$re\$" <<<"$list" | head -n 1) || true
  [[ -n "$j" && -r "$j" ]] || missing "no /usr/share/java/$re in $pkg"
  cp+=("$j")
}

add_jar libopenhft-chronicle-queue-java 'openhft-chronicle-3\.[0-9.]+\.jar'  # net.openhft.chronicle 3.x
add_jar libopenhft-lang-java 'openhft-lang-[0-9.]+\.jar'
add_jar libopenhft-affinity-java 'openhft-affinity-[0-9.]+\.jar'
add_jar libopenhft-compiler-java 'openhft-compiler-[0-9.]+\.jar'
add_jar libasm-java 'asm-[0-9.]+\.jar'
add_jar libsnappy-java 'snappy-java-[0-9.]+\.jar'
add_jar libjna-java 'jna-[0-9.]+\.jar'
add_jar libintellij-annotations-java '[^/]*annotations[^/]*\.jar'
add_jar libslf4j-java 'slf4j-api-[0-9.]+\.jar'
classpath=$(IFS=:; echo "${cp[*]}")

# lang 6.7 reaches into the JDK: String.value (java.lang) and
# sun.nio.ch.DirectBuffer. Nothing else was needed on OpenJDK 17.
jvm_flags=(
  --add-opens java.base/java.lang=ALL-UNNAMED
  --add-exports java.base/sun.nio.ch=ALL-UNNAMED
)

mkdir -p "$build"
stamp="$build/classpath.txt"
if [[ ! -f "$build/ChronicleBench.class" || "$src" -nt "$build/ChronicleBench.class" ]] ||
   [[ "$(cat "$stamp" 2>/dev/null)" != "$classpath" ]]; then
  javac -nowarn -encoding UTF-8 -cp "$classpath" -d "$build" "$src" >&2
  printf '%s' "$classpath" >"$stamp"
fi

exec java "${jvm_flags[@]}" ${CHRONICLE_JAVA_OPTS:-} -cp "$build:$classpath" ChronicleBench "$@"
