// The route-policy table (tests/policy/cases.json) against the built Worker inside workerd (miniflare),
// with a real origin on 127.0.0.1 recording what it receives (method, URL, every header line). The same
// table runs against the gate in Rust (tests/policy.rs). Tokens are minted with jose (ES256), one key per
// issuer. Beyond the table's expectations, every forward is checked here: a verified one reaches the origin
// without `Authorization` and without the token cookie, with exactly one assertion header that verifies
// (jose, against the Worker's JWKS) for the token's subject and issuer, bound to the method and URL; an
// anonymous one carries no assertion. Every refusal of a token is sent twice: the second answer must be the
// same (for tokens that verified, the second one comes from the verified-token cache).
// Run: bash scripts/build-worker.sh && node --test tests/worker/
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { builtWorker, collectLogs } from "./built-worker.mjs";
import { cookieNames, decisions, rawValues, recordingOrigin, waitFor } from "./raw-http.mjs";
import * as jose from "jose";

const table = JSON.parse(readFileSync(new URL("../policy/cases.json", import.meta.url), "utf8"));
const AUD = "https://api.example.com";
const EDGE = "https://edge.example.com";
const ORIGIN_AUD = "https://origin.example.com";
const keys = {};
const logs = [];
let origin, mf, edgeJwks, sent = 0;

// Refusals decided after the token verified: a repeated token is a cache hit.
const AFTER_VERIFICATION = new Set(["insufficient_scope", "role_missing", "claim_mismatch", "binding_refused", "issuer_not_allowed"]);

before(async () => {
  origin = await recordingOrigin();
  origin.respond = (req, res) => res.end("ok");
  const config = structuredClone(table.config);
  for (const issuer of config.issuers) {
    const { privateKey, publicKey } = await jose.generateKeyPair("ES256", { extractable: true });
    keys[issuer.issuer] = privateKey;
    issuer.algorithms = ["ES256"];
    issuer.jwks = { keys: [await jose.exportJWK(publicKey)] };
  }
  config.assertion = { issuer: EDGE, audience: ORIGIN_AUD, signing_key_secret: "SIGNING" };
  const edge = await jose.generateKeyPair("EdDSA", { extractable: true });
  mf = await builtWorker({
    EDGE_AUTH: JSON.stringify(config),
    ORIGIN: origin.url,
    SIGNING: JSON.stringify(await jose.exportJWK(edge.privateKey)),
  }, { handleRuntimeStdio: collectLogs(logs) });
  const res = await send("https://api.example.com/.well-known/edge-auth/jwks.json", {});
  assert.equal(res.status, 200);
  edgeJwks = jose.createLocalJWKSet(await res.json());
});

after(async () => {
  await mf?.dispose();
  await origin?.close();
});

/// Every request goes through here: the Worker logs exactly one decision line per request, so the n-th
/// request's decision is the n-th decision line.
async function send(url, init) {
  sent += 1;
  return mf.dispatchFetch(url, { redirect: "manual", ...init });
}

async function decisionOf(n) {
  await waitFor(() => decisions(logs).length >= n, 3000);
  return decisions(logs)[n - 1];
}

async function mint(spec) {
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: spec.issuer, aud: AUD, sub: "user-1", iat: now, exp: now + 3600, ...spec.claims };
  // A negative `exp` in the table is relative to now (past the default 60 s leeway: expired).
  if (claims.exp < 0) claims.exp = now + claims.exp;
  return new jose.SignJWT(claims).setProtectedHeader({ alg: "ES256" }).sign(keys[spec.issuer]);
}

/// What is wrong with one answer to a case (empty: nothing).
async function check(c, t, res, text, forwarded) {
  const wrong = [];
  const e = c.expect;
  if (res.status !== e.status) wrong.push(`status ${res.status} ${text.slice(0, 200)}`);
  if (e.status === 200) {
    if (forwarded.length !== 1) wrong.push(`forwarded ${forwarded.length} times`);
    else {
      const got = forwarded[0];
      if (e.path && got.url !== e.path) wrong.push(`origin got ${got.url}`);
      const assertions = rawValues(got.rawHeaders, "edge-auth-assertion");
      if (!c.token) {
        if (assertions.length) wrong.push(`an anonymous forward carries an assertion: ${assertions}`);
      } else {
        if (got.headers.authorization !== undefined) wrong.push("Authorization reached the origin");
        if (cookieNames(got.headers.cookie).includes("at")) wrong.push("the token cookie reached the origin");
        if (rawValues(got.rawHeaders, "cookie").some((v) => v.includes(t))) wrong.push("the token reached the origin in a cookie");
        if (assertions.length !== 1) wrong.push(`${assertions.length} assertion headers`);
        else {
          try {
            const { payload } = await jose.jwtVerify(assertions[0], edgeJwks, { issuer: EDGE, audience: ORIGIN_AUD, typ: "edge-auth+jwt" });
            const url = new URL(c.request.url);
            const expected = { sub: c.token.claims.sub ?? "user-1", src_iss: c.token.issuer, htm: c.request.method ?? "GET",
              htu: `${url.origin}${(e.path ?? url.pathname).split("?")[0]}` };
            for (const [claim, value] of Object.entries(expected)) {
              if (payload[claim] !== value) wrong.push(`assertion ${claim} ${JSON.stringify(payload[claim])}, expected ${JSON.stringify(value)}`);
            }
          } catch (error) {
            wrong.push(`the assertion does not verify: ${error.code ?? error.message}`);
          }
        }
      }
      for (const [name, value] of Object.entries(e.forwarded_headers ?? {})) {
        const values = rawValues(got.rawHeaders, name);
        const actual = values.length ? values.join(", ") : null;
        if (actual !== value) wrong.push(`forwarded ${name}: ${JSON.stringify(actual)}, expected ${JSON.stringify(value)}`);
      }
    }
  } else {
    if (forwarded.length !== 0) wrong.push("forwarded although refused");
    if (e.code) {
      const body = e.status === 204 ? {} : JSON.parse(text);
      if (body.code !== e.code) wrong.push(`code ${body.code}`);
      if (res.headers.get("content-type") !== "application/problem+json") wrong.push("not problem+json");
    }
  }
  if (e.scope) {
    const scope = /scope="([^"]*)"/.exec(res.headers.get("www-authenticate") ?? "")?.[1];
    if (scope !== e.scope) wrong.push(`scope ${scope}`);
  }
  for (const [name, value] of Object.entries(e.headers ?? {})) {
    if (res.headers.get(name) !== value) wrong.push(`header ${name}: ${res.headers.get(name)}`);
  }
  if (e.status === 403 && e.code !== "csrf_refused" && e.code !== "cors_refused") {
    // The problem names the unmet requirement, never the token's contents.
    const body = JSON.parse(text);
    if (typeof body.missing !== "string") wrong.push("no `missing` in the problem");
    if (c.token && JSON.stringify(body).includes("user-1")) wrong.push("problem echoes a claim");
  }
  return wrong;
}

test(`policy table: ${table.cases.length} cases in workerd (forwards checked header by header)`, async (ctx) => {
  const failures = [];
  let checkedForwards = 0;
  for (const c of table.cases) {
    const headers = { ...(c.request.headers ?? {}) };
    let t;
    if (c.token) {
      t = await mint(c.token);
      if (c.token.in === "cookie") headers.cookie = headers.cookie ? `${headers.cookie}; at=${t}` : `at=${t}`;
      else headers.authorization = `Bearer ${t}`;
    }
    const before = origin.received.length;
    const res = await send(c.request.url, { method: c.request.method ?? "GET", headers });
    const text = await res.text();
    const wrong = await check(c, t, res, text, origin.received.slice(before));
    if (c.expect.status === 200 && c.token) checkedForwards += 1;
    if (wrong.length) failures.push(`${c.name}: ${wrong.join(", ")}`);
  }
  ctx.diagnostic(`${checkedForwards} verified forwards checked header by header`);
  assert.deepEqual(failures, []);
  assert.ok(checkedForwards >= 20, `only ${checkedForwards} verified forwards were checked`);
});

test("policy table: every refused token is refused the same way the second time (cache hits included)", async (ctx) => {
  const failures = [];
  const refused = table.cases.filter((c) => c.token && c.expect.status !== 200 && c.expect.status !== 204);
  let hits = 0;
  for (const c of refused) {
    const headers = { ...(c.request.headers ?? {}) };
    const t = await mint(c.token);
    if (c.token.in === "cookie") headers.cookie = headers.cookie ? `${headers.cookie}; at=${t}` : `at=${t}`;
    else headers.authorization = `Bearer ${t}`;
    const answers = [];
    for (const round of [1, 2]) {
      const before = origin.received.length;
      const res = await send(c.request.url, { method: c.request.method ?? "GET", headers });
      const text = await res.text();
      const decision = await decisionOf(sent);
      answers.push({ status: res.status, code: JSON.parse(text).code, challenge: res.headers.get("www-authenticate"), cache: decision?.cache });
      const wrong = await check(c, t, res, text, origin.received.slice(before));
      if (wrong.length) failures.push(`${c.name} (round ${round}): ${wrong.join(", ")}`);
    }
    const [first, second] = answers;
    if (first.status !== second.status || first.code !== second.code || first.challenge !== second.challenge) {
      failures.push(`${c.name}: first ${JSON.stringify(first)}, then ${JSON.stringify(second)}`);
    }
    if (AFTER_VERIFICATION.has(c.expect.code)) {
      // The token verified the first time: the second answer came from the cache, and was still a refusal.
      if (first.cache !== "miss" || second.cache !== "hit") failures.push(`${c.name}: cache ${first.cache} then ${second.cache}, expected miss then hit`);
      else hits += 1;
    }
  }
  ctx.diagnostic(`${refused.length} refused-with-token cases sent twice, ${hits} of them cache hits the second time`);
  assert.deepEqual(failures, []);
  assert.ok(refused.length >= 20, `only ${refused.length} refused-with-token cases`);
  assert.ok(hits >= 10, `only ${hits} refusals were cache hits`);
});
