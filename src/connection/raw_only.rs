//! Frames read for a raw capture alone (`record --raw` without `--out`, on a connection that
//! keeps no order book): nothing needs their ticks, so a data frame is copied to the capture
//! and counted (toward `--limit` and the summary's `received`), not decoded, and nothing
//! goes down the channel to the sink. What keeps the connection right still runs: a frame
//! the venue does not call data by its first bytes ([`Exchange::is_data`]: answers,
//! errors, pongs, shutdown notices) is decoded as always, so acks match their requests,
//! rejections become gap records and a shutdown notice replaces the socket; every frame
//! moves the stale timer; tungstenite answers pings; connects and disconnects are logged.
//!
//! What a raw-only run does not have: per-stream counts (a frame's stream is not read), so
//! no silent-stream warning and no clock offset; a frame counts as one message, whatever
//! number of rows it would decode to.

use super::*;

impl Connection {
    /// [`Connection::on_frames`] for a raw-only capture: the same burst of up to
    /// [`FRAME_BATCH`] frames, with one clock reading, skimmed instead of decoded.
    pub(super) async fn on_frames_raw(
        &mut self,
        mut frame: Option<Result<Message, tungstenite::Error>>,
        link: &mut Link,
    ) -> Next {
        let (now, now_ns) = (Instant::now(), clock::now_ns());
        let mut handled = 0;
        let next = loop {
            let next = match frame {
                Some(Ok(Message::Text(text))) => {
                    link.last_frame = now;
                    link.last_frame_ns = now_ns;
                    link.tap(now_ns, || crate::raw::Event::Text(text.clone().into()));
                    match self.skim_now(text.as_str(), link) {
                        None => Next::Continue,
                        Some(control) => self.on_control(control, link, Role::Primary).await,
                    }
                }
                other => {
                    self.on_frame_at(other, link, Role::Primary, now, now_ns)
                        .await
                }
            };
            handled += 1;
            if !matches!(next, Next::Continue)
                || handled == FRAME_BATCH
                || self.shared.intake.is_cancelled()
            {
                break next;
            }
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
        // Gap records (a rejected subscription) may be waiting.
        let next = match self.flush().await {
            Next::Continue => next,
            stop => stop,
        };
        link.flush_raw(&self.shared).await;
        next
    }

    /// One text frame of a raw-only capture, received at `link.last_frame_ns`.
    pub(super) async fn skim(&mut self, text: &str, link: &mut Link, role: Role) -> Next {
        match self.skim_now(text, link) {
            None => Next::Continue,
            Some(control) => self.on_control(control, link, role).await,
        }
    }

    /// Counts a data frame, or decodes one that may be about the connection: its control
    /// message, if it is one.
    fn skim_now(&mut self, text: &str, link: &mut Link) -> Option<Control> {
        if !self.exchange.is_data(text) {
            self.out.clear();
            match self
                .exchange
                .decode(text, link.last_frame_ns, &mut self.out)
            {
                Ok(Decoded::Data) => {}
                Ok(Decoded::Control(control)) => return Some(control),
                Ok(Decoded::Unsupported) => return None,
                Err(e) => {
                    Stats::bump(&self.shared.stats.decode_errors);
                    self.count_failure(e.kind(), || e.to_string());
                    return None;
                }
            }
        }
        link.delivered = true;
        if self.shared.admission.admit() {
            self.shared.stats.tick_received(None, link.last_frame_ns);
            if let Some(raw) = &mut link.raw {
                raw.count_tick();
            }
        }
        None
    }
}
