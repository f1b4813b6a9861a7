//! Noticing that a request's client went away (wasm32 only), so that the Worker can end that request's
//! work instead of keeping it for the isolate's life.
//!
//! When the Workers runtime cancels a request (its client disconnected), it never settles the promises
//! the request was waiting on, and wasm-bindgen's executor drops a task's future only by running it to
//! the end: without this, the request's task, its state and its promise slots ([`crate::Settled`])
//! would stay until the isolate ends. With the compatibility flag `enable_request_signal`, the runtime
//! fires `abort` on the incoming request's `signal` instead, while the request's invocation still runs.
//! [`AbortWatch`] is a future that completes then; the Worker races it against its handler, so the
//! handler's future is dropped where it waits, and none of its code runs again.
//!
//! A watch awaits a promise that `abort` resolves, through the same slots as every other await; the
//! watches are counted apart, so the status endpoint's `open_awaits` leaves them out.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use js_sys::Promise;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use crate::promise::{set_uncounted, Settled};

// A request whose signal never fires (workerd without the flag) keeps a watch that never completes,
// until the request ends; one without a watchable signal (another runtime) gets none.
#[wasm_bindgen(inline_js = "export function abort_promise(request) {
  const signal = request.signal;
  if (!signal || typeof signal.addEventListener !== 'function') return undefined;
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
}")]
extern "C" {
    #[wasm_bindgen(catch)]
    fn abort_promise(request: &JsValue) -> Result<Option<Promise>, JsValue>;
}

thread_local! {
    static CANCELLED: Cell<u64> = const { Cell::new(0) };
}

/// How many requests this isolate stopped working on because their client went away (the status
/// endpoint's `cancelled_requests`).
pub fn cancelled_requests() -> u64 {
    CANCELLED.with(Cell::get)
}

/// Completes when the client of `request` goes away (its `signal` fires `abort`), and counts it in
/// [`cancelled_requests`]; never completes for a request whose signal cannot be watched.
#[derive(Debug)]
pub struct AbortWatch {
    aborted: Option<Settled>,
}

impl AbortWatch {
    pub fn new(request: &JsValue) -> AbortWatch {
        // A signal that cannot be watched (a getter that throws) leaves the request as it was without
        // the flag: unwatched.
        let aborted = abort_promise(request).ok().flatten().map(|promise| {
            // The watch's slot is not an await of the request's work.
            set_uncounted(true);
            Settled::new(&promise)
        });
        AbortWatch { aborted }
    }
}

impl Future for AbortWatch {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(aborted) = self.aborted.as_mut() else {
            return Poll::Pending;
        };
        match Pin::new(aborted).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(_) => {
                CANCELLED.with(|count| count.set(count.get().saturating_add(1)));
                Poll::Ready(())
            }
        }
    }
}

impl Drop for AbortWatch {
    fn drop(&mut self) {
        if self.aborted.is_some() {
            set_uncounted(false);
        }
    }
}
