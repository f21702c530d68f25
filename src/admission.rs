//! The per-run `--limit`: admits ticks across all connections and says when the limit is
//! reached (the run's cue to stop).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use tokio_util::sync::CancellationToken;

/// Admits ticks up to `--limit` across all connections and says when the limit is reached.
#[derive(Debug)]
pub struct Admission {
    /// The limit, if any.
    limit: Option<u64>,
    /// Ticks admitted so far (may run past the limit; those are refused).
    admitted: AtomicU64,
    /// Cancelled when the limit is reached: the run's cue to stop.
    pub reached: CancellationToken,
}

impl Admission {
    /// Admits everything when `limit` is `None`.
    pub fn new(limit: Option<u64>) -> Admission {
        Admission {
            limit,
            admitted: AtomicU64::new(0),
            reached: CancellationToken::new(),
        }
    }

    /// Whether one more tick may enter the run.
    pub fn admit(&self) -> bool {
        let Some(limit) = self.limit else { return true };
        let n = self.admitted.fetch_add(1, Relaxed) + 1;
        if n == limit {
            self.reached.cancel();
        }
        n <= limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admission_stops_at_the_limit() {
        let a = Admission::new(Some(3));
        assert_eq!(
            (0..5).map(|_| a.admit()).collect::<Vec<_>>(),
            [true, true, true, false, false]
        );
        assert!(a.reached.is_cancelled());
        let unlimited = Admission::new(None);
        assert!((0..1000).all(|_| unlimited.admit()));
        assert!(!unlimited.reached.is_cancelled());
    }
}
