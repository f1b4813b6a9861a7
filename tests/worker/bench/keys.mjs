// Benchmark (not a test): per-request latency of a first-sight ES256 request when the issuer's keys are
// (a) in the isolate's memory, (b) in the shared cache only (a fresh isolate over the same Cache API
// storage), (c) only at the provider (a fresh isolate: discovery + JWKS fetch from a loopback server),
// and (d) a fresh isolate with inline keys, the cold-start baseline that (b) and (c) also pay.
// Each sample is one request's wall time around dispatchFetch (miniflare's overhead is in all three);
// medians over SAMPLES fresh isolates, ratios to (a) from the same run.
//   node tests/worker/bench/keys.mjs [SAMPLES]      (scripts/bench-keys.sh builds the Worker first)
import { createServer } from "node:http";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { builtWorker } from "../built-worker.mjs";
import * as jose from "jose";

const SAMPLES = Number(process.argv[2] ?? 15);
const AUD = "https://api.example.com";
const { privateKey, publicKey } = await jose.generateKeyPair("ES256", { extractable: true });
const jwk = { ...(await jose.exportJWK(publicKey)), kid: "k1", alg: "ES256" };
let fetches = 0;
const provider = await new Promise((resolve) => {
  const s = createServer((req, res) => {
    fetches++;
    res.setHeader("content-type", "application/json");
    if (req.url === "/.well-known/openid-configuration") res.end(JSON.stringify({ issuer: ISS, jwks_uri: `${ISS}jwks` }));
    else { res.setHeader("cache-control", "max-age=3600"); res.end(JSON.stringify({ keys: [jwk] })); }
  });
  s.listen(0, "127.0.0.1", () => resolve(s));
});
const ISS = `http://127.0.0.1:${provider.address().port}/`;
const originServer = await new Promise((resolve) => {
  const s = createServer((req, res) => { req.resume(); req.on("end", () => res.end("ok")); });
  s.listen(0, "127.0.0.1", () => resolve(s));
});
const edge = await jose.exportJWK((await jose.generateKeyPair("EdDSA", { extractable: true })).privateKey);
const configOf = (source) => JSON.stringify({
  issuers: [{ issuer: ISS, audiences: [AUD], algorithms: ["ES256"], ...source }],
  assertion: { issuer: "https://edge.example.com", audience: "https://origin.example.com", signing_key_secret: "S" },
  // The provider stand-in is on loopback http: a switch for local benchmarks and tests only.
  remote_keys: { allow_loopback_http: true },
});
const remoteConfig = configOf({ discovery: true });
const inlineConfig = configOf({ jwks: { keys: [jwk] } });

function worker(cachePersist, config = remoteConfig) {
  return builtWorker(
    { EDGE_AUTH: config, S: JSON.stringify(edge), ORIGIN: `http://127.0.0.1:${originServer.address().port}` },
    { cachePersist },
  );
}

let n = 0;
const token = () => {
  const now = Math.floor(Date.now() / 1000);
  return new jose.SignJWT({ iss: ISS, aud: AUD, sub: "u", exp: now + 600, jti: `t${n++}` })
    .setProtectedHeader({ alg: "ES256", kid: "k1" }).sign(privateKey);
};

async function timed(mf) {
  const t = await token();
  const t0 = performance.now();
  const res = await mf.dispatchFetch("https://api.example.com/x", { headers: { authorization: `Bearer ${t}` } });
  await res.arrayBuffer();
  const ms = performance.now() - t0;
  if (res.status !== 200) throw new Error(`status ${res.status}`);
  return ms;
}

const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
const samples = { memory: [], shared: [], fetch: [], cold: [] };
const counts = { memory: 0, shared: 0, fetch: 0, cold: 0 };
for (let i = 0; i < SAMPLES; i++) {
  const dir = mkdtempSync(join(tmpdir(), "edge-auth-keys-bench-"));
  // (c) a fresh isolate over an empty shared cache: discovery + JWKS fetch, stored in the shared cache.
  const a = await worker(dir);
  let before = fetches;
  samples.fetch.push(await timed(a));
  counts.fetch += fetches - before;
  // (a) the same isolate again, keys in memory (a new token: first sight, no token-cache hit).
  await timed(a); // warm-up of this path
  before = fetches;
  samples.memory.push(await timed(a));
  counts.memory += fetches - before;
  await a.dispose();
  // (b) a fresh isolate over the same shared cache.
  const b = await worker(dir);
  before = fetches;
  samples.shared.push(await timed(b));
  counts.shared += fetches - before;
  await b.dispose();
  // (d) the baseline for (b) and (c): a fresh isolate's first request with inline keys (wasm start,
  // config compilation, key import), in the same run.
  const d = await worker(dir, inlineConfig);
  before = fetches;
  samples.cold.push(await timed(d));
  counts.cold += fetches - before;
  await d.dispose();
}
provider.close();
originServer.close();
const base = median(samples.memory);
console.log(`first-sight ES256 request through the Worker in workerd (miniflare), median of ${SAMPLES} fresh isolates:`);
for (const [name, label] of [["memory", "warm isolate, keys in memory"], ["cold", "fresh isolate, inline keys"], ["shared", "fresh isolate, shared cache"], ["fetch", "fresh isolate, fetched keys"]]) {
  const m = median(samples[name]);
  console.log(`  ${label.padEnd(32)} ${m.toFixed(2).padStart(7)} ms  ${(m / base).toFixed(2)}×  provider requests: ${counts[name]}`);
}
