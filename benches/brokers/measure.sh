#!/bin/bash
# Record N flood messages (2 bookTicker streams) to an NDJSON file, to Kafka (tansu, memory
# storage) and to NATS JetStream (nats-server -js), each on this machine; prints msgs/s,
# CPU s per million and peak RSS of foxtrot (GNU time). Usage: measure.sh FOXTROT N ROUNDS
set -u
F=$1; N=$2; R=${3:-3}
D=$(mktemp -d)
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
KP=$(port); NP=$(port)
tansu broker --listener-url tcp://127.0.0.1:$KP --advertised-listener-url tcp://127.0.0.1:$KP --storage-engine memory://tansu/ >/dev/null 2>&1 & TP=$!
nats-server -js -a 127.0.0.1 -p $NP -sd $D/js >/dev/null 2>&1 & NSP=$!
sleep 1.5
$F replay --listen 127.0.0.1:0 --flood $((N * 2)) > $D/replay.out 2>/dev/null & RP=$!
sleep 1
RPORT=$(head -1 $D/replay.out | grep -o '[0-9]*$')
run() { # label, out, extra...
  local label=$1 out=$2; shift 2
  /usr/bin/time -f "%e %U %S %M" -o $D/time $F -q record BTCUSDT ETHUSDT --channel bookTicker \
     --endpoint ws://127.0.0.1:$RPORT --limit $N --shutdown-timeout 120s --force --out "$out" "$@"
  local rc=$?
  read e u s m < $D/time
  python3 -c "e,u,s,m=$e,$u,$s,$m; print(f'$label rc=$rc {$N/e:,.0f} msgs/s  cpu {(u+s)/$N*1e6:.2f} s/M  peak {m/1024:.1f} MiB')"
}
for r in $(seq $R); do
  tansu topic create md$r --broker tcp://127.0.0.1:$KP --partitions 3 >/dev/null 2>&1
  run "ndjson" $D/ticks.ndjson
  run "kafka " kafka://127.0.0.1:$KP/md$r
  run "nats  " "nats://127.0.0.1:$NP/md$r.{exchange}.{channel}.{symbol}" --nats-create-stream
done
kill $TP $NSP $RP; rm -rf $D
