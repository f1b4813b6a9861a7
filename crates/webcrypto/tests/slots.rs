//! The slot table behind `Settled` (src/slots.rs), run natively: the crate itself is wasm32 only, the
//! table is plain Rust, so its source is included here as a module.
#![allow(clippy::unwrap_used, reason = "tests")]

#[path = "../src/slots.rs"]
mod slots;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Poll, Wake, Waker};

use slots::{Consumed, Slots};

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

#[test]
fn an_outcome_reaches_its_waiting_future_once() {
    let mut slots = Slots::default();
    let (count, waker) = waker();
    let a = slots.open();
    assert_eq!(slots.open_count(), 1);
    assert!(matches!(slots.poll(a, &waker), (Poll::Pending, None)));
    slots.settle(a, "answer").unwrap().wake();
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
    assert!(matches!(
        slots.poll(a, &waker),
        (Poll::Ready(Ok("answer")), None)
    ));
    assert_eq!(slots.open_count(), 0);
    // Polled again, or settled again: the slot is gone.
    assert!(matches!(
        slots.poll(a, &waker),
        (Poll::Ready(Err(Consumed)), None)
    ));
    assert!(slots.settle(a, "late").is_none());
}

#[test]
fn a_second_poll_gives_back_the_waker_it_replaces() {
    let mut slots: Slots<&str> = Slots::default();
    let (first_count, first) = waker();
    let (second_count, second) = waker();
    let a = slots.open();
    assert!(matches!(slots.poll(a, &first), (Poll::Pending, None)));
    let (polled, replaced) = slots.poll(a, &second);
    assert_eq!(polled, Poll::Pending);
    assert!(replaced.unwrap().will_wake(&first));
    // The settle wakes the latest waker only.
    slots.settle(a, "answer").unwrap().wake();
    assert_eq!(
        (
            first_count.0.load(Ordering::SeqCst),
            second_count.0.load(Ordering::SeqCst)
        ),
        (0, 1)
    );
}

#[test]
fn a_dropped_future_discards_its_outcome_and_numbers_are_not_reused() {
    let mut slots = Slots::default();
    let (_, waker) = waker();
    let a = slots.open();
    assert!(matches!(slots.poll(a, &waker), (Poll::Pending, None)));
    assert!(
        slots.close(a).unwrap().will_wake(&waker),
        "the closed slot's waker is given back"
    );
    assert!(slots.close(a).is_none());
    let b = slots.open();
    assert_ne!(a, b);
    assert!(slots.settle(a, "for a").is_none());
    assert!(matches!(slots.poll(b, &waker), (Poll::Pending, None)));
}

#[test]
fn many_slots_each_get_their_own_outcome_whatever_the_order() {
    let mut slots = Slots::default();
    let (_, waker) = waker();
    let numbers: Vec<f64> = (0..50).map(|_| slots.open()).collect();
    for &n in &numbers {
        assert!(matches!(slots.poll(n, &waker), (Poll::Pending, None)));
    }
    // Settled and closed out of order (swap_remove reorders the table).
    for &n in numbers.iter().rev().step_by(2) {
        assert!(slots.settle(n, n).is_some());
    }
    for &n in numbers.iter().step_by(3) {
        let _ = slots.close(n);
    }
    for &n in &numbers {
        let (polled, _) = slots.poll(n, &waker);
        match polled {
            Poll::Ready(Ok(value)) => assert_eq!(value, n),
            Poll::Ready(Err(Consumed)) => assert_eq!(n % 3.0, 0.0, "{n} was closed"),
            Poll::Pending => {}
        }
    }
}
