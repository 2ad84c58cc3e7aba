//! The single-node key-value backend: moka caches whose entries expire at their own deadline.
//! Everything here dies with the process.
mod codes;
mod counter;
mod expiring_map;
mod expiry;
mod limits;
mod packed;
mod session_index;
mod sessions;

pub use codes::MokaCodeStore;
pub use limits::MokaRateLimits;
pub(crate) use packed::phone_key;
pub use sessions::MokaSessionStore;
