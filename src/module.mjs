// The Worker's main module: scripts/build-worker.sh bundles it with worker-build's output
// (`./worker-build.js`, the wasm-bindgen glue and worker-build's shim) into build/index.js.
//
// worker-build's shim exports, as the default, a Proxy around a `WorkerEntrypoint` class. For every
// request the runtime constructs an instance through that proxy, and reading `fetch` on the instance
// makes a new Proxy around the function: 4–33 µs a request in workerd, for no decision of ours
// (`bash scripts/bench-worker.sh`, the whole-handler line: "through worker-build's own entrypoint class").
// Here the default export is a plain handler object that calls the same function with the same
// arguments (the request, `env`, `ctx`).
//
// Recovery after a trap does not depend on the shim's proxies: wasm-bindgen's abort handler, which
// src/runtime.rs registers at start, gives the next call a fresh instance (tests/worker/trap-recovery.mjs
// checks it through this export). What the fetch path no longer has are the shim's two console lines
// ("Critical", "Reinitializing Wasm application"). The shim's own proxy stays on the Durable Object
// class (`Revocations`), where it also makes the object's instances anew after a trap.
import Shim, { Revocations } from "./worker-build.js";

const handle = Shim.prototype.fetch;
// What this module relies on, checked when the Worker loads (so a test fails, not a request): the
// entrypoint has a `fetch` handler, and no other handler (`scheduled`, `queue`, …) that the default
// export below would silently drop. The `bench_*` probes exist in bench builds only.
if (typeof handle !== "function") throw new Error("worker-build's entrypoint has no fetch handler");
for (const name of Object.getOwnPropertyNames(Shim.prototype)) {
  if (name !== "constructor" && name !== "fetch" && !name.startsWith("bench_")) {
    throw new Error(`worker-build's entrypoint has a handler src/module.mjs does not export: ${name}`);
  }
}

export default {
  fetch(request, env, ctx) {
    return handle.call({ env, ctx }, request);
  },
};

export { Revocations };
