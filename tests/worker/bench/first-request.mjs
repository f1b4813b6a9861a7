// The first request of a fresh Worker, on a timeline (issue 11's cold start; not a test). workerd's
// clock advances during execution when run locally (1 ms resolution), so a wrapper module around the
// Worker (ROOT/build/) marks each call the wasm makes into the runtime that bounds a phase: the `env`
// reads (EDGE_AUTH when the configuration compiles, the signing key's secret, ORIGIN), WebCrypto's
// importKey/verify/sign (called and settled), getRandomValues, JSON.parse (a JWK on its way to
// importKey), console.log (called and returned), the outbound fetch (called and settled). Each mark
// is that call's median time since the request reached the Worker, over RUNS fresh instances; the
// second request of each instance (a cache hit) is shown as well. What runs between two marks is
// the wasm's own work: on a first request, mostly V8 compiling each function the first time it is
// called (workerd compiles wasm lazily, whatever the V8 flags say about eager compilation; see
// --trace-wasm-compilation-times in the stop notes), then running it unoptimized.
//   node tests/worker/bench/first-request.mjs ROOT [RUNS]   (default 9)
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Miniflare } from "miniflare";
import { numbered, printTimeline } from "./timeline.mjs";
import { setup } from "./workers.mjs";

const root = resolve(process.argv[2] ?? ".");
const RUNS = Number(process.argv[3] ?? 9);
const fixture = await setup();
const token = await fixture.mint("alice");

// The wrapper: marks go to an `x-timeline` response header (the Worker's own response is otherwise
// passed through untouched).
const WRAPPER = `
const events = [];
let start = 0;
const mark = (label) => events.push([label, performance.now() - start]);
const around = (owner, key, label) => {
  const original = owner[key];
  owner[key] = function (...args) {
    mark(label);
    const result = original.apply(this, args);
    if (result && typeof result.then === "function") result.then(() => mark(label + " settled"), () => mark(label + " rejected"));
    else if (label === "console.log") mark(label + " returned");
    return result;
  };
};
for (const key of ["importKey", "verify", "sign", "digest"]) around(SubtleCrypto.prototype, key, key);
around(Crypto.prototype, "getRandomValues", "getRandomValues");
around(JSON, "parse", "JSON.parse");
around(console, "log", "console.log");
around(globalThis, "fetch", "fetch");
const worker = (await import("./build/index.js")).default;
export default {
  async fetch(request, env, ctx) {
    events.length = 0;
    start = performance.now();
    const marked = new Proxy(env, { get: (target, key) => { mark("env." + String(key)); return Reflect.get(target, key); } });
    const response = await worker.fetch(request, marked, ctx);
    mark("response");
    const headers = new Headers(response.headers);
    headers.set("x-timeline", JSON.stringify(events));
    return new Response(response.body, { status: response.status, headers });
  },
};
`;

const dir = mkdtempSync(join(tmpdir(), "edge-auth-first-"));
const timelines = [[], []];
try {
  symlinkSync(join(root, "build"), join(dir, "build"));
  writeFileSync(join(dir, "wrapper.mjs"), WRAPPER);
  for (let run = 0; run < RUNS; run++) {
    const options = fixture.edgeAuth(root);
    const mf = new Miniflare({
      ...options, rootPath: dir, modulesRoot: dir,
      modules: [{ type: "ESModule", path: "wrapper.mjs" }, ...options.modules],
    });
    try {
      const url = await mf.ready;
      for (const timeline of timelines) {
        const response = await fetch(new URL("/orders/1", url), { headers: { authorization: `Bearer ${token}` } });
        await response.arrayBuffer();
        if (response.status !== 200) throw new Error(`answered ${response.status}`);
        timeline.push(numbered(JSON.parse(response.headers.get("x-timeline"))));
      }
    } finally {
      await mf.dispose();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
  fixture.origin.close();
}

for (const [i, runs] of timelines.entries()) {
  printTimeline(`${i === 0 ? "first" : "second"} request: median ms since it reached the Worker, ${RUNS} fresh instances (1 ms clock)`, runs, 1);
}
