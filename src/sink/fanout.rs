//! Several outputs in one run: every row goes to each, in the order they were given.
//!
//! The sink task owns one [`Fanout`] like any other [`Sink`]. One failing output stops the
//! run the same way a single output does; the others are finished first, so their files are
//! complete.

use std::io;
use std::time::Duration;

use super::Sink;
use crate::tick::{Gap, Tick};

/// Every output of a run.
pub struct Fanout {
    outputs: Vec<Box<dyn Sink>>,
}

impl Fanout {
    /// Several outputs as one sink; a single one is returned as it is.
    pub fn of(mut outputs: Vec<Box<dyn Sink>>) -> Box<dyn Sink> {
        if outputs.len() == 1 {
            return outputs.pop().expect("one output");
        }
        Box::new(Fanout { outputs })
    }

    /// Finishes every output but the `failed` one (best effort), then returns `e`.
    fn fail(&mut self, failed: usize, e: io::Error) -> io::Error {
        for (i, output) in self.outputs.iter_mut().enumerate() {
            if i != failed {
                let _ = output.finish();
            }
        }
        e
    }

    /// Runs `f` on each output; on the first error, finishes the others.
    fn each<T>(
        &mut self,
        mut f: impl FnMut(&mut dyn Sink) -> io::Result<T>,
    ) -> io::Result<Option<T>> {
        let mut first = None;
        for i in 0..self.outputs.len() {
            match f(self.outputs[i].as_mut()) {
                Ok(v) => {
                    first.get_or_insert(v);
                }
                Err(e) => return Err(self.fail(i, e)),
            }
        }
        Ok(first)
    }
}

impl Sink for Fanout {
    fn write(&mut self, tick: &Tick) -> io::Result<()> {
        self.each(|o| o.write(tick)).map(|_| ())
    }

    fn gap(&mut self, gap: &Gap) -> io::Result<()> {
        self.each(|o| o.gap(gap)).map(|_| ())
    }

    fn book(&mut self, record: &crate::book::row::BookRecord) -> io::Result<()> {
        self.each(|o| o.book(record)).map(|_| ())
    }

    fn buffered(&self) -> usize {
        self.outputs.iter().map(|o| o.buffered()).max().unwrap_or(0)
    }

    /// The ticks the first output committed: every output takes the same rows.
    fn flush(&mut self) -> io::Result<u64> {
        self.each(|o| o.flush()).map(|n| n.unwrap_or(0))
    }

    fn refresh_every(&self) -> Option<Duration> {
        self.outputs.iter().filter_map(|o| o.refresh_every()).min()
    }

    fn refresh(&mut self) -> io::Result<()> {
        self.each(|o| o.refresh()).map(|_| ())
    }

    fn finish(&mut self) -> io::Result<u64> {
        let mut first_error = None;
        let mut committed = None;
        for output in &mut self.outputs {
            match output.finish() {
                Ok(n) => {
                    committed.get_or_insert(n);
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(committed.unwrap_or(0)),
        }
    }
}
