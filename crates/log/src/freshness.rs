//! When a follower may answer from its copy of a log's checkpoint instead of reading the
//! database's ([`Freshness`]).
//!
//! A process that does not sequence a log shared through a database serves reads against the
//! newest checkpoint it knows. Reading that checkpoint from the database on every request costs a
//! query per request; never reading it again serves an old tree forever. [`Freshness`] sits
//! between: the copy may be used while both
//!
//! - nothing has said the database's checkpoint may have moved since the copy was read (a
//!   notification from the sequencer's commit, a write this process forwarded and saw answered, a
//!   lost notification channel: each calls [`Freshness::changed`]), and
//! - the read of the copy started less than `max_age` ago.
//!
//! So a copy is never older than `max_age` (the bound holds even if every notification is lost),
//! and normally only as old as the delivery of the last notification. `max_age` zero means the
//! copy is never used: every read goes to the database.
//!
//! Time is passed in (`now`, a monotonic instant): this module reads no clock.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Whether a follower's copy of a checkpoint may still be served (see the module docs).
#[derive(Debug)]
pub struct Freshness {
    max_age: Duration,
    /// Raised by every sign that the database's checkpoint may have moved.
    changes: AtomicU64,
    /// The value of `changes` and the instant when the last completed read of the copy started.
    read: Mutex<Option<(u64, Instant)>>,
    /// Answers served from the copy, and reads of the database's checkpoint.
    from_copy: AtomicU64,
    from_database: AtomicU64,
}

/// A read of the database's checkpoint in progress: taken before the query, handed back to
/// [`Freshness::read_done`] after it succeeded.
#[derive(Debug, Clone, Copy)]
#[must_use = "hand it to Freshness::read_done once the read succeeded"]
pub struct ReadTicket {
    changes: u64,
    started: Instant,
}

impl Freshness {
    /// A tracker whose copy is older than `max_age` at most; nothing is fresh until the first
    /// read completes.
    pub fn new(max_age: Duration) -> Freshness {
        Freshness {
            max_age,
            changes: AtomicU64::new(0),
            read: Mutex::new(None),
            from_copy: AtomicU64::new(0),
            from_database: AtomicU64::new(0),
        }
    }

    /// The bound on the copy's age.
    pub fn max_age(&self) -> Duration {
        self.max_age
    }

    /// The database's checkpoint may have moved: the next answer reads it.
    pub fn changed(&self) {
        self.changes.fetch_add(1, Ordering::SeqCst);
    }

    /// Whether the copy may answer a request at `now`; counts the answer if so.
    pub fn use_copy(&self, now: Instant) -> bool {
        let fresh = self.is_fresh(now);
        if fresh {
            self.from_copy.fetch_add(1, Ordering::Relaxed);
        }
        fresh
    }

    /// Whether the copy may answer a request at `now` (counts nothing).
    pub fn is_fresh(&self, now: Instant) -> bool {
        if self.max_age.is_zero() {
            return false;
        }
        let read = *self.read.lock().unwrap_or_else(|e| e.into_inner());
        read.is_some_and(|(changes, started)| {
            changes == self.changes.load(Ordering::SeqCst)
                && now.saturating_duration_since(started) < self.max_age
        })
    }

    /// Starts a read of the database's checkpoint at `now` (before the query is sent).
    pub fn read_started(&self, now: Instant) -> ReadTicket {
        self.from_database.fetch_add(1, Ordering::Relaxed);
        ReadTicket {
            changes: self.changes.load(Ordering::SeqCst),
            started: now,
        }
    }

    /// The read `ticket` started succeeded and its checkpoint is in the copy. A change signalled
    /// while it ran keeps the copy stale: the read may have missed it.
    pub fn read_done(&self, ticket: ReadTicket) {
        let mut read = self.read.lock().unwrap_or_else(|e| e.into_inner());
        // Of two reads finishing out of order, the one that started later counts.
        if read.is_none_or(|(_, started)| started <= ticket.started) {
            *read = Some((ticket.changes, ticket.started));
        }
    }

    /// Whether a read that started at or after `arrived` has completed: its checkpoint is as
    /// new as the database's when a request that arrived then was made, so several requests
    /// waiting for a read can share one.
    pub fn read_since(&self, arrived: Instant) -> bool {
        let read = *self.read.lock().unwrap_or_else(|e| e.into_inner());
        read.is_some_and(|(_, started)| started >= arrived)
    }

    /// Answers served from the copy, and reads of the database's checkpoint, so far.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.from_copy.load(Ordering::Relaxed),
            self.from_database.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn nothing_is_fresh_before_the_first_read() {
        let f = Freshness::new(SECOND);
        assert!(!f.use_copy(Instant::now()));
    }

    #[test]
    fn a_read_is_fresh_until_max_age_after_it_started() {
        let f = Freshness::new(SECOND);
        let t0 = Instant::now();
        f.read_done(f.read_started(t0));
        assert!(f.use_copy(t0));
        assert!(f.use_copy(t0 + SECOND - Duration::from_millis(1)));
        assert!(!f.use_copy(t0 + SECOND));
        assert_eq!(f.counts(), (2, 1));
    }

    #[test]
    fn a_change_makes_the_copy_stale() {
        let f = Freshness::new(SECOND);
        let t0 = Instant::now();
        f.read_done(f.read_started(t0));
        f.changed();
        assert!(!f.is_fresh(t0));
        f.read_done(f.read_started(t0));
        assert!(f.is_fresh(t0));
    }

    #[test]
    fn a_change_during_a_read_keeps_the_copy_stale() {
        let f = Freshness::new(SECOND);
        let t0 = Instant::now();
        let ticket = f.read_started(t0);
        f.changed();
        f.read_done(ticket);
        assert!(!f.is_fresh(t0));
    }

    #[test]
    fn an_earlier_read_finishing_last_does_not_win() {
        let f = Freshness::new(SECOND);
        let t0 = Instant::now();
        let early = f.read_started(t0);
        let late = f.read_started(t0 + SECOND / 2);
        f.read_done(late);
        f.read_done(early);
        assert!(f.is_fresh(t0 + SECOND));
    }

    #[test]
    fn a_read_serves_the_requests_that_arrived_before_it_started() {
        let f = Freshness::new(Duration::ZERO);
        let t0 = Instant::now();
        assert!(!f.read_since(t0));
        f.read_done(f.read_started(t0 + SECOND));
        assert!(f.read_since(t0));
        assert!(f.read_since(t0 + SECOND));
        assert!(!f.read_since(t0 + 2 * SECOND));
    }

    #[test]
    fn max_age_zero_never_uses_the_copy() {
        let f = Freshness::new(Duration::ZERO);
        let t0 = Instant::now();
        f.read_done(f.read_started(t0));
        assert!(!f.use_copy(t0));
        assert_eq!(f.counts(), (0, 1));
    }
}
