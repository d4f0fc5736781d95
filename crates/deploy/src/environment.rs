//! The clock and the randomness a deployment hands its services: the one place that decides
//! they are the system's.

use aws_lc_rs::rand::SecureRandom;
use signet_clock::{Clock, Randomness};

/// What the services get from outside: the time and random numbers. [`Environment::system`]
/// is the real one; tests may pass a fixed clock ([`Clock::fixed`]).
#[derive(Clone, Debug)]
pub struct Environment {
    /// The log server's and the CT log's timestamps, the CA's, the TSA's and the development
    /// issuer's notion of now, key creation times.
    pub clock: Clock,
    /// Random number generators for keys, serial numbers, token IDs and signers.
    pub randomness: Randomness,
}

impl Environment {
    /// The system clock and the operating system's random number generator.
    pub fn system() -> Environment {
        Environment {
            clock: Clock::system(),
            randomness: Randomness::system(),
        }
    }

    /// Now, in whole seconds since the Unix epoch.
    pub fn now_unix(&self) -> i64 {
        self.clock.now_unix()
    }

    /// A random number generator.
    pub fn rng(&self) -> Box<dyn SecureRandom + Send + Sync> {
        self.randomness.rng()
    }
}
