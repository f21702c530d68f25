//! TEMPORARY stub.
use crate::tick::Tick;
/// Table.
pub struct Table;
impl Table {
    /// x
    pub fn new(_color: bool) -> Table {
        Table
    }
    /// x
    pub fn update(&mut self, _t: &Tick) {}
    /// x
    pub fn render(&mut self, _now_ns: u64, _out: &mut Vec<u8>) {}
    /// x
    pub fn finish(&mut self, _out: &mut Vec<u8>) {}
}
