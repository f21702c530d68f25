#!/bin/sh
# A/B of two foxtrot binaries, alternating, against one `replay --flood` on 127.0.0.1: each
# run's rate (MESSAGES / wall time), CPU (user+sys) per million messages and peak RSS, from
# /usr/bin/time. For before/after figures of a change (the README's performance section).
#
#   sh benches/ab.sh OLD NEW [ROUNDS] [MESSAGES] [OUTPUT ARGS...]
#   sh benches/ab.sh /tmp/foxtrot-main target/release/foxtrot 5 1000000 --out t.ndjson.zst
#
# OUTPUT ARGS default to `--out t.ndjson`; a relative file name lands in a fresh temporary
# directory per run. The flood is OLD's `replay`, so both sides read the same server.
set -eu
OLD=$1 NEW=$2 ROUNDS=${3:-5} N=${4:-1000000}
shift 2; [ $# -gt 0 ] && shift; [ $# -gt 0 ] && shift
[ $# -gt 0 ] || set -- --out t.ndjson
DIR=$(mktemp -d)
"$OLD" replay --flood 100000000000 --listen 127.0.0.1:0 > "$DIR/server.out" 2>/dev/null &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null; rm -rf "$DIR"' EXIT INT TERM
while ! grep -q listening "$DIR/server.out" 2>/dev/null; do sleep 0.1; done
URL=$(sed -n 's/^listening on //p' "$DIR/server.out")
for round in $(seq 1 "$ROUNDS"); do
  for side in old new; do
    if [ "$side" = old ]; then BIN=$OLD; else BIN=$NEW; fi
    rm -rf "$DIR/o" && mkdir "$DIR/o"
    (cd "$DIR/o" && /usr/bin/time -f "%e %U %S %M" -o "$DIR/time" "$BIN" record BTCUSDT ETHUSDT \
      --channel bookTicker --endpoint "$URL" --limit "$N" -q "$@" > /dev/null 2>&1)
    read -r wall user sys rss < "$DIR/time"
    echo "$round $side $N $wall $user $sys $rss $(cut -d' ' -f1 /proc/loadavg)" | awk '{
      printf "round %s %-3s %.3f M msgs/s  %.3f CPU s per M  peak RSS %.1f MiB  load %s\n",
        $1, $2, $3 / $4 / 1e6, ($5 + $6) / ($3 / 1e6), $7 / 1024, $8 }'
  done
done
