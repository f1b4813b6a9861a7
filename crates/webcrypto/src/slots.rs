//! The table behind [`crate::Settled`]: one slot per awaited JS promise, from the await until its
//! future takes the outcome (or is dropped). Pure, so that `tests/slots.rs` runs it natively; the
//! promise plumbing around it (`promise.rs`) is wasm32 only.
//!
//! Slots whose promise never settles are given up after [`ABANDONED_AFTER_MS`]. The Workers runtime
//! never settles the promises of a request it cancelled (the client went away, or the invocation
//! ran past its limits): without this, the future awaiting one — a whole request's state, held by
//! the slot's waker — would stay in the isolate for the isolate's life, one more per abandoned
//! request.

use std::task::{Poll, Waker};

/// How long an await may stay unanswered before its future is given an error instead: far longer
/// than anything the adapters await for a request that is still there (WebCrypto answers at once; key
/// fetches, revocation calls and timers carry deadlines of seconds; an origin's response headers are
/// cut off by Cloudflare after 100 s), so only abandoned ones reach it.
pub(crate) const ABANDONED_AFTER_MS: f64 = 300_000.0;

/// The table is searched for abandoned slots at most this often (a search is a pass over every slot).
pub(crate) const SWEEP_EVERY_MS: f64 = 1_000.0;

/// Why a slot has no outcome to give.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Gone {
    /// Its outcome was already taken (polled again after completion: not through `.await`).
    Consumed,
    /// Unanswered for [`ABANDONED_AFTER_MS`].
    Abandoned,
}

struct Slot<T> {
    outcome: Option<T>,
    waker: Option<Waker>,
    /// When the await began (milliseconds, the caller's clock).
    since: f64,
    abandoned: bool,
}

pub(crate) struct Slots<T> {
    /// Slot numbers are never reused (an f64 counts exactly to 2^53), so a promise that settles after
    /// its future was dropped can never fill another future's slot.
    next: f64,
    /// The slots of the futures alive now, by number: a few per request in flight, so a list searched
    /// from the end (the newest first) rather than a hash map (whose code is ~0.6 KiB of the gzip).
    pending: Vec<(u64, Slot<T>)>,
    /// When the table was last searched for abandoned slots.
    swept_at: f64,
}

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Slots {
            next: 0.0,
            pending: Vec::new(),
            swept_at: 0.0,
        }
    }
}

fn key(number: f64) -> u64 {
    // Slot numbers are non-negative integers below 2^53, so the conversion is exact.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "slot numbers are integers in 0..2^53 that this table made"
    )]
    let key = number as u64;
    key
}

impl<T> Slots<T> {
    /// A new slot for an await beginning at `now`; its number, for the JS side to answer with.
    pub(crate) fn open(&mut self, now: f64) -> f64 {
        let number = self.next;
        self.next += 1.0;
        self.pending.push((
            key(number),
            Slot {
                outcome: None,
                waker: None,
                since: now,
                abandoned: false,
            },
        ));
        number
    }

    fn get_mut(&mut self, number: f64) -> Option<&mut Slot<T>> {
        let number = key(number);
        self.pending
            .iter_mut()
            .rev()
            .find(|(n, _)| *n == number)
            .map(|(_, slot)| slot)
    }

    /// The promise of slot `number` settled: the outcome is kept and the waiting task's waker
    /// returned, to be woken once the table is released. A slot whose future is gone ignores it.
    pub(crate) fn settle(&mut self, number: f64, outcome: T) -> Option<Waker> {
        let slot = self.get_mut(number)?;
        slot.outcome = Some(outcome);
        slot.waker.take()
    }

    /// The future of slot `number` asks for its outcome: taken (the slot closes) when there is one,
    /// an error when the slot was given up or is already gone, else it waits with `waker`.
    pub(crate) fn poll(&mut self, number: f64, waker: &Waker) -> Poll<Result<T, Gone>> {
        let Some(slot) = self.get_mut(number) else {
            return Poll::Ready(Err(Gone::Consumed));
        };
        if let Some(outcome) = slot.outcome.take() {
            self.close(number);
            return Poll::Ready(Ok(outcome));
        }
        if slot.abandoned {
            self.close(number);
            return Poll::Ready(Err(Gone::Abandoned));
        }
        slot.waker = Some(waker.clone());
        Poll::Pending
    }

    /// The future of slot `number` is gone (completed or dropped).
    pub(crate) fn close(&mut self, number: f64) {
        let number = key(number);
        if let Some(index) = self.pending.iter().rposition(|(n, _)| *n == number) {
            self.pending.swap_remove(index);
        }
    }

    /// At `now`, at most once per [`SWEEP_EVERY_MS`]: gives up every slot unanswered for
    /// [`ABANDONED_AFTER_MS`] and returns their wakers, to be woken once the table is released (each
    /// future then completes with [`Gone::Abandoned`], and whatever it held is freed). A clock that
    /// went backwards only delays this.
    pub(crate) fn give_up_abandoned(&mut self, now: f64) -> Vec<Waker> {
        let mut wakers = Vec::new();
        if now - self.swept_at < SWEEP_EVERY_MS {
            return wakers;
        }
        self.swept_at = now;
        for (_, slot) in &mut self.pending {
            if slot.outcome.is_none() && !slot.abandoned && now - slot.since >= ABANDONED_AFTER_MS {
                slot.abandoned = true;
                wakers.extend(slot.waker.take());
            }
        }
        wakers
    }

    /// How many slots are open (futures awaiting or not yet polled since their promise settled).
    pub(crate) fn open_count(&self) -> usize {
        self.pending.len()
    }
}
