
use builtin;
use str;

set edit:completion:arg-completer[foxtrot] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'foxtrot'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'foxtrot'= {
            cand -v 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand --verbose 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand -q 'No summary line and no status line; only errors on stderr'
            cand --quiet 'No summary line and no status line; only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand stream 'Print live ticks: a table on a terminal, NDJSON when piped'
            cand record 'Write ticks to files (CSV, NDJSON or Parquet, by extension; .gz or .zst compress), stdout, Kafka or NATS'
            cand replay 'Serve recordings as a local WebSocket endpoint that speaks each venue''s protocol (Binance spot and USD-M, OKX, Bybit)'
            cand config 'Check a config file and print the plan it makes'
            cand recover 'Finish the CSV or NDJSON FILE.partial files a crash left: keep every complete line, write FILE'
            cand convert 'Re-normalize raw captures (record --raw) into ticks with the same decoders, into any output format'
            cand venues 'List the venues, with their endpoints and channels'
            cand generate 'Print shell completions or the man pages, generated from this command line'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'foxtrot;stream'= {
            cand --venue 'The venue; `foxtrot venues` lists each one''s endpoint and channels [default: binance]'
            cand --channel 'Channel to subscribe to for every symbol; repeat for several; `foxtrot venues` lists each venue''s [default: ticker]'
            cand --endpoint 'Base WebSocket URL of the venue (scheme, host, port); foxtrot appends the venue''s paths [default: the venue''s, such as wss://stream.binance.com:9443]'
            cand --shutdown-timeout 'Hard deadline for a graceful stop (close sockets, drain, flush); past it the rest is cancelled [default: 5s]'
            cand --flush-interval 'Once the output has caught up, let ticks gather this long before writing again: the most a tick waits before it reaches the OS. Longer costs less CPU at live rates (0 to 1s) [default: 1ms for stream, 10ms for record]'
            cand --read-interval 'Read a socket that trickles at most every DURATION (2ms to 1s; 0 reads each frame as it comes): fewer wake-ups with many quiet connections, but `recv_ns` may then be up to DURATION late [default: 0]'
            cand --buffer 'Capacity of the channel between the connections and the output, in ticks [default: 65536; 16384 for record to a .gz, .zst or .parquet file]'
            cand --on-full 'What a connection does when the channel is full [default: block]'
            cand --limit 'Stop cleanly after N ticks'
            cand --duration 'Stop cleanly after this long (500ms, 30s, 1h, ...)'
            cand --connect-timeout 'Give up with an error when no connection could be made for this long [default: 30s]'
            cand --config 'Read streams, output and tunables from this TOML file; flags override it'
            cand --stats-interval 'Print the counters as one JSON object per DURATION on stderr (or to --stats-file)'
            cand --stats-file 'Append the stats objects to PATH instead of stderr [default interval: 10s]'
            cand --metrics-addr 'Serve Prometheus metrics on http://ADDR/metrics (port 0 picks one, printed on stderr)'
            cand --streams-per-connection 'Streams carried by one connection, at most the venue''s limit: binance 1024, okx 500, others 200 [default: the venue''s: okx 100, others 200]'
            cand --max-retries 'Exit with an error after N failed connection attempts in a row [default: retry for ever]'
            cand --backoff-initial 'The first reconnect delay''s ceiling (delays double up to --backoff-max, with jitter) [default: 250ms]'
            cand --backoff-max 'The longest reconnect delay [default: 30s]'
            cand --connect-limit 'At most this many connection attempts per period, per venue (each venue dialed has a limiter of its own, shared by its connections) [default: the venue''s: okx 3/1s, bybit 500/5m, bybit-linear 500/5m, others 300/5m]'
            cand --stale-after 'Reconnect when no frame at all (data or ping) arrived for this long [default: the venue''s: binance 30s, binance-futures 4m 30s, okx 35s, bybit 45s, bybit-linear 45s]'
            cand --silent-stream-after 'Warn about a stream that delivered nothing for this long while its connection lives [default: 5m]'
            cand --max-connection-age 'Replace each connection (make-before-break) once it is this old, before the venue closes it (Binance: at 24 h) [default: 23h 50m]'
            cand --book-levels 'Levels a side of each `book` row [default: 20]'
            cand --book-interval 'One `book` row per symbol every DURATION of exchange time; 0 writes one after every update [default: 0 for stream, 100ms for record]'
            cand --depth-speed 'Binance''s diff-depth speed: 100ms, or 1000ms on binance (spot) only [default: 100ms]'
            cand --rest-endpoint 'REST base URL of Binance''s order-book snapshots (okx and bybit push theirs) [default: the venue''s, such as https://api.binance.com]'
            cand --shard 'Record only shard I of N: the streams whose FNV-1a 64 hash of `exchange:symbol:channel` mod N is I. N instances, --shard 0/N to N-1/N, record every stream exactly once'
            cand --format 'Output format [default: table on a terminal, ndjson otherwise]'
            cand --dry-run 'Check everything, print the plan (which connection carries which streams), and exit'
            cand -v 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand --verbose 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand -q 'No summary line and no status line; only errors on stderr'
            cand --quiet 'No summary line and no status line; only errors on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'foxtrot;record'= {
            cand --venue 'The venue; `foxtrot venues` lists each one''s endpoint and channels [default: binance]'
            cand --channel 'Channel to subscribe to for every symbol; repeat for several; `foxtrot venues` lists each venue''s [default: ticker]'
            cand --endpoint 'Base WebSocket URL of the venue (scheme, host, port); foxtrot appends the venue''s paths [default: the venue''s, such as wss://stream.binance.com:9443]'
            cand --shutdown-timeout 'Hard deadline for a graceful stop (close sockets, drain, flush); past it the rest is cancelled [default: 5s]'
            cand --flush-interval 'Once the output has caught up, let ticks gather this long before writing again: the most a tick waits before it reaches the OS. Longer costs less CPU at live rates (0 to 1s) [default: 1ms for stream, 10ms for record]'
            cand --read-interval 'Read a socket that trickles at most every DURATION (2ms to 1s; 0 reads each frame as it comes): fewer wake-ups with many quiet connections, but `recv_ns` may then be up to DURATION late [default: 0]'
            cand --buffer 'Capacity of the channel between the connections and the output, in ticks [default: 65536; 16384 for record to a .gz, .zst or .parquet file]'
            cand --on-full 'What a connection does when the channel is full [default: block]'
            cand --limit 'Stop cleanly after N ticks'
            cand --duration 'Stop cleanly after this long (500ms, 30s, 1h, ...)'
            cand --connect-timeout 'Give up with an error when no connection could be made for this long [default: 30s]'
            cand --config 'Read streams, output and tunables from this TOML file; flags override it'
            cand --stats-interval 'Print the counters as one JSON object per DURATION on stderr (or to --stats-file)'
            cand --stats-file 'Append the stats objects to PATH instead of stderr [default interval: 10s]'
            cand --metrics-addr 'Serve Prometheus metrics on http://ADDR/metrics (port 0 picks one, printed on stderr)'
            cand --streams-per-connection 'Streams carried by one connection, at most the venue''s limit: binance 1024, okx 500, others 200 [default: the venue''s: okx 100, others 200]'
            cand --max-retries 'Exit with an error after N failed connection attempts in a row [default: retry for ever]'
            cand --backoff-initial 'The first reconnect delay''s ceiling (delays double up to --backoff-max, with jitter) [default: 250ms]'
            cand --backoff-max 'The longest reconnect delay [default: 30s]'
            cand --connect-limit 'At most this many connection attempts per period, per venue (each venue dialed has a limiter of its own, shared by its connections) [default: the venue''s: okx 3/1s, bybit 500/5m, bybit-linear 500/5m, others 300/5m]'
            cand --stale-after 'Reconnect when no frame at all (data or ping) arrived for this long [default: the venue''s: binance 30s, binance-futures 4m 30s, okx 35s, bybit 45s, bybit-linear 45s]'
            cand --silent-stream-after 'Warn about a stream that delivered nothing for this long while its connection lives [default: 5m]'
            cand --max-connection-age 'Replace each connection (make-before-break) once it is this old, before the venue closes it (Binance: at 24 h) [default: 23h 50m]'
            cand --book-levels 'Levels a side of each `book` row [default: 20]'
            cand --book-interval 'One `book` row per symbol every DURATION of exchange time; 0 writes one after every update [default: 0 for stream, 100ms for record]'
            cand --depth-speed 'Binance''s diff-depth speed: 100ms, or 1000ms on binance (spot) only [default: 100ms]'
            cand --rest-endpoint 'REST base URL of Binance''s order-book snapshots (okx and bybit push theirs) [default: the venue''s, such as https://api.binance.com]'
            cand --shard 'Record only shard I of N: the streams whose FNV-1a 64 hash of `exchange:symbol:channel` mod N is I. N instances, --shard 0/N to N-1/N, record every stream exactly once'
            cand -o 'Where ticks go, by extension: .csv, .ndjson or .jsonl, plus .gz or .zst to compress; .parquet (one channel a file); `-` for NDJSON on stdout. A template such as ''data/{exchange}/{channel}/{date}/{symbol}.csv.gz'' ({exchange}, {symbol}, {channel}, {date}, {hour}, {start}) writes a set of files, rotated at its time boundaries. Repeat for several outputs: each gets every row. kafka://HOST:PORT[,HOST:PORT]/TOPIC or nats://HOST:PORT/SUBJECT publishes instead (the only output then; one NDJSON line per record; the subject may use {exchange}, {symbol}, {channel})'
            cand --out 'Where ticks go, by extension: .csv, .ndjson or .jsonl, plus .gz or .zst to compress; .parquet (one channel a file); `-` for NDJSON on stdout. A template such as ''data/{exchange}/{channel}/{date}/{symbol}.csv.gz'' ({exchange}, {symbol}, {channel}, {date}, {hour}, {start}) writes a set of files, rotated at its time boundaries. Repeat for several outputs: each gets every row. kafka://HOST:PORT[,HOST:PORT]/TOPIC or nats://HOST:PORT/SUBJECT publishes instead (the only output then; one NDJSON line per record; the subject may use {exchange}, {symbol}, {channel})'
            cand --raw 'Raw capture: every frame received, every request sent and every connect/disconnect, as JSONL (the README''s "Raw capture"), beside or instead of --out. May be a template of {exchange}, {date}, {hour}, {start}; .gz or .zst compress'
            cand --rotate 'Finish each file and start the next every period (1h, 1d: on UTC boundaries; names get -{start} unless the template has a time) or at a size on disk (500MB; every file of a name is numbered -0001, -0002, ...)'
            cand --fsync 'When files are made durable: never, rotate (each finished file), or interval:D (such as interval:5s, and each finished file) [default: rotate]'
            cand --row-group-rows 'Rows per Parquet row group; a file''s last group may be smaller [default: 1000000]'
            cand --zstd-level 'zstd level of .zst outputs, 1 (fast) to 22 (small) [default: 3]'
            cand --dry-run 'Check everything, print the plan (which connection carries which streams), and exit'
            cand --nats-create-stream 'With --out nats://: create a JetStream stream over the subjects when none holds them'
            cand --append 'Add to an existing file instead of refusing it'
            cand --force 'Overwrite an existing file'
            cand --parquet-decimal 'Parquet: beside each decimal text column (price, qty, ...) a DECIMAL column NAME_decimal at the scale of the file''s first rows (null where a value does not fit)'
            cand -v 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand --verbose 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand -q 'No summary line and no status line; only errors on stderr'
            cand --quiet 'No summary line and no status line; only errors on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'foxtrot;replay'= {
            cand --speed 'Serve a raw capture or an NDJSON/CSV recording at its recorded pacing (receive times) divided by X: 1 is the original timing, 10 ten times faster, 0 as fast as possible (then --rate applies). Not with --flood'
            cand --listen 'Address to listen on; port 0 picks a free port (printed on the first stdout line)'
            cand --rate 'Messages per second per connection; 0 sends as fast as the socket takes them (files and --flood)'
            cand --limit 'Send at most N messages per connection, then idle with the socket open (files and --flood)'
            cand --close-after 'Close each connection (with a close frame) after N messages (files and --flood)'
            cand --ping-interval 'Interval between the server''s pings on Binance connections (OKX and Bybit clients ping the server instead)'
            cand --drop-after 'Drop each connection''s TCP socket (no close frame) after N messages (files and --flood)'
            cand --stall-after 'Go silent after N messages (no data, pings or replies), keeping the socket open (files and --flood)'
            cand --refuse 'Refuse handshakes with HTTP 429, 418 or 503'
            cand --retry-after 'Send `Retry-After: SECS` with each refusal'
            cand --refuse-first 'Refuse only the first K handshakes (server-wide), then accept'
            cand --inject 'After the N-th message of each connection, send one frame of KIND (malformed, truncated, oversized, server-shutdown); N=0 before the first. Repeatable (not on Bybit; not with --flood)'
            cand --oversized-bytes 'The length in bytes of an `oversized` injection (not with --flood)'
            cand --max-age 'Close each connection (close frame 1000, "max age") once it is this old (not on Bybit; not with --flood)'
            cand --pong-timeout 'Close a connection (close frame 1008) that has not answered a ping within this (Binance; not with --flood)'
            cand --clock-shift-ms 'Stamp every Binance message''s times (under --flood, every venue''s) with this server''s clock plus MS milliseconds (negative: behind), as a venue with a skewed clock would'
            cand --flood 'Benchmark mode: send each connection N generated messages for the streams it asks for (Binance bookTicker, trade, aggTrade; OKX and Bybit bookTicker, trade), at --rate or as fast as the socket takes them, then close; no FILE. Of the other flags, --limit, --close-after, --drop-after, --stall-after, --ping-interval, --clock-shift-ms and the refusals apply; the rest are refused'
            cand --depth-levels 'Levels a side of each generated book'
            cand --depth-interval 'Time between `@100ms` events of one symbol (tests go faster than the venue)'
            cand --depth-events 'Events generated per symbol at most; then the book stands still'
            cand --depth-seed 'The generator''s seed (each symbol''s book is seeded from it and the symbol)'
            cand --depth-gap-every 'Withhold every Nth event of a symbol from the streams (a forced gap)'
            cand --depth-gap-symbol 'Withhold events of this symbol only [default: every symbol''s]'
            cand --rest-listen 'Address of the REST snapshot endpoint; port 0 picks a free port'
            cand --rest-delay 'Answer snapshot requests this late'
            cand --rest-delay-first 'Delay only the first N snapshot requests [default: every one]'
            cand --rest-429-first 'Answer the first N snapshot requests with 429 and a Retry-After'
            cand --rest-retry-after 'The Retry-After of those 429 answers, in whole seconds'
            cand --rest-stale-first 'Answer the first N snapshot requests of each symbol with a stale lastUpdateId'
            cand --loop 'Start over at the end of the files instead of idling. Not with --flood'
            cand --live 'One timeline for all connections, like a live venue: the files play at --rate from server start, and a connection gets what is published after it connected. Not with --flood'
            cand --depth 'Serve generated order books as Binance diff-depth streams (instead of the files), and their REST snapshots on a second port (printed as the second stdout line). Not with --flood'
            cand --depth-futures 'USD-M futures books (ids with `pu`, snapshots on /fapi/v1/depth) instead of spot''s'
            cand -v 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand --verbose 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand -q 'No summary line and no status line; only errors on stderr'
            cand --quiet 'No summary line and no status line; only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'foxtrot;config'= {
            cand -v 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand --verbose 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand -q 'No summary line and no status line; only errors on stderr'
            cand --quiet 'No summary line and no status line; only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand check 'Validate FILE and print the resolved plan: endpoint, output, tunables, and which connection will carry which streams. Exit 0 when valid, 2 when not'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'foxtrot;config;check'= {
            cand --shard 'Print the plan of shard I of N: only the streams that instance records'
            cand -v 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand --verbose 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand -q 'No summary line and no status line; only errors on stderr'
            cand --quiet 'No summary line and no status line; only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'foxtrot;config;help'= {
            cand check 'Validate FILE and print the resolved plan: endpoint, output, tunables, and which connection will carry which streams. Exit 0 when valid, 2 when not'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'foxtrot;config;help;check'= {
        }
        &'foxtrot;config;help;help'= {
        }
        &'foxtrot;recover'= {
            cand -v 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand --verbose 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand -q 'No summary line and no status line; only errors on stderr'
            cand --quiet 'No summary line and no status line; only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'foxtrot;convert'= {
            cand -o 'Where the ticks go, as `record --out`: .csv, .ndjson or .jsonl (plus .gz or .zst), .parquet, `-`, templates; repeat for several'
            cand --out 'Where the ticks go, as `record --out`: .csv, .ndjson or .jsonl (plus .gz or .zst), .parquet, `-`, templates; repeat for several'
            cand --rotate 'Finish each file and start the next every period (1h, 1d: on UTC boundaries; names get -{start} unless the template has a time) or at a size on disk (500MB; every file of a name is numbered -0001, -0002, ...)'
            cand --fsync 'When files are made durable: never, rotate (each finished file), or interval:D (such as interval:5s, and each finished file) [default: rotate]'
            cand --row-group-rows 'Rows per Parquet row group; a file''s last group may be smaller [default: 1000000]'
            cand --zstd-level 'zstd level of .zst outputs, 1 (fast) to 22 (small) [default: 3]'
            cand --book-levels 'Levels a side of each `book` row, as `record --book-levels` [default: 20]'
            cand --book-interval 'One `book` row per symbol every DURATION of exchange time, as `record --book-interval` [default: 100ms]'
            cand --force 'Overwrite an existing file'
            cand --parquet-decimal 'Parquet: beside each decimal text column (price, qty, ...) a DECIMAL column NAME_decimal at the scale of the file''s first rows (null where a value does not fit)'
            cand -v 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand --verbose 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand -q 'No summary line and no status line; only errors on stderr'
            cand --quiet 'No summary line and no status line; only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'foxtrot;venues'= {
            cand -v 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand --verbose 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand -q 'No summary line and no status line; only errors on stderr'
            cand --quiet 'No summary line and no status line; only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'foxtrot;generate'= {
            cand -v 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand --verbose 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand -q 'No summary line and no status line; only errors on stderr'
            cand --quiet 'No summary line and no status line; only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand completions 'A completion script for SHELL'
            cand man 'The man page (roff); with --dir, one page per subcommand as well'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'foxtrot;generate;completions'= {
            cand --dir 'Write the script into DIR (created if missing) under its conventional name'
            cand -v 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand --verbose 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand -q 'No summary line and no status line; only errors on stderr'
            cand --quiet 'No summary line and no status line; only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'foxtrot;generate;man'= {
            cand --dir 'Write foxtrot.1 and foxtrot-SUBCOMMAND.1 into DIR (created if missing)'
            cand -v 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand --verbose 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand -q 'No summary line and no status line; only errors on stderr'
            cand --quiet 'No summary line and no status line; only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'foxtrot;generate;help'= {
            cand completions 'A completion script for SHELL'
            cand man 'The man page (roff); with --dir, one page per subcommand as well'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'foxtrot;generate;help;completions'= {
        }
        &'foxtrot;generate;help;man'= {
        }
        &'foxtrot;generate;help;help'= {
        }
        &'foxtrot;help'= {
            cand stream 'Print live ticks: a table on a terminal, NDJSON when piped'
            cand record 'Write ticks to files (CSV, NDJSON or Parquet, by extension; .gz or .zst compress), stdout, Kafka or NATS'
            cand replay 'Serve recordings as a local WebSocket endpoint that speaks each venue''s protocol (Binance spot and USD-M, OKX, Bybit)'
            cand config 'Check a config file and print the plan it makes'
            cand recover 'Finish the CSV or NDJSON FILE.partial files a crash left: keep every complete line, write FILE'
            cand convert 'Re-normalize raw captures (record --raw) into ticks with the same decoders, into any output format'
            cand venues 'List the venues, with their endpoints and channels'
            cand generate 'Print shell completions or the man pages, generated from this command line'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'foxtrot;help;stream'= {
        }
        &'foxtrot;help;record'= {
        }
        &'foxtrot;help;replay'= {
        }
        &'foxtrot;help;config'= {
            cand check 'Validate FILE and print the resolved plan: endpoint, output, tunables, and which connection will carry which streams. Exit 0 when valid, 2 when not'
        }
        &'foxtrot;help;config;check'= {
        }
        &'foxtrot;help;recover'= {
        }
        &'foxtrot;help;convert'= {
        }
        &'foxtrot;help;venues'= {
        }
        &'foxtrot;help;generate'= {
            cand completions 'A completion script for SHELL'
            cand man 'The man page (roff); with --dir, one page per subcommand as well'
        }
        &'foxtrot;help;generate;completions'= {
        }
        &'foxtrot;help;generate;man'= {
        }
        &'foxtrot;help;help'= {
        }
    ]
    $completions[$command]
}
