//! The table behind [`crate::Settled`]: one slot per awaited JS promise, from the await until its
//! future takes the outcome (or is dropped). Pure, so that `tests/slots.rs` runs it natively; the
//! promise plumbing around it (`promise.rs`) is wasm32 only.
//!
//! A slot whose promise never settles stays until its future is dropped. The Workers runtime never
//! settles the promises of a request it cancelled (the client went away), and wasm-bindgen's executor
//! drops a task's future only by running it to the end: such a request's task, and the slot it waits
//! on, would stay for the isolate's life. The Worker races each request against an `AbortWatch`
//! (`abort.rs`), which drops the request's future unpolled when the runtime reports the cancellation
//! (failing its awaits instead would let it carry on). [`Slots::open_count`] (the status endpoint's
//! `open_awaits`, less the watches' own slots) shows whatever still stays.

use std::task::{Poll, Waker};

/// The slot is gone: its outcome was already taken, or its future dropped.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Consumed;

struct Slot<T> {
    outcome: Option<T>,
    waker: Option<Waker>,
}

pub(crate) struct Slots<T> {
    /// Slot numbers are never reused (an f64 counts exactly to 2^53), so a promise that settles after
    /// its future was dropped can never fill another future's slot.
    next: f64,
    /// The slots of the futures alive now, by number: a few per request in flight, so a list searched
    /// from the end (the newest first) rather than a hash map (whose code is ~0.6 KiB of the gzip).
    pending: Vec<(u64, Slot<T>)>,
}

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Slots {
            next: 0.0,
            pending: Vec::new(),
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
    /// A new slot; its number, for the JS side to answer with.
    pub(crate) fn open(&mut self) -> f64 {
        let number = self.next;
        self.next += 1.0;
        self.pending.push((
            key(number),
            Slot {
                outcome: None,
                waker: None,
            },
        ));
        number
    }

    /// Where slot `number` is in the table, searched from the newest.
    fn index(&self, number: f64) -> Option<usize> {
        let number = key(number);
        self.pending.iter().rposition(|(n, _)| *n == number)
    }

    /// The promise of slot `number` settled: the outcome is kept and the waiting task's waker
    /// returned, to be woken once the table is released. A slot whose future is gone ignores it.
    pub(crate) fn settle(&mut self, number: f64, outcome: T) -> Option<Waker> {
        let index = self.index(number)?;
        let (_, slot) = self.pending.get_mut(index)?;
        slot.outcome = Some(outcome);
        slot.waker.take()
    }

    /// The future of slot `number` asks for its outcome: taken (the slot closes) when there is one,
    /// else it waits with `waker` (the waker it replaces is returned, to be dropped once the table is
    /// released). [`Consumed`] when the slot is already gone.
    pub(crate) fn poll(
        &mut self,
        number: f64,
        waker: &Waker,
    ) -> (Poll<Result<T, Consumed>>, Option<Waker>) {
        let Some(index) = self.index(number) else {
            return (Poll::Ready(Err(Consumed)), None);
        };
        let Some((_, slot)) = self.pending.get_mut(index) else {
            return (Poll::Ready(Err(Consumed)), None);
        };
        let Some(outcome) = slot.outcome.take() else {
            let replaced = slot.waker.replace(waker.clone());
            return (Poll::Pending, replaced);
        };
        // Settled: the slot closes where it was found.
        let (_, slot) = self.pending.swap_remove(index);
        (Poll::Ready(Ok(outcome)), slot.waker)
    }

    /// The future of slot `number` is gone (completed or dropped); its waker, if any, is returned to
    /// be dropped once the table is released.
    pub(crate) fn close(&mut self, number: f64) -> Option<Waker> {
        let index = self.index(number)?;
        self.pending.swap_remove(index).1.waker
    }

    /// How many slots are open: futures awaiting, or not yet polled since their promise settled.
    pub(crate) fn open_count(&self) -> usize {
        self.pending.len()
    }
}
