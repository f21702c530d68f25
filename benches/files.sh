#!/bin/sh
# Output throughput of `foxtrot record` per file kind, against `foxtrot replay --flood`
# on 127.0.0.1 (both the binary given). Repeatable; for the README's performance table.
#
#   cargo build --release && sh benches/files.sh [target/release/foxtrot] [MESSAGES] [RUNS]
#
# Each run records MESSAGES bookTicker messages over 2 symbols (--limit) into a fresh
# directory; hyperfine times it (wall clock, mean ± σ), then one more run per kind under
# /usr/bin/time gives the peak RSS. Rates are MESSAGES / mean time.
set -eu
FOXTROT=${1:-target/release/foxtrot}
N=${2:-1000000}
RUNS=${3:-3}
DIR=$(mktemp -d)
trap 'kill "$SERVER" 2>/dev/null; rm -rf "$DIR"' EXIT INT TERM
"$FOXTROT" replay --flood "$N" --listen 127.0.0.1:0 > "$DIR/server.out" 2>/dev/null &
SERVER=$!
while ! grep -q listening "$DIR/server.out" 2>/dev/null; do sleep 0.1; done
URL=$(sed -n 's/^listening on //p' "$DIR/server.out")
REC="$FOXTROT record BTCUSDT ETHUSDT --channel bookTicker --endpoint $URL --limit $N -q"
set -- \
  "ndjson" "--out $DIR/o/t.ndjson" \
  "ndjson.gz" "--out $DIR/o/t.ndjson.gz" \
  "ndjson.zst" "--out $DIR/o/t.ndjson.zst" \
  "parquet" "--out $DIR/o/t.parquet" \
  "raw only" "--raw $DIR/o/r.jsonl" \
  "raw.zst only" "--raw $DIR/o/r.jsonl.zst" \
  "ndjson + raw" "--out $DIR/o/t.ndjson --raw $DIR/o/r.jsonl"
ARGS=""
while [ $# -gt 0 ]; do
  name=$1 out=$2; shift 2
  ARGS="$ARGS -n '$name' '$REC $out'"
  rm -rf "$DIR/o" && mkdir "$DIR/o"
  /usr/bin/time -f "$name: peak RSS %M KiB, %e s" sh -c "$REC $out" 2>&1 | grep "peak RSS"
done
eval hyperfine --runs "$RUNS" --prepare "'rm -rf $DIR/o && mkdir $DIR/o'" "$ARGS"
