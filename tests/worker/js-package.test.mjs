// The npm package (js/, built by scripts/build-js.sh) inside a JS Cloudflare Worker in workerd (miniflare):
// a Worker module of our own imports the package's Workers entry, `js/workers.js`, which imports the wasm as
// a module (CompiledWasm) and instantiates it synchronously, and answers every request through
// `createGate` + `withEdgeAuth` with a handler that echoes what it received. The route-policy table
// (tests/policy/cases.json) runs through it and is checked as tests/worker/policy.test.mjs checks the Rust
// Worker: status and code, the forwarded path and headers, no credentials for the origin, exactly one
// assertion that verifies with jose against the JWKS the gate serves; and the remote-key rules run in
// workerd against a loopback provider (concurrent first sights share one fetch; a stalled body is
// keys_unavailable within the deadline, with Retry-After).
// Run: bash scripts/build-js.sh && node --test tests/worker/js-package.test.mjs
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { Miniflare } from "miniflare";
import * as jose from "jose";
import { root } from "./built-worker.mjs";
import { keyProvider, within } from "./key-provider.mjs";

const table = JSON.parse(readFileSync(new URL("../policy/cases.json", import.meta.url), "utf8"));
const AUD = "https://api.example.com";
const EDGE = "https://edge.example.com";
const ORIGIN_AUD = "https://origin.example.com";
const ASSERTION = "edge-auth-assertion";

/// The test Worker: the package's Workers entry, one gate per isolate, a handler that echoes the request.
const WORKER = `
import { createGate, withEdgeAuth } from "../../js/workers.js";

let app;
function build(env) {
  const secrets = { SIGNING: env.SIGNING };
  return createGate(env.EDGE_AUTH, { secrets }).then((gate) =>
    withEdgeAuth(gate, async (request, identity) =>
      Response.json(
        { url: request.url, method: request.method, headers: [...request.headers], identity,
          body: request.body ? await request.text() : null },
        // The edge owns CORS (a cors section): this header must never reach the caller.
        { headers: { "access-control-allow-origin": "*", "x-handler": "yes" } })));
}

export default {
  async fetch(request, env, ctx) {
    app ??= build(env);
    return (await app)(request, env, ctx);
  },
};
`;

/// Every file of the built package a Worker loads: the entry, the API, the wasm-bindgen glue and snippets
/// (ES modules), and the wasm (a compiled module).
function packageModules() {
  const js = resolve(root, "js");
  const files = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else files.push(path);
    }
  };
  walk(join(js, "pkg"));
  // The package's own modules: workers.js and what it imports, followed through relative imports (so a
  // new module of the package cannot be left out).
  const own = [];
  const follow = (path) => {
    if (own.includes(path) || path.startsWith(join(js, "pkg"))) return;
    own.push(path);
    for (const [, spec] of readFileSync(path, "utf8").matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"(\.\.?\/[^"]+\.js)"/gms)) {
      follow(resolve(dirname(path), spec));
    }
  };
  follow(join(js, "workers.js"));
  return [
    ...own.map((path) => ({ type: "ESModule", path })),
    ...files.filter((f) => f.endsWith(".js")).map((path) => ({ type: "ESModule", path })),
    ...files.filter((f) => f.endsWith(".wasm")).map((path) => ({ type: "CompiledWasm", path })),
  ];
}

async function jsWorker(bindings) {
  const mf = new Miniflare({
    rootPath: root,
    modulesRoot: root,
    modules: [
      // The entry first; it imports ../../js/workers.js.
      { type: "ESModule", path: resolve(root, "tests/worker/js-package-worker.mjs"), contents: WORKER },
      ...packageModules(),
    ],
    compatibilityDate: "2026-04-26",
    bindings,
  });
  await mf.ready;
  return mf;
}

let mf, keys, edgeJwks;

before(async () => {
  assert.ok(existsSync(resolve(root, "js/pkg/edge_auth_wasm_bg.wasm")), "js/pkg is not built: run bash scripts/build-js.sh");
  const config = structuredClone(table.config);
  keys = {};
  for (const issuer of config.issuers) {
    const { privateKey, publicKey } = await jose.generateKeyPair("ES256", { extractable: true });
    keys[issuer.issuer] = privateKey;
    issuer.algorithms = ["ES256"];
    issuer.jwks = { keys: [await jose.exportJWK(publicKey)] };
  }
  config.assertion = { issuer: EDGE, audience: ORIGIN_AUD, signing_key_secret: "SIGNING" };
  const edge = await jose.generateKeyPair("EdDSA", { extractable: true });
  mf = await jsWorker({ EDGE_AUTH: JSON.stringify(config), SIGNING: JSON.stringify(await jose.exportJWK(edge.privateKey)) });
  const res = await mf.dispatchFetch("https://api.example.com/.well-known/edge-auth/jwks.json");
  assert.equal(res.status, 200, "the gate serves its JWKS");
  assert.equal(res.headers.get("content-type"), "application/jwk-set+json");
  edgeJwks = jose.createLocalJWKSet(await res.json());
});

after(async () => {
  await mf?.dispose();
});

async function mint(spec) {
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: spec.issuer, aud: AUD, sub: "user-1", iat: now, exp: now + 3600, ...spec.claims };
  if (claims.exp < 0) claims.exp = now + claims.exp;
  return new jose.SignJWT(claims).setProtectedHeader({ alg: "ES256" }).sign(keys[spec.issuer]);
}

async function send(c, token) {
  const headers = { ...(c.request.headers ?? {}) };
  if (token) {
    if (c.token.in === "cookie") headers.cookie = headers.cookie ? `${headers.cookie}; at=${token}` : `at=${token}`;
    else headers.authorization = `Bearer ${token}`;
  }
  return mf.dispatchFetch(c.request.url, { method: c.request.method ?? "GET", headers, redirect: "manual" });
}

/// What is wrong with the JS Worker's answer to one table case (empty: nothing).
async function check(c, token, res) {
  const wrong = [];
  const e = c.expect;
  const text = await res.text();
  if (res.status !== e.status) return [`status ${res.status} ${text.slice(0, 200)}`];
  if (e.status === 200) {
    const echo = JSON.parse(text);
    const got = new Map(echo.headers);
    const url = new URL(echo.url);
    if (e.path && url.pathname + url.search !== e.path) wrong.push(`forwarded to ${url.pathname}${url.search}`);
    if (res.headers.get("x-handler") !== "yes") wrong.push("not the handler's answer");
    if (res.headers.get("access-control-allow-origin") === "*") wrong.push("the handler's Access-Control-Allow-Origin: * reached the caller");
    if (!c.token) {
      if (got.has(ASSERTION)) wrong.push("an anonymous forward carries an assertion");
      if (echo.identity !== null) wrong.push(`an anonymous forward has an identity: ${JSON.stringify(echo.identity)}`);
    } else {
      if (got.has("authorization")) wrong.push("Authorization reached the handler");
      if ((got.get("cookie") ?? "").includes(token)) wrong.push("the token reached the handler in a cookie");
      const assertion = got.get(ASSERTION);
      if (!assertion || assertion.includes(",")) wrong.push(`assertion header: ${JSON.stringify(assertion)}`);
      else {
        try {
          const { payload } = await jose.jwtVerify(assertion, edgeJwks, { issuer: EDGE, audience: ORIGIN_AUD, typ: "edge-auth+jwt" });
          const publicUrl = new URL(c.request.url);
          const expected = { sub: c.token.claims.sub ?? "user-1", src_iss: c.token.issuer, htm: c.request.method ?? "GET",
            htu: `${publicUrl.origin}${(e.path ?? publicUrl.pathname).split("?")[0]}` };
          for (const [claim, value] of Object.entries(expected)) {
            if (payload[claim] !== value) wrong.push(`assertion ${claim} ${JSON.stringify(payload[claim])}, expected ${JSON.stringify(value)}`);
          }
        } catch (error) {
          wrong.push(`the assertion does not verify with jose: ${error.code ?? error.message}`);
        }
      }
      if (echo.identity?.claims?.sub !== (c.token.claims.sub ?? "user-1")) wrong.push(`identity ${JSON.stringify(echo.identity)}`);
      if (echo.identity?.issuer !== c.token.issuer) wrong.push(`identity.issuer ${echo.identity?.issuer}`);
    }
    for (const [name, value] of Object.entries(e.forwarded_headers ?? {})) {
      const actual = got.get(name) ?? null;
      if (actual !== value) wrong.push(`forwarded ${name}: ${JSON.stringify(actual)}, expected ${JSON.stringify(value)}`);
    }
  } else if (e.code && e.status !== 204) {
    let body = {};
    try {
      body = JSON.parse(text);
    } catch {
      wrong.push(`body is not JSON: ${text.slice(0, 100)}`);
    }
    if (body.code !== e.code) wrong.push(`code ${body.code}`);
    if (res.headers.get("content-type") !== "application/problem+json") wrong.push(`content-type ${res.headers.get("content-type")}`);
  }
  if (e.scope) {
    const scope = /scope="([^"]*)"/.exec(res.headers.get("www-authenticate") ?? "")?.[1];
    if (scope !== e.scope) wrong.push(`scope ${scope}`);
  }
  for (const [name, value] of Object.entries(e.headers ?? {})) {
    if (res.headers.get(name) !== value) wrong.push(`header ${name}: ${res.headers.get(name)}`);
  }
  if (e.status === 401 && !res.headers.get("www-authenticate")) wrong.push("a 401 without WWW-Authenticate");
  return wrong;
}

test("JS Worker: no token is 401, a valid token is forwarded with an assertion, a missing scope is 403", async () => {
  const byName = (name) => table.cases.find((c) => c.name === name);
  // 401 without a token: the gate's challenge and problem body, never the handler.
  const missing = await send(byName("default rule requires a token"));
  assert.equal(missing.status, 401);
  assert.equal(missing.headers.get("www-authenticate"), 'Bearer realm="edge-auth"');
  assert.equal(missing.headers.get("x-handler"), null, "the handler is not called");
  assert.equal((await missing.json()).code, "token_missing");
  // Forwarded with a valid token.
  const okCase = byName("Okta scp array grants orders:read");
  const token = await mint(okCase.token);
  const ok = await send(okCase, token);
  assert.deepEqual(await check(okCase, token, ok), []);
  // 403 for a missing scope.
  const scopeCase = byName("Okta: the scope string claim is not read for this issuer");
  const denied = await send(scopeCase, await mint(scopeCase.token));
  assert.equal(denied.status, 403);
  assert.match(denied.headers.get("www-authenticate"), /error="insufficient_scope".*scope="orders:read"/);
  assert.equal((await denied.json()).code, "insufficient_scope");
});

test(`JS Worker: the policy table (${table.cases.length} cases) agrees with the Rust Worker`, async () => {
  const failures = [];
  let verified = 0;
  for (const c of table.cases) {
    const token = c.token ? await mint(c.token) : undefined;
    const wrong = await check(c, token, await send(c, token));
    if (wrong.length) failures.push(`${c.name}: ${wrong.join(", ")}`);
    if (c.token && c.expect.status === 200) verified += 1;
  }
  assert.deepEqual(failures, [], "cases where the JS Worker disagrees with the table");
  assert.equal(table.cases.length, 75);
  assert.ok(verified >= 25, `only ${verified} verified forwards`);
});

test("JS Worker: a request body reaches the handler with its method", async () => {
  const token = await mint({ issuer: "https://keycloak.example/realms/main", claims: { scope: "orders:read orders:write" } });
  const res = await mf.dispatchFetch("https://api.example.com/orders/9", {
    method: "PUT", body: "the body", headers: { authorization: `Bearer ${token}`, "content-type": "text/plain" },
  });
  assert.equal(res.status, 200);
  const echo = await res.json();
  assert.equal(echo.method, "PUT");
  assert.equal(echo.body, "the body");
});

test("JS Worker: remote keys in workerd — one fetch for concurrent first sights; a stalled body is keys_unavailable", async () => {
  const provider = await keyProvider();
  let remote;
  try {
    const { privateKey, publicKey } = await jose.generateKeyPair("ES256", { extractable: true });
    provider.keys = [{ kid: "k1", jwk: { ...(await jose.exportJWK(publicKey)), kid: "k1", alg: "ES256" } }];
    provider.delayMs = 100;
    const edge = await jose.generateKeyPair("EdDSA", { extractable: true });
    const config = {
      issuers: [{ issuer: provider.iss, audiences: [AUD], algorithms: ["ES256"], discovery: true }],
      assertion: { issuer: EDGE, audience: ORIGIN_AUD, signing_key_secret: "SIGNING" },
      remote_keys: { allow_loopback_http: true, timeout_ms: 500, error_backoff_seconds: 1 },
    };
    remote = await jsWorker({ EDGE_AUTH: JSON.stringify(config), SIGNING: JSON.stringify(await jose.exportJWK(edge.privateKey)) });
    const now = Math.floor(Date.now() / 1000);
    const tokens = await Promise.all(Array.from({ length: 8 }, (_, i) =>
      new jose.SignJWT({ iss: provider.iss, aud: AUD, sub: `user-${i}`, iat: now, exp: now + 600 })
        .setProtectedHeader({ alg: "ES256", kid: "k1" }).sign(privateKey)));
    // The first request compiles the gate; then eight concurrent requests with a cold key set.
    assert.equal((await remote.dispatchFetch("https://api.example.com/x")).status, 401);
    const answers = await within(20_000, Promise.all(tokens.map((t) =>
      remote.dispatchFetch("https://api.example.com/x", { headers: { authorization: `Bearer ${t}` } }))), "concurrent first sights");
    assert.deepEqual(answers.map((r) => r.status), tokens.map(() => 200), "all forwarded");
    for (const r of answers) await r.arrayBuffer();
    assert.deepEqual(provider.counts, { discovery: 1, jwks: 1 }, "one discovery and one JWKS fetch for eight requests");

    // A provider whose body stalls: a cold verifier (another isolate) answers 503 keys_unavailable within
    // the fetch timeout, with Retry-After, instead of hanging.
    await remote.dispose();
    remote = await jsWorker({ EDGE_AUTH: JSON.stringify(config), SIGNING: JSON.stringify(await jose.exportJWK(edge.privateKey)) });
    provider.delayMs = 0;
    provider.mode = "stall-body";
    provider.faultOn = "jwks";
    const started = Date.now();
    const stalled = await within(10_000, remote.dispatchFetch("https://api.example.com/x", { headers: { authorization: `Bearer ${tokens[0]}` } }), "stalled provider");
    assert.equal(stalled.status, 503);
    assert.equal((await stalled.json()).code, "keys_unavailable");
    assert.ok(Number(stalled.headers.get("retry-after")) >= 1, "Retry-After");
    assert.ok(Date.now() - started < 5_000, `answered in ${Date.now() - started} ms`);
  } finally {
    await remote?.dispose();
    await provider.close();
  }
});
