//! TEMPORARY stub.
use super::Encode;
use crate::tick::Tick;
/// NDJSON.
pub struct Ndjson;
impl Encode for Ndjson {
    fn header(&mut self, _out: &mut Vec<u8>) {}
    fn encode(&mut self, _t: &Tick, out: &mut Vec<u8>) {
        out.push(b'\n')
    }
}
