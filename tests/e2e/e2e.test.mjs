// End to end, from a real OpenID provider through the built Worker to an origin app using a kit:
//   oidc-provider (client credentials, RFC 9068 JWT access tokens, ES256)
//     → the built Worker in workerd (miniflare; the issuer by discovery; an EdDSA assertion key;
//       forward_token, so the origin can check `ath`)
//     → the origin (tests/e2e/origins.mjs: the README's FastAPI example under uvicorn, every case; the
//       JS package's Hono origin and crates/origin's axum example, fewer).
// The plumbing (the edge's public URL, the recording tap before the origin, the origin process) is in
// harness.mjs. What the origin refuses is cross-checked against the core in Rust (`edge-auth
// verify-assertion`, the CLI of target/debug or EDGE_AUTH_BIN), which must give the same code.
// Run: bash scripts/setup-e2e.sh && node --test tests/e2e/   (after bash scripts/build-worker.sh)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { builtWorker, collectLogs, root } from "../worker/built-worker.mjs";
import { loopbackHttp } from "../worker/key-provider.mjs";
import { jose, oidcProvider, signingKey } from "../worker/oidc-provider.mjs";
import { edgeFront, tap, startOrigin, call, cliVerdict, JWKS_PATH } from "./harness.mjs";
import { origins } from "./origins.mjs";

/// The API's identifier at the provider (the access token's audience).
const API = "https://api.example.com";
/// The Worker's assertion issuer and audience (the origin pins both).
const EDGE_ISS = "https://edge.example.com";
const ORIGIN_AUD = "https://orders.origin.example";
const CLI = process.env.EDGE_AUTH_BIN ?? resolve(root, "target/debug/edge-auth");
/// The scenario's parts, in the order they run (each origin lists those it runs).
const CASES = ["allowed", "edge_refuses", "replay", "rotation", "forgeries", "jwks_down"];

let op, front, recorder, work;
const workers = [];
const edgeKeys = {};

before(async () => {
  work = mkdtempSync(join(tmpdir(), "edge-auth-e2e-"));
  op = await oidcProvider({ audience: API, scopes: ["orders:read", "orders:write"] });
  await op.start([await signingKey("idp-1")]);
  front = await edgeFront();
  recorder = await tap();
  for (const name of ["e1", "e2"]) {
    const jwk = await jose.exportJWK((await jose.generateKeyPair("EdDSA", { extractable: true })).privateKey);
    edgeKeys[name] = { jwk, kid: await jose.calculateJwkThumbprint(jwk) };
  }
});

after(async () => {
  for (const mf of workers) await mf.dispose();
  await front?.close();
  await recorder?.close();
  if (op?.listening) await op.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/// A Worker instance signing with `signing` (and publishing `previous` too, while rotating).
async function worker(signing, previous) {
  const config = {
    issuers: [{ issuer: op.iss, audiences: [API], algorithms: ["ES256"], discovery: true, typ: "at+jwt" }],
    forward_token: true,
    assertion: {
      issuer: EDGE_ISS, audience: ORIGIN_AUD, ttl_seconds: 60, signing_key_secret: "SIGNING",
      ...(previous ? { previous_signing_key_secret: "PREVIOUS" } : {}),
    },
    routes: [
      { path: "/orders", methods: ["GET", "HEAD"], scopes: ["orders:read"] },
      { path: "/orders/*", methods: ["GET", "HEAD"], scopes: ["orders:read"] },
      { path: "/orders", scopes: ["orders:write"] },
      { path: "/orders/*", scopes: ["orders:write"] },
      { path: "/admin", roles: ["admin"] },
      { path: "/admin/*", roles: ["admin"] },
    ],
    remote_keys: loopbackHttp,
  };
  const logs = [];
  const mf = await builtWorker({
    EDGE_AUTH: JSON.stringify(config), ORIGIN: recorder.url, SIGNING: JSON.stringify(edgeKeys[signing].jwk),
    ...(previous ? { PREVIOUS: JSON.stringify(edgeKeys[previous].jwk) } : {}),
  }, { handleRuntimeStdio: collectLogs(logs) });
  workers.push(mf);
  return mf;
}

function settings(overrides = {}) {
  return {
    jwksUrl: `${front.url}${JWKS_PATH}`, issuer: EDGE_ISS, audience: ORIGIN_AUD, publicUrl: front.url,
    jwksMinTtl: null, jwksErrorBackoff: null, ...overrides,
  };
}

const bearer = (token) => ({ authorization: `Bearer ${token}` });
const kidOf = (assertion) => jose.decodeProtectedHeader(assertion).kid;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/// What the core (the CLI) says about `assertion` for a request to the origin.
async function coreVerdict(assertion, { method, path, authorization }) {
  assert.ok(existsSync(CLI), `no ${CLI}: build it (cargo build -p edge-auth-cli) or set EDGE_AUTH_BIN`);
  const jwksFile = join(work, "edge-jwks.json");
  writeFileSync(jwksFile, (await call(`${front.url}${JWKS_PATH}`)).text);
  return cliVerdict(CLI, {
    jwksFile, issuer: EDGE_ISS, audience: ORIGIN_AUD, method, url: `${front.url}${path}`,
    accessToken: authorization?.replace(/^Bearer /, ""),
  }, assertion);
}

/// Sends a request straight to the origin (around the edge) and checks the refusal, or the 200, against
/// `expected` ("ok" or a code) and against the core's verdict on the same assertion.
async function direct(origin, { method = "GET", path, assertion, authorization }, expected) {
  const headers = {};
  if (assertion !== undefined) headers["edge-auth-assertion"] = assertion;
  if (authorization) headers.authorization = authorization;
  const res = await call(`${origin.url}${path}`, { method, headers });
  const what = `${method} ${path}: ${res.status} ${res.text.slice(0, 200)}`;
  if (expected === "ok") {
    assert.equal(res.status, 200, what);
  } else {
    assert.equal(res.status, 401, what);
    assert.equal(res.json?.code, expected, what);
    assert.match(res.headers.get("content-type") ?? "", /^application\/problem\+json/, what);
    const challenge = res.headers.get("www-authenticate") ?? "";
    assert.match(challenge, /^Bearer\b/, what);
    if (expected === "token_missing") assert.doesNotMatch(challenge, /error=/, `${what}: no error without a token (RFC 6750 §3.1)`);
    else assert.match(challenge, /error="invalid_token"/, what);
  }
  if (assertion) assert.equal(await coreVerdict(assertion, { method, path, authorization }), expected, `the core on ${what}`);
}

/// One request through the edge; returns it with the tap's records of what reached the origin ([] if nothing).
async function viaEdge(path, { method = "GET", token } = {}) {
  const seen = recorder.seen.length;
  const res = await call(`${front.url}${path}`, { method, headers: token ? bearer(token) : {} });
  return { res, forwarded: recorder.seen.slice(seen) };
}

test("the README's FastAPI example is examples/fastapi/app.py, the app this file runs", () => {
  const readme = readFileSync(resolve(root, "README.md"), "utf8");
  const section = readme.split("\n## Protecting your origin\n")[1]?.split("\n## ")[0] ?? "";
  // The second block: the first is the kit's short example (kits/python/tests/test_readme.py).
  const snippets = [...section.matchAll(/```python\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.equal(snippets.length, 2);
  assert.equal(snippets[1], readFileSync(resolve(root, "examples/fastapi/app.py"), "utf8"));
});

for (const spec of origins) {
  const ready = spec.command ? spec.available() : spec.pending;
  test(`end to end: oidc-provider → Worker → ${spec.name} origin (${spec.cases.join(", ")})`,
    { skip: ready === true ? false : ready, timeout: 120_000 }, async (t) => {
      const reader = await op.accessToken({ scope: "orders:read" });
      const writer = await op.accessToken({ scope: "orders:read orders:write" });
      const idp = jose.decodeJwt(reader);
      assert.equal(jose.decodeProtectedHeader(reader).typ, "at+jwt", "an RFC 9068 access token");
      assert.equal(idp.sub, op.clientId);
      assert.equal(idp.scope, "orders:read");

      front.deploy(await worker("e1"));
      const origin = await startOrigin(spec, settings());
      recorder.target = origin.port;
      t.after(() => origin.stop());
      const { read, other, write, admin } = spec.paths;
      let captured;   // what the Worker forwarded for the allowed GET of `read`

      const cases = {
        async allowed() {
          const { res, forwarded } = await viaEdge(read, { token: reader });
          assert.equal(res.status, 200, res.text);
          assert.deepEqual(spec.identity(res.json), { sub: idp.sub, issuer: op.iss, scopes: ["orders:read"] });
          assert.equal(forwarded.length, 1);
          captured = forwarded[0];
          assert.equal(kidOf(captured.assertion), edgeKeys.e1.kid);
          assert.equal(captured.authorization, `Bearer ${reader}`, "forward_token: the origin can check ath");
          if (write) {
            const written = await viaEdge(write, { method: "POST", token: writer });
            assert.equal(written.res.status, 200, written.res.text);
            assert.equal(spec.writer(written.res.json), idp.sub);
          }
        },

        async edge_refuses() {
          for (const [method, path, token, status, code] of [
            ["POST", read, reader, 403, "insufficient_scope"],   // the route needs orders:write
            ["GET", admin, writer, 403, "role_missing"],
            ["GET", read, undefined, 401, "token_missing"],
          ]) {
            const { res, forwarded } = await viaEdge(path, { method, token });
            assert.equal(res.status, status, `${method} ${path}: ${res.text}`);
            assert.equal(res.json?.code, code);
            assert.deepEqual(forwarded, [], `${method} ${path}: the origin was called`);
          }
        },

        async replay() {
          assert.ok(captured, "needs the allowed case");
          const { assertion, authorization } = captured;
          await direct(origin, { path: read, assertion, authorization }, "ok");   // control: the same request
          await direct(origin, { path: read, assertion }, "ok");                  // without the token: no ath
          await direct(origin, { path: other, assertion, authorization }, "binding_mismatch");
          await direct(origin, { path: admin, assertion, authorization }, "binding_mismatch");
          await direct(origin, { method: "POST", path: read, assertion, authorization }, "binding_mismatch");
          // The assertion with another caller's access token: ath.
          await direct(origin, { path: read, assertion, authorization: `Bearer ${writer}` }, "binding_mismatch");
        },

        async rotation() {
          // A deployment with the new key (the old one still published), then one without the old key,
          // switched between requests while others are in flight; the origin learns the new key through
          // its unknown-kid refetch. Every request must succeed.
          const [v2, v3] = [await worker("e2", "e1"), await worker("e2")];
          const jwksBefore = front.jwksRequests;
          const seenBefore = recorder.seen.length;
          const total = 90, lanes = 3, failures = [];
          let next = 0;
          await Promise.all(Array.from({ length: lanes }, async () => {
            while (next < total) {
              const i = next++;
              if (i === 30) front.deploy(v2);
              if (i === 60) front.deploy(v3);
              const res = await call(`${front.url}${read}`, { headers: { ...bearer(reader), "x-e2e-mark": `${i}` } });
              if (res.status !== 200 || spec.identity(res.json).sub !== idp.sub) {
                const where = recorder.seen.some((r) => r.mark === `${i}`) ? "the origin" : "the edge";
                failures.push(`#${i}: ${res.status} from ${where}: ${res.text.slice(0, 120)}`);
              }
            }
          }));
          assert.deepEqual(failures, []);
          const kids = recorder.seen.slice(seenBefore).map((r) => kidOf(r.assertion));
          assert.equal(kids.length, total);
          assert.ok(kids.includes(edgeKeys.e1.kid) && kids.includes(edgeKeys.e2.kid), "both keys signed");
          const refetches = front.jwksRequests - jwksBefore;
          assert.ok(refetches >= 1 && refetches <= 2, `the origin's JWKS fetches during the switch: ${refetches}`);
          const published = (await call(`${front.url}${JWKS_PATH}`)).json.keys.map((k) => k.kid);
          assert.deepEqual(published, [edgeKeys.e2.kid], "the last deployment publishes only the new key");
        },

        async forgeries(st) {
          const { res, forwarded } = await viaEdge(read, { token: reader });
          assert.equal(res.status, 200, res.text);
          const genuine = forwarded[0].assertion;
          const { kid } = jose.decodeProtectedHeader(genuine);
          const payload = jose.decodeJwt(genuine);
          const typ = "edge-auth+jwt";
          const b64 = (v) => Buffer.from(JSON.stringify(v)).toString("base64url");
          const stranger = await jose.generateKeyPair("EdDSA");
          const strangerKid = await jose.calculateJwkThumbprint(await jose.exportJWK(stranger.publicKey));
          const p256 = await jose.generateKeyPair("ES256");
          const publicJwk = (await call(`${front.url}${JWKS_PATH}`)).json.keys.find((k) => k.kid === kid);
          const sign = (header, key) => new jose.SignJWT(payload).setProtectedHeader(header).sign(key);
          const request = { path: read };
          await direct(origin, request, "token_missing");
          await direct(origin, { ...request, assertion: genuine }, "ok");   // control
          for (const [what, assertion, code] of [
            ["alg none", `${b64({ alg: "none", typ, kid })}.${b64(payload)}.`, "alg_not_allowed"],
            // HS256 keyed with the published public key (the classic key-confusion forgery).
            ["HS256 on the public key", await sign({ alg: "HS256", typ, kid }, new TextEncoder().encode(JSON.stringify(publicJwk))), "alg_not_allowed"],
            ["HS256 on the key's x", await sign({ alg: "HS256", typ, kid }, Buffer.from(publicJwk.x, "base64url")), "alg_not_allowed"],
            ["another key, the edge's kid", await sign({ alg: "EdDSA", typ, kid }, stranger.privateKey), "signature_invalid"],
            ["another key, no kid", await sign({ alg: "EdDSA", typ }, stranger.privateKey), "signature_invalid"],
            ["another key, embedded", await sign({ alg: "ES256", typ, jwk: await jose.exportJWK(p256.publicKey) }, p256.privateKey), "embedded_key_refused"],
            ["another key, its own kid", await sign({ alg: "EdDSA", typ, kid: strangerKid }, stranger.privateKey), "key_not_found"],
          ]) {
            await st.test(what, () => direct(origin, { ...request, assertion }, code));
          }
        },

        async jwks_down(st) {
          // The Worker's JWKS is down when the app starts: it starts, and answers 503 keys_unavailable
          // (never a 200 without keys); the endpoint comes back; it goes down again once the app's set is
          // stale (a 1 s freshness here): the cached keys keep serving, and the app did try to refetch.
          front.jwksDown = true;
          front.jwksMaxAge = 1;
          const cold = await startOrigin(spec, settings({ jwksMinTtl: 1, jwksErrorBackoff: 1 }));
          st.after(() => cold.stop());
          recorder.target = cold.port;
          try {
            const down = await viaEdge(read, { token: reader });
            assert.equal(down.forwarded.length, 1, "the Worker forwarded it: the origin answered");
            assert.equal(down.res.status, 503, down.res.text);
            assert.equal(down.res.json?.code, "keys_unavailable");
            assert.ok(Number(down.res.headers.get("retry-after")) >= 1);
            front.jwksDown = false;
            let res;
            for (let i = 0; i < 20; i++) {   // ≤ 5 s: the app's error backoff (1 s) must pass first
              res = (await viaEdge(read, { token: reader })).res;
              if (res.status === 200) break;
              await sleep(250);
            }
            assert.equal(res.status, 200, `after the JWKS came back: ${res.text}`);
            front.jwksDown = true;
            await sleep(1_500);   // past the set's freshness
            const tried = front.jwksRequests;
            for (let i = 0; i < 3; i++) {
              const stale = (await viaEdge(read, { token: reader })).res;
              assert.equal(stale.status, 200, `stale keys keep serving: ${stale.text}`);
            }
            assert.ok(front.jwksRequests > tried, "the app tried to refresh the stale set");
          } finally {
            front.jwksDown = false;
            front.jwksMaxAge = null;
            recorder.target = origin.port;
          }
        },
      };
      for (const name of CASES.filter((c) => spec.cases.includes(c))) {
        await t.test(name, { todo: spec.knownBugs?.[name] ?? false }, async (st) => {
          try {
            await cases[name](st);
          } catch (error) {
            error.message += `\n${spec.name}'s last log lines:\n${origin.logs.slice(-30).join("\n")}`;
            throw error;
          }
        });
      }
    });
}
