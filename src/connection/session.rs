//! One connected session: the `select!` over the primary socket, the retiring one of a
//! make-before-break, the replacement dial, the app heartbeat, the stale and silence timers
//! and the intake token; and the close handshake.

use super::*;

impl Connection {
    pub(super) async fn session(&mut self, mut primary: Link) -> SessionEnd {
        let settings = self.shared.settings.clone();
        let now_ns = clock::now_ns();
        for seen in self.seen.values_mut().flatten().flatten() {
            seen.last_ns = seen.last_ns.max(now_ns);
            seen.warned = false;
        }
        if let Some(books) = self.books.as_mut() {
            books.restart();
        }
        let mut retiring: Option<Retiring> = None;
        let mut replacement: Option<Dial> = None;
        let mut replace_at = primary.opened + self.max_age;
        let mut replace_backoff = Backoff::new(settings.backoff_initial, settings.backoff_max);
        let mut silence =
            tokio::time::interval(settings.silent_stream_after.max(Duration::from_millis(10)));
        silence.tick().await;
        // The stale, replacement and ping timers are set once and moved only when they fire
        // or their deadline changes, not re-created on every turn (every burst of frames):
        // a stale or ping timer that fires early (frames came since it was set) is moved to
        // the deadline the latest frame gives, so it fires at most once per period.
        let stale = tokio::time::sleep_until(primary.last_frame + self.stale_after);
        let replace = tokio::time::sleep_until(replace_at);
        let ping = tokio::time::sleep_until(self.ping_due(&primary).unwrap_or_else(far_future));
        tokio::pin!(stale, replace, ping);
        // Until when the primary socket rests after a trickle (see `Settings::read_every`).
        let mut rest_until: Option<Instant> = None;
        self.burst = (0, false);
        loop {
            self.overlapping = retiring.is_some();
            let retire_at = retiring.as_ref().map(|r| match r.closing_since {
                None => r.link.opened.max(primary.opened) + self.stale_after,
                Some(since) => since + CLOSE_WAIT,
            });
            let heartbeat = self.exchange.heartbeat();
            tokio::select! {
                biased;
                _ = self.shared.intake.cancelled() => {
                    if let Some(mut old) = retiring.take() {
                        let _ = old.link.ws.close(normal_close()).await;
                    }
                    self.close(&mut primary).await;
                    return SessionEnd::Stopped;
                }
                () = sleep_until_opt(rest_until), if rest_until.is_some() => rest_until = None,
                frame = primary.ws.next(), if rest_until.is_none() => match self.on_frames(frame, &mut primary).await {
                    Next::Continue => {
                        rest_until = self.rest(settings.read_every);
                        // The new socket delivers: the old one can go.
                        if primary.delivered
                            && let Some(old) = retiring.as_mut()
                            && old.closing_since.is_none()
                        {
                            let _ = old.link.ws.close(normal_close()).await;
                            old.closing_since = Some(Instant::now());
                        }
                    }
                    Next::Replace => {
                        if replacement.is_none() && retiring.is_none() {
                            replace_at = Instant::now();
                            replace.as_mut().reset(replace_at);
                        }
                    }
                    Next::Stop => return SessionEnd::Stopped,
                    Next::Lost(loss) => {
                        if let Some(mut old) = retiring.take() {
                            // The replacement failed early: fall back to the old socket.
                            info!(url = %self.dialer.url, "replacement lost ({}); keeping the old connection", loss.why);
                            old.link.delivered = false;
                            primary = old.link;
                            stale.as_mut().reset(primary.last_frame + self.stale_after);
                            ping.as_mut().reset(self.ping_due(&primary).unwrap_or_else(far_future));
                            continue;
                        }
                        return primary.lost(loss);
                    }
                },
                frame = next_frame(&mut retiring), if retiring.is_some() => {
                    let Some(old) = retiring.as_mut() else { continue };
                    let next = self.on_frame(frame, &mut old.link, Role::Retiring).await;
                    old.link.flush_raw(&self.shared).await;
                    match next {
                        Next::Continue | Next::Replace => {}
                        Next::Stop => return SessionEnd::Stopped,
                        Next::Lost(_) => retiring = None,
                    }
                }
                _ = sleep_until_opt(retire_at), if retire_at.is_some() => {
                    if let Some(mut old) = retiring.take() {
                        if old.closing_since.is_none() {
                            // The new socket has been quiet; close the old one anyway.
                            let _ = old.link.ws.close(normal_close()).await;
                            old.closing_since = Some(Instant::now());
                            retiring = Some(old);
                        } else {
                            debug!(url = %self.dialer.url, "no close reply from the replaced connection");
                        }
                    }
                }
                link = async { replacement.as_mut().expect("guarded").await }, if replacement.is_some() => {
                    replacement = None;
                    match link {
                        Ok(new) => {
                            info!(url = %self.dialer.url, "replacement connected; retiring the old connection");
                            Stats::bump(&self.shared.stats.replacements);
                            for seen in self.seen.values_mut().flatten().flatten() {
                                seen.dedupe = seen.last_seq.is_some();
                            }
                            let old = std::mem::replace(&mut primary, new);
                            retiring = Some(Retiring { link: old, closing_since: None });
                            replace_at = primary.opened + self.max_age;
                            replace.as_mut().reset(replace_at);
                        }
                        Err(e) => {
                            let delay = replace_backoff.next_delay();
                            warn!(url = %self.dialer.url, "replacement failed ({}); retrying in {delay:?}", describe(&e));
                            replace_at = Instant::now() + delay;
                            replace.as_mut().reset(replace_at);
                        }
                    }
                }
                () = &mut replace, if replacement.is_none() && retiring.is_none() => {
                    info!(url = %self.dialer.url, "opening a replacement connection");
                    let (limiter, dial) = (self.limiter.clone(), self.dialer.dial());
                    replacement = Some(Box::pin(async move {
                        limiter.acquire().await;
                        dial.await
                    }));
                }
                () = &mut stale => {
                    let stale_at = primary.last_frame + self.stale_after;
                    if Instant::now() < stale_at {
                        stale.as_mut().reset(stale_at);
                        continue;
                    }
                    Stats::bump(&self.shared.stats.stalls);
                    let why = format!(
                        "no frame for {}: the connection is stalled",
                        humantime::format_duration(self.stale_after)
                    );
                    return primary.lost(Loss { why, reason: "stalled" });
                }
                () = &mut ping, if heartbeat.ping.is_some() => {
                    let ping_at = self.ping_due(&primary).unwrap_or_else(far_future);
                    if Instant::now() < ping_at {
                        ping.as_mut().reset(ping_at);
                        continue;
                    }
                    primary.last_ping = Instant::now();
                    ping.as_mut().reset(self.ping_due(&primary).unwrap_or_else(far_future));
                    let ping = heartbeat.ping.unwrap_or_default();
                    primary.tap(clock::now_ns(), || crate::raw::Event::Send(bytes::Bytes::from_static(ping.as_bytes())));
                    primary.flush_raw(&self.shared).await;
                    if let Err(e) = primary.ws.send(Message::text(ping)).await {
                        return primary.lost(Loss { why: describe(&e), reason: "disconnected" });
                    }
                }
                answer = depth::next_snapshot(&mut self.books, &mut self.book_pending), if self.books.is_some() => {
                    // The raw capture keeps the answer where it was applied (`foxtrot
                    // convert` rebuilds the books from it).
                    if let Some(answer) = answer {
                        primary.tap(answer.recv_ns, || crate::raw::Event::Rest {
                            url: answer.url.into(),
                            answer: answer.body,
                        });
                        primary.flush_raw(&self.shared).await;
                    }
                    if let Next::Stop = self.send_book_rows().await {
                        return SessionEnd::Stopped;
                    }
                }
                _ = silence.tick() => self.warn_silent_streams(),
            }
        }
    }

    /// Handles a frame of the primary socket and then the frames already buffered behind it
    /// (up to [`FRAME_BATCH`]) without a trip through the session's `select!`, reading the
    /// clock once for all of them; stops early when intake stops or a frame needs the loop.
    pub(super) async fn on_frames(
        &mut self,
        mut frame: Option<Result<Message, tungstenite::Error>>,
        link: &mut Link,
    ) -> Next {
        let (now, now_ns) = (Instant::now(), clock::now_ns());
        let mut handled = 0;
        let next = loop {
            let next = match frame {
                // The hot path: a data frame decoded and offered with no await, so no
                // future is built per frame; only what needs waiting goes the async way.
                Some(Ok(Message::Text(text))) => {
                    link.last_frame = now;
                    link.last_frame_ns = now_ns;
                    link.tap_frame(now_ns, crate::raw::FrameKind::Text, text.as_bytes());
                    if self.raw_only {
                        // Skimmed, not decoded (see `raw_only.rs`): one predictable branch.
                        match self.skim_now(text.as_str(), link) {
                            None => Next::Continue,
                            Some(control) => self.on_control(control, link, Role::Primary).await,
                        }
                    } else {
                        match self.deliver_now(text.as_str(), link, Role::Primary) {
                            Offer::Done(next) => next,
                            offer => self.settle(offer, link, Role::Primary).await,
                        }
                    }
                }
                // Anything else may wait (a close frame waits for the close reply): the
                // burst's ticks go out first.
                other => match self.flush().await {
                    Next::Continue => {
                        self.on_frame_at(other, link, Role::Primary, now, now_ns)
                            .await
                    }
                    stop => stop,
                },
            };
            handled += 1;
            // Check the budget before polling: a frame polled is a frame to handle.
            if !matches!(next, Next::Continue)
                || handled == FRAME_BATCH
                || self.shared.intake.is_cancelled()
            {
                break next;
            }
            // Poll once with this task's own waker (a no-op waker would replace it and
            // leave the socket unable to wake the task).
            let polled = std::future::poll_fn(|cx| Poll::Ready(link.ws.poll_next_unpin(cx))).await;
            match polled {
                Poll::Ready(more) => frame = more,
                Poll::Pending => {
                    self.burst.1 = true;
                    break Next::Continue;
                }
            }
        };
        self.burst.0 += handled;
        // The burst is over: send its ticks (and its raw records, with `--raw`) before
        // waiting for anything else.
        let next = match self.flush().await {
            Next::Continue => next,
            stop => stop,
        };
        link.flush_raw(&self.shared).await;
        next
    }

    /// When the primary socket should next be read: `None` at once (a burst is still being
    /// read, or it was large); after a small one, the next multiple of `every` on the wall
    /// clock, so all connections read together.
    fn rest(&mut self, every: Duration) -> Option<Instant> {
        let (frames, over) = self.burst;
        if !over {
            return None;
        }
        self.burst = (0, false);
        rest_after(frames, every, clock::now_ns()).map(|wait| Instant::now() + wait)
    }

    /// When `link` should send its next client ping, if the venue wants them. A
    /// `--stale-after` shorter than the venue's default brings the ping forward in
    /// proportion, so the ping still comes before the connection counts as stale.
    fn ping_due(&self, link: &Link) -> Option<Instant> {
        let heartbeat = self.exchange.heartbeat();
        heartbeat.ping.map(|_| {
            let since = if heartbeat.when_idle {
                link.last_frame.max(link.last_ping)
            } else {
                link.last_ping
            };
            since
                + heartbeat.every.min(heartbeat.every.mul_f64(
                    self.stale_after.as_secs_f64() / heartbeat.stale_after.as_secs_f64().max(1e-3),
                ))
        })
    }

    /// Handles one frame (or the end) of a socket, received now.
    pub(super) async fn on_frame(
        &mut self,
        frame: Option<Result<Message, tungstenite::Error>>,
        link: &mut Link,
        role: Role,
    ) -> Next {
        self.on_frame_at(frame, link, role, Instant::now(), clock::now_ns())
            .await
    }

    /// Handles one frame (or the end) of a socket, received at `now` / `now_ns`.
    pub(super) async fn on_frame_at(
        &mut self,
        frame: Option<Result<Message, tungstenite::Error>>,
        link: &mut Link,
        role: Role,
        now: Instant,
        now_ns: u64,
    ) -> Next {
        let lost = |why: String, reason| Next::Lost(Loss { why, reason });
        let frame = match frame {
            Some(Ok(frame)) => frame,
            Some(Err(tungstenite::Error::Capacity(CapacityError::MessageTooLong {
                size,
                max_size,
            }))) => {
                Stats::bump(&self.shared.stats.decode_errors);
                self.count_failure("oversized", || {
                    format!("a {size}-byte message, more than {max_size}")
                });
                return lost(
                    format!("the server sent a {size}-byte message (limit {max_size})"),
                    "oversized",
                );
            }
            Some(Err(e)) => return lost(describe(&e), "disconnected"),
            None => return lost("connection ended".to_owned(), "disconnected"),
        };
        link.last_frame = now;
        link.tap(now_ns, || raw_event(&frame));
        match frame {
            Message::Text(text) if self.raw_only => {
                link.last_frame_ns = now_ns;
                self.skim(text.as_str(), link, role).await
            }
            Message::Text(text) => {
                link.last_frame_ns = now_ns;
                self.deliver(text.as_str(), link, role).await
            }
            Message::Close(frame) => {
                // Poll on so tungstenite sends the close reply, briefly.
                let _ = tokio::time::timeout(CLOSE_WAIT, async {
                    while let Some(Ok(_)) = link.ws.next().await {}
                })
                .await;
                let why = match frame {
                    Some(f) => format!("server closed the connection ({} {})", f.code, f.reason),
                    None => "server closed the connection".to_owned(),
                };
                lost(why, "disconnected")
            }
            // Issue 13: a binary frame never vanishes. UTF-8 bytes are read as text (some
            // servers send JSON as binary); anything else is counted and logged.
            Message::Binary(bytes) => match std::str::from_utf8(&bytes) {
                Ok(text) => {
                    link.last_frame_ns = now_ns;
                    self.deliver(text, link, role).await
                }
                Err(_) => {
                    Stats::bump(&self.shared.stats.decode_errors);
                    self.count_failure("binary", || {
                        format!("a {}-byte binary frame that is not UTF-8 text", bytes.len())
                    });
                    Next::Continue
                }
            },
            // tungstenite queues the pong itself; it goes out with the next read.
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => Next::Continue,
        }
    }

    pub(super) fn warn_silent_streams(&mut self) {
        if self.raw_only {
            // Frames are not read for their streams: no stream's silence is known.
            return;
        }
        let now = clock::now_ns();
        let limit = self.shared.settings.silent_stream_after.as_nanos() as u64;
        for (symbol, slots) in &mut self.seen {
            for (channel, seen) in Channel::ALL.iter().zip(slots.iter_mut()) {
                let Some(seen) = seen else { continue };
                if seen.warned || now.saturating_sub(seen.last_ns) < limit {
                    continue;
                }
                seen.warned = true;
                warn!(
                    "no {channel} data for {symbol} for {} while the connection is alive: is {symbol} listed on {}?",
                    humantime::format_duration(self.shared.settings.silent_stream_after),
                    self.exchange.name()
                );
            }
        }
    }

    /// Sends a close frame, then keeps reading until the server's reply: whatever the
    /// server sent before it saw our close is still delivered.
    pub(super) async fn close(&mut self, link: &mut Link) {
        let abort = self.shared.abort.clone();
        let url = self.dialer.url.clone();
        let closing = async {
            if let Err(e) = link.ws.close(normal_close()).await {
                debug!(%url, "close frame not sent: {e}");
                return;
            }
            while let Some(Ok(frame)) = link.ws.next().await {
                // One clock read: the raw record and the ticks get the same `recv_ns`.
                let now_ns = clock::now_ns();
                link.tap(now_ns, || raw_event(&frame));
                link.flush_raw(&self.shared).await;
                // Text, or binary that is UTF-8 text (see `on_frame_at`).
                let text = match &frame {
                    Message::Text(text) => Some(text.as_str()),
                    Message::Binary(bytes) => std::str::from_utf8(bytes).ok(),
                    _ => None,
                };
                if let Some(text) = text {
                    link.last_frame_ns = now_ns;
                    if let Next::Stop = self.deliver(text, link, Role::Primary).await {
                        return;
                    }
                }
            }
        };
        tokio::select! {
            _ = closing => {}
            _ = abort.cancelled() => {}
            _ = tokio::time::sleep(CLOSE_WAIT) => debug!(%url, "no close reply from the server"),
        }
    }
}

/// A deadline that never comes in practice (a disabled timer that stays pinned).
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365)
}

/// How long a socket that just delivered a burst of `frames` rests, at wall-clock time
/// `now_ns`: until the next multiple of `every`, when the burst was small; not at all after
/// a large one or when `every` is zero.
fn rest_after(frames: usize, every: Duration, now_ns: u64) -> Option<Duration> {
    let every_ns = every.as_nanos() as u64;
    if every_ns == 0 || frames >= SMALL_BURST {
        return None;
    }
    Some(Duration::from_nanos(every_ns - now_ns % every_ns))
}

/// A received frame as a raw capture event (its bytes shared: the socket's tap copies them).
pub(super) fn raw_event(frame: &Message) -> crate::raw::Event {
    use crate::raw::Event;
    match frame {
        Message::Text(text) => Event::Text(text.clone().into()),
        Message::Binary(bytes) => Event::Binary(bytes.clone()),
        Message::Ping(bytes) => Event::Ping(bytes.clone()),
        Message::Pong(bytes) => Event::Pong(bytes.clone()),
        Message::Close(frame) => Event::Close(
            frame
                .as_ref()
                .map(|f| (u16::from(f.code), f.reason.to_string())),
        ),
        Message::Frame(frame) => Event::Binary(bytes::Bytes::copy_from_slice(frame.payload())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trickle_rests_until_the_next_read_instant_and_a_flood_never() {
        let ms = Duration::from_millis;
        // 12.3 ms past a whole second: every connection reads next at 15 ms.
        let now_ns = 1_700_000_000_012_300_000;
        assert_eq!(
            rest_after(1, ms(5), now_ns),
            Some(ms(2) + Duration::from_micros(700))
        );
        assert_eq!(
            rest_after(SMALL_BURST - 1, ms(1), now_ns),
            Some(Duration::from_micros(700))
        );
        assert_eq!(
            rest_after(SMALL_BURST, ms(5), now_ns),
            None,
            "a flood reads on"
        );
        assert_eq!(
            rest_after(1, Duration::ZERO, now_ns),
            None,
            "resting is off"
        );
        assert_eq!(rest_after(1, ms(5), 1_700_000_000_015_000_000), Some(ms(5)));
    }
}
