//! Awaiting a JS promise from Rust with one long-lived callback per isolate (wasm32 only).
//!
//! `wasm_bindgen_futures::JsFuture` creates two `Closure`s per await (each a JS function registered with
//! a finalizer) and destroys them when the promise settles. On the verification path that bookkeeping
//! was a measurable share of a first sight inside workerd (see `scripts/bench-worker.sh`, the
//! `await` probes). Here a promise is handed to a tiny JS helper together with a slot number; when it
//! settles, the one callback stores the outcome in the slot and wakes the waiting task.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use js_sys::{Function, Promise};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

#[wasm_bindgen(inline_js = "export function settle(promise, slot, callback) {
  promise.then((value) => callback(slot, true, value), (error) => callback(slot, false, error));
}")]
extern "C" {
    fn settle(promise: &Promise, slot: f64, callback: &Function);
}

#[derive(Default)]
struct Slot {
    outcome: Option<Result<JsValue, JsValue>>,
    waker: Option<Waker>,
}

#[derive(Default)]
struct Slots {
    /// Slot numbers are never reused (an f64 counts exactly to 2^53), so a promise that settles after
    /// its future was dropped can never fill another future's slot.
    next: f64,
    /// The slots of the futures alive now, by number: a few per request in flight, so a list searched
    /// from the end (the newest first) rather than a hash map (whose code is ~0.6 KiB of the gzip).
    pending: Vec<(u64, Slot)>,
}

impl Slots {
    fn get_mut(&mut self, number: u64) -> Option<&mut Slot> {
        self.pending
            .iter_mut()
            .rev()
            .find(|(n, _)| *n == number)
            .map(|(_, slot)| slot)
    }

    fn remove(&mut self, number: u64) {
        if let Some(index) = self.pending.iter().rposition(|(n, _)| *n == number) {
            self.pending.swap_remove(index);
        }
    }
}

thread_local! {
    static SLOTS: RefCell<Slots> = RefCell::new(Slots::default());
    static CALLBACK: Function = Closure::<dyn Fn(f64, bool, JsValue)>::new(on_settled)
        .into_js_value()
        .unchecked_into();
}

fn key(slot: f64) -> u64 {
    // Slot numbers are non-negative integers below 2^53, so the conversion is exact.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "slot numbers are integers in 0..2^53 that this module made"
    )]
    let key = slot as u64;
    key
}

fn on_settled(slot: f64, fulfilled: bool, value: JsValue) {
    let waker = SLOTS.with(|slots| {
        let mut slots = slots.borrow_mut();
        // A slot whose future was dropped is gone: the outcome is discarded.
        let entry = slots.get_mut(key(slot))?;
        entry.outcome = Some(if fulfilled { Ok(value) } else { Err(value) });
        entry.waker.take()
    });
    if let Some(waker) = waker {
        waker.wake();
    }
}

/// The settled value of a promise: `Ok` when fulfilled, `Err` with the reason when rejected.
#[derive(Debug)]
pub struct Settled {
    slot: u64,
}

impl Settled {
    pub fn new(promise: &Promise) -> Settled {
        let number = SLOTS.with(|slots| {
            let mut slots = slots.borrow_mut();
            let number = slots.next;
            slots.next += 1.0;
            slots.pending.push((key(number), Slot::default()));
            number
        });
        CALLBACK.with(|callback| settle(promise, number, callback));
        Settled { slot: key(number) }
    }
}

impl Future for Settled {
    type Output = Result<JsValue, JsValue>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        SLOTS.with(|slots| {
            let mut slots = slots.borrow_mut();
            let Some(entry) = slots.get_mut(self.slot) else {
                // Polled after completion: cannot happen through `.await`; answer an error, not a panic.
                return Poll::Ready(Err(JsValue::from_str("promise slot already consumed")));
            };
            match entry.outcome.take() {
                Some(outcome) => {
                    slots.remove(self.slot);
                    Poll::Ready(outcome)
                }
                None => {
                    entry.waker = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
    }
}

impl Drop for Settled {
    fn drop(&mut self) {
        SLOTS.with(|slots| slots.borrow_mut().remove(self.slot));
    }
}
