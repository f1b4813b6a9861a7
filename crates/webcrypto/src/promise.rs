//! Awaiting a JS promise from Rust with one long-lived callback per isolate (wasm32 only).
//!
//! `wasm_bindgen_futures::JsFuture` creates two `Closure`s per await (each a JS function registered with
//! a finalizer) and destroys them when the promise settles. On the verification path that bookkeeping
//! was a measurable share of a first sight inside workerd (see `scripts/bench-worker.sh`, the
//! `await` probes). Here a promise is handed to a tiny JS helper together with a slot number; when it
//! settles, the one callback stores the outcome in the slot and wakes the waiting task.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use js_sys::{Function, Promise};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use crate::slots::{Consumed, Slots};

#[wasm_bindgen(inline_js = "export function settle(promise, slot, callback) {
  promise.then((value) => callback(slot, true, value), (error) => callback(slot, false, error));
}")]
extern "C" {
    fn settle(promise: &Promise, slot: f64, callback: &Function);
}

thread_local! {
    static SLOTS: RefCell<Slots<Result<JsValue, JsValue>>> = RefCell::new(Slots::default());
    static UNCOUNTED: Cell<usize> = const { Cell::new(0) };
    static CALLBACK: Function = Closure::<dyn Fn(f64, bool, JsValue)>::new(on_settled)
        .into_js_value()
        .unchecked_into();
}

fn on_settled(slot: f64, fulfilled: bool, value: JsValue) {
    let outcome = if fulfilled { Ok(value) } else { Err(value) };
    // A slot whose future was dropped is gone: the outcome is discarded.
    let waker = SLOTS.with(|slots| slots.borrow_mut().settle(slot, outcome));
    if let Some(waker) = waker {
        waker.wake();
    }
}

/// How many awaits are open in this isolate (the status endpoint's `open_awaits`): the slots, less the
/// ones `set_uncounted` says are not a request's work (the Worker's watches for a request's client
/// going away, `AbortWatch`, feature `request-abort`).
pub fn open_awaits() -> usize {
    SLOTS
        .with(|slots| slots.borrow().open_count())
        .saturating_sub(UNCOUNTED.with(Cell::get))
}

/// One more (`true`) or one less (`false`) open slot that [`open_awaits`] leaves out.
#[cfg(feature = "request-abort")]
pub(crate) fn set_uncounted(one_more: bool) {
    UNCOUNTED.with(|count| {
        count.set(if one_more {
            count.get().saturating_add(1)
        } else {
            count.get().saturating_sub(1)
        });
    });
}

/// The settled value of a promise: `Ok` when fulfilled, `Err` with the reason when rejected.
#[derive(Debug)]
pub struct Settled {
    slot: f64,
}

impl Settled {
    pub fn new(promise: &Promise) -> Settled {
        let number = SLOTS.with(|slots| slots.borrow_mut().open());
        CALLBACK.with(|callback| settle(promise, number, callback));
        Settled { slot: number }
    }
}

impl Future for Settled {
    type Output = Result<JsValue, JsValue>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // A waker the slot gave back is dropped here, after the table is released.
        let (polled, _replaced) =
            SLOTS.with(|slots| slots.borrow_mut().poll(self.slot, cx.waker()));
        match polled {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(outcome)) => Poll::Ready(outcome),
            // Polled after completion: cannot happen through `.await`; an error, not a panic.
            Poll::Ready(Err(Consumed)) => {
                Poll::Ready(Err(JsValue::from_str("promise slot already consumed")))
            }
        }
    }
}

impl Drop for Settled {
    fn drop(&mut self) {
        // As in `poll`: the slot's waker is dropped after the table is released.
        let _waker = SLOTS.with(|slots| slots.borrow_mut().close(self.slot));
    }
}
