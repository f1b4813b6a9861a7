// Throughput of the whole Worker (verify + assertion + forward) against a pass-through Worker that only
// forwards and a jose Worker doing the same job (jose-worker.mjs, bundled at JOSE_BUNDLE), all in workerd
// (miniflare listening on 127.0.0.1) in front of the same loopback origin, measured in the same run with
// autocannon: a repeated token (edge-auth's cache hit) and first sight (a new ES256 token on every
// request, from a pool minted beforehand), beside the jose Worker with a token cache of its own ("jose
// cached", the JS floor for a repeated token; it logs no line, so it compares with "edge-auth quiet"),
// the same edge-auth build signing its assertions with HS256 ("edge-auth HS256", and quiet: HMAC-SHA256 in
// Rust, no WebCrypto call), and, as a diagnostic, edge-auth's floor on an `auth = "none"`
// route (no token work). Bounded: DURATION seconds and CONNECTIONS connections each.
//   [BASELINE_ROOT=DIR] node tests/worker/bench/throughput.mjs ROOT DURATION CONNECTIONS JOSE_BUNDLE
// BASELINE_ROOT: another checkout's build/ (an older commit, or an experiment), measured in the same run
// as "baseline".
import { Miniflare } from "miniflare";
import autocannon from "autocannon";
import { setup } from "./workers.mjs";

const root = process.argv[2];
const DURATION = Number(process.argv[3] ?? 8), CONNECTIONS = Number(process.argv[4] ?? 16);
const joseBundle = process.argv[5];
const fixture = await setup();
const token = await fixture.mint("alice");
// Fresh tokens for every first-sight run, none ever sent twice (a Worker with a cache would count a
// second sending as a hit): at most 3000 requests a second (well above what this machine serves) for
// each of the first-sight runs (two per Worker: seven Workers, eight with a baseline). Running out is an
// error, not a wrap-around.
const FIRST_SIGHT_RUNS = 2 * (process.env.BASELINE_ROOT ? 8 : 7);
const POOL = FIRST_SIGHT_RUNS * DURATION * 3000;
const fresh = await fixture.freshTokens(POOL);

const edgeAuth = new Miniflare(fixture.edgeAuth(root));
// The same build with `decision_log = "refusals"`: what the per-decision log line costs.
const quiet = new Miniflare(fixture.edgeAuth(root, { ...fixture.config, decision_log: "refusals" }));
// The same build and configuration with an HS256 assertion key (a shared secret, as the kits accept):
// the assertion's signature is an HMAC in Rust instead of WebCrypto's Ed25519, so what is left is
// everything else the Worker does per request.
const hs256 = (options) => ({
  ...options,
  bindings: { ...options.bindings, SIGNING: JSON.stringify({ kty: "oct", k: Buffer.alloc(32, 9).toString("base64url"), alg: "HS256" }) },
});
const edgeAuthHs = new Miniflare(hs256(fixture.edgeAuth(root)));
const quietHs = new Miniflare(hs256(fixture.edgeAuth(root, { ...fixture.config, decision_log: "refusals" })));
const joseWorker = new Miniflare(fixture.jose(joseBundle));
// The jose Worker with a token cache of its own: a hand-written JS Worker's floor for a repeated token.
const joseCached = new Miniflare(fixture.jose(joseBundle, true));
const passThrough = new Miniflare(fixture.passThrough());
const baseline = process.env.BASELINE_ROOT ? new Miniflare(fixture.edgeAuth(process.env.BASELINE_ROOT)) : null;

async function load(url, headers, firstSight = false) {
  const options = { url, connections: CONNECTIONS, duration: DURATION, headers };
  if (firstSight) options.requests = fresh.requests();
  const result = await autocannon(options);
  if (result.non2xx || result.errors) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return result;
}

try {
  const [a, b, j] = [await edgeAuth.ready, await passThrough.ready, await joseWorker.ready];
  const z = baseline && await baseline.ready;
  const q = await quiet.ready;
  const c = await joseCached.ready;
  const [h, hq] = [await edgeAuthHs.ready, await quietHs.ready];
  const auth = { authorization: `Bearer ${token}` };
  // Warm every Worker, then measure in turns (pass-through, jose, jose cached, edge-auth, quiet, the two
  // HS256 ones, baseline), twice, for each token mode.
  await load(new URL("/warm", a).href, auth);
  await load(new URL("/warm", b).href, {});
  await load(new URL("/warm", j).href, auth);
  if (z) await load(new URL("/warm", z).href, auth);
  await load(new URL("/warm", q).href, auth);
  await load(new URL("/warm", c).href, auth);
  await load(new URL("/warm", h).href, auth);
  await load(new URL("/warm", hq).href, auth);
  const rows = [];
  for (const mode of ["repeated", "first sight"]) {
    for (let i = 0; i < 2; i++) {
      const firstSight = mode === "first sight";
      rows.push([mode, "pass-through", await load(new URL("/orders/1", b).href, auth, firstSight)]);
      rows.push([mode, "jose", await load(new URL("/orders/1", j).href, auth, firstSight)]);
      rows.push([mode, "jose cached", await load(new URL("/orders/1", c).href, auth, firstSight)]);
      rows.push([mode, "edge-auth", await load(new URL("/orders/1", a).href, auth, firstSight)]);
      rows.push([mode, "edge-auth quiet", await load(new URL("/orders/1", q).href, auth, firstSight)]);
      rows.push([mode, "edge-auth HS256", await load(new URL("/orders/1", h).href, auth, firstSight)]);
      rows.push([mode, "HS256 quiet", await load(new URL("/orders/1", hq).href, auth, firstSight)]);
      if (z) rows.push([mode, "baseline", await load(new URL("/orders/1", z).href, auth, firstSight)]);
    }
  }
  // Diagnostic: edge-auth on an `auth = "none"` route (plan and forward only; no verification, no
  // assertion) beside pass-through: what the Worker costs before any token work.
  for (let i = 0; i < 2; i++) {
    rows.push(["no token", "pass-through", await load(new URL("/public/1", b).href, {})]);
    rows.push(["no token", "edge-auth", await load(new URL("/public/1", a).href, {})]);
    if (z) rows.push(["no token", "baseline", await load(new URL("/public/1", z).href, {})]);
  }
  console.log(`loopback, autocannon ${CONNECTIONS} connections × ${DURATION} s, ES256 tokens: repeated (edge-auth's cache hit) and first sight (a new token per request)`);
  console.log("tokens      | worker          | req/s   | p50 ms | p99 ms");
  for (const [mode, name, r] of rows) {
    console.log(`${mode.padEnd(11)} | ${name.padEnd(15)} | ${String(Math.round(r.requests.average)).padStart(7)} | ${String(r.latency.p50).padStart(6)} | ${String(r.latency.p99).padStart(6)}`);
  }
  const avg = (mode, name) => rows.filter((r) => r[0] === mode && r[1] === name).reduce((s, r) => s + r[2].requests.average, 0) / 2;
  for (const mode of ["repeated", "first sight"]) {
    const pass = avg(mode, "pass-through");
    console.log(`${mode}: edge-auth / pass-through ${(avg(mode, "edge-auth") / pass).toFixed(2)}, jose / pass-through ${(avg(mode, "jose") / pass).toFixed(2)}, edge-auth / jose ${(avg(mode, "edge-auth") / avg(mode, "jose")).toFixed(2)}; with decision_log = "refusals" ("quiet"): / pass-through ${(avg(mode, "edge-auth quiet") / pass).toFixed(2)}, / jose ${(avg(mode, "edge-auth quiet") / avg(mode, "jose")).toFixed(2)}; jose cached / pass-through ${(avg(mode, "jose cached") / pass).toFixed(2)}, edge-auth quiet / jose cached ${(avg(mode, "edge-auth quiet") / avg(mode, "jose cached")).toFixed(2)}; HS256 assertions: / pass-through ${(avg(mode, "edge-auth HS256") / pass).toFixed(2)}, quiet ${(avg(mode, "HS256 quiet") / pass).toFixed(2)}`);
  }
  console.log(`no token (auth = "none" route): edge-auth / pass-through ${(avg("no token", "edge-auth") / avg("no token", "pass-through")).toFixed(2)}`);
  if (z) {
    for (const mode of ["repeated", "first sight", "no token"]) {
      console.log(`${mode}: edge-auth / baseline ${(avg(mode, "edge-auth") / avg(mode, "baseline")).toFixed(2)}`);
    }
  }
} finally {
  await edgeAuth.dispose();
  await passThrough.dispose();
  await joseWorker.dispose();
  await joseCached.dispose();
  await baseline?.dispose();
  await quiet.dispose();
  await edgeAuthHs.dispose();
  await quietHs.dispose();
  fixture.origin.close();
}
