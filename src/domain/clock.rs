//! Where the service reads the time. Every deadline, window and cooldown is measured on one
//! [`Clock`] passed in at start-up: the system clock in production, a manual one in tests, which
//! advance it instead of sleeping.
use std::{
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};

use super::UnixMicros;

/// The time source. Cheap to clone; clones of a manual clock share its time.
#[derive(Clone, Debug, Default)]
pub enum Clock {
    /// Wall-clock time (`SystemTime::now`).
    #[default]
    System,
    /// Time that moves only when [`Clock::advance`] is called, shared by every clone (so two
    /// in-process instances of a test see one time).
    Manual(Arc<AtomicI64>),
}

impl Clock {
    /// A manual clock starting at the current wall-clock time, so that stamps look real.
    pub fn manual() -> Self {
        Self::Manual(Arc::new(AtomicI64::new(system_now())))
    }

    /// The current time in microseconds since the Unix epoch.
    pub fn now(&self) -> UnixMicros {
        match self {
            Self::System => system_now(),
            Self::Manual(now) => now.load(Ordering::SeqCst),
        }
    }

    /// `now + duration`, saturating.
    pub fn after(&self, duration: Duration) -> UnixMicros {
        self.now().saturating_add(micros(duration))
    }

    /// Moves a manual clock forward. The system clock cannot be moved: asking is a bug in the
    /// caller, so it panics rather than silently doing nothing.
    pub fn advance(&self, by: Duration) {
        match self {
            Self::System => panic!("the system clock cannot be advanced; use Clock::manual()"),
            Self::Manual(now) => {
                now.fetch_add(micros(by), Ordering::SeqCst);
            }
        }
    }

    /// Whether this clock is the real one (stores whose own server keeps time, such as Redis,
    /// only agree with it then).
    pub fn is_system(&self) -> bool {
        matches!(self, Self::System)
    }
}

fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

fn system_now() -> UnixMicros {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_advanced_and_its_clones_share_the_time() {
        let clock = Clock::manual();
        let copy = clock.clone();
        let start = clock.now();
        assert_eq!(clock.now(), start);
        copy.advance(Duration::from_secs(2));
        assert_eq!(clock.now(), start + 2_000_000);
        assert_eq!(clock.after(Duration::from_millis(1)), start + 2_001_000);
    }

    #[test]
    fn the_system_clock_follows_the_wall_clock() {
        let before = system_now();
        let now = Clock::System.now();
        assert!(now >= before && now - before < 60_000_000);
    }
}
