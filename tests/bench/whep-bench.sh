#!/bin/sh
# Benchmark: CPU per forwarded WHEP subscriber (one 720p publisher, 1 → N
# subscribers) and join → first frame.  See tests/bench/whep-bench.c.
#   tests/bench/whep-bench.sh [N=20] [SECONDS=10] [KBPS=1500] [PATTERN=colors]
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SC_DAEMON=$ROOT/build/src/spacecast SC_SOURCE_ROOT=$ROOT SC_BUILD_ROOT=$ROOT/build \
  exec "$ROOT/build/tests/whep-bench" "$@"
