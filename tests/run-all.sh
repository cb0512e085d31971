#!/bin/sh
# Everything CI runs after the packages are installed: the test suite on the
# normal build, then again on an ASan/UBSan build, then every fuzz harness
# for a bounded time.  Each suite run leaves build*/meson-logs/testlog*.json,
# which .ci/run counts; a fuzzer that fails makes the exit status non-zero.
# Exits non-zero if any part failed, after running them all.
set -u
cd "$(dirname "$0")/.."
rc=0

setup () {   # setup DIR [meson options...]
  dir=$1; shift
  meson setup --reconfigure "$dir" "$@" >/dev/null 2>&1 || meson setup "$dir" "$@" || return 1
  ninja -C "$dir"
}

setup build || exit 1
meson test -C build --print-errorlogs || rc=1

# Sanitizers halt on the first error.  Leaks are checked where stacks can be
# unwound at a bearable cost: the unit suites (exact unwinding, since GLib
# and GStreamer have no frame pointers); the integration suites run the
# daemon and GStreamer for minutes and check memory errors only.
if setup build-asan -Db_sanitize=address,undefined -Db_lundef=false; then
  export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
  export LSAN_OPTIONS=suppressions=$PWD/tests/sanitizers/lsan.supp
  ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1:fast_unwind_on_malloc=0 \
    meson test -C build-asan --suite unit --print-errorlogs --logbase testlog-unit || rc=1
  ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=0 \
    meson test -C build-asan --suite integration --print-errorlogs --logbase testlog-integration || rc=1
else
  rc=1
fi

# Every fuzz harness for a bounded time (tests/fuzz/run.sh SECONDS to run
# longer).  Leaks are left to the unit suites above: libFuzzer's per-input
# leak check reported indirect leaks of json-glib trees here that no single
# input reproduces.
ASAN_OPTIONS=detect_leaks=0 sh tests/fuzz/run.sh "${SC_FUZZ_SECONDS:-20}" || rc=1
exit $rc
