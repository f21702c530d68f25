//! TEMPORARY stub.
use super::Encode;
use crate::tick::{Channel, Tick};
/// CSV.
pub struct Csv;
impl Csv {
    /// new
    pub fn new(_c: &[Channel]) -> Csv {
        Csv
    }
}
impl Encode for Csv {
    fn header(&mut self, _out: &mut Vec<u8>) {}
    fn encode(&mut self, _t: &Tick, out: &mut Vec<u8>) {
        out.push(b'\n')
    }
}
