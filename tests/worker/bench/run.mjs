// Drives the workerd benchmark: makes keys and tokens with jose, starts the harness in workerd through
// miniflare, and prints per-algorithm figures (µs per call, medians of rounds) with ratios to jose.
import { Miniflare } from "miniflare";
import * as jose from "jose";
import { discardWorkerdStdout } from "./workers.mjs";
import { COMPATIBILITY_FLAGS } from "../built-worker.mjs";

const [dir, nArg, roundsArg] = process.argv.slice(2);
const N = Number(nArg ?? 2000), ROUNDS = Number(roundsArg ?? 3);
const ISS = "https://idp.example.com/", HS_ISS = "https://hs.example.com/", AUD = "https://api.example.com";
const SECRET = "a-shared-hmac-secret-of-at-least-32-bytes!";
// BENCH_ALGS="EdDSA,…": only these (default: all).
const ALGS = process.env.BENCH_ALGS?.split(",") ?? ["HS256", "RS256", "PS256", "ES256", "ES384", "ES512", "EdDSA"];

const now = Math.floor(Date.now() / 1000);
let counter = 0;
const cases = [], issuerKeys = [];
for (const alg of ALGS) {
  let sign, jwk;
  if (alg === "HS256") {
    const k = new TextEncoder().encode(SECRET);
    sign = (claims) => new jose.SignJWT({ ...claims, iss: HS_ISS }).setProtectedHeader({ alg }).sign(k);
  } else {
    const { privateKey, publicKey } = await jose.generateKeyPair(alg, { extractable: true });
    jwk = { ...(await jose.exportJWK(publicKey)), alg, kid: `k-${alg}` };
    issuerKeys.push(jwk);
    sign = (claims) => new jose.SignJWT({ ...claims, iss: ISS }).setProtectedHeader({ alg, kid: jwk.kid }).sign(privateKey);
  }
  // A realistic access token; every token is distinct (jti), so "first sight" never hits the cache.
  const mint = () => sign({ aud: AUD, sub: "248289761001", scope: "openid profile orders:read", roles: ["customer"],
    iat: now, exp: now + 3600, jti: `t${counter++}` });
  const many = async () => Promise.all(Array.from({ length: N }, mint));
  const roundsOf = async () => { const r = []; for (let i = 0; i < ROUNDS; i++) r.push(await many()); return r; };
  cases.push({ alg, jwk, secret: SECRET, warmup: await mint(), repeated: await mint(),
    rounds: await roundsOf(), taskRounds: await roundsOf(), requestRounds: await roundsOf() });
}
const edge = await jose.generateKeyPair("EdDSA", { extractable: true });
const config = {
  issuers: [
    { issuer: ISS, audiences: [AUD], algorithms: ALGS.filter((a) => a !== "HS256"), jwks: { keys: issuerKeys } },
    { issuer: HS_ISS, audiences: [AUD], algorithms: ["HS256"], hmac_secret: "HMAC" },
  ],
  assertion: { issuer: "https://edge.example", audience: "https://origin.example", signing_key_secret: "SIGNING" },
  cache: { max_entries: 100000, max_ttl_seconds: 3600 },
  // Revocation on for both issuers, its state cached in the isolate (REVOCATION_RECORDS records of each kind,
  // none matching): the request path includes the check, and the check is also timed alone.
  revocation: { issuers: [ISS, HS_ISS], cache_seconds: 300, max_token_lifetime_seconds: 7200 },
};
const REVOCATION_RECORDS = Number(process.env.REVOCATION_RECORDS ?? 1000), REVOCATION_CHECKS = 100000;
// The fetch handler's own configuration (timed whole, with the origin stubbed): the same issuers, no
// revocation (its state would need a Durable Object), an `auth = "none"` route, the default decision log.
const handlerConfig = { issuers: config.issuers, assertion: config.assertion, cache: config.cache, routes: [{ path: "/public/*", auth: "none" }] };
// ASSERTION_ALG=HS256: the assertion signed with a shared secret (HMAC-SHA256 in Rust, no await) instead of
// the default EdDSA key: the request path's other floor.
const signingJwk = process.env.ASSERTION_ALG === "HS256"
  ? { kty: "oct", k: Buffer.alloc(32, 9).toString("base64url"), alg: "HS256" }
  : await jose.exportJWK(edge.privateKey);
const secrets = { SIGNING: JSON.stringify(signingJwk), HMAC: SECRET };

discardWorkerdStdout();
const mf = new Miniflare({
  rootPath: dir,
  modules: [
    { type: "ESModule", path: "harness.js" },
    { type: "ESModule", path: "index.js" },
    { type: "CompiledWasm", path: "index_bg.wasm" },
  ],
  compatibilityDate: "2026-04-26",
  compatibilityFlags: COMPATIBILITY_FLAGS,
  // The handler's decision lines (one per timed request) go to /dev/null (discardWorkerdStdout, as in
  // the other Worker benchmarks): drained by this process through a pipe, each console.log could wait
  // on the reader. Errors still show.
  handleRuntimeStdio: (stdout, stderr) => { stdout.resume(); stderr.pipe(process.stderr); },
});
try {
  for (const issuerCase of cases) issuerCase.issuer = issuerCase.alg === "HS256" ? HS_ISS : ISS;
  const results = [];
  for (const c of cases) {
    const res = await mf.dispatchFetch("http://bench/run", { method: "POST",
      body: JSON.stringify({ config, secrets, issuer: c.issuer, audience: AUD, cases: [c], rounds: ROUNDS,
        revocationRecords: REVOCATION_RECORDS, revocationChecks: REVOCATION_CHECKS, handlerConfig }) });
    if (res.status !== 200) throw new Error(await res.text());
    results.push(...(await res.json()));
  }
  const f = (x) => x.toFixed(1).padStart(8);
  console.log(`workerd (miniflare ${process.env.npm_package_version ?? ""}), ${N} tokens × ${ROUNDS} rounds per case, µs per call (median of rounds); assertions signed with ${process.env.ASSERTION_ALG === "HS256" ? "HS256" : "EdDSA"}`);
  console.log("alg     |  jose jwtVerify | edge-auth first sight, one call per token (× jose) | first sight inside one Rust task (× jose) | repeated token | request path first / repeated");
  for (const r of results) {
    console.log(`   probes: subtle alone ${f(r.subtle ?? 0)} | begin ${f(r.begin)} | async noop ${f(r.noop)} | await resolved ${f(r.awaited)} | light ${f(r.light)} | abort watch ${f(r.abort_watch)}`);
    console.log(`${r.alg.padEnd(7)} | ${f(r.jose)}       | ${f(r.first)} (${(r.first / r.jose).toFixed(2)}×) | ${f(r.in_task)} (${(r.in_task / r.jose).toFixed(2)}×) | ${f(r.repeated)}       | ${f(r.request_first)} / ${f(r.request_repeated)}`);
    const d = (k) => (r[`phase${k}`] - (k ? r[`phase${k - 1}`] : 0)).toFixed(1);
    console.log(`   repeated token's request path in one Rust task, ${f(r.phase5)} µs: plan ${d(0)} | verify (cache hit) ${d(1)} | revocation + authorize ${d(2)} | jti + assertion input ${d(3)} | sign ${d(4)} | forward ${d(5)}`);
    console.log(`   assertion parts: getrandom ${f(r.part0)} | ath ${f(r.part1)} | htu ${f(r.part2)} | whole input ${f(r.part3)}`);
    console.log(`   whole fetch handler, origin stubbed in the isolate: pass-through Worker ${f(r.pass_through)} | the same with edge-auth's forwarding calls ${f(r.shaped)} | edge-auth auth = "none" route ${f(r.handler_none)} (through worker-build's own entrypoint class ${f(r.shim_none)}) | edge-auth repeated token ${f(r.handler_repeated)} (− pass-through ${f(r.handler_repeated - r.pass_through)}; through worker-build's own entrypoint class ${f(r.shim_repeated)}; with console.log stubbed out ${f(r.handler_repeated_unlogged)})`);
    console.log(`   revocation check (state cached in the isolate, ${REVOCATION_RECORDS} records of each kind, ${REVOCATION_CHECKS} checks in one task): ${r.revocation.toFixed(3)} µs per request (budget ≤ 1 µs; a verified-token cache hit in the same loop: ${r.cache_hit_loop.toFixed(3)} µs)`);
  }
} finally {
  await mf.dispose();
}
