//! TEMPORARY stub, replaced by the real decoder.
use super::*;
/// Binance spot.
pub struct Binance;
impl Exchange for Binance {
    fn name(&self) -> &'static str {
        "binance"
    }
    fn default_endpoint(&self) -> &'static str {
        "wss://stream.binance.com:9443"
    }
    fn stream_url(&self, endpoint: &str, _streams: &[StreamId]) -> String {
        endpoint.to_owned()
    }
    fn decode(&self, _frame: &str, _recv_ns: u64) -> Result<Decoded, DecodeError> {
        Ok(Decoded::Unsupported)
    }
}
