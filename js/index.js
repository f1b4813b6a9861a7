// The entry for Node ≥ 20, Deno 2 and Bun (the package's `default` export condition): the wasm is read
// from the file next to this module with `node:fs` (which all three provide) and compiled synchronously
// before the API is used, so importing the package is enough: no `await init()`.
import { readFileSync } from "node:fs";
import { initSync } from "./pkg/edge_auth_wasm.js";

initSync({ module: readFileSync(new URL("./pkg/edge_auth_wasm_bg.wasm", import.meta.url)) });

export * from "./api.js";
