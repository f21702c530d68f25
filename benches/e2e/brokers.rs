//! Broker outputs in the e2e bench: `record --out kafka://` against a local `tansu` (memory
//! storage) and `record --out nats://` against a local `nats-server -js` (file storage in a
//! temp dir), beside `record --out file.ndjson`, alternated within each round so a change in
//! the box's load hits all of them alike. Each broker is started afresh for each run on a
//! free port (so one run's stored records do not weigh on the next) and shares the machine's
//! cores with foxtrot and the flood server: its CPU per message is printed beside foxtrot's.
//!
//! The Kafka ceiling: this binary again (`--child-kafka`), a minimal librdkafka producer with
//! foxtrot's producer settings publishing pre-built records (the NDJSON lines, keys and
//! headers foxtrot sent in the file run, read into memory before the clock starts), so the
//! table says what fraction of what tansu on this box takes foxtrot reaches. Its rate and
//! CPU are its own figures for publishing (reading the records in is left out). It waits
//! for room in librdkafka's queue as foxtrot does (serving reports, then sleeping 200 µs).
//! For experiments, `FOXTROT_BENCH_KAFKA="key=value,..."` overrides librdkafka settings
//! (`statistics.interval.ms=200` prints librdkafka's statistics on stderr) and
//! `FOXTROT_BENCH_KAFKA_MODE="noheaders,partition,spin,produceva"` sends records without
//! headers, picks partitions itself, waits with `poll(1 ms)` (which spins) as foxtrot used
//! to, or hands records over with `rd_kafka_produceva` (see [`produceva`]).
//!
//! A broker binary missing from PATH (and from `~/.cargo/bin`) prints a skip line; the
//! broker tests (tests/brokers/) are what fail without them.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::ClientContext;
use rdkafka::bindings as rd;
use rdkafka::config::ClientConfig;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};

use super::{FOXTROT, Sample, Server, foxtrot_args, measure, median};

/// Records kept for the ceiling producer (it cycles through them).
const CEILING_RECORDS: usize = 100_000;

/// A broker on 127.0.0.1, killed on drop.
struct Broker {
    child: Child,
    port: u16,
    /// NATS's store.
    _dir: Option<tempfile::TempDir>,
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Broker {
    /// `tansu` with memory storage and one 3-partition topic `md`.
    fn tansu(program: &Path) -> Broker {
        let port = free_port();
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(program)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .args(["--storage-engine", "memory://tansu/"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tansu");
        let broker = Broker {
            child,
            port,
            _dir: None,
        };
        broker.wait_listening("tansu");
        let created = Command::new(program)
            .args([
                "topic",
                "create",
                "md",
                "--broker",
                &url,
                "--partitions",
                "3",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("tansu topic create");
        assert!(created.success(), "tansu topic create md failed");
        broker
    }

    /// `nats-server -js` with its store in a temp dir.
    fn nats(program: &Path) -> Broker {
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new(program)
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nats-server");
        let broker = Broker {
            child,
            port,
            _dir: Some(dir),
        };
        broker.wait_listening("nats-server");
        broker
    }

    fn wait_listening(&self, what: &str) {
        let until = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < until,
                "{what} did not listen on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The broker's own CPU time so far (user + system), from `/proc/PID/stat`.
    fn cpu(&self) -> Duration {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map_or("", |(_, rest)| rest)
            .split_whitespace()
            .collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0)
        };
        // SAFETY: sysconf only reads a constant of the system.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
        Duration::from_micros((ticks(11) + ticks(12)) * 1_000_000 / hz)
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `program` on PATH or in `~/.cargo/bin` (where `cargo install tansu` puts it).
fn find(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let cargo_bin = std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo/bin"));
    std::env::split_paths(&path)
        .chain(cargo_bin)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// The brokers found, each with the line to print when it is not.
struct Programs {
    tansu: Option<PathBuf>,
    nats: Option<PathBuf>,
}

impl Programs {
    fn find() -> Programs {
        let programs = Programs {
            tansu: find("tansu"),
            nats: find("nats-server"),
        };
        if programs.tansu.is_none() {
            println!(
                "brokers: skipping the Kafka runs: tansu is not installed \
                 (cargo install tansu --locked --features dynostore)"
            );
        }
        if programs.nats.is_none() {
            println!(
                "brokers: skipping the NATS runs: nats-server is not installed \
                 (apt-get install nats-server)"
            );
        }
        programs
    }
}

/// One way to publish N messages.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Kafka,
    Ceiling,
    Nats,
}

impl Kind {
    const ALL: [Kind; 4] = [Kind::File, Kind::Kafka, Kind::Ceiling, Kind::Nats];

    fn label(self) -> &'static str {
        match self {
            Kind::File => "foxtrot record --out file.ndjson",
            Kind::Kafka => "foxtrot record --out kafka:// (tansu)",
            Kind::Ceiling => "minimal rdkafka producer (tansu)",
            Kind::Nats => "foxtrot record --out nats:// (JetStream)",
        }
    }
}

/// One run: what it cost foxtrot (or the ceiling producer), and the broker's CPU.
#[derive(Clone, Copy)]
struct Run {
    sample: Sample,
    broker_cpu: Duration,
}

struct Runner<'a> {
    programs: &'a Programs,
    server: &'a Server,
    dir: &'a Path,
    n: u64,
    /// The records the ceiling producer sends (from the first file run).
    records: PathBuf,
}

impl Runner<'_> {
    fn available(&self, kind: Kind) -> bool {
        match kind {
            Kind::File => true,
            Kind::Kafka | Kind::Ceiling => self.programs.tansu.is_some(),
            Kind::Nats => self.programs.nats.is_some(),
        }
    }

    fn run(&self, kind: Kind) -> Run {
        let n = self.n;
        let record = |out: &str| {
            let mut cmd = Command::new(FOXTROT);
            cmd.arg("record");
            foxtrot_args(&mut cmd, &self.server.url, n);
            cmd.args(["--shutdown-timeout", "300s", "--out", out]);
            cmd
        };
        let run = match kind {
            Kind::File => {
                let out = self.dir.join("out.ndjson");
                let sample = measure(record(out.to_str().unwrap()));
                assert_eq!(super::lines_in(&out), n, "{}", kind.label());
                if !self.records.exists() {
                    keep_head(&out, &self.records, CEILING_RECORDS);
                }
                std::fs::remove_file(&out).unwrap();
                Run {
                    sample,
                    broker_cpu: Duration::ZERO,
                }
            }
            Kind::Kafka | Kind::Ceiling => {
                let broker = Broker::tansu(self.programs.tansu.as_ref().unwrap());
                let before = broker.cpu();
                let brokers = format!("127.0.0.1:{}", broker.port);
                let timed = self.dir.join("ceiling.out");
                let cmd = if kind == Kind::Kafka {
                    record(&format!("kafka://{brokers}/md"))
                } else {
                    let mut cmd = Command::new(std::env::current_exe().unwrap());
                    cmd.args(["--child-kafka", &brokers, "md"])
                        .arg(&self.records)
                        .arg(n.to_string())
                        .stdout(std::fs::File::create(&timed).unwrap());
                    cmd
                };
                let mut sample = measure(cmd);
                if kind == Kind::Ceiling {
                    // Its own figures for publishing only: reading the records in is not
                    // what is measured.
                    let text = std::fs::read_to_string(&timed).unwrap();
                    let mut figures = text.split_whitespace().map(|f| f.parse::<u64>().unwrap());
                    sample.wall = Duration::from_nanos(figures.next().unwrap());
                    sample.cpu = Duration::from_nanos(figures.next().unwrap());
                }
                Run {
                    sample,
                    broker_cpu: broker.cpu().saturating_sub(before),
                }
            }
            Kind::Nats => {
                let broker = Broker::nats(self.programs.nats.as_ref().unwrap());
                let before = broker.cpu();
                let out = format!(
                    "nats://127.0.0.1:{}/md.{{exchange}}.{{channel}}.{{symbol}}",
                    broker.port
                );
                let mut cmd = record(&out);
                cmd.arg("--nats-create-stream");
                let sample = measure(cmd);
                Run {
                    sample,
                    broker_cpu: broker.cpu().saturating_sub(before),
                }
            }
        };
        // Let the server notice the client left before the next one connects.
        std::thread::sleep(Duration::from_millis(200));
        run
    }
}

/// Copies the first `lines` lines of `from` into `to`.
fn keep_head(from: &Path, to: &Path, lines: usize) {
    let reader = BufReader::new(std::fs::File::open(from).unwrap());
    let mut out = String::new();
    for line in reader.lines().take(lines) {
        out.push_str(&line.unwrap());
        out.push('\n');
    }
    std::fs::write(to, out).unwrap();
}

/// The broker section of `cargo bench --bench e2e`: `rounds` rounds of `n` messages each.
pub fn bench(rounds: usize, n: u64, only: &str) {
    println!("brokers: {n} bookTicker messages per run, {rounds} rounds, each broker started");
    println!("afresh per run on 127.0.0.1 and sharing the machine's cores with foxtrot\n");
    let programs = Programs::find();
    let server = Server::start(2 * n);
    let dir = tempfile::tempdir().unwrap();
    let runner = Runner {
        programs: &programs,
        server: &server,
        dir: dir.path(),
        n,
        records: dir.path().join("records.ndjson"),
    };
    // The ceiling needs the file run's records.
    let wanted =
        |kind: Kind| runner.available(kind) && (kind.label().contains(only) || kind == Kind::File);
    let mut runs: Vec<Vec<Run>> = vec![Vec::new(); Kind::ALL.len()];
    for round in 0..rounds {
        for (i, kind) in Kind::ALL.into_iter().enumerate() {
            if !wanted(kind) {
                continue;
            }
            let run = runner.run(kind);
            eprintln!(
                "round {}: {:<42} {:>6.0} k msgs/s",
                round + 1,
                kind.label(),
                n as f64 / run.sample.wall.as_secs_f64() / 1e3
            );
            runs[i].push(run);
        }
    }
    println!(
        "| {:<42} | {:>14} | {:>17} | {:>8} | {:>11} | {:>12} |",
        "output", "msgs/s median", "min – max", "CPU s/M", "broker s/M", "peak RSS MiB"
    );
    println!(
        "|{:-<44}|{:->16}|{:->19}|{:->10}|{:->13}|{:->14}|",
        "", "", "", "", "", ""
    );
    let mut rates = [f64::NAN; 4];
    for (i, kind) in Kind::ALL.into_iter().enumerate() {
        let runs = &runs[i];
        if runs.is_empty() {
            continue;
        }
        let per_m = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
        let mut rate: Vec<f64> = runs
            .iter()
            .map(|r| n as f64 / r.sample.wall.as_secs_f64())
            .collect();
        let mut cpu: Vec<f64> = runs.iter().map(|r| per_m(r.sample.cpu)).collect();
        let mut broker: Vec<f64> = runs.iter().map(|r| per_m(r.broker_cpu)).collect();
        let rss = runs.iter().map(|r| r.sample.max_rss_kib).max().unwrap_or(0);
        rates[i] = median(&mut rate);
        let broker = if kind == Kind::File {
            "–".to_owned()
        } else {
            format!("{:.2}", median(&mut broker))
        };
        // The minimal producer holds its records in memory: its peak says nothing.
        let rss = if kind == Kind::Ceiling {
            "–".to_owned()
        } else {
            format!("{:.1}", rss as f64 / 1024.0)
        };
        println!(
            "| {:<42} | {:>12.3} M | {:>7.3} – {:>5.3} M | {:>8.2} | {:>11} | {:>12} |",
            kind.label(),
            rates[i] / 1e6,
            rate[0] / 1e6,
            rate[rate.len() - 1] / 1e6,
            median(&mut cpu),
            broker,
            rss
        );
    }
    println!();
    let [file, kafka, ceiling, nats] = rates;
    if !kafka.is_nan() {
        println!(
            "record kafka / record ndjson:      {:.2}x rate (goal >= 0.5x)",
            kafka / file
        );
    }
    if !ceiling.is_nan() {
        println!(
            "record kafka / minimal producer:   {:.2}x rate (the share of tansu's ceiling on this box)",
            kafka / ceiling
        );
    }
    if !nats.is_nan() {
        println!(
            "record nats / record ndjson:       {:.2}x rate",
            nats / file
        );
    }
}

/// Under `cargo test`: a small run of each output the installed brokers allow.
pub fn smoke(dir: &Path) {
    let programs = Programs::find();
    let n = 2_000;
    let server = Server::start(2 * n);
    let runner = Runner {
        programs: &programs,
        server: &server,
        dir,
        n,
        records: dir.join("records.ndjson"),
    };
    for kind in Kind::ALL {
        if runner.available(kind) {
            runner.run(kind);
        }
    }
}

/// Counts delivery reports.
struct Counter {
    acked: std::sync::atomic::AtomicU64,
    failed: std::sync::atomic::AtomicU64,
}

impl ClientContext for Counter {
    /// `statistics.interval.ms` in `FOXTROT_BENCH_KAFKA`: librdkafka's JSON on stderr.
    fn stats_raw(&self, statistics: &[u8]) {
        eprintln!("{}", String::from_utf8_lossy(statistics));
    }
}

impl ProducerContext for Counter {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        use std::sync::atomic::Ordering::Relaxed;
        match result {
            Ok(_) => self.acked.fetch_add(1, Relaxed),
            Err(_) => self.failed.fetch_add(1, Relaxed),
        };
    }
}

/// A pre-built record: key, value and the header values foxtrot sends.
struct Prebuilt {
    key: Vec<u8>,
    value: Vec<u8>,
    exchange: String,
    channel: String,
    recv_ns: String,
}

/// `--child-kafka BROKERS TOPIC RECORDS N`: publishes N records cycled from the NDJSON lines
/// in RECORDS (read and keyed before anything is sent) with foxtrot's producer settings, one
/// thread, and waits for every acknowledgement. Exits non-zero if any failed.
pub fn child(args: &[String]) {
    let (brokers, topic, records, n) = (
        &args[0],
        &args[1],
        &args[2],
        args[3].parse::<u64>().expect("count"),
    );
    let text = std::fs::read_to_string(records).expect("records");
    let prebuilt: Vec<Prebuilt> = text
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).expect("an NDJSON line");
            let field = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
            let (exchange, channel) = (field("exchange"), field("channel"));
            Prebuilt {
                key: format!("{exchange}:{}:{channel}", field("symbol")).into_bytes(),
                value: format!("{line}\n").into_bytes(),
                recv_ns: v["recv_ns"].as_u64().unwrap_or(0).to_string(),
                exchange,
                channel,
            }
        })
        .collect();
    assert!(!prebuilt.is_empty(), "no records in {records}");
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", brokers);
    for (key, value) in foxtrot::sink::kafka::DEFAULTS {
        config.set(key, value);
    }
    // Experiments: `FOXTROT_BENCH_KAFKA="linger.ms=20,compression.type=none"` overrides.
    if let Ok(settings) = std::env::var("FOXTROT_BENCH_KAFKA") {
        for setting in settings.split(',').filter(|s| !s.is_empty()) {
            let (key, value) = setting.split_once('=').expect("KEY=VALUE");
            config.set(key, value);
        }
    }
    let producer: BaseProducer<Counter> = config
        .create_with_context(Counter {
            acked: 0.into(),
            failed: 0.into(),
        })
        .expect("producer");
    // Connected, with the idempotent producer's id, before the clock starts, as foxtrot's
    // sink is (see `foxtrot::sink::kafka::open`).
    for _ in 0..2 {
        producer
            .client()
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .expect("metadata");
    }
    // Experiments: `FOXTROT_BENCH_KAFKA_MODE="noheaders,partition,spin"`: records without
    // headers, partitions chosen here, a full queue waited on with `poll(1 ms)` (which spins).
    let mode = std::env::var("FOXTROT_BENCH_KAFKA_MODE").unwrap_or_default();
    let no_headers = mode.contains("noheaders");
    let own_partition = mode.contains("partition");
    let spin = mode.contains("spin");
    let rkt = mode
        .contains("produceva")
        .then(|| Topic::new(&producer, topic));
    let started = Instant::now();
    let cpu_before = own_cpu();
    for i in 0..n {
        let r = &prebuilt[i as usize % prebuilt.len()];
        let headers = || {
            OwnedHeaders::new_with_capacity(3)
                .insert(Header {
                    key: "exchange",
                    value: Some(&r.exchange),
                })
                .insert(Header {
                    key: "channel",
                    value: Some(&r.channel),
                })
                .insert(Header {
                    key: "recv_ns",
                    value: Some(&r.recv_ns),
                })
        };
        if let Some(rkt) = &rkt {
            let partition = foxtrot::sink::kafka::partition_of(&r.key, 3);
            while let Err(e) = produceva(&producer, rkt, r, partition, !no_headers) {
                assert_eq!(e, RDKafkaErrorCode::QueueFull, "produceva");
                producer.poll(Duration::ZERO);
                std::thread::sleep(Duration::from_micros(200));
            }
            if i % 1024 == 0 {
                producer.poll(Duration::ZERO);
            }
            continue;
        }
        let mut record = BaseRecord::to(topic).key(&r.key[..]).payload(&r.value[..]);
        if !no_headers {
            record = record.headers(headers());
        }
        if own_partition {
            record = record.partition(foxtrot::sink::kafka::partition_of(&r.key, 3));
        }
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((_, back)) => {
                    // The queue is full: serve delivery reports until there is room.
                    record = back;
                    if spin {
                        producer.poll(Duration::from_millis(1));
                    } else {
                        producer.poll(Duration::ZERO);
                        std::thread::sleep(Duration::from_micros(200));
                    }
                }
            }
        }
        if i % 1024 == 0 {
            producer.poll(Duration::ZERO);
        }
    }
    producer.flush(Duration::from_secs(300)).expect("flush");
    drop(rkt);
    let ctx = producer.context();
    let failed = ctx.failed.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(failed, 0, "{failed} records failed");
    assert_eq!(
        producer.in_flight_count(),
        0,
        "records left after the flush"
    );
    // With `delivery.report.only.error=true` only failures are reported.
    let acked = ctx.acked.load(std::sync::atomic::Ordering::Relaxed);
    assert!(acked == n || acked == 0, "{acked} of {n} acknowledged");
    // Wall and CPU time of publishing and its acknowledgements, for the parent.
    println!(
        "{} {}",
        started.elapsed().as_nanos(),
        own_cpu().saturating_sub(cpu_before).as_nanos()
    );
}

/// librdkafka's handle of a topic, made once (`rd_kafka_topic_new`), for [`produceva`].
struct Topic(*mut rd::rd_kafka_topic_t);

impl Topic {
    fn new(producer: &BaseProducer<Counter>, name: &str) -> Topic {
        let name = std::ffi::CString::new(name).unwrap();
        // SAFETY: a live client and a NUL-terminated name; the handle is released on drop,
        // before the producer (see `child`).
        let rkt = unsafe {
            rd::rd_kafka_topic_new(
                producer.client().native_ptr(),
                name.as_ptr(),
                std::ptr::null_mut(),
            )
        };
        assert!(!rkt.is_null(), "rd_kafka_topic_new");
        Topic(rkt)
    }
}

impl Drop for Topic {
    fn drop(&mut self) {
        // SAFETY: made by `rd_kafka_topic_new` and released once.
        unsafe { rd::rd_kafka_topic_destroy(self.0) }
    }
}

/// One record handed over with `rd_kafka_produceva`: the topic as a handle made once (rdkafka's
/// `send` makes a `CString` of the topic's name per record, which librdkafka then looks up),
/// the headers as `VTYPE_HEADER`s (librdkafka builds the list itself) instead of an
/// `OwnedHeaders`. The payload and key are copied (`RD_KAFKA_MSG_F_COPY`), as `send` does.
fn produceva(
    producer: &BaseProducer<Counter>,
    topic: &Topic,
    r: &Prebuilt,
    partition: i32,
    headers: bool,
) -> Result<(), RDKafkaErrorCode> {
    use rd::rd_kafka_vtype_t::*;
    type U = rd::rd_kafka_vu_s__bindgen_ty_1;
    let vu = |vtype, u| rd::rd_kafka_vu_t { vtype, u };
    let mem = |b: &[u8]| U {
        mem: rd::rd_kafka_vu_s__bindgen_ty_1__bindgen_ty_1 {
            ptr: b.as_ptr() as *mut _,
            size: b.len(),
        },
    };
    let header = |name: &std::ffi::CStr, value: &str| U {
        header: rd::rd_kafka_vu_s__bindgen_ty_1__bindgen_ty_2 {
            name: name.as_ptr(),
            val: value.as_ptr().cast(),
            size: value.len() as isize,
        },
    };
    let vus = [
        vu(RD_KAFKA_VTYPE_RKT, U { rkt: topic.0 }),
        vu(RD_KAFKA_VTYPE_PARTITION, U { i32_: partition }),
        vu(
            RD_KAFKA_VTYPE_MSGFLAGS,
            U {
                i: rd::RD_KAFKA_MSG_F_COPY,
            },
        ),
        vu(RD_KAFKA_VTYPE_VALUE, mem(&r.value)),
        vu(RD_KAFKA_VTYPE_KEY, mem(&r.key)),
        vu(RD_KAFKA_VTYPE_HEADER, header(c"exchange", &r.exchange)),
        vu(RD_KAFKA_VTYPE_HEADER, header(c"channel", &r.channel)),
        vu(RD_KAFKA_VTYPE_HEADER, header(c"recv_ns", &r.recv_ns)),
    ];
    let count = if headers { vus.len() } else { 5 };
    // SAFETY: every pointer in `vus` outlives the call (librdkafka copies the payload, key
    // and headers); the error returned is ours to destroy.
    unsafe {
        let error = rd::rd_kafka_produceva(producer.client().native_ptr(), vus.as_ptr(), count);
        if error.is_null() {
            return Ok(());
        }
        let code = rd::rd_kafka_error_code(error);
        rd::rd_kafka_error_destroy(error);
        Err(code.into())
    }
}

/// This process's user + system CPU time so far (all threads).
fn own_cpu() -> Duration {
    // SAFETY: `getrusage` fills the plain-data struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let done = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    assert_eq!(done, 0, "getrusage: {}", std::io::Error::last_os_error());
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}
