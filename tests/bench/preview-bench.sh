#!/bin/sh
# Benchmark: the program preview's latency (capture -> preview frame) and
# its CPU.  See tests/bench/preview-bench.c.
#   tests/bench/preview-bench.sh [SECONDS=10]
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SC_DAEMON=$ROOT/build/src/spacecast SC_SOURCE_ROOT=$ROOT SC_BUILD_ROOT=$ROOT/build \
  exec "$ROOT/build/tests/preview-bench" "$@"
