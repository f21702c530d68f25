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
    /// One text frame of a raw-only capture, received at `link.last_frame_ns`.
    pub(super) async fn skim(&mut self, text: &str, link: &mut Link, role: Role) -> Next {
        match self.skim_now(text, link) {
            None => Next::Continue,
            Some(control) => self.on_control(control, link, role).await,
        }
    }

    /// Counts a data frame, or decodes one that may be about the connection: its control
    /// message, if it is one.
    pub(super) fn skim_now(&mut self, text: &str, link: &mut Link) -> Option<Control> {
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
