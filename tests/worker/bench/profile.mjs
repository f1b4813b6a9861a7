// Where the Worker's time goes under load (not a test): V8's CPU profiler, through workerd's inspector,
// while autocannon drives one kind of request at edge-auth (ROOT/build/) in miniflare; prints the
// functions with the most self time, wasm and JS, and the share of time outside any function ("(program)",
// "(idle)", "(garbage collector)"). Bounded: DURATION seconds, CONNECTIONS connections.
//   [DECISION_LOG=refusals] node tests/worker/bench/profile.mjs ROOT MODE DURATION CONNECTIONS
// MODE: repeated | fresh (a new token on every request: first sights) | none (an `auth = "none"` route)
// under load; first | first-503: only the first request
// of a fresh instance (cold start: the first verification; the 503 answer without EDGE_AUTH), profiled
// at 10 µs. DECISION_LOG sets the configuration's decision_log.
// Build with names to read wasm frames: EDGE_AUTH_WASM_NAMES=1 bash scripts/build-worker.sh.
// INCLUSIVE=regex also prints the matching functions' inclusive share (with their callees); the last
// self line is every wasm function's self time together.
import { Miniflare } from "miniflare";
import autocannon from "autocannon";
import WebSocket from "ws";
import { setup } from "./workers.mjs";

const [root, mode = "repeated"] = process.argv.slice(2, 4);
const DURATION = Number(process.argv[4] ?? 5), CONNECTIONS = Number(process.argv[5] ?? 16);
const fixture = await setup();
const token = await fixture.mint("alice");
const INSPECTOR = 9300 + Math.floor(Math.random() * 500);
const config = process.env.DECISION_LOG ? { ...fixture.config, decision_log: process.env.DECISION_LOG } : fixture.config;
const cold = mode.startsWith("first");
const mf = new Miniflare({ ...fixture.edgeAuth(root, mode === "first-503" ? null : config), inspectorPort: INSPECTOR });

/// A minimal CDP client over the inspector's WebSocket.
async function cdp(url) {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => { ws.once("open", resolve); ws.once("error", reject); });
  let id = 0;
  const pending = new Map();
  ws.on("message", (data) => {
    const message = JSON.parse(data);
    if (message.id && pending.has(message.id)) {
      const { resolve, reject } = pending.get(message.id);
      pending.delete(message.id);
      if (message.error) reject(new Error(JSON.stringify(message.error)));
      else resolve(message.result);
    }
  });
  return {
    send: (method, params = {}) => new Promise((resolve, reject) => {
      id += 1;
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params }));
    }),
    close: () => ws.close(),
  };
}

try {
  const base = await mf.ready;
  // `fresh`: every request carries a token minted beforehand and sent once (a pool above what this
  // machine serves in the warm-up and the run).
  const requests = mode === "fresh" ? (await fixture.freshTokens((DURATION + 2) * 3000)).requests() : undefined;
  const path = mode === "none" ? "/public/1" : "/orders/1";
  const headers = mode === "none" ? {} : { authorization: `Bearer ${token}` };
  const run = cold
    ? async () => {
      const started = performance.now();
      const response = await fetch(new URL(path, base), { headers });
      await response.arrayBuffer();
      return { status: response.status, ms: performance.now() - started };
    }
    : () => autocannon({ url: new URL(path, base).href, connections: CONNECTIONS, duration: DURATION, headers, requests });
  if (!cold) await autocannon({ url: new URL(path, base).href, connections: CONNECTIONS, duration: 2, headers, requests });
  const targets = await (await fetch(`http://127.0.0.1:${INSPECTOR}/json`)).json();
  const target = targets.find((t) => t.webSocketDebuggerUrl) ?? targets[0];
  const client = await cdp(target.webSocketDebuggerUrl);
  await client.send("Profiler.enable");
  await client.send("Profiler.setSamplingInterval", { interval: cold ? 10 : 100 });
  await client.send("Profiler.start");
  const result = await run();
  const { profile } = await client.send("Profiler.stop");
  client.close();
  // Self time per node from the samples.
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const hits = new Map();
  for (const sample of profile.samples) hits.set(sample, (hits.get(sample) ?? 0) + 1);
  const self = new Map();
  let total = 0;
  for (const [nodeId, count] of hits) {
    const frame = byId.get(nodeId).callFrame;
    const where = frame.url ? `${frame.url.split("/").pop()}:${frame.lineNumber}` : "";
    const key = `${frame.functionName || "(anonymous)"} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + count);
    total += count;
  }
  // Inclusive time: a sample counts once for every distinct function on its stack.
  const parent = new Map();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
  const keyOf = (n) => {
    const frame = n.callFrame;
    const where = frame.url ? `${frame.url.split("/").pop()}:${frame.lineNumber}` : "";
    return `${frame.functionName || "(anonymous)"} ${where}`.trim();
  };
  const inclusive = new Map();
  let wasm = 0;
  for (const [nodeId, count] of hits) {
    const seen = new Set();
    if (byId.get(nodeId).callFrame.url.includes(".wasm")) wasm += count;
    for (let id = nodeId; id !== undefined; id = parent.get(id)) seen.add(keyOf(byId.get(id)));
    for (const key of seen) inclusive.set(key, (inclusive.get(key) ?? 0) + count);
  }
  const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 30);
  console.log(cold
    ? `profile: mode ${mode}, answered ${result.status} in ${result.ms.toFixed(1)} ms, ${total} samples (10 µs)`
    : `profile: mode ${mode}, ${Math.round(result.requests.average)} req/s, ${total} samples (100 µs)`);
  console.log("self %  | function");
  for (const [key, count] of top) console.log(`${(100 * count / total).toFixed(1).padStart(6)}  | ${key}`);
  console.log(`${(100 * wasm / total).toFixed(1).padStart(6)}  | all wasm functions, self`);
  // INCLUSIVE=regex: the functions (with their callees) whose names match, as a share of all samples.
  if (process.env.INCLUSIVE) {
    const pattern = new RegExp(process.env.INCLUSIVE);
    const matching = [...inclusive].filter(([key]) => pattern.test(key)).sort((a, b) => b[1] - a[1]).slice(0, 40);
    console.log("incl %  | function (with its callees)");
    for (const [key, count] of matching) console.log(`${(100 * count / total).toFixed(1).padStart(6)}  | ${key}`);
  }
} finally {
  await mf.dispose();
  fixture.origin.close();
}
