//! The clock: read here, in the adapter, and passed to the core as whole Unix seconds.

use std::time::{SystemTime, UNIX_EPOCH};

/// Where [`EdgeAuth`](crate::EdgeAuth) reads the time: the assertion's time rules and every key-cache
/// decision use it. Tests hand in their own to drive the cache rules without waiting.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::sync::Arc;
/// use edge_auth_origin::Clock;
///
/// #[derive(Debug, Default)]
/// struct Manual(AtomicU64);
///
/// impl Clock for Manual {
///     fn now(&self) -> u64 {
///         self.0.load(Ordering::SeqCst)
///     }
/// }
///
/// let clock = Arc::new(Manual::default());
/// clock.0.store(1_700_000_000, Ordering::SeqCst);
/// assert_eq!(clock.now(), 1_700_000_000);
/// ```
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    /// Seconds since the Unix epoch.
    fn now(&self) -> u64;
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now(&self) -> u64 {
        (**self).now()
    }
}

/// The system's wall clock (the default).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        // A clock before 1970 reads as 0: every assertion is then "issued in the future" (refused).
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs())
    }
}
