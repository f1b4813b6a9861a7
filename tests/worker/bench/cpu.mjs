// CPU time per request (issue 11): where a request's cost lands, measured as processor time rather than
// as throughput (which swings with whatever else this shared machine runs). Each Worker runs in its own
// workerd process (miniflare on 127.0.0.1) in front of the same loopback origin; autocannon sends a
// fixed number of requests at fixed concurrency; the workerd process's time on a processor
// (/proc/PID/task/*/schedstat, every thread) over those requests, divided by their number, is the Worker's cost
// per request inside the runtime (its script, the runtime's HTTP in and out, the subrequest). The
// Node process (autocannon and the origin) is reported too: it is the same work for every Worker
// except what the Worker sends it. Rounds alternate between the Workers; medians and minima. Not a test.
// On this shared machine a round's time swings by a third: compare minima, and only differences far
// above that; bench-worker.sh's whole-handler line measures the Worker's own share inside the isolate.
// Run from the repository root (miniflare refuses module paths outside its working directory).
//   [ONLY=name,…] [VARIANTS=name=DIR,…] [BASELINE_ROOT=DIR] [FIRST_SIGHT=1] node tests/worker/bench/cpu.mjs ROOT JOSE_BUNDLE [REQUESTS] [ROUNDS]
// FIRST_SIGHT=1: every request that carries a token carries a new one (minted beforehand, each sent
// once; running out is an error), so the Workers verify every token: first sights, not cache hits.
import { readdirSync, readFileSync } from "node:fs";
import { Miniflare } from "miniflare";
import autocannon from "autocannon";
import { setup } from "./workers.mjs";

const [root, joseBundle] = process.argv.slice(2, 4);
const REQUESTS = Number(process.argv[4] ?? 1000);
const ROUNDS = Number(process.argv[5] ?? 15);
const CONNECTIONS = 8;
const fixture = await setup();
const token = await fixture.mint("alice");

function workerdPids() {
  const pids = new Set();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() === "workerd") pids.add(entry);
    } catch { /* gone */ }
  }
  return pids;
}

/// Time a process has spent on a processor, in µs: every thread's `/proc/PID/task/TID/schedstat`
/// (nanoseconds; finer than /proc/PID/stat's 10 ms ticks).
function cpuOf(pid) {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch { /* thread gone */ }
  }
  return ns / 1000;
}

const WORKERS = [
  ["pass-through", () => fixture.passThrough(), "/orders/1", {}],
  ["jose", () => fixture.jose(joseBundle), "/orders/1", { authorization: `Bearer ${token}` }],
  ["jose cached", () => fixture.jose(joseBundle, true), "/orders/1", { authorization: `Bearer ${token}` }],
  ["edge-auth", () => fixture.edgeAuth(root), "/orders/1", { authorization: `Bearer ${token}` }],
  ["edge-auth quiet", () => fixture.edgeAuth(root, { ...fixture.config, decision_log: "refusals" }), "/orders/1", { authorization: `Bearer ${token}` }],
  ["edge-auth none", () => fixture.edgeAuth(root), "/public/1", {}],
];
// VARIANTS="name=DIR,…": other builds (DIR/build/), e.g. a build/index.js with one import stubbed out.
for (const variant of (process.env.VARIANTS ?? "").split(",").filter(Boolean)) {
  const [name, dir] = variant.split("=");
  WORKERS.push([name, () => fixture.edgeAuth(dir), "/orders/1", { authorization: `Bearer ${token}` }]);
}
// The floor with one log line per request, as edge-auth writes: what console.log itself costs here.
WORKERS.push(["pass-through+log", () => ({ ...fixture.passThrough(), script: fixture.passThrough().script.replace("async fetch(request, env) {", "async fetch(request, env) { console.log(JSON.stringify({ cache: 'hit', decision: 'forward', event: 'decision', io_wait_ms: 0, issuer: 'https://idp.example.com/', keys: 'fresh', route: null, sub_hash: '0123456789abcdef' }));") }), "/orders/1", {}]);
// The floor written the way edge-auth forwards (a Headers copy, two deletes, a Request, an awaited fetch):
// what that shape of forwarding costs without any wasm.
WORKERS.push(["js as edge-auth", () => ({ ...fixture.passThrough(), script: `export default { async fetch(request, env) {
  const url = new URL(request.url);
  const headers = new Headers(request.headers);
  headers.delete("edge-auth-assertion");
  headers.delete("authorization");
  const outbound = new Request(env.ORIGIN + url.pathname + url.search, { method: request.method, headers, redirect: "manual" });
  return await fetch(outbound);
} };` }), "/orders/1", {}]);
if (process.env.BASELINE_ROOT) {
  WORKERS.push(["baseline", () => fixture.edgeAuth(process.env.BASELINE_ROOT), "/orders/1", { authorization: `Bearer ${token}` }]);
}

// FIRST_SIGHT=1: a pool of fresh tokens for every request with a token (warm-up included).
const firstSight = process.env.FIRST_SIGHT === "1";

// ONLY="name,…": measure only these (the first is the ÷ baseline).
const only = process.env.ONLY?.split(",");
if (only) {
  const chosen = only.map((name) => WORKERS.find((w) => w[0] === name) ?? (() => {
    throw new Error(`ONLY: no Worker named ${name} (${WORKERS.map((w) => w[0]).join(", ")})`);
  })());
  WORKERS.splice(0, WORKERS.length, ...chosen);
}
const started = [];
try {
  for (const [name, options, path, headers] of WORKERS) {
    const before = workerdPids();
    // Log lines drained (as in throughput.mjs); errors shown with the Worker's name.
    const mf = new Miniflare({ ...options(), handleRuntimeStdio: (o, e) => { o.resume(); e.on("data", (d) => process.stderr.write(`[${name}] ${d}`)); } });
    const url = await mf.ready;
    const pids = [...workerdPids()].filter((pid) => !before.has(pid));
    if (pids.length !== 1) throw new Error(`${name}: ${pids.length} new workerd processes`);
    started.push({ name, mf, pid: pids[0], url: new URL(path, url).href, headers, samples: [], node: [] });
  }
  // autocannon may send up to one request per connection beyond `amount`.
  const withToken = started.filter((w) => w.headers.authorization).length;
  const fresh = firstSight ? await fixture.freshTokens(withToken * (1000 + REQUESTS * ROUNDS + CONNECTIONS * (ROUNDS + 1))) : null;
  const run = (w, amount) => autocannon({
    url: w.url, headers: w.headers, connections: CONNECTIONS, amount,
    ...(fresh && w.headers.authorization ? { requests: fresh.requests() } : {}),
  });
  for (const w of started) await run(w, 1000); // warm: JIT, caches, connections
  for (let round = 0; round < ROUNDS; round++) {
    for (const w of started) {
      const cpu0 = cpuOf(w.pid);
      const node0 = process.cpuUsage();
      const result = await run(w, REQUESTS);
      const node = process.cpuUsage(node0);
      if (result.non2xx || result.errors) throw new Error(`${w.name}: ${result.non2xx} non-2xx, ${result.errors} errors`);
      w.samples.push((cpuOf(w.pid) - cpu0) / result.requests.total);
      w.node.push((node.user + node.system) / result.requests.total);
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const min = (xs) => Math.min(...xs);
  const pass = median(started[0].samples), passMin = min(started[0].samples);
  console.log(`CPU time per request${firstSight ? " (first sight: a new token on every request with one)" : ""}: ${REQUESTS} requests × ${ROUNDS} rounds, ${CONNECTIONS} connections, median and minimum over rounds (µs)`);
  console.log("worker           | workerd µs median (min) | ÷ pass-through | − pass-through (min − min) | node µs (client + origin)");
  for (const w of started) {
    const m = median(w.samples);
    console.log(`${w.name.padEnd(16)} | ${m.toFixed(0).padStart(10)} (${min(w.samples).toFixed(0).padStart(5)})${"".padStart(6)} | ${(m / pass).toFixed(2).padStart(14)} | ${(m - pass).toFixed(0).padStart(6)} (${(min(w.samples) - passMin).toFixed(0).padStart(5)})${"".padStart(13)} | ${median(w.node).toFixed(0).padStart(6)}`);
  }
} finally {
  for (const w of started) await w.mf.dispose();
  fixture.origin.close();
}
