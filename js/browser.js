// The entry for browsers (the package's `browser` export condition): the wasm next to this module is
// fetched and compiled with a top-level await (`WebAssembly.instantiateStreaming` when it is served as
// `application/wasm`), so the module is ready once imported. Browsers do not allow compiling a module of
// this size synchronously on the main thread.
import init from "./pkg/edge_auth_wasm.js";

await init({ module_or_path: new URL("./pkg/edge_auth_wasm_bg.wasm", import.meta.url) });

export * from "./api.js";
