//! The one bounded channel from the connections to the sink, carrying events in batches.
//!
//! `--buffer` bounds the events queued: a semaphore holds one permit per free place, a
//! sender takes permits for what it sends and the receiver gives them back as it takes
//! events out. The events themselves travel in batches, one per burst of frames a
//! connection read at once ([`Outbox`]), so a flood pays the channel's cross-thread
//! synchronization once per batch instead of once per tick; a lone tick travels alone,
//! without an allocation.

use std::sync::Arc;

use tokio::sync::{Semaphore, TryAcquireError, mpsc};
use tokio_util::sync::CancellationToken;

use crate::tick::Event;

/// What a connection does with a tick when the channel is full (`--on-full`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFull {
    /// Wait for room, which pushes back on the socket (nothing is dropped).
    Block,
    /// Never wait: drop the new tick and count it.
    DropNewest,
}

/// What travels: one event, or a run of them from one connection, in order.
#[derive(Debug)]
pub enum Item {
    /// A single event.
    One(Event),
    /// Several events, exactly as many as were sent (no spare capacity is queued).
    Many(Box<[Event]>),
}

impl Item {
    /// The events, in order.
    pub fn events(&self) -> &[Event] {
        match self {
            Item::One(event) => std::slice::from_ref(event),
            Item::Many(events) => events,
        }
    }
}

/// A channel that holds at most `capacity` events (at least 1).
pub fn channel(capacity: usize) -> (Sender, Receiver) {
    let capacity = capacity.clamp(1, Semaphore::MAX_PERMITS);
    let room = Arc::new(Semaphore::new(capacity));
    // Every item holds at least one event, and so one permit: this bound is never the one
    // that binds, and a send that holds its permits cannot find the channel full.
    let (tx, rx) = mpsc::channel(capacity);
    (
        Sender {
            tx,
            room: room.clone(),
            capacity,
        },
        Receiver { rx, room, capacity },
    )
}

/// The sending half; one per connection (clones share the channel).
#[derive(Debug, Clone)]
pub struct Sender {
    tx: mpsc::Sender<Item>,
    room: Arc<Semaphore>,
    capacity: usize,
}

/// Why nothing more can be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The receiver is gone (the sink stopped).
    #[error("the sink is gone")]
    Closed,
    /// The abort token fired while waiting for room.
    #[error("aborted while waiting for room")]
    Aborted,
}

impl Sender {
    /// Sends one event, waiting for room (or for `abort`) when the channel is full.
    pub async fn send(&self, event: Event, abort: &CancellationToken) -> Result<(), SendError> {
        self.reserve(1, abort).await?;
        self.put(Item::One(event), 1)
    }

    /// Takes `n` permits (they are given back by the receiver, not on drop).
    async fn reserve(&self, n: usize, abort: &CancellationToken) -> Result<(), SendError> {
        let n = u32::try_from(n).expect("batches are small");
        tokio::select! {
            biased;
            permit = self.room.acquire_many(n) => {
                permit.map_err(|_| SendError::Closed)?.forget();
                Ok(())
            }
            _ = abort.cancelled() => Err(SendError::Aborted),
        }
    }

    /// Takes up to `n` permits without waiting; how many it took.
    fn try_reserve(&self, n: usize) -> Result<usize, SendError> {
        let mut want = n;
        loop {
            let w = u32::try_from(want).expect("batches are small");
            match self.room.try_acquire_many(w) {
                Ok(permit) => {
                    permit.forget();
                    return Ok(want);
                }
                Err(TryAcquireError::Closed) => return Err(SendError::Closed),
                Err(TryAcquireError::NoPermits) => {
                    // Another sender may take what is there meanwhile: ask again for less.
                    want = self.room.available_permits().min(want);
                    if want == 0 {
                        return Ok(0);
                    }
                }
            }
        }
    }

    /// Queues `item`, whose `events` permits are held.
    fn put(&self, item: Item, events: usize) -> Result<(), SendError> {
        self.tx.try_send(item).map_err(|e| {
            self.room.add_permits(events);
            match e {
                mpsc::error::TrySendError::Closed(_) => SendError::Closed,
                // Unreachable: see `channel`. Treated as the end rather than trusted.
                mpsc::error::TrySendError::Full(_) => SendError::Closed,
            }
        })
    }
}

/// A connection's batch being built: ticks go in with [`Outbox::push`], without waiting,
/// and out with [`Outbox::flush`], which the connection calls at the end of every burst and
/// before it waits for anything else (so no tick sits here while the socket is quiet).
#[derive(Debug)]
pub struct Outbox {
    sender: Sender,
    batch: Vec<Event>,
    /// The most events a batch holds: the channel's capacity, or a burst's frames.
    most: usize,
}

/// What a flush did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flushed {
    /// Events that found no room under `--on-full drop-newest`, newest first out.
    pub dropped: usize,
}

impl Outbox {
    /// An empty batch for `sender`, of at most `most` events (and at most the capacity).
    pub fn new(sender: Sender, most: usize) -> Outbox {
        let most = most.clamp(1, sender.capacity);
        Outbox {
            sender,
            batch: Vec::with_capacity(most),
            most,
        }
    }

    /// Adds `event` to the batch; returns whether the batch is now full (flush it).
    #[inline]
    pub fn push(&mut self, event: Event) -> bool {
        self.batch.push(event);
        self.batch.len() >= self.most
    }

    /// Whether nothing waits to be sent.
    pub fn is_empty(&self) -> bool {
        self.batch.is_empty()
    }

    /// Sends the batch. When the channel lacks room, `Block` waits (or stops at `abort`)
    /// and `DropNewest` sends what fits and drops the rest.
    pub async fn flush(
        &mut self,
        on_full: OnFull,
        abort: &CancellationToken,
    ) -> Result<Flushed, SendError> {
        let n = self.batch.len();
        if n == 0 {
            return Ok(Flushed { dropped: 0 });
        }
        let mut reserved = self.sender.try_reserve(n)?;
        let mut dropped = 0;
        if reserved < n {
            match on_full {
                OnFull::Block => {
                    // Wait in the semaphore's queue for the whole batch, holding nothing:
                    // kept while waiting, a part taken outside the queue could leave two
                    // senders each holding some room and waiting for the rest, forever.
                    self.sender.room.add_permits(reserved);
                    if let Err(e) = self.sender.reserve(n, abort).await {
                        self.batch.clear();
                        return Err(e);
                    }
                    reserved = n;
                }
                OnFull::DropNewest => {
                    dropped = n - reserved;
                    self.batch.truncate(reserved);
                    if reserved == 0 {
                        return Ok(Flushed { dropped });
                    }
                }
            }
        }
        let item = if reserved == 1 {
            Item::One(self.batch.pop().expect("one event"))
        } else {
            Item::Many(self.batch.drain(..).collect())
        };
        self.sender.put(item, reserved)?;
        Ok(Flushed { dropped })
    }

    /// Sends `event` after the batch, waiting for room whatever `--on-full` says (gap
    /// records are never dropped).
    pub async fn send_now(
        &mut self,
        event: Event,
        on_full: OnFull,
        abort: &CancellationToken,
    ) -> Result<Flushed, SendError> {
        let flushed = self.flush(on_full, abort).await?;
        self.sender.send(event, abort).await?;
        Ok(flushed)
    }
}

/// The receiving half, owned by the sink. Dropped (even by a panic), it closes the
/// channel: senders waiting for room learn that the sink is gone.
#[derive(Debug)]
pub struct Receiver {
    rx: mpsc::Receiver<Item>,
    room: Arc<Semaphore>,
    capacity: usize,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.room.close();
    }
}

impl Receiver {
    /// Waits for at least one item and takes up to `limit` items into `items`; returns the
    /// number of events taken, 0 once every sender is gone and the channel is empty.
    pub async fn recv_many(&mut self, items: &mut Vec<Item>, limit: usize) -> usize {
        let from = items.len();
        if self.rx.recv_many(items, limit).await == 0 {
            return 0;
        }
        let events = items[from..].iter().map(|i| i.events().len()).sum();
        self.room.add_permits(events);
        events
    }

    /// Takes up to `limit` items that are already queued into `items`, without waiting (and
    /// so without asking to be woken); returns the number of events taken.
    pub fn try_recv_many(&mut self, items: &mut Vec<Item>, limit: usize) -> usize {
        let from = items.len();
        while items.len() - from < limit {
            match self.rx.try_recv() {
                Ok(item) => items.push(item),
                Err(_) => break,
            }
        }
        let events = items[from..].iter().map(|i| i.events().len()).sum();
        if events > 0 {
            self.room.add_permits(events);
        }
        events
    }

    /// Events queued, or being put in the channel by a sender that took room for them.
    pub fn queued(&self) -> usize {
        self.capacity.saturating_sub(self.room.available_permits())
    }

    /// Whether no item is queued.
    pub fn is_empty(&self) -> bool {
        self.rx.is_empty()
    }

    /// Refuses further sends; queued items stay readable.
    pub fn close(&mut self) {
        self.rx.close();
        // Wake senders waiting for room: they find the channel closed.
        self.room.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tick::{BookTicker, Decimal, Symbol, Tick, TickData};

    fn tick(update_id: u64) -> Event {
        let d = Decimal::parse("1").unwrap();
        Event::Tick(Tick {
            exchange: crate::exchange::Venue::Binance,
            exchange_ns: 0,
            symbol: Symbol::parse("BTCUSDT").unwrap(),
            recv_ns: 1,
            data: TickData::BookTicker(BookTicker {
                update_id,
                bid: d,
                bid_qty: d,
                ask: d,
                ask_qty: d,
            }),
        })
    }

    /// Polls `f` once (with this task's waker): whether it is still waiting.
    async fn pending<F: Future>(mut f: std::pin::Pin<&mut F>) -> bool {
        std::future::poll_fn(|cx| std::task::Poll::Ready(f.as_mut().poll(cx).is_pending())).await
    }

    fn ids(items: &[Item]) -> Vec<u64> {
        items
            .iter()
            .flat_map(Item::events)
            .map(|e| match e {
                Event::Tick(t) => t.data.sequence(),
                Event::Gap(_) | Event::Book(_) => 0,
            })
            .collect()
    }

    #[tokio::test]
    async fn batches_arrive_whole_and_in_order() {
        let (tx, mut rx) = channel(100);
        let abort = CancellationToken::new();
        let mut outbox = Outbox::new(tx, 64);
        for id in 1..=3 {
            assert!(!outbox.push(tick(id)));
        }
        outbox.flush(OnFull::Block, &abort).await.unwrap();
        outbox.push(tick(4));
        outbox.flush(OnFull::Block, &abort).await.unwrap();
        assert!(outbox.is_empty());
        drop(outbox);
        let mut items = Vec::new();
        assert_eq!(rx.recv_many(&mut items, 10).await, 4);
        assert!(matches!(items[0], Item::Many(_)));
        assert!(matches!(items[1], Item::One(_)));
        assert_eq!(ids(&items), [1, 2, 3, 4]);
        items.clear();
        assert_eq!(
            rx.recv_many(&mut items, 10).await,
            0,
            "every sender is gone"
        );
    }

    #[tokio::test]
    async fn capacity_counts_events_and_drop_newest_keeps_the_oldest() {
        let (tx, mut rx) = channel(3);
        let abort = CancellationToken::new();
        let mut outbox = Outbox::new(tx, 64);
        for id in 1..=5 {
            outbox.push(tick(id));
        }
        let dropped = async |outbox: &mut Outbox| {
            let flushed = outbox.flush(OnFull::DropNewest, &abort).await;
            flushed.unwrap().dropped
        };
        assert_eq!(dropped(&mut outbox).await, 2);
        outbox.push(tick(6));
        assert_eq!(dropped(&mut outbox).await, 1);
        assert_eq!(rx.queued(), 3);
        let mut items = Vec::new();
        assert_eq!(rx.recv_many(&mut items, 10).await, 3);
        assert_eq!(ids(&items), [1, 2, 3]);
        assert_eq!(rx.queued(), 0);
        // Taken out, so there is room again.
        outbox.push(tick(7));
        assert_eq!(dropped(&mut outbox).await, 0);
    }

    #[tokio::test]
    async fn a_full_channel_blocks_until_the_receiver_takes_or_abort_fires() {
        let (tx, mut rx) = channel(2);
        let abort = CancellationToken::new();
        let mut outbox = Outbox::new(tx, 64);
        outbox.push(tick(1));
        // The batch is as large as the capacity.
        assert!(outbox.push(tick(2)));
        outbox.flush(OnFull::Block, &abort).await.unwrap();
        outbox.push(tick(3));
        let mut items = Vec::new();
        {
            let waiting = outbox.flush(OnFull::Block, &abort);
            tokio::pin!(waiting);
            assert!(pending(waiting.as_mut()).await);
            assert_eq!(rx.recv_many(&mut items, 10).await, 2);
            waiting.await.unwrap();
        }
        assert_eq!(rx.recv_many(&mut items, 10).await, 1);
        assert_eq!(ids(&items), [1, 2, 3]);

        outbox.push(tick(4));
        outbox.push(tick(5));
        outbox.flush(OnFull::Block, &abort).await.unwrap();
        outbox.push(tick(6));
        abort.cancel();
        assert_eq!(
            outbox.flush(OnFull::Block, &abort).await,
            Err(SendError::Aborted)
        );
    }

    /// Liveness: senders flushing batches of every size into a small channel, against a
    /// sink that takes a few items at a time, all get through. (Room a waiting sender kept
    /// outside the semaphore's queue once let two senders wait on each other; that race
    /// needs real parallelism and luck to show, so this is a check, not a reproduction.)
    #[test]
    fn many_blocking_senders_never_stall_a_small_channel() {
        const SENDERS: u64 = 4;
        const EACH: u64 = 50_000;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (tx, mut rx) = channel(100);
        let abort = CancellationToken::new();
        for sender in 0..SENDERS {
            let mut outbox = Outbox::new(tx.clone(), 64);
            let abort = abort.clone();
            runtime.spawn(async move {
                let mut id = 0;
                while id < EACH {
                    // Batches of 1 to 64, different per sender and per turn.
                    for _ in 0..=(id * 7 + sender * 13) % 64 {
                        id += 1;
                        if outbox.push(tick(id)) || id == EACH {
                            break;
                        }
                    }
                    outbox.flush(OnFull::Block, &abort).await.unwrap();
                }
            });
        }
        drop(tx);
        let received = runtime.block_on(async {
            let mut items = Vec::new();
            let (mut total, mut turn) = (0, 0);
            let deadline = std::time::Duration::from_secs(60);
            loop {
                turn += 1;
                let taking = rx.recv_many(&mut items, 1 + turn % 4);
                match tokio::time::timeout(deadline, taking).await {
                    Ok(0) => return total,
                    Ok(n) => total += n as u64,
                    Err(_) => panic!("stalled at {total} events, {} queued", rx.queued()),
                }
                items.clear();
            }
        });
        assert_eq!(received, SENDERS * EACH);
    }

    #[tokio::test]
    async fn a_closed_receiver_ends_sending() {
        let (tx, mut rx) = channel(1);
        let abort = CancellationToken::new();
        let mut outbox = Outbox::new(tx, 64);
        outbox.push(tick(1));
        outbox.flush(OnFull::Block, &abort).await.unwrap();
        outbox.push(tick(2));
        {
            let waiting = outbox.flush(OnFull::Block, &abort);
            tokio::pin!(waiting);
            assert!(pending(waiting.as_mut()).await);
            rx.close();
            assert_eq!(waiting.await, Err(SendError::Closed));
        }
        outbox.push(tick(3));
        assert_eq!(
            outbox.flush(OnFull::DropNewest, &abort).await,
            Err(SendError::Closed),
            "nor does a sender that would not wait"
        );
    }

    #[tokio::test]
    async fn a_dropped_receiver_ends_waiting_senders() {
        let (tx, rx) = channel(1);
        let abort = CancellationToken::new();
        tx.send(tick(1), &abort).await.unwrap();
        let waiting = tx.send(tick(2), &abort);
        tokio::pin!(waiting);
        assert!(pending(waiting.as_mut()).await);
        drop(rx);
        assert_eq!(waiting.await, Err(SendError::Closed));
    }
}
