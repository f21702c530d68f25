
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'foxtrot' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'foxtrot'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'foxtrot' {
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No summary line and no status line; only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No summary line and no status line; only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('stream', 'stream', [CompletionResultType]::ParameterValue, 'Print live ticks: a table on a terminal, NDJSON when piped')
            [CompletionResult]::new('record', 'record', [CompletionResultType]::ParameterValue, 'Write ticks to files (CSV, NDJSON or Parquet, by extension; .gz or .zst compress), stdout, Kafka or NATS')
            [CompletionResult]::new('replay', 'replay', [CompletionResultType]::ParameterValue, 'Serve recordings as a local WebSocket endpoint that speaks each venue''s protocol (Binance spot and USD-M, OKX, Bybit)')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Check a config file and print the plan it makes')
            [CompletionResult]::new('recover', 'recover', [CompletionResultType]::ParameterValue, 'Finish the CSV or NDJSON FILE.partial files a crash left: keep every complete line, write FILE')
            [CompletionResult]::new('convert', 'convert', [CompletionResultType]::ParameterValue, 'Re-normalize raw captures (record --raw) into ticks with the same decoders, into any output format')
            [CompletionResult]::new('venues', 'venues', [CompletionResultType]::ParameterValue, 'List the venues, with their endpoints and channels')
            [CompletionResult]::new('generate', 'generate', [CompletionResultType]::ParameterValue, 'Print shell completions or the man pages, generated from this command line')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'foxtrot;stream' {
            [CompletionResult]::new('--venue', '--venue', [CompletionResultType]::ParameterName, 'The venue; `foxtrot venues` lists each one''s endpoint and channels [default: binance]')
            [CompletionResult]::new('--channel', '--channel', [CompletionResultType]::ParameterName, 'Channel to subscribe to for every symbol; repeat for several; `foxtrot venues` lists each venue''s [default: ticker]')
            [CompletionResult]::new('--endpoint', '--endpoint', [CompletionResultType]::ParameterName, 'Base WebSocket URL of the venue (scheme, host, port); foxtrot appends the venue''s paths [default: the venue''s, such as wss://stream.binance.com:9443]')
            [CompletionResult]::new('--shutdown-timeout', '--shutdown-timeout', [CompletionResultType]::ParameterName, 'Hard deadline for a graceful stop (close sockets, drain, flush); past it the rest is cancelled [default: 5s]')
            [CompletionResult]::new('--flush-interval', '--flush-interval', [CompletionResultType]::ParameterName, 'Once the output has caught up, let ticks gather this long before writing again: the most a tick waits before it reaches the OS. Longer costs less CPU at live rates (0 to 1s) [default: 1ms for stream, 10ms for record]')
            [CompletionResult]::new('--read-interval', '--read-interval', [CompletionResultType]::ParameterName, 'Read a socket that trickles at most every DURATION (2ms to 1s; 0 reads each frame as it comes): fewer wake-ups with many quiet connections, but `recv_ns` may then be up to DURATION late [default: 0]')
            [CompletionResult]::new('--buffer', '--buffer', [CompletionResultType]::ParameterName, 'Capacity of the channel between the connections and the output, in ticks [default: 65536; 16384 for record to a .gz, .zst or .parquet file]')
            [CompletionResult]::new('--on-full', '--on-full', [CompletionResultType]::ParameterName, 'What a connection does when the channel is full [default: block]')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Stop cleanly after N ticks')
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'Stop cleanly after this long (500ms, 30s, 1h, ...)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up with an error when no connection could be made for this long [default: 30s]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read streams, output and tunables from this TOML file; flags override it')
            [CompletionResult]::new('--stats-interval', '--stats-interval', [CompletionResultType]::ParameterName, 'Print the counters as one JSON object per DURATION on stderr (or to --stats-file)')
            [CompletionResult]::new('--stats-file', '--stats-file', [CompletionResultType]::ParameterName, 'Append the stats objects to PATH instead of stderr [default interval: 10s]')
            [CompletionResult]::new('--metrics-addr', '--metrics-addr', [CompletionResultType]::ParameterName, 'Serve Prometheus metrics on http://ADDR/metrics (port 0 picks one, printed on stderr)')
            [CompletionResult]::new('--streams-per-connection', '--streams-per-connection', [CompletionResultType]::ParameterName, 'Streams carried by one connection, at most the venue''s limit: binance 1024, okx 500, others 200 [default: the venue''s: okx 100, others 200]')
            [CompletionResult]::new('--max-retries', '--max-retries', [CompletionResultType]::ParameterName, 'Exit with an error after N failed connection attempts in a row [default: retry for ever]')
            [CompletionResult]::new('--backoff-initial', '--backoff-initial', [CompletionResultType]::ParameterName, 'The first reconnect delay''s ceiling (delays double up to --backoff-max, with jitter) [default: 250ms]')
            [CompletionResult]::new('--backoff-max', '--backoff-max', [CompletionResultType]::ParameterName, 'The longest reconnect delay [default: 30s]')
            [CompletionResult]::new('--connect-limit', '--connect-limit', [CompletionResultType]::ParameterName, 'At most this many connection attempts per period, per venue (each venue dialed has a limiter of its own, shared by its connections) [default: the venue''s: okx 3/1s, bybit 500/5m, bybit-linear 500/5m, others 300/5m]')
            [CompletionResult]::new('--stale-after', '--stale-after', [CompletionResultType]::ParameterName, 'Reconnect when no frame at all (data or ping) arrived for this long [default: the venue''s: binance 30s, binance-futures 4m 30s, okx 35s, bybit 45s, bybit-linear 45s]')
            [CompletionResult]::new('--silent-stream-after', '--silent-stream-after', [CompletionResultType]::ParameterName, 'Warn about a stream that delivered nothing for this long while its connection lives [default: 5m]')
            [CompletionResult]::new('--max-connection-age', '--max-connection-age', [CompletionResultType]::ParameterName, 'Replace each connection (make-before-break) once it is this old, before the venue closes it (Binance: at 24 h) [default: 23h 50m]')
            [CompletionResult]::new('--book-levels', '--book-levels', [CompletionResultType]::ParameterName, 'Levels a side of each `book` row [default: 20]')
            [CompletionResult]::new('--book-interval', '--book-interval', [CompletionResultType]::ParameterName, 'One `book` row per symbol every DURATION of exchange time; 0 writes one after every update [default: 0 for stream, 100ms for record]')
            [CompletionResult]::new('--depth-speed', '--depth-speed', [CompletionResultType]::ParameterName, 'Binance''s diff-depth speed: 100ms, or 1000ms on binance (spot) only [default: 100ms]')
            [CompletionResult]::new('--rest-endpoint', '--rest-endpoint', [CompletionResultType]::ParameterName, 'REST base URL of Binance''s order-book snapshots (okx and bybit push theirs) [default: the venue''s, such as https://api.binance.com]')
            [CompletionResult]::new('--shard', '--shard', [CompletionResultType]::ParameterName, 'Record only shard I of N: the streams whose FNV-1a 64 hash of `exchange:symbol:channel` mod N is I. N instances, --shard 0/N to N-1/N, record every stream exactly once')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, ndjson otherwise]')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Check everything, print the plan (which connection carries which streams), and exit')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No summary line and no status line; only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No summary line and no status line; only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'foxtrot;record' {
            [CompletionResult]::new('--venue', '--venue', [CompletionResultType]::ParameterName, 'The venue; `foxtrot venues` lists each one''s endpoint and channels [default: binance]')
            [CompletionResult]::new('--channel', '--channel', [CompletionResultType]::ParameterName, 'Channel to subscribe to for every symbol; repeat for several; `foxtrot venues` lists each venue''s [default: ticker]')
            [CompletionResult]::new('--endpoint', '--endpoint', [CompletionResultType]::ParameterName, 'Base WebSocket URL of the venue (scheme, host, port); foxtrot appends the venue''s paths [default: the venue''s, such as wss://stream.binance.com:9443]')
            [CompletionResult]::new('--shutdown-timeout', '--shutdown-timeout', [CompletionResultType]::ParameterName, 'Hard deadline for a graceful stop (close sockets, drain, flush); past it the rest is cancelled [default: 5s]')
            [CompletionResult]::new('--flush-interval', '--flush-interval', [CompletionResultType]::ParameterName, 'Once the output has caught up, let ticks gather this long before writing again: the most a tick waits before it reaches the OS. Longer costs less CPU at live rates (0 to 1s) [default: 1ms for stream, 10ms for record]')
            [CompletionResult]::new('--read-interval', '--read-interval', [CompletionResultType]::ParameterName, 'Read a socket that trickles at most every DURATION (2ms to 1s; 0 reads each frame as it comes): fewer wake-ups with many quiet connections, but `recv_ns` may then be up to DURATION late [default: 0]')
            [CompletionResult]::new('--buffer', '--buffer', [CompletionResultType]::ParameterName, 'Capacity of the channel between the connections and the output, in ticks [default: 65536; 16384 for record to a .gz, .zst or .parquet file]')
            [CompletionResult]::new('--on-full', '--on-full', [CompletionResultType]::ParameterName, 'What a connection does when the channel is full [default: block]')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Stop cleanly after N ticks')
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'Stop cleanly after this long (500ms, 30s, 1h, ...)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up with an error when no connection could be made for this long [default: 30s]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read streams, output and tunables from this TOML file; flags override it')
            [CompletionResult]::new('--stats-interval', '--stats-interval', [CompletionResultType]::ParameterName, 'Print the counters as one JSON object per DURATION on stderr (or to --stats-file)')
            [CompletionResult]::new('--stats-file', '--stats-file', [CompletionResultType]::ParameterName, 'Append the stats objects to PATH instead of stderr [default interval: 10s]')
            [CompletionResult]::new('--metrics-addr', '--metrics-addr', [CompletionResultType]::ParameterName, 'Serve Prometheus metrics on http://ADDR/metrics (port 0 picks one, printed on stderr)')
            [CompletionResult]::new('--streams-per-connection', '--streams-per-connection', [CompletionResultType]::ParameterName, 'Streams carried by one connection, at most the venue''s limit: binance 1024, okx 500, others 200 [default: the venue''s: okx 100, others 200]')
            [CompletionResult]::new('--max-retries', '--max-retries', [CompletionResultType]::ParameterName, 'Exit with an error after N failed connection attempts in a row [default: retry for ever]')
            [CompletionResult]::new('--backoff-initial', '--backoff-initial', [CompletionResultType]::ParameterName, 'The first reconnect delay''s ceiling (delays double up to --backoff-max, with jitter) [default: 250ms]')
            [CompletionResult]::new('--backoff-max', '--backoff-max', [CompletionResultType]::ParameterName, 'The longest reconnect delay [default: 30s]')
            [CompletionResult]::new('--connect-limit', '--connect-limit', [CompletionResultType]::ParameterName, 'At most this many connection attempts per period, per venue (each venue dialed has a limiter of its own, shared by its connections) [default: the venue''s: okx 3/1s, bybit 500/5m, bybit-linear 500/5m, others 300/5m]')
            [CompletionResult]::new('--stale-after', '--stale-after', [CompletionResultType]::ParameterName, 'Reconnect when no frame at all (data or ping) arrived for this long [default: the venue''s: binance 30s, binance-futures 4m 30s, okx 35s, bybit 45s, bybit-linear 45s]')
            [CompletionResult]::new('--silent-stream-after', '--silent-stream-after', [CompletionResultType]::ParameterName, 'Warn about a stream that delivered nothing for this long while its connection lives [default: 5m]')
            [CompletionResult]::new('--max-connection-age', '--max-connection-age', [CompletionResultType]::ParameterName, 'Replace each connection (make-before-break) once it is this old, before the venue closes it (Binance: at 24 h) [default: 23h 50m]')
            [CompletionResult]::new('--book-levels', '--book-levels', [CompletionResultType]::ParameterName, 'Levels a side of each `book` row [default: 20]')
            [CompletionResult]::new('--book-interval', '--book-interval', [CompletionResultType]::ParameterName, 'One `book` row per symbol every DURATION of exchange time; 0 writes one after every update [default: 0 for stream, 100ms for record]')
            [CompletionResult]::new('--depth-speed', '--depth-speed', [CompletionResultType]::ParameterName, 'Binance''s diff-depth speed: 100ms, or 1000ms on binance (spot) only [default: 100ms]')
            [CompletionResult]::new('--rest-endpoint', '--rest-endpoint', [CompletionResultType]::ParameterName, 'REST base URL of Binance''s order-book snapshots (okx and bybit push theirs) [default: the venue''s, such as https://api.binance.com]')
            [CompletionResult]::new('--shard', '--shard', [CompletionResultType]::ParameterName, 'Record only shard I of N: the streams whose FNV-1a 64 hash of `exchange:symbol:channel` mod N is I. N instances, --shard 0/N to N-1/N, record every stream exactly once')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Where ticks go, by extension: .csv, .ndjson or .jsonl, plus .gz or .zst to compress; .parquet (one channel a file); `-` for NDJSON on stdout. A template such as ''data/{exchange}/{channel}/{date}/{symbol}.csv.gz'' ({exchange}, {symbol}, {channel}, {date}, {hour}, {start}) writes a set of files, rotated at its time boundaries. Repeat for several outputs: each gets every row. kafka://HOST:PORT[,HOST:PORT]/TOPIC or nats://HOST:PORT/SUBJECT publishes instead (the only output then; one NDJSON line per record; the subject may use {exchange}, {symbol}, {channel})')
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Where ticks go, by extension: .csv, .ndjson or .jsonl, plus .gz or .zst to compress; .parquet (one channel a file); `-` for NDJSON on stdout. A template such as ''data/{exchange}/{channel}/{date}/{symbol}.csv.gz'' ({exchange}, {symbol}, {channel}, {date}, {hour}, {start}) writes a set of files, rotated at its time boundaries. Repeat for several outputs: each gets every row. kafka://HOST:PORT[,HOST:PORT]/TOPIC or nats://HOST:PORT/SUBJECT publishes instead (the only output then; one NDJSON line per record; the subject may use {exchange}, {symbol}, {channel})')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Raw capture: every frame received, every request sent and every connect/disconnect, as JSONL (the README''s "Raw capture"), beside or instead of --out. May be a template of {exchange}, {date}, {hour}, {start}; .gz or .zst compress')
            [CompletionResult]::new('--rotate', '--rotate', [CompletionResultType]::ParameterName, 'Finish each file and start the next every period (1h, 1d: on UTC boundaries; names get -{start} unless the template has a time) or at a size on disk (500MB; every file of a name is numbered -0001, -0002, ...)')
            [CompletionResult]::new('--fsync', '--fsync', [CompletionResultType]::ParameterName, 'When files are made durable: never, rotate (each finished file), or interval:D (such as interval:5s, and each finished file) [default: rotate]')
            [CompletionResult]::new('--row-group-rows', '--row-group-rows', [CompletionResultType]::ParameterName, 'Rows per Parquet row group; a file''s last group may be smaller [default: 1000000]')
            [CompletionResult]::new('--zstd-level', '--zstd-level', [CompletionResultType]::ParameterName, 'zstd level of .zst outputs, 1 (fast) to 22 (small) [default: 3]')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Check everything, print the plan (which connection carries which streams), and exit')
            [CompletionResult]::new('--nats-create-stream', '--nats-create-stream', [CompletionResultType]::ParameterName, 'With --out nats://: create a JetStream stream over the subjects when none holds them')
            [CompletionResult]::new('--append', '--append', [CompletionResultType]::ParameterName, 'Add to an existing file instead of refusing it')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Overwrite an existing file')
            [CompletionResult]::new('--parquet-decimal', '--parquet-decimal', [CompletionResultType]::ParameterName, 'Parquet: beside each decimal text column (price, qty, ...) a DECIMAL column NAME_decimal at the scale of the file''s first rows (null where a value does not fit)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No summary line and no status line; only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No summary line and no status line; only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'foxtrot;replay' {
            [CompletionResult]::new('--speed', '--speed', [CompletionResultType]::ParameterName, 'Serve a raw capture or an NDJSON/CSV recording at its recorded pacing (receive times) divided by X: 1 is the original timing, 10 ten times faster, 0 as fast as possible (then --rate applies). Not with --flood')
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address to listen on; port 0 picks a free port (printed on the first stdout line)')
            [CompletionResult]::new('--rate', '--rate', [CompletionResultType]::ParameterName, 'Messages per second per connection; 0 sends as fast as the socket takes them (files and --flood)')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Send at most N messages per connection, then idle with the socket open (files and --flood)')
            [CompletionResult]::new('--close-after', '--close-after', [CompletionResultType]::ParameterName, 'Close each connection (with a close frame) after N messages (files and --flood)')
            [CompletionResult]::new('--ping-interval', '--ping-interval', [CompletionResultType]::ParameterName, 'Interval between the server''s pings on Binance connections (OKX and Bybit clients ping the server instead)')
            [CompletionResult]::new('--drop-after', '--drop-after', [CompletionResultType]::ParameterName, 'Drop each connection''s TCP socket (no close frame) after N messages (files and --flood)')
            [CompletionResult]::new('--stall-after', '--stall-after', [CompletionResultType]::ParameterName, 'Go silent after N messages (no data, pings or replies), keeping the socket open (files and --flood)')
            [CompletionResult]::new('--refuse', '--refuse', [CompletionResultType]::ParameterName, 'Refuse handshakes with HTTP 429, 418 or 503')
            [CompletionResult]::new('--retry-after', '--retry-after', [CompletionResultType]::ParameterName, 'Send `Retry-After: SECS` with each refusal')
            [CompletionResult]::new('--refuse-first', '--refuse-first', [CompletionResultType]::ParameterName, 'Refuse only the first K handshakes (server-wide), then accept')
            [CompletionResult]::new('--inject', '--inject', [CompletionResultType]::ParameterName, 'After the N-th message of each connection, send one frame of KIND (malformed, truncated, oversized, server-shutdown); N=0 before the first. Repeatable (not on Bybit; not with --flood)')
            [CompletionResult]::new('--oversized-bytes', '--oversized-bytes', [CompletionResultType]::ParameterName, 'The length in bytes of an `oversized` injection (not with --flood)')
            [CompletionResult]::new('--max-age', '--max-age', [CompletionResultType]::ParameterName, 'Close each connection (close frame 1000, "max age") once it is this old (not on Bybit; not with --flood)')
            [CompletionResult]::new('--pong-timeout', '--pong-timeout', [CompletionResultType]::ParameterName, 'Close a connection (close frame 1008) that has not answered a ping within this (Binance; not with --flood)')
            [CompletionResult]::new('--clock-shift-ms', '--clock-shift-ms', [CompletionResultType]::ParameterName, 'Stamp every Binance message''s times (under --flood, every venue''s) with this server''s clock plus MS milliseconds (negative: behind), as a venue with a skewed clock would')
            [CompletionResult]::new('--flood', '--flood', [CompletionResultType]::ParameterName, 'Benchmark mode: send each connection N generated messages for the streams it asks for (Binance bookTicker, trade, aggTrade; OKX and Bybit bookTicker, trade), at --rate or as fast as the socket takes them, then close; no FILE. Of the other flags, --limit, --close-after, --drop-after, --stall-after, --ping-interval, --clock-shift-ms and the refusals apply; the rest are refused')
            [CompletionResult]::new('--depth-levels', '--depth-levels', [CompletionResultType]::ParameterName, 'Levels a side of each generated book')
            [CompletionResult]::new('--depth-interval', '--depth-interval', [CompletionResultType]::ParameterName, 'Time between `@100ms` events of one symbol (tests go faster than the venue)')
            [CompletionResult]::new('--depth-events', '--depth-events', [CompletionResultType]::ParameterName, 'Events generated per symbol at most; then the book stands still')
            [CompletionResult]::new('--depth-seed', '--depth-seed', [CompletionResultType]::ParameterName, 'The generator''s seed (each symbol''s book is seeded from it and the symbol)')
            [CompletionResult]::new('--depth-gap-every', '--depth-gap-every', [CompletionResultType]::ParameterName, 'Withhold every Nth event of a symbol from the streams (a forced gap)')
            [CompletionResult]::new('--depth-gap-symbol', '--depth-gap-symbol', [CompletionResultType]::ParameterName, 'Withhold events of this symbol only [default: every symbol''s]')
            [CompletionResult]::new('--rest-listen', '--rest-listen', [CompletionResultType]::ParameterName, 'Address of the REST snapshot endpoint; port 0 picks a free port')
            [CompletionResult]::new('--rest-delay', '--rest-delay', [CompletionResultType]::ParameterName, 'Answer snapshot requests this late')
            [CompletionResult]::new('--rest-delay-first', '--rest-delay-first', [CompletionResultType]::ParameterName, 'Delay only the first N snapshot requests [default: every one]')
            [CompletionResult]::new('--rest-429-first', '--rest-429-first', [CompletionResultType]::ParameterName, 'Answer the first N snapshot requests with 429 and a Retry-After')
            [CompletionResult]::new('--rest-retry-after', '--rest-retry-after', [CompletionResultType]::ParameterName, 'The Retry-After of those 429 answers, in whole seconds')
            [CompletionResult]::new('--rest-stale-first', '--rest-stale-first', [CompletionResultType]::ParameterName, 'Answer the first N snapshot requests of each symbol with a stale lastUpdateId')
            [CompletionResult]::new('--loop', '--loop', [CompletionResultType]::ParameterName, 'Start over at the end of the files instead of idling. Not with --flood')
            [CompletionResult]::new('--live', '--live', [CompletionResultType]::ParameterName, 'One timeline for all connections, like a live venue: the files play at --rate from server start, and a connection gets what is published after it connected. Not with --flood')
            [CompletionResult]::new('--depth', '--depth', [CompletionResultType]::ParameterName, 'Serve generated order books as Binance diff-depth streams (instead of the files), and their REST snapshots on a second port (printed as the second stdout line). Not with --flood')
            [CompletionResult]::new('--depth-futures', '--depth-futures', [CompletionResultType]::ParameterName, 'USD-M futures books (ids with `pu`, snapshots on /fapi/v1/depth) instead of spot''s')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No summary line and no status line; only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No summary line and no status line; only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'foxtrot;config' {
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No summary line and no status line; only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No summary line and no status line; only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Validate FILE and print the resolved plan: endpoint, output, tunables, and which connection will carry which streams. Exit 0 when valid, 2 when not')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'foxtrot;config;check' {
            [CompletionResult]::new('--shard', '--shard', [CompletionResultType]::ParameterName, 'Print the plan of shard I of N: only the streams that instance records')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No summary line and no status line; only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No summary line and no status line; only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'foxtrot;config;help' {
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Validate FILE and print the resolved plan: endpoint, output, tunables, and which connection will carry which streams. Exit 0 when valid, 2 when not')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'foxtrot;config;help;check' {
            break
        }
        'foxtrot;config;help;help' {
            break
        }
        'foxtrot;recover' {
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No summary line and no status line; only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No summary line and no status line; only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'foxtrot;convert' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Where the ticks go, as `record --out`: .csv, .ndjson or .jsonl (plus .gz or .zst), .parquet, `-`, templates; repeat for several')
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Where the ticks go, as `record --out`: .csv, .ndjson or .jsonl (plus .gz or .zst), .parquet, `-`, templates; repeat for several')
            [CompletionResult]::new('--rotate', '--rotate', [CompletionResultType]::ParameterName, 'Finish each file and start the next every period (1h, 1d: on UTC boundaries; names get -{start} unless the template has a time) or at a size on disk (500MB; every file of a name is numbered -0001, -0002, ...)')
            [CompletionResult]::new('--fsync', '--fsync', [CompletionResultType]::ParameterName, 'When files are made durable: never, rotate (each finished file), or interval:D (such as interval:5s, and each finished file) [default: rotate]')
            [CompletionResult]::new('--row-group-rows', '--row-group-rows', [CompletionResultType]::ParameterName, 'Rows per Parquet row group; a file''s last group may be smaller [default: 1000000]')
            [CompletionResult]::new('--zstd-level', '--zstd-level', [CompletionResultType]::ParameterName, 'zstd level of .zst outputs, 1 (fast) to 22 (small) [default: 3]')
            [CompletionResult]::new('--book-levels', '--book-levels', [CompletionResultType]::ParameterName, 'Levels a side of each `book` row, as `record --book-levels` [default: 20]')
            [CompletionResult]::new('--book-interval', '--book-interval', [CompletionResultType]::ParameterName, 'One `book` row per symbol every DURATION of exchange time, as `record --book-interval` [default: 100ms]')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Overwrite an existing file')
            [CompletionResult]::new('--parquet-decimal', '--parquet-decimal', [CompletionResultType]::ParameterName, 'Parquet: beside each decimal text column (price, qty, ...) a DECIMAL column NAME_decimal at the scale of the file''s first rows (null where a value does not fit)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No summary line and no status line; only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No summary line and no status line; only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'foxtrot;venues' {
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No summary line and no status line; only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No summary line and no status line; only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'foxtrot;generate' {
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No summary line and no status line; only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No summary line and no status line; only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'A completion script for SHELL')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'The man page (roff); with --dir, one page per subcommand as well')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'foxtrot;generate;completions' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Write the script into DIR (created if missing) under its conventional name')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No summary line and no status line; only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No summary line and no status line; only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'foxtrot;generate;man' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Write foxtrot.1 and foxtrot-SUBCOMMAND.1 into DIR (created if missing)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No summary line and no status line; only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No summary line and no status line; only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'foxtrot;generate;help' {
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'A completion script for SHELL')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'The man page (roff); with --dir, one page per subcommand as well')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'foxtrot;generate;help;completions' {
            break
        }
        'foxtrot;generate;help;man' {
            break
        }
        'foxtrot;generate;help;help' {
            break
        }
        'foxtrot;help' {
            [CompletionResult]::new('stream', 'stream', [CompletionResultType]::ParameterValue, 'Print live ticks: a table on a terminal, NDJSON when piped')
            [CompletionResult]::new('record', 'record', [CompletionResultType]::ParameterValue, 'Write ticks to files (CSV, NDJSON or Parquet, by extension; .gz or .zst compress), stdout, Kafka or NATS')
            [CompletionResult]::new('replay', 'replay', [CompletionResultType]::ParameterValue, 'Serve recordings as a local WebSocket endpoint that speaks each venue''s protocol (Binance spot and USD-M, OKX, Bybit)')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Check a config file and print the plan it makes')
            [CompletionResult]::new('recover', 'recover', [CompletionResultType]::ParameterValue, 'Finish the CSV or NDJSON FILE.partial files a crash left: keep every complete line, write FILE')
            [CompletionResult]::new('convert', 'convert', [CompletionResultType]::ParameterValue, 'Re-normalize raw captures (record --raw) into ticks with the same decoders, into any output format')
            [CompletionResult]::new('venues', 'venues', [CompletionResultType]::ParameterValue, 'List the venues, with their endpoints and channels')
            [CompletionResult]::new('generate', 'generate', [CompletionResultType]::ParameterValue, 'Print shell completions or the man pages, generated from this command line')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'foxtrot;help;stream' {
            break
        }
        'foxtrot;help;record' {
            break
        }
        'foxtrot;help;replay' {
            break
        }
        'foxtrot;help;config' {
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Validate FILE and print the resolved plan: endpoint, output, tunables, and which connection will carry which streams. Exit 0 when valid, 2 when not')
            break
        }
        'foxtrot;help;config;check' {
            break
        }
        'foxtrot;help;recover' {
            break
        }
        'foxtrot;help;convert' {
            break
        }
        'foxtrot;help;venues' {
            break
        }
        'foxtrot;help;generate' {
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'A completion script for SHELL')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'The man page (roff); with --dir, one page per subcommand as well')
            break
        }
        'foxtrot;help;generate;completions' {
            break
        }
        'foxtrot;help;generate;man' {
            break
        }
        'foxtrot;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
