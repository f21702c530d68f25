//! Dialing by the venue's plan: the URL, then the subscribe requests (spaced under the
//! venue's message rate), as one future that owns what it needs; and the open socket.

use super::*;

/// One open socket and what is known about it.
pub(super) struct Link {
    pub(super) ws: Ws,
    /// When the handshake completed.
    pub(super) opened: Instant,
    /// Wall-clock time the handshake completed: the raw capture's connect record and the
    /// end of the gap records of a reconnect (so `foxtrot convert` rebuilds them exactly).
    pub(super) opened_ns: u64,
    /// When the last frame of any kind arrived.
    pub(super) last_frame: Instant,
    /// Wall-clock time of the last data frame, or of the handshake (gap records start here).
    pub(super) last_frame_ns: u64,
    /// Whether any data frame arrived.
    pub(super) delivered: bool,
    /// Subscriptions sent and not yet answered, by what their answer names.
    pub(super) pending: HashMap<AckKey, Vec<StreamId>>,
    /// When the last application-level ping went out (or the socket opened).
    pub(super) last_ping: Instant,
    /// This socket's raw capture (`--raw`); records the disconnect when dropped.
    pub(super) raw: Option<crate::raw::SocketTap>,
}

impl Link {
    /// The session ends: this socket was lost for `loss`. Its raw capture goes with the
    /// end, so that the task marks the disconnect record with the reason when it opens a
    /// gap (and `foxtrot convert` rebuilds the same gap records).
    pub(super) fn lost(&mut self, loss: Loss) -> SessionEnd {
        SessionEnd::Lost {
            since_ns: self.last_frame_ns,
            delivered: self.delivered,
            loss,
            raw: self.raw.take().map(Box::new),
        }
    }

    /// Copies `event` to the raw capture, if there is one (it goes out at the next
    /// [`Link::flush_raw`]).
    #[inline]
    pub(super) fn tap(&mut self, recv_ns: u64, event: impl FnOnce() -> crate::raw::Event) {
        if let Some(raw) = &mut self.raw {
            raw.record(recv_ns, event());
        }
    }

    /// Copies a received frame to the raw capture, if there is one (it goes out at the
    /// next [`Link::flush_raw`]).
    #[inline]
    pub(super) fn tap_frame(&mut self, recv_ns: u64, kind: crate::raw::FrameKind, payload: &[u8]) {
        if let Some(raw) = &mut self.raw {
            raw.record_frame(recv_ns, kind, payload);
        }
    }

    /// Hands this socket's raw records to the capture's writer, waiting for room under
    /// `--on-full block`: called at the end of every burst of frames, as the ticks' flush.
    #[inline]
    pub(super) async fn flush_raw(&mut self, shared: &Shared) {
        if let Some(raw) = self.raw.as_mut().filter(|raw| !raw.is_empty()) {
            let dropped = raw.flush(shared.on_full, &shared.abort).await;
            if dropped > 0 {
                shared.stats.dropped.fetch_add(dropped as u64, Relaxed);
            }
        }
    }
}

pub(super) type Dial = Pin<Box<dyn Future<Output = Result<Link, tungstenite::Error>> + Send>>;

/// Opens sockets by the venue's plan: dial the URL, then send the subscribe requests.
#[derive(Clone)]
pub(super) struct Dialer {
    pub(super) url: Arc<str>,
    /// The subscribe requests, in order.
    pub(super) subscribes: Arc<[crate::exchange::Subscribe]>,
    /// Space between client messages, under the venue's rate.
    pub(super) spacing: Duration,
    /// `--raw`: the capture, the venue and the streams, for each socket's records.
    pub(super) raw: Option<(crate::raw::Tap, crate::exchange::Venue, Arc<[StreamId]>)>,
}

impl Dialer {
    pub(super) fn new(exchange: &dyn Exchange, endpoint: &str, streams: &[StreamId]) -> Dialer {
        let Plan { url, subscribes } = exchange.plan(endpoint, streams);
        Dialer {
            url: url.into(),
            subscribes: subscribes.into(),
            spacing: exchange.limits().message_spacing(),
            raw: None,
        }
    }

    /// A handshake plus the SUBSCRIBE batches, as a future that owns what it needs. The
    /// caller takes its turn at the attempt limiter first.
    pub(super) fn dial(&self) -> Dial {
        let dialer = self.clone();
        Box::pin(async move {
            let mut ws = connect(&dialer.url).await?;
            let opened_ns = clock::now_ns();
            let mut raw = dialer.raw.as_ref().map(|(tap, venue, streams)| {
                let (url, streams) = (dialer.url.clone(), streams.clone());
                crate::raw::SocketTap::open_at(tap, *venue, url, streams, opened_ns)
            });
            let mut pending = HashMap::new();
            for (i, subscribe) in dialer.subscribes.iter().enumerate() {
                if i > 0 {
                    tokio::time::sleep(dialer.spacing).await;
                }
                if let Some(raw) = &mut raw {
                    let text = bytes::Bytes::from(subscribe.message.clone().into_bytes());
                    raw.record(clock::now_ns(), crate::raw::Event::Send(text));
                }
                ws.send(Message::text(subscribe.message.as_str())).await?;
                pending.extend(subscribe.acks.iter().cloned());
            }
            if let Some(raw) = &mut raw {
                raw.send_now();
            }
            let now = Instant::now();
            Ok(Link {
                ws,
                opened: now,
                opened_ns,
                last_frame: now,
                last_frame_ns: opened_ns,
                delivered: false,
                pending,
                last_ping: now,
                raw,
            })
        })
    }
}

/// The handshake of `connect_async_with_config`, with [`ReadAhead`] between the socket and
/// TLS (or the codec, without TLS), so the codec's small reads cost no system call each.
async fn connect(url: &str) -> Result<Ws, tungstenite::Error> {
    use tungstenite::client::IntoClientRequest;
    use tungstenite::error::UrlError;
    let request = url.into_client_request()?;
    let uri = request.uri();
    let host = uri
        .host()
        .ok_or(tungstenite::Error::Url(UrlError::NoHostName))?;
    // `[::1]` in a URL is `::1` to the resolver.
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = match (uri.port_u16(), uri.scheme_str()) {
        (Some(port), _) => port,
        (None, Some("wss")) => 443,
        (None, Some("ws")) => 80,
        _ => return Err(tungstenite::Error::Url(UrlError::UnsupportedUrlScheme)),
    };
    let socket = TcpStream::connect((host.as_str(), port)).await?;
    socket.set_nodelay(true)?;
    let config = WebSocketConfig::default()
        .read_buffer_size(read_ahead::CODEC_READ)
        .max_message_size(Some(MAX_MESSAGE_SIZE))
        .max_frame_size(Some(MAX_MESSAGE_SIZE));
    let (ws, _response) = tokio_tungstenite::client_async_tls_with_config(
        request,
        ReadAhead::new(socket),
        Some(config),
        None,
    )
    .await?;
    Ok(ws)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::binance::Binance;

    fn streams(n: usize) -> Vec<StreamId> {
        (0..n)
            .map(|i| {
                StreamId::new(
                    crate::exchange::Venue::Binance,
                    Symbol::parse(&format!("SYMBOL{i:06}USDT")).unwrap(),
                    Channel::BookTicker,
                )
            })
            .collect()
    }

    #[test]
    fn long_stream_lists_spill_into_subscribe_batches() {
        use crate::exchange::binance::SPOT_LIMITS as LIMITS;
        let short = Dialer::new(&Binance, "ws://h", &streams(10));
        assert!(short.subscribes.is_empty());
        let all = streams(1024);
        let long = Dialer::new(&Binance, "ws://h", &all);
        assert!(long.url.len() <= LIMITS.max_url_len, "{}", long.url.len());
        let in_url = long.url.matches('@').count();
        let acks: Vec<_> = long.subscribes.iter().flat_map(|s| &s.acks).collect();
        let subscribed: usize = acks.iter().map(|(_, s)| s.len()).sum();
        assert_eq!(in_url + subscribed, all.len());
        assert!(acks.iter().all(|(_, s)| s.len() <= LIMITS.subscribe_batch));
        let ids: Vec<AckKey> = acks.iter().map(|(key, _)| key.clone()).collect();
        assert_eq!(
            ids,
            (1..=ids.len() as u64).map(AckKey::Id).collect::<Vec<_>>()
        );
    }
}
