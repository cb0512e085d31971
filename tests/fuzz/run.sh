#!/bin/sh
# Build the libFuzzer harnesses with clang in their own build dir and run
# each for SECONDS (default 60), one after the other; exits non-zero if any
# of them crashed, leaked, hung or failed an assertion.
#   tests/fuzz/run.sh [SECONDS] [NAME...]      (NAME as in fuzz-NAME.c)
# The working corpus grows in build-fuzz/corpus/NAME across runs; seeds come
# from tests/fuzz/corpus/NAME (unit tests write them there with
# SC_FUZZ_SEEDS=tests/fuzz/corpus, see sc_harness_fuzz_seed), and a crashing
# input lands in build-fuzz/crash-NAME-*, to rerun as
# build-fuzz/tests/fuzz/fuzz-NAME FILE.
set -u
cd "$(dirname "$0")/../.."
seconds=${1:-60}
[ $# -gt 0 ] && shift
build=${SC_FUZZ_BUILD:-build-fuzz}
names=$*
if [ -z "$names" ]; then
  for f in tests/fuzz/fuzz-*.c; do
    n=${f#tests/fuzz/fuzz-}
    names="$names ${n%.c}"
  done
fi

if [ ! -f "$build/build.ninja" ]; then
  CC=clang meson setup "$build" -Dfuzz=true || exit 1
fi
for n in $names; do
  ninja -C "$build" "tests/fuzz/fuzz-$n" || exit 1
done

# Slices are plain mallocs so that ASan sees every GLib allocation; exact
# unwinding so that a leak is attributed (GLib has no frame pointers) and
# GLib's load-time tables match their suppression.
export G_SLICE=always-malloc G_DEBUG=fatal-criticals
export ASAN_OPTIONS=${ASAN_OPTIONS:-fast_unwind_on_malloc=0}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/sanitizers/lsan.supp}
failed=0
for n in $names; do
  mkdir -p "$build/corpus/$n"
  set -- "$build/corpus/$n"
  [ -d "tests/fuzz/corpus/$n" ] && set -- "$@" "tests/fuzz/corpus/$n"
  [ -f "tests/fuzz/$n.dict" ] && set -- -dict="tests/fuzz/$n.dict" "$@"
  log="$build/fuzz-$n.log"
  "$build/tests/fuzz/fuzz-$n" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
      -print_final_stats=1 -artifact_prefix="$build/crash-$n-" "$@" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  if [ $rc -eq 0 ]; then
    echo "fuzz-$n: ${execs:-?} execs in ${seconds} s, no crash"
  else
    echo "fuzz-$n: FAILED (exit $rc) after ${execs:-?} execs; see $log:"
    grep -E "ERROR|SUMMARY|artifact|Test unit written" "$log" | head -20
    failed=1
  fi
done
exit $failed
