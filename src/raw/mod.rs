//! Raw capture (`--raw PATH`): every frame received, every request sent (and the answers
//! of REST snapshot requests) and every connect and disconnect of every connection, losslessly, as the ground truth that
//! `foxtrot convert` re-normalizes and `foxtrot replay` serves.
//!
//! This module owns the record type, the [`Tap`] the connection tasks hold (in their
//! shared state, `None` when `--raw` is off, so a run without it pays one branch per burst
//! of frames) and each socket's [`SocketTap`]. A socket's records gather without waiting
//! and go to the writer a burst at a time, like ticks to the sink, the burst's frame
//! payloads copied into one block (see [`SocketTap::record`]): the queue holds [`CAPACITY`] records, and when it is full `--on-full
//! block` waits for room (pushing back on the socket, never dropping) while `drop-newest`
//! drops and counts. Connects, requests, REST answers and disconnects are never dropped. The records are
//! written by [`writer`] on its own thread; [`format`] is the JSONL form, documented in the
//! README.

pub mod convert;
pub mod format;
mod json;
pub mod writer;

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicU32, AtomicU64};
use std::sync::mpsc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{Semaphore, TryAcquireError};
use tokio_util::sync::CancellationToken;

use crate::exchange::{StreamId, Venue};
use crate::pipe::OnFull;

/// Why a connection task loses the socket it reads (the `reason` of its gap records and of
/// a capture's `disconnect` records).
pub const LOSS_REASONS: [&str; 3] = ["disconnected", "stalled", "oversized"];

/// Gap records a run writes that a capture's frames cannot tell again, so the capture keeps
/// them as `gap` records ([`Event::Gap`]): streams whose connection never opened a socket,
/// and subscriptions the server refused (the run's reading of the answer, matched to its
/// requests).
pub const DECIDED_GAPS: [&str; 2] = ["never_connected", "rejected"];

/// Records the queue to the raw writer holds (records waiting in a socket's burst aside).
pub const CAPACITY: usize = 16 * 1024;

/// What happened on a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A socket opened (the handshake succeeded) for these streams.
    Connect {
        /// The URL dialed.
        url: Arc<str>,
        /// The streams the socket carries.
        streams: Arc<[StreamId]>,
    },
    /// The socket is gone (closed, lost or dropped).
    Disconnect {
        /// Why, when the connection task lost the socket it was reading and will reconnect
        /// (one of [`LOSS_REASONS`], the gap records' reason); `None` for a socket closed on
        /// purpose (shutdown, a make-before-break) or dropped before it carried data, and in
        /// captures written before foxtrot recorded it.
        lost: Option<&'static str>,
    },
    /// A text message foxtrot sent (a subscribe request, an application ping).
    Send(Bytes),
    /// A text frame received.
    Text(Bytes),
    /// A binary frame received.
    Binary(Bytes),
    /// A ping frame received.
    Ping(Bytes),
    /// A pong frame received.
    Pong(Bytes),
    /// A close frame received: its code and reason, if it had them.
    Close(Option<(u16, String)>),
    /// The connection task whose last socket this was stopped (the run ended) while it
    /// had no socket open, reconnecting: the end of the gap its disconnect opened.
    Stop,
    /// Gap records the run wrote for `streams` from `from_ns` to the record's `recv_ns`,
    /// for a reason the frames do not tell (one of [`DECIDED_GAPS`]). A connection that
    /// never opened a socket records it as `conn` 0.
    Gap {
        /// The streams without data.
        streams: Arc<[StreamId]>,
        /// Since when.
        from_ns: u64,
        /// Why: one of [`DECIDED_GAPS`].
        reason: &'static str,
    },
    /// A REST request's answer, recorded where the connection applied it (Binance depth
    /// snapshots, fetched beside the stream): the URL requested, and the body of a `200`
    /// answer or why there was none. `recv_ns` is when the answer was complete.
    Rest {
        /// The URL requested.
        url: Arc<str>,
        /// The body, or the error the run saw.
        answer: Result<Bytes, String>,
    },
}

/// One line of a raw capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Wall-clock time (ns since the Unix epoch) the frame arrived or the event happened.
    pub recv_ns: u64,
    /// The venue of the connection.
    pub venue: Venue,
    /// The socket, numbered from 1 in the order sockets opened in this run.
    pub conn: u32,
    /// What happened.
    pub event: Event,
}

/// Counts of a raw capture, shared by the taps and the writer.
#[derive(Debug, Default)]
pub struct Counts {
    /// Records handed to the writer.
    pub taken: AtomicU64,
    /// Records dropped: no room under `--on-full drop-newest`, or the writer was gone.
    pub dropped: AtomicU64,
    /// Records written to the file.
    pub written: AtomicU64,
}

impl Counts {
    fn drop_records(&self, n: usize) {
        if n > 0 && self.dropped.fetch_add(n as u64, Relaxed) == 0 {
            tracing::warn!(
                "raw capture: records are being dropped (counted in the summary): the writer is gone or fell behind under --on-full drop-newest"
            );
        }
    }
}

/// Records that travel together (a socket's burst of frames), in order.
pub struct Batch {
    /// The records; a received frame's payload travels in `payloads` instead (see
    /// [`Batch::each`]).
    records: Vec<Record>,
    /// The payloads of the frames among `records`, one after the other.
    payloads: Vec<u8>,
    /// Their lengths, in order.
    lengths: Vec<u32>,
    /// Room they took in the queue, given back once they are written (connects, requests
    /// and disconnects take none).
    permits: usize,
    /// Frames among them that a raw-only run counted as received: written once they are.
    pub ticks: usize,
}

impl Batch {
    /// Records to hand over as they are.
    fn of(records: Vec<Record>) -> Batch {
        Batch {
            records,
            payloads: Vec::new(),
            lengths: Vec::new(),
            permits: 0,
            ticks: 0,
        }
    }

    /// How many records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Each record, in order, with the payload of a received frame (the record's own
    /// payload, when it kept one, is given back by [`Event`]).
    pub fn each(&self) -> impl Iterator<Item = (&Record, Option<&[u8]>)> {
        let mut lengths = self.lengths.iter();
        let mut at = 0;
        self.records.iter().map(move |record| {
            // Frames a socket recorded left their lengths, in order (those dropped from the
            // burst's end under `drop-newest` come last: never reached).
            let payload = record.event.frame().and_then(|_| lengths.next()).map(|&n| {
                let start = at;
                at += n as usize;
                &self.payloads[start..at]
            });
            (record, payload)
        })
    }
}

/// The writer's end of the queue. Dropped, it refuses further records: taps waiting for
/// room wake and count what they hold as dropped.
pub struct Intake {
    rx: mpsc::Receiver<Batch>,
    room: Arc<Semaphore>,
}

impl Intake {
    /// The next batch, waiting at most `wait`.
    pub fn recv_timeout(&self, wait: Duration) -> Result<Batch, mpsc::RecvTimeoutError> {
        self.rx.recv_timeout(wait)
    }

    /// The next batch if one is queued.
    pub fn try_recv(&self) -> Option<Batch> {
        self.rx.try_recv().ok()
    }

    /// `batch` is written: its room is free again.
    pub fn done(&self, batch: &Batch) {
        if batch.permits > 0 {
            self.room.add_permits(batch.permits);
        }
    }
}

impl Drop for Intake {
    fn drop(&mut self) {
        self.room.close();
    }
}

/// The connection tasks' end of the raw capture. Cloning is cheap.
#[derive(Clone)]
pub struct Tap {
    tx: mpsc::Sender<Batch>,
    room: Arc<Semaphore>,
    capacity: usize,
    counts: Arc<Counts>,
    next_conn: Arc<AtomicU32>,
}

impl Tap {
    /// A tap whose queue holds `capacity` records, and the writer's end of it.
    pub fn new(capacity: usize) -> (Tap, Intake, Arc<Counts>) {
        let (tx, rx) = mpsc::channel();
        let capacity = capacity.clamp(1, Semaphore::MAX_PERMITS);
        let room = Arc::new(Semaphore::new(capacity));
        let counts = Arc::new(Counts::default());
        let tap = Tap {
            tx,
            room: room.clone(),
            capacity,
            counts: counts.clone(),
            next_conn: Arc::new(AtomicU32::new(1)),
        };
        (tap, Intake { rx, room }, counts)
    }

    /// A number for a socket that just opened.
    pub fn next_conn(&self) -> u32 {
        self.next_conn.fetch_add(1, Relaxed)
    }

    /// Hands `record` to the writer at once, whatever the queue holds: for the rare records
    /// that are never dropped (a socket's connect and disconnect).
    pub fn record(&self, record: Record) {
        self.send(Batch::of(vec![record]));
    }

    fn send(&self, batch: Batch) {
        let n = batch.len();
        match self.tx.send(batch) {
            Ok(()) => {
                self.counts.taken.fetch_add(n as u64, Relaxed);
            }
            Err(_) => self.counts.drop_records(n),
        }
    }
}

/// A socket's own tap: its venue and number, and its records not yet handed over. Dropped
/// with the socket, which records the disconnect and hands over what is left (so not
/// `Clone`).
pub struct SocketTap {
    tap: Tap,
    venue: Venue,
    conn: u32,
    /// Records since the last [`SocketTap::flush`], in order.
    burst: Vec<Record>,
    /// Records of `burst` that must not be dropped (connects, requests).
    kept: usize,
    /// Frames of `burst` a raw-only run counted as received.
    ticks: usize,
    /// Why the connection task lost this socket, for its disconnect record.
    lost: Option<&'static str>,
    /// The payloads of `burst`'s frames, one after the other (see [`SocketTap::record`]).
    payloads: Vec<u8>,
    /// Their lengths, in order.
    lengths: Vec<u32>,
}

/// Records a burst is expected to hold (a connection reads up to 64 frames at once).
const BURST: usize = 64;

impl SocketTap {
    /// Numbers a new socket of `venue` and records its connect, now.
    pub fn open(tap: &Tap, venue: Venue, url: Arc<str>, streams: Arc<[StreamId]>) -> SocketTap {
        SocketTap::open_at(tap, venue, url, streams, crate::clock::now_ns())
    }

    /// Numbers a new socket of `venue` and records its connect at `recv_ns` (the moment its
    /// handshake completed, which also ends the gap records of a reconnect).
    pub fn open_at(
        tap: &Tap,
        venue: Venue,
        url: Arc<str>,
        streams: Arc<[StreamId]>,
        recv_ns: u64,
    ) -> SocketTap {
        let mut socket = SocketTap {
            tap: tap.clone(),
            venue,
            conn: tap.next_conn(),
            burst: Vec::with_capacity(BURST),
            kept: 0,
            ticks: 0,
            lost: None,
            payloads: Vec::new(),
            lengths: Vec::with_capacity(BURST),
        };
        socket.record(recv_ns, Event::Connect { url, streams });
        socket
    }

    /// The connection task lost this socket for `reason` (one of [`LOSS_REASONS`]) and
    /// will reconnect: its disconnect record says so.
    pub fn lost(&mut self, reason: &'static str) {
        self.lost = Some(reason);
    }

    /// This socket's number.
    pub fn conn(&self) -> u32 {
        self.conn
    }

    /// Records `event` of this socket at `recv_ns`; it goes to the writer at the next
    /// [`SocketTap::flush`]. Connects, requests and REST answers are never dropped.
    ///
    /// A received frame's payload is copied, and the burst's copies travel as one block
    /// beside its records ([`Batch::each`]): shared with the writer, the WebSocket codec's
    /// read buffer would have its reference count written by both threads for every
    /// frame, and be replaced by a new allocation (which the writer frees) whenever frames
    /// still held it.
    #[inline]
    pub fn record(&mut self, recv_ns: u64, event: Event) {
        match event.frame() {
            Some((kind, payload)) => self.record_frame(recv_ns, kind, payload),
            None => self.record_event(recv_ns, event),
        }
    }

    /// Records a received frame at `recv_ns`: `kind` with `payload`, which is copied.
    #[inline]
    pub fn record_frame(&mut self, recv_ns: u64, kind: FrameKind, payload: &[u8]) {
        self.payloads.extend_from_slice(payload);
        self.lengths.push(payload.len() as u32);
        // The payload travels beside the record.
        self.record_event(recv_ns, kind.with(Bytes::new()));
    }

    #[inline]
    fn record_event(&mut self, recv_ns: u64, event: Event) {
        if matches!(
            event,
            Event::Connect { .. }
                | Event::Send(_)
                | Event::Rest { .. }
                | Event::Stop
                | Event::Gap { .. }
        ) {
            self.kept = self.burst.len() + 1;
        }
        self.burst.push(Record {
            recv_ns,
            venue: self.venue,
            conn: self.conn,
            event,
        });
    }

    /// The record just taken is a frame a raw-only run counted as received (in place of
    /// its ticks): the run's `written` counts it once the writer has written it.
    #[inline]
    pub fn count_tick(&mut self) {
        self.ticks += 1;
    }

    /// Whether no record waits to be handed over.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.burst.is_empty()
    }

    /// Hands the records gathered so far to the writer. When the queue lacks room, `Block`
    /// waits for it (or for `abort`, then drops and counts them) and `DropNewest` hands over
    /// what fits and drops the newest of the rest, never a connect or a request. Returns the
    /// counted frames ([`SocketTap::count_tick`]) it dropped so.
    pub async fn flush(&mut self, on_full: OnFull, abort: &CancellationToken) -> usize {
        let n = self.burst.len();
        if n == 0 {
            return 0;
        }
        let room = self.tap.room.clone();
        // More than the whole queue (a burst never is): the rest goes without room.
        let want = n.min(self.tap.capacity);
        let tried = room.try_acquire_many(want as u32).map(|p| p.forget());
        let permits = match tried {
            Ok(()) => want,
            Err(TryAcquireError::Closed) => {
                self.drop_burst();
                return 0;
            }
            Err(TryAcquireError::NoPermits) => match on_full {
                OnFull::Block => {
                    let acquired = tokio::select! {
                        biased;
                        permit = room.acquire_many(want as u32) => permit.ok(),
                        _ = abort.cancelled() => None,
                    };
                    let Some(permit) = acquired else {
                        self.drop_burst();
                        return 0;
                    };
                    permit.forget();
                    want
                }
                OnFull::DropNewest => {
                    let got = self.take_room(want);
                    let fits = got.max(self.kept);
                    self.tap.counts.drop_records(n - fits);
                    self.burst.truncate(fits);
                    // The newest records are frames; counted ones among them are dropped.
                    let dropped = (n - fits).min(self.ticks);
                    self.ticks -= dropped;
                    self.hand_over(got);
                    return dropped;
                }
            },
        };
        self.hand_over(permits);
        0
    }

    /// Hands over what is gathered at once, taking no room: for a socket's connect and
    /// requests, which are never dropped and should not wait for the next burst of frames.
    pub fn send_now(&mut self) {
        if !self.burst.is_empty() {
            self.hand_over(0);
        }
    }

    /// Takes up to `want` places without waiting; how many it took.
    fn take_room(&self, want: usize) -> usize {
        let room = &self.tap.room;
        let mut want = want;
        while want > 0 {
            match room.try_acquire_many(want as u32) {
                Ok(permit) => {
                    permit.forget();
                    return want;
                }
                Err(TryAcquireError::Closed) => return 0,
                Err(TryAcquireError::NoPermits) => want = room.available_permits().min(want),
            }
        }
        0
    }

    fn hand_over(&mut self, permits: usize) {
        let mut batch = self.take_burst();
        batch.permits = permits;
        batch.ticks = std::mem::take(&mut self.ticks);
        self.tap.send(batch);
    }

    /// The burst as a batch of exactly its size (a trickle's burst is a record or two: a
    /// queue of them at the burst's capacity would hold many times their size). The burst
    /// keeps its memory for the next; so do the payloads, unless a burst of large frames
    /// grew them.
    fn take_burst(&mut self) -> Batch {
        let mut batch = Batch::of(self.burst.drain(..).collect());
        batch.payloads = self.payloads.as_slice().to_vec();
        batch.lengths = self.lengths.as_slice().to_vec();
        self.kept = 0;
        self.forget_payloads();
        batch
    }

    fn forget_payloads(&mut self) {
        self.payloads.clear();
        self.lengths.clear();
        if self.payloads.capacity() > PAYLOADS_KEPT {
            self.payloads.shrink_to(PAYLOADS_KEPT);
        }
    }

    /// The writer is gone or the deadline passed: what the burst held is lost (counted).
    fn drop_burst(&mut self) {
        self.tap.counts.drop_records(self.burst.len());
        self.burst.clear();
        self.forget_payloads();
        self.kept = 0;
        self.ticks = 0;
    }
}

/// Bytes of frame payloads a socket keeps room for between bursts (a flood's burst of 64
/// book tickers is about 9 KiB).
const PAYLOADS_KEPT: usize = 64 * 1024;

/// The kinds of received frames, whose payloads a [`SocketTap`] copies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameKind {
    Text,
    Binary,
    Ping,
    Pong,
}

impl FrameKind {
    /// Its event with `payload`.
    fn with(self, payload: Bytes) -> Event {
        match self {
            FrameKind::Text => Event::Text(payload),
            FrameKind::Binary => Event::Binary(payload),
            FrameKind::Ping => Event::Ping(payload),
            FrameKind::Pong => Event::Pong(payload),
        }
    }
}

impl Event {
    /// A received frame's kind and payload.
    fn frame(&self) -> Option<(FrameKind, &Bytes)> {
        match self {
            Event::Text(b) => Some((FrameKind::Text, b)),
            Event::Binary(b) => Some((FrameKind::Binary, b)),
            Event::Ping(b) => Some((FrameKind::Ping, b)),
            Event::Pong(b) => Some((FrameKind::Pong, b)),
            _ => None,
        }
    }
}

impl Drop for SocketTap {
    fn drop(&mut self) {
        let lost = self.lost;
        self.record(crate::clock::now_ns(), Event::Disconnect { lost });
        let mut batch = self.take_burst();
        batch.ticks = self.ticks;
        self.tap.send(batch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The batch's events, each frame with its payload back.
    fn events(batch: &Batch) -> Vec<Event> {
        batch
            .each()
            .map(|(record, payload)| match (record.event.frame(), payload) {
                (Some((kind, _)), Some(payload)) => kind.with(Bytes::copy_from_slice(payload)),
                _ => record.event.clone(),
            })
            .collect()
    }

    fn text(n: usize) -> Event {
        Event::Text(Bytes::from(n.to_string()))
    }

    #[tokio::test]
    async fn records_go_over_a_burst_at_a_time_in_order_and_the_disconnect_last() {
        let (tap, intake, counts) = Tap::new(8);
        let mut socket = SocketTap::open(&tap, Venue::Binance, "ws://h".into(), Arc::from([]));
        socket.record(1, text(1));
        socket.record(2, text(2));
        assert!(intake.try_recv().is_none(), "nothing goes before the flush");
        socket.flush(OnFull::Block, &CancellationToken::new()).await;
        let batch = intake.try_recv().expect("the burst");
        assert!(matches!(batch.records[0].event, Event::Connect { .. }));
        assert_eq!(
            batch.records[1..]
                .iter()
                .map(|r| r.recv_ns)
                .collect::<Vec<_>>(),
            [1, 2]
        );
        intake.done(&batch);
        drop(socket);
        let last = intake.try_recv().expect("the disconnect");
        assert_eq!(last.records[0].event, Event::Disconnect { lost: None });
        assert_eq!(counts.taken.load(Relaxed), 4);
        assert_eq!(counts.dropped.load(Relaxed), 0);
        let second = SocketTap::open(&tap, Venue::Binance, "ws://h".into(), Arc::from([]));
        assert_eq!(second.conn, 2, "sockets are numbered in order");
    }

    #[tokio::test]
    async fn frames_keep_their_payloads_through_the_copy() {
        let (tap, intake, _) = Tap::new(4);
        let mut socket = SocketTap::open(&tap, Venue::Binance, "ws://h".into(), Arc::from([]));
        let abort = CancellationToken::new();
        socket.record(0, text(0));
        socket.flush(OnFull::DropNewest, &abort).await;
        let first = intake.try_recv().unwrap();
        assert_eq!(events(&first)[1], text(0));
        let events_sent = [
            Event::Text(Bytes::from_static(b"{\"a\":1}")),
            Event::Binary(Bytes::from_static(&[0, 159, 146, 150])),
            Event::Ping(Bytes::new()),
            Event::Send(Bytes::from_static(b"sub")),
            Event::Pong(Bytes::from_static(b"p")),
            text(6),
        ];
        for (i, event) in events_sent.iter().enumerate() {
            socket.record(i as u64, event.clone());
        }
        // Room for 2 of the 6: the request and what precedes it go, the newest two frames
        // are dropped.
        socket.flush(OnFull::DropNewest, &abort).await;
        let batch = intake.try_recv().unwrap();
        assert_eq!(events(&batch), events_sent[..4]);
        intake.done(&first);
        intake.done(&batch);
        // The next burst starts afresh.
        socket.record(7, text(77));
        socket.record(8, Event::Text(Bytes::from_static(b"[]")));
        socket.flush(OnFull::Block, &abort).await;
        let batch = intake.try_recv().unwrap();
        assert_eq!(
            events(&batch),
            [text(77), Event::Text(Bytes::from_static(b"[]"))]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn block_waits_for_room_and_drops_nothing() {
        let (tap, intake, counts) = Tap::new(4);
        let mut socket = SocketTap::open(&tap, Venue::Binance, "ws://h".into(), Arc::from([]));
        for i in 0..3 {
            socket.record(i, text(i as usize));
        }
        let abort = CancellationToken::new();
        socket.flush(OnFull::Block, &abort).await;
        let first = intake.try_recv().unwrap();
        socket.record(9, text(9));
        let waiting =
            tokio::time::timeout(Duration::from_secs(1), socket.flush(OnFull::Block, &abort));
        assert!(waiting.await.is_err(), "a full queue makes the socket wait");
        assert!(!socket.is_empty(), "still held, not dropped");
        intake.done(&first);
        socket.flush(OnFull::Block, &abort).await;
        assert_eq!(intake.try_recv().unwrap().records.len(), 1);
        assert_eq!(counts.dropped.load(Relaxed), 0);
        // Past the hard deadline a full queue drops (and counts) what waits.
        socket.record(10, text(10));
        for i in 0..4 {
            socket.record(11 + i, text(0));
        }
        abort.cancel();
        socket.flush(OnFull::Block, &abort).await;
        assert_eq!(counts.dropped.load(Relaxed), 5);
    }

    #[tokio::test]
    async fn drop_newest_keeps_what_fits_and_every_request() {
        let (tap, intake, counts) = Tap::new(4);
        let mut socket = SocketTap::open(&tap, Venue::Binance, "ws://h".into(), Arc::from([]));
        let abort = CancellationToken::new();
        socket.record(1, text(1));
        socket.flush(OnFull::DropNewest, &abort).await;
        assert_eq!(
            intake.try_recv().unwrap().records.len(),
            2,
            "room for 2 more"
        );
        socket.record(2, text(2));
        socket.record(3, text(3));
        socket.record(4, Event::Send(Bytes::from_static(b"sub")));
        socket.record(5, text(5));
        socket.flush(OnFull::DropNewest, &abort).await;
        let batch = intake.try_recv().unwrap();
        let kept: Vec<u64> = batch.records.iter().map(|r| r.recv_ns).collect();
        assert_eq!(kept, [2, 3, 4], "what fits, and the request past it");
        assert_eq!(counts.dropped.load(Relaxed), 1);
        drop(intake);
        socket.record(4, text(4));
        socket.flush(OnFull::Block, &CancellationToken::new()).await;
        assert_eq!(
            counts.dropped.load(Relaxed),
            2,
            "the writer is gone: dropped, no wait"
        );
    }
}
