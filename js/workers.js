// The entry for Cloudflare Workers written in JS (the package's `workerd` export condition): Workers
// forbid compiling wasm from bytes at run time, so the `.wasm` is imported as a module (wrangler's
// bundler, and miniflare's `CompiledWasm` module type, hand it over already compiled) and instantiated
// synchronously.
import { initSync } from "./pkg/edge_auth_wasm.js";
import wasm from "./pkg/edge_auth_wasm_bg.wasm";

initSync({ module: wasm });

export * from "./api.js";
