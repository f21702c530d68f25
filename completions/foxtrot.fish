# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_foxtrot_global_optspecs
    string join \n v/verbose q/quiet h/help V/version
end

function __fish_foxtrot_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_foxtrot_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_foxtrot_using_subcommand
    set -l cmd (__fish_foxtrot_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c foxtrot -n "__fish_foxtrot_needs_command" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
complete -c foxtrot -n "__fish_foxtrot_needs_command" -s q -l quiet -d 'No summary line and no status line; only errors on stderr'
complete -c foxtrot -n "__fish_foxtrot_needs_command" -s h -l help -d 'Print help'
complete -c foxtrot -n "__fish_foxtrot_needs_command" -s V -l version -d 'Print version'
complete -c foxtrot -n "__fish_foxtrot_needs_command" -f -a "stream" -d 'Print live ticks: a table on a terminal, NDJSON when piped'
complete -c foxtrot -n "__fish_foxtrot_needs_command" -f -a "record" -d 'Write ticks to files (CSV, NDJSON or Parquet, by extension; .gz or .zst compress), stdout, Kafka or NATS'
complete -c foxtrot -n "__fish_foxtrot_needs_command" -f -a "replay" -d 'Serve recordings as a local WebSocket endpoint that speaks each venue\'s protocol (Binance spot and USD-M, OKX, Bybit)'
complete -c foxtrot -n "__fish_foxtrot_needs_command" -f -a "config" -d 'Check a config file and print the plan it makes'
complete -c foxtrot -n "__fish_foxtrot_needs_command" -f -a "recover" -d 'Finish the CSV or NDJSON FILE.partial files a crash left: keep every complete line, write FILE'
complete -c foxtrot -n "__fish_foxtrot_needs_command" -f -a "convert" -d 'Re-normalize raw captures (record --raw) into ticks with the same decoders, into any output format'
complete -c foxtrot -n "__fish_foxtrot_needs_command" -f -a "venues" -d 'List the venues, with their endpoints and channels'
complete -c foxtrot -n "__fish_foxtrot_needs_command" -f -a "generate" -d 'Print shell completions or the man pages, generated from this command line'
complete -c foxtrot -n "__fish_foxtrot_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand stream" -l venue -d 'The venue; `foxtrot venues` lists each one\'s endpoint and channels [default: binance]' -r -f -a "binance\t'Binance spot'
binance-futures\t'Binance USD-M futures'
okx\t'OKX, by instrument id such as BTC-USDT or BTC-USDT-SWAP'
bybit\t'Bybit spot'
bybit-linear\t'Bybit USDT and USDC perpetuals and futures'"
complete -c foxtrot -n "__fish_foxtrot_using_subcommand stream" -l channel -d 'Channel to subscribe to for every symbol; repeat for several; `foxtrot venues` lists each venue\'s [default: ticker]' -r -f -a "ticker\t''
bookTicker\t''
trade\t''
aggTrade\t''
funding\t''
liquidation\t''
depth\t''
book\t''
kline_1s\t''
kline_1m\t''
kline_3m\t''
kline_5m\t''
kline_15m\t''
kline_30m\t''
kline_1h\t''
kline_2h\t''
kline_4h\t''
kline_6h\t''
kline_8h\t''
kline_12h\t''
kline_1d\t''
kline_3d\t''
kline_1w\t''
kline_1M\t''"
complete -c foxtrot -n "__fish_foxtrot_using_subcommand stream" -l endpoint -d 'Base WebSocket URL of the venue (scheme, host, port); foxtrot appends the venue\'s paths [default: the venue\'s, such as wss://stream.binance.com:9443]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand stream" -l shutdown-timeout -d 'Hard deadline for a graceful stop (close sockets, drain, flush); past it the rest is cancelled [default: 5s]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand stream" -l flush-interval -d 'Once the output has caught up, let ticks gather this long before writing again: the most a tick waits before it reaches the OS. Longer costs less CPU at live rates (0 to 1s) [default: 1ms for stream, 10ms for record]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand stream" -l read-interval -d 'Read a socket that trickles at most every DURATION (2ms to 1s; 0 reads each frame as it comes): fewer wake-ups with many quiet connections, but `recv_ns` may then be up to DURATION late [default: 0]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand stream" -l buffer -d 'Capacity of the channel between the connections and the output, in ticks [default: 65536; 16384 for record to a .gz, .zst or .parquet file]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand stream" -l on-full -d 'What a connection does when the channel is full [default: block]' -r -f -a "block\t'Wait for room, which pushes back on the socket (nothing is dropped)'
drop-newest\t'Never wait: drop the new tick and count it'"
complete -c foxtrot -n "__fish_foxtrot_using_subcommand stream" -l limit -d 'Stop cleanly after N ticks' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand stream" -l duration -d 'Stop cleanly after this long (500ms, 30s, 1h, ...)' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand stream" -l connect-timeout -d 'Give up with an error when no connection could be made for this long [default: 30s]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand stream" -l config -d 'Read streams, output and tunables from this TOML file; flags override it' -r -F
complete -c foxtrot -n "__fish_foxtrot_using_subcommand stream" -l stats-interval -d 'Print the counters as one JSON object per DURATION on stderr (or to --stats-file)' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand stream" -l stats-file -d 'Append the stats objects to PATH instead of stderr [default interval: 10s]' -r -F
complete -c foxtrot -n "__fish_foxtrot_using_subcommand stream" -l metrics-addr -d 'Serve Prometheus metrics on http://ADDR/metrics (port 0 picks one, printed on stderr)' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand stream" -l streams-per-connection -d 'Streams carried by one connection, at most the venue\'s limit: binance 1024, okx 500, others 200 [default: the venue\'s: okx 100, others 200]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand stream" -l max-retries -d 'Exit with an error after N failed connection attempts in a row [default: retry for ever]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand stream" -l backoff-initial -d 'The first reconnect delay\'s ceiling (delays double up to --backoff-max, with jitter) [default: 250ms]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand stream" -l backoff-max -d 'The longest reconnect delay [default: 30s]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand stream" -l connect-limit -d 'At most this many connection attempts per period, per venue (each venue dialed has a limiter of its own, shared by its connections) [default: the venue\'s: okx 3/1s, bybit 500/5m, bybit-linear 500/5m, others 300/5m]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand stream" -l stale-after -d 'Reconnect when no frame at all (data or ping) arrived for this long [default: the venue\'s: binance 30s, binance-futures 4m 30s, okx 35s, bybit 45s, bybit-linear 45s]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand stream" -l silent-stream-after -d 'Warn about a stream that delivered nothing for this long while its connection lives [default: 5m]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand stream" -l max-connection-age -d 'Replace each connection (make-before-break) once it is this old, before the venue closes it (Binance: at 24 h) [default: 23h 50m]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand stream" -l book-levels -d 'Levels a side of each `book` row [default: 20]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand stream" -l book-interval -d 'One `book` row per symbol every DURATION of exchange time; 0 writes one after every update [default: 0 for stream, 100ms for record]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand stream" -l depth-speed -d 'Binance\'s diff-depth speed: 100ms, or 1000ms on binance (spot) only [default: 100ms]' -r -f -a "100ms\t''
1000ms\t''"
complete -c foxtrot -n "__fish_foxtrot_using_subcommand stream" -l rest-endpoint -d 'REST base URL of Binance\'s order-book snapshots (okx and bybit push theirs) [default: the venue\'s, such as https://api.binance.com]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand stream" -l shard -d 'Record only shard I of N: the streams whose FNV-1a 64 hash of `exchange:symbol:channel` mod N is I. N instances, --shard 0/N to N-1/N, record every stream exactly once' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand stream" -l format -d 'Output format [default: table on a terminal, ndjson otherwise]' -r -f -a "table\t'A live table, updated in place (terminals only)'
ndjson\t'One JSON object per line'
csv\t'Comma-separated values with a header row'"
complete -c foxtrot -n "__fish_foxtrot_using_subcommand stream" -l dry-run -d 'Check everything, print the plan (which connection carries which streams), and exit'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand stream" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand stream" -s q -l quiet -d 'No summary line and no status line; only errors on stderr'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand stream" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -l venue -d 'The venue; `foxtrot venues` lists each one\'s endpoint and channels [default: binance]' -r -f -a "binance\t'Binance spot'
binance-futures\t'Binance USD-M futures'
okx\t'OKX, by instrument id such as BTC-USDT or BTC-USDT-SWAP'
bybit\t'Bybit spot'
bybit-linear\t'Bybit USDT and USDC perpetuals and futures'"
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -l channel -d 'Channel to subscribe to for every symbol; repeat for several; `foxtrot venues` lists each venue\'s [default: ticker]' -r -f -a "ticker\t''
bookTicker\t''
trade\t''
aggTrade\t''
funding\t''
liquidation\t''
depth\t''
book\t''
kline_1s\t''
kline_1m\t''
kline_3m\t''
kline_5m\t''
kline_15m\t''
kline_30m\t''
kline_1h\t''
kline_2h\t''
kline_4h\t''
kline_6h\t''
kline_8h\t''
kline_12h\t''
kline_1d\t''
kline_3d\t''
kline_1w\t''
kline_1M\t''"
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -l endpoint -d 'Base WebSocket URL of the venue (scheme, host, port); foxtrot appends the venue\'s paths [default: the venue\'s, such as wss://stream.binance.com:9443]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -l shutdown-timeout -d 'Hard deadline for a graceful stop (close sockets, drain, flush); past it the rest is cancelled [default: 5s]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -l flush-interval -d 'Once the output has caught up, let ticks gather this long before writing again: the most a tick waits before it reaches the OS. Longer costs less CPU at live rates (0 to 1s) [default: 1ms for stream, 10ms for record]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -l read-interval -d 'Read a socket that trickles at most every DURATION (2ms to 1s; 0 reads each frame as it comes): fewer wake-ups with many quiet connections, but `recv_ns` may then be up to DURATION late [default: 0]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -l buffer -d 'Capacity of the channel between the connections and the output, in ticks [default: 65536; 16384 for record to a .gz, .zst or .parquet file]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -l on-full -d 'What a connection does when the channel is full [default: block]' -r -f -a "block\t'Wait for room, which pushes back on the socket (nothing is dropped)'
drop-newest\t'Never wait: drop the new tick and count it'"
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -l limit -d 'Stop cleanly after N ticks' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -l duration -d 'Stop cleanly after this long (500ms, 30s, 1h, ...)' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -l connect-timeout -d 'Give up with an error when no connection could be made for this long [default: 30s]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -l config -d 'Read streams, output and tunables from this TOML file; flags override it' -r -F
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -l stats-interval -d 'Print the counters as one JSON object per DURATION on stderr (or to --stats-file)' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -l stats-file -d 'Append the stats objects to PATH instead of stderr [default interval: 10s]' -r -F
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -l metrics-addr -d 'Serve Prometheus metrics on http://ADDR/metrics (port 0 picks one, printed on stderr)' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -l streams-per-connection -d 'Streams carried by one connection, at most the venue\'s limit: binance 1024, okx 500, others 200 [default: the venue\'s: okx 100, others 200]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -l max-retries -d 'Exit with an error after N failed connection attempts in a row [default: retry for ever]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -l backoff-initial -d 'The first reconnect delay\'s ceiling (delays double up to --backoff-max, with jitter) [default: 250ms]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -l backoff-max -d 'The longest reconnect delay [default: 30s]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -l connect-limit -d 'At most this many connection attempts per period, per venue (each venue dialed has a limiter of its own, shared by its connections) [default: the venue\'s: okx 3/1s, bybit 500/5m, bybit-linear 500/5m, others 300/5m]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -l stale-after -d 'Reconnect when no frame at all (data or ping) arrived for this long [default: the venue\'s: binance 30s, binance-futures 4m 30s, okx 35s, bybit 45s, bybit-linear 45s]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -l silent-stream-after -d 'Warn about a stream that delivered nothing for this long while its connection lives [default: 5m]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -l max-connection-age -d 'Replace each connection (make-before-break) once it is this old, before the venue closes it (Binance: at 24 h) [default: 23h 50m]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -l book-levels -d 'Levels a side of each `book` row [default: 20]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -l book-interval -d 'One `book` row per symbol every DURATION of exchange time; 0 writes one after every update [default: 0 for stream, 100ms for record]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -l depth-speed -d 'Binance\'s diff-depth speed: 100ms, or 1000ms on binance (spot) only [default: 100ms]' -r -f -a "100ms\t''
1000ms\t''"
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -l rest-endpoint -d 'REST base URL of Binance\'s order-book snapshots (okx and bybit push theirs) [default: the venue\'s, such as https://api.binance.com]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -l shard -d 'Record only shard I of N: the streams whose FNV-1a 64 hash of `exchange:symbol:channel` mod N is I. N instances, --shard 0/N to N-1/N, record every stream exactly once' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -s o -l out -d 'Where ticks go, by extension: .csv, .ndjson or .jsonl, plus .gz or .zst to compress; .parquet (one channel a file); `-` for NDJSON on stdout. A template such as \'data/{exchange}/{channel}/{date}/{symbol}.csv.gz\' ({exchange}, {symbol}, {channel}, {date}, {hour}, {start}) writes a set of files, rotated at its time boundaries. Repeat for several outputs: each gets every row. kafka://HOST:PORT[,HOST:PORT]/TOPIC or nats://HOST:PORT/SUBJECT publishes instead (the only output then; one NDJSON line per record; the subject may use {exchange}, {symbol}, {channel})' -r -F
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -l raw -d 'Raw capture: every frame received, every request sent and every connect/disconnect, as JSONL (the README\'s "Raw capture"), beside or instead of --out. May be a template of {exchange}, {date}, {hour}, {start}; .gz or .zst compress' -r -F
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -l rotate -d 'Finish each file and start the next every period (1h, 1d: on UTC boundaries; names get -{start} unless the template has a time) or at a size on disk (500MB; every file of a name is numbered -0001, -0002, ...)' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -l fsync -d 'When files are made durable: never, rotate (each finished file), or interval:D (such as interval:5s, and each finished file) [default: rotate]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -l row-group-rows -d 'Rows per Parquet row group; a file\'s last group may be smaller [default: 1000000]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -l zstd-level -d 'zstd level of .zst outputs, 1 (fast) to 22 (small) [default: 3]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -l dry-run -d 'Check everything, print the plan (which connection carries which streams), and exit'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -l nats-create-stream -d 'With --out nats://: create a JetStream stream over the subjects when none holds them'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -l append -d 'Add to an existing file instead of refusing it'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -l force -d 'Overwrite an existing file'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -l parquet-decimal -d 'Parquet: beside each decimal text column (price, qty, ...) a DECIMAL column NAME_decimal at the scale of the file\'s first rows (null where a value does not fit)'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -s q -l quiet -d 'No summary line and no status line; only errors on stderr'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand record" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand replay" -l speed -d 'Serve a raw capture or an NDJSON/CSV recording at its recorded pacing (receive times) divided by X: 1 is the original timing, 10 ten times faster, 0 as fast as possible (then --rate applies). Not with --flood' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand replay" -l listen -d 'Address to listen on; port 0 picks a free port (printed on the first stdout line)' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand replay" -l rate -d 'Messages per second per connection; 0 sends as fast as the socket takes them (files and --flood)' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand replay" -l limit -d 'Send at most N messages per connection, then idle with the socket open (files and --flood)' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand replay" -l close-after -d 'Close each connection (with a close frame) after N messages (files and --flood)' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand replay" -l ping-interval -d 'Interval between the server\'s pings on Binance connections (OKX and Bybit clients ping the server instead)' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand replay" -l drop-after -d 'Drop each connection\'s TCP socket (no close frame) after N messages (files and --flood)' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand replay" -l stall-after -d 'Go silent after N messages (no data, pings or replies), keeping the socket open (files and --flood)' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand replay" -l refuse -d 'Refuse handshakes with HTTP 429, 418 or 503' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand replay" -l retry-after -d 'Send `Retry-After: SECS` with each refusal' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand replay" -l refuse-first -d 'Refuse only the first K handshakes (server-wide), then accept' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand replay" -l inject -d 'After the N-th message of each connection, send one frame of KIND (malformed, truncated, oversized, server-shutdown); N=0 before the first. Repeatable (not on Bybit; not with --flood)' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand replay" -l oversized-bytes -d 'The length in bytes of an `oversized` injection (not with --flood)' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand replay" -l max-age -d 'Close each connection (close frame 1000, "max age") once it is this old (not on Bybit; not with --flood)' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand replay" -l pong-timeout -d 'Close a connection (close frame 1008) that has not answered a ping within this (Binance; not with --flood)' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand replay" -l clock-shift-ms -d 'Stamp every Binance message\'s times (under --flood, every venue\'s) with this server\'s clock plus MS milliseconds (negative: behind), as a venue with a skewed clock would' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand replay" -l flood -d 'Benchmark mode: send each connection N generated messages for the streams it asks for (Binance bookTicker, trade, aggTrade; OKX and Bybit bookTicker, trade), at --rate or as fast as the socket takes them, then close; no FILE. Of the other flags, --limit, --close-after, --drop-after, --stall-after, --ping-interval, --clock-shift-ms and the refusals apply; the rest are refused' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand replay" -l depth-levels -d 'Levels a side of each generated book' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand replay" -l depth-interval -d 'Time between `@100ms` events of one symbol (tests go faster than the venue)' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand replay" -l depth-events -d 'Events generated per symbol at most; then the book stands still' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand replay" -l depth-seed -d 'The generator\'s seed (each symbol\'s book is seeded from it and the symbol)' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand replay" -l depth-gap-every -d 'Withhold every Nth event of a symbol from the streams (a forced gap)' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand replay" -l depth-gap-symbol -d 'Withhold events of this symbol only [default: every symbol\'s]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand replay" -l rest-listen -d 'Address of the REST snapshot endpoint; port 0 picks a free port' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand replay" -l rest-delay -d 'Answer snapshot requests this late' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand replay" -l rest-delay-first -d 'Delay only the first N snapshot requests [default: every one]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand replay" -l rest-429-first -d 'Answer the first N snapshot requests with 429 and a Retry-After' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand replay" -l rest-retry-after -d 'The Retry-After of those 429 answers, in whole seconds' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand replay" -l rest-stale-first -d 'Answer the first N snapshot requests of each symbol with a stale lastUpdateId' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand replay" -l loop -d 'Start over at the end of the files instead of idling. Not with --flood'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand replay" -l live -d 'One timeline for all connections, like a live venue: the files play at --rate from server start, and a connection gets what is published after it connected. Not with --flood'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand replay" -l depth -d 'Serve generated order books as Binance diff-depth streams (instead of the files), and their REST snapshots on a second port (printed as the second stdout line). Not with --flood'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand replay" -l depth-futures -d 'USD-M futures books (ids with `pu`, snapshots on /fapi/v1/depth) instead of spot\'s'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand replay" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand replay" -s q -l quiet -d 'No summary line and no status line; only errors on stderr'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand replay" -s h -l help -d 'Print help'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand config; and not __fish_seen_subcommand_from check help" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand config; and not __fish_seen_subcommand_from check help" -s q -l quiet -d 'No summary line and no status line; only errors on stderr'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand config; and not __fish_seen_subcommand_from check help" -s h -l help -d 'Print help'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand config; and not __fish_seen_subcommand_from check help" -f -a "check" -d 'Validate FILE and print the resolved plan: endpoint, output, tunables, and which connection will carry which streams. Exit 0 when valid, 2 when not'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand config; and not __fish_seen_subcommand_from check help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand config; and __fish_seen_subcommand_from check" -l shard -d 'Print the plan of shard I of N: only the streams that instance records' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand config; and __fish_seen_subcommand_from check" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand config; and __fish_seen_subcommand_from check" -s q -l quiet -d 'No summary line and no status line; only errors on stderr'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand config; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "check" -d 'Validate FILE and print the resolved plan: endpoint, output, tunables, and which connection will carry which streams. Exit 0 when valid, 2 when not'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand recover" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand recover" -s q -l quiet -d 'No summary line and no status line; only errors on stderr'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand recover" -s h -l help -d 'Print help'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand convert" -s o -l out -d 'Where the ticks go, as `record --out`: .csv, .ndjson or .jsonl (plus .gz or .zst), .parquet, `-`, templates; repeat for several' -r -F
complete -c foxtrot -n "__fish_foxtrot_using_subcommand convert" -l rotate -d 'Finish each file and start the next every period (1h, 1d: on UTC boundaries; names get -{start} unless the template has a time) or at a size on disk (500MB; every file of a name is numbered -0001, -0002, ...)' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand convert" -l fsync -d 'When files are made durable: never, rotate (each finished file), or interval:D (such as interval:5s, and each finished file) [default: rotate]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand convert" -l row-group-rows -d 'Rows per Parquet row group; a file\'s last group may be smaller [default: 1000000]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand convert" -l zstd-level -d 'zstd level of .zst outputs, 1 (fast) to 22 (small) [default: 3]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand convert" -l book-levels -d 'Levels a side of each `book` row, as `record --book-levels` [default: 20]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand convert" -l book-interval -d 'One `book` row per symbol every DURATION of exchange time, as `record --book-interval` [default: 100ms]' -r
complete -c foxtrot -n "__fish_foxtrot_using_subcommand convert" -l force -d 'Overwrite an existing file'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand convert" -l parquet-decimal -d 'Parquet: beside each decimal text column (price, qty, ...) a DECIMAL column NAME_decimal at the scale of the file\'s first rows (null where a value does not fit)'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand convert" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand convert" -s q -l quiet -d 'No summary line and no status line; only errors on stderr'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand convert" -s h -l help -d 'Print help'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand venues" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand venues" -s q -l quiet -d 'No summary line and no status line; only errors on stderr'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand venues" -s h -l help -d 'Print help'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand generate; and not __fish_seen_subcommand_from completions man help" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand generate; and not __fish_seen_subcommand_from completions man help" -s q -l quiet -d 'No summary line and no status line; only errors on stderr'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand generate; and not __fish_seen_subcommand_from completions man help" -s h -l help -d 'Print help'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand generate; and not __fish_seen_subcommand_from completions man help" -f -a "completions" -d 'A completion script for SHELL'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand generate; and not __fish_seen_subcommand_from completions man help" -f -a "man" -d 'The man page (roff); with --dir, one page per subcommand as well'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand generate; and not __fish_seen_subcommand_from completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand generate; and __fish_seen_subcommand_from completions" -l dir -d 'Write the script into DIR (created if missing) under its conventional name' -r -F
complete -c foxtrot -n "__fish_foxtrot_using_subcommand generate; and __fish_seen_subcommand_from completions" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand generate; and __fish_seen_subcommand_from completions" -s q -l quiet -d 'No summary line and no status line; only errors on stderr'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand generate; and __fish_seen_subcommand_from completions" -s h -l help -d 'Print help'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand generate; and __fish_seen_subcommand_from man" -l dir -d 'Write foxtrot.1 and foxtrot-SUBCOMMAND.1 into DIR (created if missing)' -r -F
complete -c foxtrot -n "__fish_foxtrot_using_subcommand generate; and __fish_seen_subcommand_from man" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand generate; and __fish_seen_subcommand_from man" -s q -l quiet -d 'No summary line and no status line; only errors on stderr'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand generate; and __fish_seen_subcommand_from man" -s h -l help -d 'Print help'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand generate; and __fish_seen_subcommand_from help" -f -a "completions" -d 'A completion script for SHELL'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand generate; and __fish_seen_subcommand_from help" -f -a "man" -d 'The man page (roff); with --dir, one page per subcommand as well'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand generate; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand help; and not __fish_seen_subcommand_from stream record replay config recover convert venues generate help" -f -a "stream" -d 'Print live ticks: a table on a terminal, NDJSON when piped'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand help; and not __fish_seen_subcommand_from stream record replay config recover convert venues generate help" -f -a "record" -d 'Write ticks to files (CSV, NDJSON or Parquet, by extension; .gz or .zst compress), stdout, Kafka or NATS'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand help; and not __fish_seen_subcommand_from stream record replay config recover convert venues generate help" -f -a "replay" -d 'Serve recordings as a local WebSocket endpoint that speaks each venue\'s protocol (Binance spot and USD-M, OKX, Bybit)'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand help; and not __fish_seen_subcommand_from stream record replay config recover convert venues generate help" -f -a "config" -d 'Check a config file and print the plan it makes'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand help; and not __fish_seen_subcommand_from stream record replay config recover convert venues generate help" -f -a "recover" -d 'Finish the CSV or NDJSON FILE.partial files a crash left: keep every complete line, write FILE'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand help; and not __fish_seen_subcommand_from stream record replay config recover convert venues generate help" -f -a "convert" -d 'Re-normalize raw captures (record --raw) into ticks with the same decoders, into any output format'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand help; and not __fish_seen_subcommand_from stream record replay config recover convert venues generate help" -f -a "venues" -d 'List the venues, with their endpoints and channels'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand help; and not __fish_seen_subcommand_from stream record replay config recover convert venues generate help" -f -a "generate" -d 'Print shell completions or the man pages, generated from this command line'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand help; and not __fish_seen_subcommand_from stream record replay config recover convert venues generate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "check" -d 'Validate FILE and print the resolved plan: endpoint, output, tunables, and which connection will carry which streams. Exit 0 when valid, 2 when not'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand help; and __fish_seen_subcommand_from generate" -f -a "completions" -d 'A completion script for SHELL'
complete -c foxtrot -n "__fish_foxtrot_using_subcommand help; and __fish_seen_subcommand_from generate" -f -a "man" -d 'The man page (roff); with --dir, one page per subcommand as well'
