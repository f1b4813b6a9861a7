//! What the Worker takes from the Workers runtime besides `web-sys`: the `fetch` handler's `env` and
//! `ctx`, timers, and the module start that worker-build's shim expects. Written here rather than taken
//! from the `worker` crate, which exports classes of its own (`wasm-streams`' stream adapters,
//! `ContainerStartupOptions`, `MinifyConfig`, `R2Range`) that wasm-bindgen keeps whether or not they
//! are used: about 7 KiB of the Worker's gzip for the four things below.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use edge_auth_webcrypto::Settled;
use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::future_to_promise;
use web_sys::WorkerGlobalScope;

#[wasm_bindgen]
extern "C" {
    /// The `fetch` handler's `env`: the bindings (variables, secrets, Durable Object namespaces), read
    /// by name with `Reflect.get`.
    #[wasm_bindgen(extends = js_sys::Object)]
    pub(crate) type Env;

    /// The `fetch` handler's `ctx` (`ExecutionContext`).
    pub(crate) type ExecutionContext;
    #[wasm_bindgen(method, catch, js_name = waitUntil)]
    fn wait_until_promise(this: &ExecutionContext, promise: &Promise) -> Result<(), JsValue>;
}

impl ExecutionContext {
    /// Keeps the request's context alive until `task` ends: a background key refresh after the response,
    /// or a key fetch a request waits on but that must land even if the request is dropped
    /// (`keys::fetch_for`).
    /// The task runs either way (`future_to_promise` starts it); should the runtime refuse to wait
    /// (it throws once the request's context is gone), the refusal is caught rather than unwinding
    /// through Rust frames.
    ///
    /// The task is boxed by the caller: one `future_to_promise` for every kind of task, not one
    /// compiled per task type.
    /// Answers the task's promise (settled when the task ends).
    pub(crate) fn wait_until(&self, task: Pin<Box<dyn Future<Output = ()>>>) -> Promise {
        let promise = future_to_promise(async move {
            task.await;
            Ok(JsValue::UNDEFINED)
        });
        self.keep_alive(&promise);
        promise
    }

    /// Keeps the request's invocation alive until `promise` settles (`ctx.waitUntil`); a refusal is
    /// logged, not thrown.
    pub(crate) fn keep_alive(&self, promise: &Promise) {
        if let Err(error) = self.wait_until_promise(promise) {
            crate::log::error_event("wait_until", &edge_auth_webcrypto::describe(&error));
        }
    }
}

/// Work that must not stop half done, done to its end even when the request's client goes away: a
/// revocation being stored (the object may store it, which must then get its audit line and reach the
/// isolate's copy). While it lives, the fetch handler's race (`entry::fetch`) does not drop the request,
/// and a `waitUntil` promise keeps the runtime from cancelling the request's calls (with one pending,
/// workerd lets them finish); the promise resolves when it is dropped. Taken only around such work,
/// never around an await without a deadline.
pub(crate) struct Finishing<'a> {
    flag: &'a Cell<bool>,
    resolve: Option<js_sys::Function>,
}

impl<'a> Finishing<'a> {
    pub(crate) fn new(ctx: &ExecutionContext, flag: &'a Cell<bool>) -> Finishing<'a> {
        flag.set(true);
        let mut resolve = None;
        let promise = Promise::new(&mut |done, _| resolve = Some(done));
        ctx.keep_alive(&promise);
        Finishing { flag, resolve }
    }
}

impl Drop for Finishing<'_> {
    fn drop(&mut self) {
        self.flag.set(false);
        if let Some(resolve) = self.resolve.take() {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        }
    }
}

// After a trap (a panic, which aborts: `panic = "immediate-abort"`, scripts/wasm-toolchain.sh; out of
// memory; stack overflow) the instance is dead. Two mechanisms bring up a fresh one, as with the
// `worker` crate's `init.rs`:
// - wasm-bindgen's abort handler (worker-build runs wasm-bindgen with `--force-enable-abort-handler`):
//   `start` registers `schedule_reinit`, so the next call into the module instantiates it anew;
// - worker-build 0.8.7's shim (`shim.js`) calls `__worker_init_state()` once at load and reads and
//   writes `criticalError` and `instanceId` on what it returns: after a `WebAssembly.RuntimeError`
//   through an exported class it resets the instance and bumps `instanceId`, so that Durable Object
//   instances are made anew.
// No panic hook: under immediate-abort none runs (a stable-toolchain build, for comparisons only,
// unwinds and so has no trap to recover from).
#[wasm_bindgen(inline_js = "
export const state = globalThis.__worker_init_state = { criticalError: false, instanceId: 0 };
")]
extern "C" {
    type InitState;
    #[wasm_bindgen(thread_local_v2, js_name = state)]
    static INIT_STATE: InitState;
    #[wasm_bindgen(method, getter, js_name = instanceId)]
    fn instance_id(this: &InitState) -> u32;
    #[wasm_bindgen(method, setter, js_name = instanceId)]
    fn set_instance_id(this: &InitState, value: u32);
}

#[wasm_bindgen(start, private)]
fn start() {
    INIT_STATE.with(|state| state.set_instance_id(state.instance_id().wrapping_add(1)));
    wasm_bindgen::handler::set_on_abort(wasm_bindgen::handler::schedule_reinit);
    settle_futures_queue_on_promises();
}

/// wasm-bindgen-futures runs Rust futures from one task queue (js-sys' `futures::queue`), which it
/// schedules with the global `queueMicrotask` when there is one, else with `then` on a resolved
/// promise; it chooses once, when the queue is first used. In workerd `queueMicrotask` is a runtime
/// API (it wraps each callback for async context and error reporting), called at every wake-up of
/// the request's task: about 5 % of a proxied request's samples in `tests/worker/bench/profile.mjs`,
/// and 3–6 µs per exported async call in `bash scripts/bench-worker.sh`'s "async noop" probe. So the
/// queue is first used here, with `queueMicrotask` shadowed for that moment: it settles on the
/// promise, a V8-native microtask. (A trap inside a task then surfaces as an unhandled rejection
/// rather than a reported error; either way the abort handler gives the next call a fresh instance,
/// whose `start` runs this again.) If the global cannot be shadowed, the queue keeps
/// `queueMicrotask`: slower, the same behaviour. The global is left as it was, or the failure logged.
fn settle_futures_queue_on_promises() {
    let global: js_sys::Object = js_sys::global();
    let name = JsValue::from_str("queueMicrotask");
    let Ok(saved) = js_sys::Reflect::get(&global, &name) else {
        return;
    };
    if !saved.is_function() {
        // No `queueMicrotask` (or not a function): the queue takes the promise path by itself.
        return;
    }
    // In workerd the method lives on the global scope's prototype: an own property shadows it and
    // deleting that own property restores it; were it an own property, it is set back.
    let own = js_sys::Object::has_own(&global, &name);
    let shadowed = js_sys::Reflect::set(&global, &name, &JsValue::UNDEFINED).unwrap_or(false);
    // The queue is made on its first task; this one does nothing.
    wasm_bindgen_futures::spawn_local(async {});
    if shadowed {
        let _ = if own {
            js_sys::Reflect::set(&global, &name, &saved)
        } else {
            js_sys::Reflect::delete_property(&global, &name)
        };
        let restored =
            js_sys::Reflect::get(&global, &name).is_ok_and(|now| js_sys::Object::is(&now, &saved));
        if !restored {
            crate::log::error_event("start", "queueMicrotask could not be restored");
        }
    }
}

/// The shim's entry into the state above.
#[wasm_bindgen(js_name = "__worker_init_state")]
pub fn worker_init_state() -> JsValue {
    INIT_STATE.with(|state| state.into())
}

/// `Date.now()`, in milliseconds. The runtime advances it only while the isolate waits for I/O.
pub(crate) fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// A timer: ready once `ms` milliseconds have passed. Dropped earlier (a deadline that lost its race),
/// it clears its `setTimeout`. Awaited through a promise slot ([`Settled`]), whose drop frees the slot:
/// the cleared timer's promise then stays pending with nothing of ours attached (a `JsFuture` would keep
/// its two callbacks until the promise settled).
pub(crate) struct Delay {
    /// The timer, while it has not fired.
    timeout: Option<i32>,
    done: Settled,
}

impl Delay {
    pub(crate) fn ms(ms: u64) -> Self {
        let ms = i32::try_from(ms).unwrap_or(i32::MAX);
        let mut timeout = None;
        let promise = Promise::new(&mut |resolve: Function, _reject| {
            let global: WorkerGlobalScope = js_sys::global().unchecked_into();
            match global.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms) {
                Ok(id) => timeout = Some(id),
                // No timer: ready at once, so that a deadline never waits forever (it fails closed).
                Err(_) => {
                    let _ = resolve.call0(&JsValue::UNDEFINED);
                }
            }
        });
        Self {
            timeout,
            done: Settled::new(&promise),
        }
    }
}

impl Future for Delay {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match Pin::new(&mut self.done).poll(cx) {
            Poll::Ready(_) => {
                self.timeout = None;
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for Delay {
    fn drop(&mut self) {
        if let Some(id) = self.timeout.take() {
            let global: WorkerGlobalScope = js_sys::global().unchecked_into();
            global.clear_timeout_with_handle(id);
        }
    }
}
