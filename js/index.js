// The entry for Node ≥ 20, Deno 2 and Bun (the package's `default` export condition): the wasm is read
// from the file next to this module with `node:fs` (which all three provide) and compiled synchronously
// before the API is used, so importing the package is enough: no `await init()`.
// In Node (not Deno or Bun, which also provide `node:` modules), public-key signatures are verified with
// `node:crypto` rather than WebCrypto (node-crypto.js says why); Deno, Bun, browsers and Workers use
// `crypto.subtle`.
import { readFileSync } from "node:fs";
import { initSync, useSubtle } from "./pkg/edge_auth_wasm.js";
import { nodeSubtle } from "./node-crypto.js";

initSync({ module: readFileSync(new URL("./pkg/edge_auth_wasm_bg.wasm", import.meta.url)) });
if (globalThis.process?.release?.name === "node" && !globalThis.Deno && !globalThis.Bun) {
  useSubtle(nodeSubtle(globalThis.crypto.subtle));
}

export * from "./api.js";
