// Cold start (issue 11): a fresh workerd instance (miniflare on 127.0.0.1) per measurement, until it has
// answered its first request, for three Workers doing the job behind the same loopback origin —
// a pass-through Worker (the floor), the jose Worker (jose-worker.mjs, bundled at JOSE_BUNDLE) and
// edge-auth (build/) — in alternating order, ROUNDS times each. Prints each one's median and what it
// adds over the pass-through floor, split into "ready" (workerd started: the scripts loaded and the wasm
// compiled — workerd compiles a CompiledWasm module while loading the Worker) and "first request" (for
// edge-auth: instantiation, the configuration compiled, the first verification, the assertion, the
// forward). Not a test. (Node 20 cannot compile the Worker's wasm by itself: wasm-bindgen's catch
// wrappers use the new exception-handling opcodes, which workerd's V8 has.)
//   node tests/worker/bench/coldstart.mjs ROOT JOSE_BUNDLE [ROUNDS]
import { statSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import * as jose from "jose";

const [root, joseBundle] = process.argv.slice(2, 4);
const ROUNDS = Number(process.argv[4] ?? 9);
const ISS = "https://idp.example.com/", AUD = "https://api.example.com";

const origin = createServer((req, res) => {
  req.resume();
  req.on("end", () => { res.setHeader("content-type", "application/json"); res.end('{"ok":true}'); });
}).listen(0, "127.0.0.1");
await new Promise((r) => origin.once("listening", r));
const ORIGIN = `http://127.0.0.1:${origin.address().port}`;

const idp = await jose.generateKeyPair("ES256", { extractable: true });
const jwk = { ...(await jose.exportJWK(idp.publicKey)), alg: "ES256", kid: "k1" };
const edge = await jose.generateKeyPair("EdDSA", { extractable: true });
const SIGNING = JSON.stringify(await jose.exportJWK(edge.privateKey));
const now = Math.floor(Date.now() / 1000);
const token = await new jose.SignJWT({ iss: ISS, aud: AUD, sub: "alice", iat: now, exp: now + 3600 })
  .setProtectedHeader({ alg: "ES256", kid: "k1" }).sign(idp.privateKey);

const drain = (stdout, stderr) => { stdout.resume(); stderr.resume(); };
const common = { handleRuntimeStdio: drain, host: "127.0.0.1", port: 0, compatibilityDate: "2026-04-26" };
const WORKERS = {
  "pass-through": () => ({
    ...common, modules: true, bindings: { ORIGIN },
    script: `export default { async fetch(request, env) {
      const url = new URL(request.url);
      return fetch(env.ORIGIN + url.pathname + url.search, { method: request.method, headers: request.headers, body: request.body, redirect: "manual" });
    } };`,
  }),
  jose: () => ({
    ...common, modules: true, scriptPath: joseBundle,
    bindings: { ORIGIN, ISS, AUD, JWKS: JSON.stringify({ keys: [jwk] }), SIGNING },
  }),
  "edge-auth": () => ({
    ...common, rootPath: root,
    modules: [{ type: "ESModule", path: "build/index.js" }, { type: "CompiledWasm", path: "build/index_bg.wasm" }],
    bindings: {
      ORIGIN,
      EDGE_AUTH: JSON.stringify({
        issuers: [{ issuer: ISS, audiences: [AUD], algorithms: ["ES256"], jwks: { keys: [jwk] } }],
        assertion: { issuer: "https://edge.example", audience: "https://origin.example", signing_key_secret: "SIGNING" },
      }),
      SIGNING,
    },
  }),
};

async function once(name) {
  const start = performance.now();
  const mf = new Miniflare(WORKERS[name]());
  try {
    const url = await mf.ready;
    const ready = performance.now();
    const response = await fetch(new URL("/orders/1", url), { headers: { authorization: `Bearer ${token}` } });
    await response.arrayBuffer();
    const done = performance.now();
    if (response.status !== 200) throw new Error(`${name}: first request answered ${response.status}`);
    return { ready: ready - start, first: done - ready, total: done - start };
  } finally {
    await mf.dispose();
  }
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const names = Object.keys(WORKERS);
const samples = Object.fromEntries(names.map((n) => [n, []]));
try {
  await once("pass-through"); // the first workerd start of a run warms the disk cache; not counted
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order so that no Worker is always first after a dispose.
    for (let i = 0; i < names.length; i++) {
      const name = names[(round + i) % names.length];
      samples[name].push(await once(name));
    }
  }
  const wasmBytes = statSync(join(root, "build/index_bg.wasm")).size;
  const base = Object.fromEntries(["ready", "first", "total"].map((k) => [k, median(samples["pass-through"].map((s) => s[k]))]));
  console.log(`cold start: fresh workerd (miniflare) per sample, ${ROUNDS} rounds in rotating order, medians in ms`);
  console.log("worker        | ready  | first request | total  | added over pass-through (ready + first = total)");
  for (const name of names) {
    const m = Object.fromEntries(["ready", "first", "total"].map((k) => [k, median(samples[name].map((s) => s[k]))]));
    const add = (k) => (m[k] - base[k]).toFixed(1);
    console.log(`${name.padEnd(13)} | ${m.ready.toFixed(1).padStart(6)} | ${m.first.toFixed(1).padStart(13)} | ${m.total.toFixed(1).padStart(6)} | ${add("ready")} + ${add("first")} = ${add("total")}`);
  }
  console.log(`edge-auth's wasm: ${(wasmBytes / 1024).toFixed(0)} KiB (${root}/build/index_bg.wasm)`);
} finally {
  origin.close();
}
