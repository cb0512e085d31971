#!/bin/sh
# Benchmark: N publishers join one space over WHIP (loopback).  Prints the
# join-to-first-decoded-frame time of each (from the daemon's log) and the
# daemon's CPU per participant while all of them publish.
#   tests/bench/whip-bench.sh [N=16] [SECONDS=20]
# Publishers run on the same machine (VP8 320x180), so the CPU figure is the
# daemon's alone, read from /proc, while the wall-clock figures include the
# load the publishers put on the machine.
set -eu
N=${1:-16}
SECS=${2:-20}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$ROOT/build/src/spacecast
DIR=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
RTMP=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
API=http://127.0.0.1:$PORT
PIDS=""
trap 'kill $PIDS $DAEMON 2>/dev/null; rm -rf "$DIR"' EXIT

SPACECAST_TOKEN_ID=bench SPACECAST_TOKEN_SECRET=bench-secret "$BIN" serve --http=127.0.0.1:$PORT \
  --rtmp=127.0.0.1:$RTMP --data-dir="$DIR" --ice-host=127.0.0.1 2>"$DIR/daemon.log" &
DAEMON=$!
until curl -sf $API/healthz >/dev/null; do sleep 0.1; done
json() { python3 -c "import json,sys; print(json.load(sys.stdin)['data']$1)"; }
SPACE=$(curl -s -u bench:bench-secret -H 'Content-Type: application/json' -d '{}' $API/video/v1/spaces | json "['id']")
KEY=$(curl -s -u bench:bench-secret -X POST $API/system/v1/signing-keys)
KID=$(echo "$KEY" | json "['id']")
PRIV=$(echo "$KEY" | json "['private_key']")

cpu() { awk '{print $14 + $15}' /proc/$DAEMON/stat; }
i=0
while [ $i -lt $N ]; do
  TOKEN=$("$BIN" sign --space "$SPACE" --key-id "$KID" --private-key "$PRIV" --participant-id "p$i")
  "$BIN" publish --whip "$API/rt/v1/spaces/$SPACE/whip" --token "$TOKEN" --ice-host 127.0.0.1 \
    --width 320 --height 180 >/dev/null 2>&1 &
  PIDS="$PIDS $!"
  i=$((i + 1))
done
# Wait (at most 90 s) until everyone is in, then measure a steady window.
joined() { curl -s -u bench:bench-secret $API/video/v1/spaces/$SPACE/participants | json '.__len__()'; }
t=0
while [ "$(joined)" -lt "$N" ] && [ $t -lt 180 ]; do sleep 0.5; t=$((t + 1)); done
echo "joined: $(joined) of $N"
sleep 3
T0=$(cpu); S0=$(date +%s.%N)
sleep "$SECS"
T1=$(cpu); S1=$(date +%s.%N)
HZ=$(getconf CLK_TCK)
echo "participants: $(joined) of $N publishing"
grep -o 'first decoded video frame after [0-9.]* ms' "$DIR/daemon.log" | awk '{print $6}' | sort -n | \
  awk '{a[NR]=$1} END {if (NR) printf "join to first decoded frame (ms): min %.0f  median %.0f  max %.0f  (%d of them)\n", a[1], a[int((NR+1)/2)], a[NR], NR}'
python3 -c "
cpu=($T1-$T0)/$HZ; wall=$S1-$S0; n=$(joined)
print(f'daemon CPU: {100*cpu/wall:.1f}% of one core in total, {100*cpu/wall/max(n,1):.2f}% per participant')"
FRAMES=$(curl -s -u bench:bench-secret $API/video/v1/spaces/$SPACE/participants | python3 -c "
import json,sys; d=json.load(sys.stdin)['data']
print(sum(t['frames_decoded'] for p in d for t in p['tracks'] if t['type']=='video'))")
echo "video frames decoded so far, all participants: $FRAMES"
