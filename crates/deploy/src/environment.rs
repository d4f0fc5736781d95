//! The clock and the randomness a deployment hands its services: the one place that decides
//! they are the system's.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use std::sync::Arc;

/// What the services get from outside: the time and random numbers. [`Environment::system`]
/// is the real one; tests may pass a fixed clock.
#[derive(Clone)]
pub struct Environment {
    /// Milliseconds since the Unix epoch (the log server's and the CT log's timestamps, the
    /// CA's notion of now, key creation times).
    pub clock: signet_server::Clock,
    /// A fresh random number generator for each signer or key that needs one.
    pub randomness: signet_server::Randomness,
}

impl std::fmt::Debug for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Environment")
            .field("now_ms", &(self.clock)())
            .finish_non_exhaustive()
    }
}

/// The wall clock in milliseconds since the Unix epoch (0 before 1970).
fn system_clock_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

impl Environment {
    /// The system clock and the operating system's random number generator.
    pub fn system() -> Environment {
        Environment {
            clock: Arc::new(system_clock_ms),
            randomness: Arc::new(|| {
                Box::new(SystemRandom::new()) as Box<dyn SecureRandom + Send + Sync>
            }),
        }
    }

    /// Now, in whole seconds since the Unix epoch.
    pub fn now_unix(&self) -> i64 {
        i64::try_from((self.clock)() / 1000).unwrap_or(i64::MAX)
    }

    /// A random number generator.
    pub fn rng(&self) -> Box<dyn SecureRandom + Send + Sync> {
        (self.randomness)()
    }
}
