//! The slot table behind `Settled` (src/slots.rs), run natively: the crate itself is wasm32 only, the
//! table is plain Rust, so its source is included here as a module.
#![allow(clippy::unwrap_used, reason = "tests")]

#[path = "../src/slots.rs"]
#[allow(
    dead_code,
    reason = "the table's own API, not all of it used by these tests"
)]
mod slots;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Poll, Wake, Waker};

use slots::{Gone, Slots, ABANDONED_AFTER_MS, SWEEP_EVERY_MS};

/// A waker that counts its wakes.
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn waker() -> (Arc<Count>, Waker) {
    let count = Arc::new(Count(AtomicUsize::new(0)));
    (Arc::clone(&count), Waker::from(count))
}

const T0: f64 = 1_700_000_000_000.0;

#[test]
fn an_outcome_reaches_its_waiting_future_once() {
    let mut slots = Slots::default();
    let (count, waker) = waker();
    let a = slots.open(T0);
    assert_eq!(slots.poll(a, &waker), Poll::Pending);
    let woken = slots.settle(a, "answer").unwrap();
    woken.wake();
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
    assert_eq!(slots.poll(a, &waker), Poll::Ready(Ok("answer")));
    assert_eq!(slots.open_count(), 0);
    // Polled again, or settled again: the slot is gone.
    assert_eq!(slots.poll(a, &waker), Poll::Ready(Err(Gone::Consumed)));
    assert!(slots.settle(a, "late").is_none());
}

#[test]
fn a_dropped_future_discards_its_outcome_and_numbers_are_not_reused() {
    let mut slots = Slots::default();
    let (_, waker) = waker();
    let a = slots.open(T0);
    slots.close(a);
    let b = slots.open(T0);
    assert_ne!(a, b);
    assert!(slots.settle(a, "for a").is_none());
    assert_eq!(slots.poll(b, &waker), Poll::Pending);
}

#[test]
fn an_await_unanswered_for_five_minutes_is_given_up_and_its_task_woken() {
    let mut slots = Slots::default();
    let (old_count, old_waker) = waker();
    let (young_count, young_waker) = waker();
    let old = slots.open(T0);
    assert_eq!(slots.poll(old, &old_waker), Poll::Pending);
    let young = slots.open(T0 + ABANDONED_AFTER_MS - 10_000.0);
    assert_eq!(slots.poll(young, &young_waker), Poll::Pending);
    // Settled but not yet polled: kept, whatever its age.
    let answered = slots.open(T0);
    assert!(slots.settle(answered, "done").is_none());

    // Just short of the limit: nothing is given up.
    assert!(slots
        .give_up_abandoned(T0 + ABANDONED_AFTER_MS - 1.0)
        .is_empty());
    // At the limit, but within a second of the last search: not searched again yet.
    assert!(slots.give_up_abandoned(T0 + ABANDONED_AFTER_MS).is_empty());
    let given_up = slots.give_up_abandoned(T0 + ABANDONED_AFTER_MS + SWEEP_EVERY_MS);
    assert_eq!(given_up.len(), 1);
    for waker in given_up {
        waker.wake();
    }
    assert_eq!(old_count.0.load(Ordering::SeqCst), 1);
    assert_eq!(young_count.0.load(Ordering::SeqCst), 0);
    assert_eq!(
        slots.poll(old, &old_waker),
        Poll::Ready(Err(Gone::Abandoned))
    );
    assert_eq!(slots.poll(answered, &old_waker), Poll::Ready(Ok("done")));
    assert_eq!(slots.poll(young, &young_waker), Poll::Pending);
    assert_eq!(slots.open_count(), 1);
    // Once given up, a slot is not woken again by a later search.
    assert!(
        slots
            .give_up_abandoned(T0 + 2.0 * ABANDONED_AFTER_MS + 2.0 * SWEEP_EVERY_MS)
            .len()
            == 1
    );
    assert!(slots
        .give_up_abandoned(T0 + 3.0 * ABANDONED_AFTER_MS)
        .is_empty());
}

#[test]
fn an_outcome_that_arrives_after_giving_up_but_before_the_poll_wins() {
    let mut slots = Slots::default();
    let (_, waker) = waker();
    let a = slots.open(T0);
    assert_eq!(slots.poll(a, &waker), Poll::Pending);
    assert_eq!(slots.give_up_abandoned(T0 + ABANDONED_AFTER_MS).len(), 1);
    assert!(slots.settle(a, "late answer").is_none());
    assert_eq!(slots.poll(a, &waker), Poll::Ready(Ok("late answer")));
}

#[test]
fn an_abandoned_await_never_polled_is_given_up_when_first_polled() {
    let mut slots: Slots<&str> = Slots::default();
    let (_, waker) = waker();
    let a = slots.open(T0);
    assert!(slots.give_up_abandoned(T0 + ABANDONED_AFTER_MS).is_empty());
    assert_eq!(slots.poll(a, &waker), Poll::Ready(Err(Gone::Abandoned)));
}
