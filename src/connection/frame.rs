//! The one entry point for a received text frame: decode into the reused buffer, offer
//! new ticks to the batch (admitted under `--limit`), and handle control messages (acks,
//! errors that reject subscriptions, pongs, server shutdown).

use super::*;

impl Connection {
    pub(super) async fn deliver(&mut self, text: &str, link: &mut Link, role: Role) -> Next {
        // Decoding and handing over happen without an await in between, so the tick is
        // built on the stack and moved once, into the batch; then the batch goes out.
        let offer = self.deliver_now(text, link, role);
        match self.settle(offer, link, role).await {
            Next::Continue => self.flush().await,
            other => other,
        }
    }

    /// Finishes what [`Connection::deliver_now`] could not: waits for room, or handles a
    /// control message.
    pub(super) async fn settle(&mut self, offer: Offer, link: &mut Link, role: Role) -> Next {
        match offer {
            Offer::Done(next) => next,
            Offer::Flush => loop {
                // A frame's ticks filled the batch: send it, then offer the rest.
                match self.flush().await {
                    Next::Continue => {}
                    stop => break stop,
                }
                match self.offer_rest(role) {
                    Offer::Flush => continue,
                    Offer::Done(next) => break next,
                    Offer::Control(_) | Offer::Depth => unreachable!("only ticks are offered"),
                }
            },
            Offer::Depth => {
                let (mut resync, mut refused) = (Vec::new(), Vec::new());
                if let Some(books) = self.books.as_mut() {
                    books.on_frame(&self.out, &mut self.book_pending, &mut resync, &mut refused);
                }
                for (symbol, e) in refused {
                    Stats::bump(&self.shared.stats.decode_errors);
                    self.count_failure("depth level", || format!("{symbol} depth update: {e}"));
                }
                match self.send_book_rows().await {
                    Next::Continue => {}
                    stop => return stop,
                }
                if !resync.is_empty() && role == Role::Primary {
                    match self.resubscribe(resync, link).await {
                        Next::Continue => {}
                        stop => return stop,
                    }
                }
                // A frame may carry ticks too.
                if self.out.ticks.len() > 1 {
                    self.out.ticks.reverse();
                }
                match self.offer_rest(role) {
                    Offer::Flush => self.flush().await,
                    Offer::Done(next) => next,
                    Offer::Control(_) | Offer::Depth => unreachable!("only ticks are offered"),
                }
            }
            Offer::Control(control) => self.on_control(control, link, role).await,
        }
    }

    /// Decodes `text` and adds its new ticks to the batch (see [`Outbox`]).
    pub(super) fn deliver_now(&mut self, text: &str, link: &mut Link, role: Role) -> Offer {
        self.out.clear();
        match self
            .exchange
            .decode(text, link.last_frame_ns, &mut self.out)
        {
            Ok(Decoded::Data) => {
                link.delivered = true;
                if !self.out.depth.is_empty() {
                    return Offer::Depth;
                }
                if self.out.ticks.len() > 1 {
                    self.out.ticks.reverse();
                }
                self.offer_rest(role)
            }
            Ok(Decoded::Control(control)) => Offer::Control(control),
            Ok(Decoded::Unsupported) => Offer::Done(Next::Continue),
            Err(e) => {
                Stats::bump(&self.shared.stats.decode_errors);
                self.count_failure(e.kind(), || e.to_string());
                Offer::Done(Next::Continue)
            }
        }
    }

    /// Offers the decoded ticks not yet offered, until the batch is full.
    #[inline]
    pub(super) fn offer_rest(&mut self, role: Role) -> Offer {
        // Taken out and put back, so the buffer keeps its memory and `self` stays free.
        // The ticks are in reverse order (see `deliver_now`): each is moved out, not cloned.
        let mut ticks = std::mem::take(&mut self.out.ticks);
        let mut offer = Offer::Done(Next::Continue);
        while let Some(tick) = ticks.pop() {
            let Fresh::New(counted_at) = self.fresh(&tick, role) else {
                continue;
            };
            offer = self.offer(tick, counted_at);
            if !matches!(offer, Offer::Done(Next::Continue)) {
                break;
            }
        }
        self.out.ticks = ticks;
        offer
    }

    pub(super) async fn on_control(
        &mut self,
        control: Control,
        link: &mut Link,
        role: Role,
    ) -> Next {
        match control {
            Control::Ack { key } => {
                if let Some(key) = key {
                    link.pending.remove(&key);
                }
                Next::Continue
            }
            Control::Pong => Next::Continue,
            Control::Error { code, msg, key } => {
                let rejected = match key {
                    Some(key) => link.pending.remove(&key),
                    // An error that names no request refuses what is still pending (OKX
                    // answers a bad subscribe with a bare error).
                    None if !link.pending.is_empty() => {
                        Some(link.pending.drain().flat_map(|(_, s)| s).collect())
                    }
                    None => None,
                };
                let Some(streams) = rejected else {
                    warn!(url = %self.dialer.url, "server error {code}: {msg}");
                    return Next::Continue;
                };
                let names: Vec<String> = streams
                    .iter()
                    .map(|s| format!("{}@{}", s.symbol, s.channel))
                    .collect();
                error!(url = %self.dialer.url, "the server rejected {} ({code}: {msg})", names.join(", "));
                if role == Role::Primary {
                    let now = clock::now_ns();
                    // Kept in the raw capture: the answer is there, but matching it to the
                    // requests was this run's reading.
                    link.tap(now, || crate::raw::Event::Gap {
                        streams: Arc::from(streams.as_slice()),
                        from_ns: now,
                        reason: "rejected",
                    });
                    for stream in streams {
                        let gap = Gap {
                            exchange: self.exchange.venue(),
                            symbol: stream.symbol,
                            channel: stream.channel,
                            from_ns: now,
                            to_ns: now,
                            reason: "rejected",
                        };
                        if self.emit_gap(gap).await.is_err() {
                            return Next::Stop;
                        }
                    }
                }
                Next::Continue
            }
            Control::ServerShutdown { .. } if role == Role::Primary => {
                info!(url = %self.dialer.url, "the server announced its shutdown; replacing the connection");
                Next::Replace
            }
            Control::ServerShutdown { .. } => Next::Continue,
        }
    }

    pub(super) fn count_failure(&mut self, kind: &'static str, describe: impl FnOnce() -> String) {
        let seen = self.decode_failures.entry(kind).or_default();
        *seen += 1;
        // The first of each kind, then every power of ten: visible, never a flood.
        if is_power_of_ten(*seen) {
            warn!(url = %self.dialer.url, count = *seen, "skipped a frame: {}", describe());
        }
    }

    /// Admits `tick` under `--limit` and adds it to the batch; a full batch is sent before
    /// the next frame.
    pub(super) fn offer(&mut self, tick: Tick, counted_at: Option<StreamIndex>) -> Offer {
        if !self.shared.admission.admit() {
            return Offer::Done(Next::Continue);
        }
        self.shared.stats.tick_received(counted_at, tick.recv_ns);
        self.skew.sample(tick.recv_ns, tick.exchange_ns);
        if self.outbox.push(Event::Tick(tick)) {
            Offer::Flush
        } else {
            Offer::Done(Next::Continue)
        }
    }
}
