// Cold start (issue 11): a fresh workerd instance (miniflare on 127.0.0.1) per measurement, until it has
// answered its first request, for three Workers doing the job behind the same loopback origin —
// a pass-through Worker (the floor), the jose Worker (jose-worker.mjs, bundled at JOSE_BUNDLE) and
// edge-auth (build/) — in alternating order, ROUNDS times each (edge-auth also in two cut-down
// variants, to split its first request). Prints each one's median and what it
// adds over the pass-through floor, split into "ready" (workerd started: the scripts loaded and the wasm
// compiled — workerd compiles a CompiledWasm module while loading the Worker) and "first request" (for
// edge-auth: instantiation, the configuration compiled, the first verification, the assertion, the
// forward). Not a test. (Node 20 cannot compile the Worker's wasm by itself: wasm-bindgen's catch
// wrappers use the new exception-handling opcodes, which workerd's V8 has.)
//   [BASELINE_ROOT=DIR] node tests/worker/bench/coldstart.mjs ROOT JOSE_BUNDLE [ROUNDS]
import { statSync } from "node:fs";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { setup } from "./workers.mjs";

const [root, joseBundle] = process.argv.slice(2, 4);
const ROUNDS = Number(process.argv[4] ?? 9);
const fixture = await setup();
const token = await fixture.mint("alice");

const WORKERS = {
  "pass-through": () => fixture.passThrough(),
  // Answers at once, no subrequest: the first outbound fetch's own cost is pass-through − respond.
  respond: () => fixture.respond(),
  jose: () => fixture.jose(joseBundle),
  "edge-auth": () => fixture.edgeAuth(root),
  // The same Worker, split: no EDGE_AUTH (answers 503 at once: the wasm instantiated, nothing
  // compiled), and a request to an `auth = "none"` route (the configuration compiled, no verification).
  "edge-auth 503": () => fixture.edgeAuth(root, null),
  "edge-auth none": () => fixture.edgeAuth(root, { ...fixture.config, routes: [{ path: "/orders/*", auth: "none" }] }),
  // As "none", with an HS256 issuer and an HS256 assertion key: no EC or Ed25519 key to load (the point
  // checks, the two imports), so the difference to "none" is what those keys cost at start-up.
  "edge-auth none hs": () => {
    const options = fixture.edgeAuth(root, {
      issuers: [{ issuer: "https://hs.example/", audiences: ["https://api.example.com"], algorithms: ["HS256"], hmac_secret: "HS_SECRET" }],
      assertion: { ...fixture.config.assertion, signing_key_secret: "HS_SIGNING" },
      routes: [{ path: "/orders/*", auth: "none" }],
    });
    const k = Buffer.alloc(32, 7).toString("base64url");
    return { ...options, bindings: { ...options.bindings, HS_SECRET: "s".repeat(32), HS_SIGNING: JSON.stringify({ kty: "oct", k, alg: "HS256" }) } };
  },
};
// BASELINE_ROOT: another checkout's build (an older commit's build/), measured in the same run.
if (process.env.BASELINE_ROOT) WORKERS["edge-auth baseline"] = () => fixture.edgeAuth(process.env.BASELINE_ROOT);
const EXPECTED = { "edge-auth 503": 503 };

async function once(name) {
  const start = performance.now();
  const mf = new Miniflare(WORKERS[name]());
  try {
    const url = await mf.ready.catch((error) => {
      throw new Error(`${name}: workerd did not start`, { cause: error });
    });
    const ready = performance.now();
    const response = await fetch(new URL("/orders/1", url), { headers: { authorization: `Bearer ${token}` } });
    await response.arrayBuffer();
    const done = performance.now();
    if (response.status !== (EXPECTED[name] ?? 200)) throw new Error(`${name}: first request answered ${response.status}`);
    return { ready: ready - start, first: done - ready, total: done - start };
  } finally {
    // A start that failed rejects dispose too: the start's error (above) is the one to see.
    await mf.dispose().catch(() => {});
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
  console.log("worker            | ready  | first request | total  | added over pass-through (ready + first = total)");
  for (const name of names) {
    const m = Object.fromEntries(["ready", "first", "total"].map((k) => [k, median(samples[name].map((s) => s[k]))]));
    const add = (k) => (m[k] - base[k]).toFixed(1);
    console.log(`${name.padEnd(17)} | ${m.ready.toFixed(1).padStart(6)} | ${m.first.toFixed(1).padStart(13)} | ${m.total.toFixed(1).padStart(6)} | ${add("ready")} + ${add("first")} = ${add("total")}`);
  }
  const first = (name) => median(samples[name].map((s) => s.first));
  // The 503 path makes no subrequest, so it is set against `respond`; the `none` route forwards, so the
  // configuration's share is what `none` adds over the 503 path less the first fetch's own cost.
  const fetchCost = first("pass-through") - first("respond");
  console.log(`the first outbound fetch: ${fetchCost.toFixed(1)} ms (pass-through − respond)`);
  console.log(`edge-auth's first request, split: the first calls into the wasm and the 503 path ${(first("edge-auth 503") - first("respond")).toFixed(1)} ms, + configuration compiled ${(first("edge-auth none") - first("edge-auth 503") - fetchCost).toFixed(1)} ms (of which the ES256 issuer key and the EdDSA assertion key, against HS256 ones: ${(first("edge-auth none") - first("edge-auth none hs")).toFixed(1)} ms), + verification and assertion ${(first("edge-auth") - first("edge-auth none")).toFixed(1)} ms (differences of medians)`);
  console.log(`edge-auth's wasm: ${(wasmBytes / 1024).toFixed(0)} KiB (${root}/build/index_bg.wasm)`);
} finally {
  fixture.origin.close();
}
