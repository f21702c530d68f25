//! Raw capture (`--raw PATH`): every frame received, every request sent (and the answers
//! of REST snapshot requests) and every connect and disconnect of every connection, losslessly, as the ground truth that
//! `foxtrot convert` re-normalizes and `foxtrot replay` serves.
//!
//! This module owns the record type and the [`Tap`] the connection tasks hold (in their
//! shared state, `None` when `--raw` is off, so a run without it pays one branch per
//! frame). A tap never blocks: it hands each record to a bounded channel with `try_send`
//! (a frame's bytes are shared, not copied) and counts what a full channel refused. The
//! records are written by [`writer`] on its own thread; [`format`] is the JSONL form,
//! documented in the README.

pub mod convert;
pub mod format;
pub mod writer;

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicU32, AtomicU64};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};

use bytes::Bytes;

use crate::exchange::{StreamId, Venue};

/// Why a connection task loses the socket it reads (the `reason` of its gap records and of
/// a capture's `disconnect` records).
pub const LOSS_REASONS: [&str; 3] = ["disconnected", "stalled", "oversized"];

/// Records the channel to the raw writer holds; a full channel drops (and counts) records.
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
    /// Records refused because the writer's channel was full (or the writer was gone).
    pub dropped: AtomicU64,
    /// Records written to the file.
    pub written: AtomicU64,
}

/// The connection tasks' end of the raw capture. Cloning is cheap.
#[derive(Clone)]
pub struct Tap {
    tx: SyncSender<Record>,
    counts: Arc<Counts>,
    next_conn: Arc<AtomicU32>,
}

impl Tap {
    /// A tap and the writer's end of its channel.
    pub fn new(capacity: usize) -> (Tap, Receiver<Record>, Arc<Counts>) {
        let (tx, rx) = std::sync::mpsc::sync_channel(capacity);
        let counts = Arc::new(Counts::default());
        let tap = Tap {
            tx,
            counts: counts.clone(),
            next_conn: Arc::new(AtomicU32::new(1)),
        };
        (tap, rx, counts)
    }

    /// A number for a socket that just opened.
    pub fn next_conn(&self) -> u32 {
        self.next_conn.fetch_add(1, Relaxed)
    }

    /// Hands `record` to the writer without waiting; a full channel counts it as dropped.
    #[inline]
    pub fn record(&self, record: Record) {
        match self.tx.try_send(record) {
            Ok(()) => {
                self.counts.taken.fetch_add(1, Relaxed);
            }
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                if self.counts.dropped.fetch_add(1, Relaxed) == 0 {
                    tracing::warn!(
                        "raw capture: the writer fell behind; records are being dropped (counted in the summary)"
                    );
                }
            }
        }
    }
}

/// A socket's own tap: its venue and number, for the records of its frames. Dropped with
/// the socket, which records the disconnect (so not `Clone`).
pub struct SocketTap {
    tap: Tap,
    venue: Venue,
    conn: u32,
    lost: Option<&'static str>,
}

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
        let socket = SocketTap {
            tap: tap.clone(),
            venue,
            conn: tap.next_conn(),
            lost: None,
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

    /// Records `event` of this socket at `recv_ns`.
    #[inline]
    pub fn record(&self, recv_ns: u64, event: Event) {
        self.tap.record(Record {
            recv_ns,
            venue: self.venue,
            conn: self.conn,
            event,
        });
    }
}

impl Drop for SocketTap {
    fn drop(&mut self) {
        let lost = self.lost;
        self.record(crate::clock::now_ns(), Event::Disconnect { lost });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_channel_drops_and_counts_without_waiting() {
        let (tap, rx, counts) = Tap::new(2);
        let socket = SocketTap::open(&tap, Venue::Binance, "ws://h".into(), Arc::from([]));
        socket.record(1, Event::Text(Bytes::from_static(b"{}")));
        socket.record(2, Event::Text(Bytes::from_static(b"{}")));
        drop(socket);
        assert_eq!(counts.taken.load(Relaxed), 2, "the connect and one frame");
        assert_eq!(
            counts.dropped.load(Relaxed),
            2,
            "a frame and the disconnect"
        );
        let got: Vec<_> = rx.try_iter().map(|r| (r.conn, r.event)).collect();
        assert!(matches!(got[0], (1, Event::Connect { .. })));
        assert_eq!(got[1], (1, Event::Text(Bytes::from_static(b"{}"))));
        let second = SocketTap::open(&tap, Venue::Binance, "ws://h".into(), Arc::from([]));
        assert_eq!(second.conn, 2, "sockets are numbered in order");
    }
}
