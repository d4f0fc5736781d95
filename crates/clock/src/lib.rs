//! The two things a signet service takes from its surroundings: the time ([`Clock`],
//! milliseconds since the Unix epoch) and random numbers ([`Randomness`]). Services (the CA,
//! the CT log, the TSA, the development OIDC issuer, the log server) are handed both and never
//! read the system clock or make a random number generator of their own, so a test can run
//! any of them at a fixed time ([`Clock::fixed`]).
//!
//! Which clock and randomness a deployment uses is `signet-deploy`'s decision
//! (`Environment::system`, the one caller of [`Clock::system`] and [`Randomness::system`]).
//! This crate reads the system clock in [`Clock::system`] only; nothing here panics.

use aws_lc_rs::error::Unspecified;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use std::sync::Arc;

/// A time source: milliseconds since the Unix epoch. Cheap to clone (shared).
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> u64 + Send + Sync>);

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Clock").field(&self.now_ms()).finish()
    }
}

impl Clock {
    /// The system's wall clock (0 before 1970).
    pub fn system() -> Clock {
        Clock::from_fn(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
                .unwrap_or(0)
        })
    }

    /// A clock that always reads `ms` (milliseconds since the Unix epoch): for tests.
    pub fn fixed(ms: u64) -> Clock {
        Clock::from_fn(move || ms)
    }

    /// A clock reading `now_ms()` (milliseconds since the Unix epoch), e.g. one a test moves.
    pub fn from_fn(now_ms: impl Fn() -> u64 + Send + Sync + 'static) -> Clock {
        Clock(Arc::new(now_ms))
    }

    /// Now, in milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> u64 {
        (self.0)()
    }

    /// Now, in whole seconds since the Unix epoch.
    pub fn now_unix(&self) -> i64 {
        i64::try_from(self.now_ms() / 1000).unwrap_or(i64::MAX)
    }
}

/// A source of random number generators: each call of [`Randomness::rng`] gives a fresh one
/// (for a signer or key generation that keeps its own); [`Randomness::fill`] draws bytes
/// (serial numbers, token IDs). Cheap to clone (shared).
#[derive(Clone)]
pub struct Randomness(Arc<dyn Fn() -> Box<dyn SecureRandom + Send + Sync> + Send + Sync>);

impl std::fmt::Debug for Randomness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Randomness")
    }
}

impl Randomness {
    /// The operating system's random number generator.
    pub fn system() -> Randomness {
        Randomness::from_fn(|| Box::new(SystemRandom::new()))
    }

    /// Randomness from `make`, called once per generator handed out.
    pub fn from_fn(
        make: impl Fn() -> Box<dyn SecureRandom + Send + Sync> + Send + Sync + 'static,
    ) -> Randomness {
        Randomness(Arc::new(make))
    }

    /// A random number generator.
    pub fn rng(&self) -> Box<dyn SecureRandom + Send + Sync> {
        (self.0)()
    }

    /// Fills `dest` with random bytes.
    ///
    /// # Errors
    /// [`Unspecified`] if the generator fails.
    pub fn fill(&self, dest: &mut [u8]) -> Result<(), Unspecified> {
        self.rng().fill(dest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_clock_reads_its_time() {
        let clock = Clock::fixed(1_750_000_000_999);
        assert_eq!(clock.now_ms(), 1_750_000_000_999);
        assert_eq!(clock.now_unix(), 1_750_000_000);
        assert_eq!(clock.clone().now_ms(), 1_750_000_000_999);
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(Clock::system().now_unix() > 1_577_836_800);
    }

    #[test]
    fn randomness_fills() -> Result<(), Unspecified> {
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        let randomness = Randomness::system();
        randomness.fill(&mut a)?;
        randomness.fill(&mut b)?;
        assert_ne!(a, b);
        Ok(())
    }
}
