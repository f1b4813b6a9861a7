// What the Worker benchmarks share (coldstart.mjs, throughput.mjs): a loopback origin, an ES256 issuer
// and an EdDSA assertion key, and the miniflare options of the three Workers compared — a pass-through
// Worker (the floor), the jose Worker (jose-worker.mjs, bundled by scripts/build-jose-worker.sh) and
// edge-auth (ROOT/build/) with the same issuer, keys and origin.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import * as jose from "jose";
import workerdPackage from "workerd";
import { COMPATIBILITY_FLAGS } from "../built-worker.mjs";

export const ISS = "https://idp.example.com/";
export const AUD = "https://api.example.com";

/// Every workerd these benchmarks start writes its standard output (the Workers' log lines) to
/// /dev/null: miniflare would pipe it to this Node process, which also runs the load generator and
/// the origin on the same two cores, so that reading edge-auth's decision lines took Node 50–75 µs per
/// request (`bash scripts/bench-cpu.sh`: Node's column) — a cost of this harness, not of the Worker,
/// whose own `console.log` (formatting the line and writing it) stays in workerd's time.
/// Standard error (errors) still reaches `handleRuntimeStdio` (cpu.mjs prints it; the others drain it).
let discarding = false;
export function discardWorkerdStdout() {
  // Once per process: a second wrapper would only wrap the first.
  if (discarding) return;
  discarding = true;
  // The package is CommonJS with `exports.default` = the binary's path; a MINIFLARE_WORKERD_PATH
  // already set (another workerd) is the one wrapped.
  const workerd = process.env.MINIFLARE_WORKERD_PATH ?? workerdPackage.default ?? workerdPackage;
  if (typeof workerd !== "string") throw new Error("the workerd package gave no binary path");
  const dir = mkdtempSync(join(tmpdir(), "edge-auth-bench-"));
  const wrapper = join(dir, "workerd");
  const quoted = `'${workerd.replaceAll("'", "'\\''")}'`;
  writeFileSync(wrapper, `#!/bin/sh\nexec ${quoted} "$@" >/dev/null\n`, { mode: 0o755 });
  process.env.MINIFLARE_WORKERD_PATH = wrapper;
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
}

/// Starts the origin on 127.0.0.1 (it answers `{"ok":true}` to anything) and makes the keys.
export async function setup() {
  discardWorkerdStdout();
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
  const mint = (sub) => new jose.SignJWT({ iss: ISS, aud: AUD, sub, iat: now, exp: now + 3600 })
    .setProtectedHeader({ alg: "ES256", kid: "k1" }).sign(idp.privateKey);
  const config = {
    issuers: [{ issuer: ISS, audiences: [AUD], algorithms: ["ES256"], jwks: { keys: [jwk] } }],
    assertion: { issuer: "https://edge.example", audience: "https://origin.example", signing_key_secret: "SIGNING" },
    // edge-auth's own floor (throughput.mjs): a request the gate plans and forwards, no token involved.
    routes: [{ path: "/public/*", auth: "none" }],
  };
  // Worker log lines are discarded (discardWorkerdStdout); whatever still arrives is drained, not
  // printed: it would swamp the tables.
  const drain = (stdout, stderr) => { stdout.resume(); stderr.resume(); };
  const common = { handleRuntimeStdio: drain, host: "127.0.0.1", port: 0, compatibilityDate: "2026-04-26" };
  /// `count` tokens minted now, each to be sent once (a Worker with a cache would count a second sending
  /// as a hit): `requests()` is autocannon's `requests` option putting the next one on every request;
  /// running out is an error, not a wrap-around.
  const freshTokens = async (count) => {
    const pool = [];
    for (let i = 0; i < count; i++) pool.push(await mint(`user-${i}`));
    let next = 0;
    return {
      requests: () => [{
        setupRequest: (request) => {
          if (next >= pool.length) throw new Error(`the pool of ${pool.length} fresh tokens ran out: raise its bound`);
          return { ...request, headers: { ...request.headers, authorization: `Bearer ${pool[next++]}` } };
        },
      }],
    };
  };
  return {
    origin, mint, config, freshTokens,
    passThrough: () => ({
      ...common, modules: true, bindings: { ORIGIN },
      script: `export default { async fetch(request, env) {
        const url = new URL(request.url);
        return fetch(env.ORIGIN + url.pathname + url.search, { method: request.method, headers: request.headers, body: request.body, redirect: "manual" });
      } };`,
    }),
    /// Answers without a subrequest: with pass-through, it splits the first outbound fetch's cost out of a
    /// first request (edge-auth's 503 path makes none).
    respond: () => ({
      ...common, modules: true,
      script: `export default { async fetch() { return new Response("ok"); } };`,
    }),
    /// `cached`: the jose Worker with its own verified-token cache (jose-worker.mjs, CACHE).
    jose: (bundle, cached = false) => ({
      ...common, modules: true, scriptPath: bundle,
      bindings: { ORIGIN, ISS, AUD, JWKS: JSON.stringify({ keys: [jwk] }), SIGNING, ...(cached ? { CACHE: "1" } : {}) },
    }),
    /// edge-auth from ROOT/build/ with `edgeAuthConfig` as EDGE_AUTH (none: the Worker answers 503).
    /// ROOT may be relative (BASELINE_ROOT=target/…): miniflare needs it absolute, or workerd fails to
    /// start ("can't use '..' to break out of starting directory").
    edgeAuth: (root, edgeAuthConfig = config) => ({
      ...common, compatibilityFlags: COMPATIBILITY_FLAGS, rootPath: resolve(root), modulesRoot: resolve(root),
      modules: [{ type: "ESModule", path: "build/index.js" }, { type: "CompiledWasm", path: "build/index_bg.wasm" }],
      bindings: { ORIGIN, SIGNING, ...(edgeAuthConfig ? { EDGE_AUTH: JSON.stringify(edgeAuthConfig) } : {}) },
    }),
  };
}
