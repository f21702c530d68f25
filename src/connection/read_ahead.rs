//! `ReadAhead`: the socket under the WebSocket codec, read in large chunks into a buffer
//! that was zeroed once, and handed to the codec in the small reads it asks for.
//!
//! tungstenite zero-fills the free part of its read buffer before every read, ready or not
//! (`FrameCodec::read_in`). With its default 128 KiB buffer that is 256 KiB of `memset` per
//! wake-up at live rates (the read that finds a frame, then the one that finds nothing):
//! a quarter of all CPU with 15 quiet connections (README, "At live rates"). A small codec
//! buffer alone would cost a system call per few KiB at flood rates. So the codec reads
//! [`CODEC_READ`] bytes at a time from here, and this reads up to [`CHUNK`] from the socket
//! at once into memory that is never zeroed again: a flood still takes one system call per
//! 128 KiB, a trickle zeroes 16 KiB per read instead of 128.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes read from the socket at most at once (tungstenite's default read size).
pub(super) const CHUNK: usize = 128 * 1024;
/// The WebSocket codec's read size (`WebSocketConfig::read_buffer_size`): what it zeroes
/// before each read.
pub(super) const CODEC_READ: usize = 16 * 1024;

/// A stream whose reads come from a chunk read ahead; writes go straight through.
pub struct ReadAhead<S> {
    inner: S,
    chunk: Box<[u8]>,
    start: usize,
    end: usize,
}

impl<S> ReadAhead<S> {
    pub fn new(inner: S) -> ReadAhead<S> {
        ReadAhead {
            inner,
            chunk: vec![0; CHUNK].into_boxed_slice(),
            start: 0,
            end: 0,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ReadAhead<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.start == this.end {
            // An initialized buffer: the socket's read writes into it without zeroing.
            let mut chunk = ReadBuf::new(&mut this.chunk);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut chunk))?;
            this.start = 0;
            this.end = chunk.filled().len();
        }
        let n = out.remaining().min(this.end - this.start);
        out.put_slice(&this.chunk[this.start..this.start + n]);
        this.start += n;
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ReadAhead<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Whatever the sizes of the writes and of the reads, the bytes come out whole and in
    /// order, and the end of the stream is seen once the chunk is used up.
    #[tokio::test]
    async fn small_reads_see_every_byte_in_order() {
        let (client, mut server) = tokio::io::duplex(CHUNK * 2);
        let data: Vec<u8> = (0..CHUNK * 3 + 777).map(|i| (i * 31 % 251) as u8).collect();
        let sent = data.clone();
        let writer = tokio::spawn(async move {
            for piece in sent.chunks(5_000) {
                server.write_all(piece).await.unwrap();
            }
        });
        let mut ahead = ReadAhead::new(client);
        let mut got = Vec::new();
        let mut buf = [0u8; 1000];
        loop {
            let n = ahead.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        writer.await.unwrap();
        assert_eq!(got.len(), data.len());
        assert!(got == data, "bytes differ");
    }
}
