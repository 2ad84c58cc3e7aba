//! The single-node key-value backend: moka caches whose entries expire at their own deadline.
//! Everything here dies with the process.
mod codes;
mod expiry;
mod limits;
mod session_index;
mod sessions;

pub use codes::MokaCodeStore;
pub use limits::MokaRateLimits;
pub use sessions::MokaSessionStore;
