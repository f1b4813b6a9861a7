// The route-policy table (tests/policy/cases.json) against the built Worker inside workerd (miniflare),
// with a real origin on 127.0.0.1 recording the path it receives. The same table runs against the gate
// in Rust (tests/policy.rs). Tokens are minted with jose (ES256), one key per issuer.
// Run: bash scripts/build-worker.sh && node --test tests/worker/
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { builtWorker } from "./built-worker.mjs";
import * as jose from "jose";

const table = JSON.parse(readFileSync(new URL("../policy/cases.json", import.meta.url), "utf8"));
const AUD = "https://api.example.com";
const received = [];
const keys = {};
let origin, mf;

before(async () => {
  origin = await new Promise((resolve) => {
    const server = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        received.push({ method: req.method, url: req.url });
        res.end("ok");
      });
    });
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
  const config = structuredClone(table.config);
  for (const issuer of config.issuers) {
    const { privateKey, publicKey } = await jose.generateKeyPair("ES256", { extractable: true });
    keys[issuer.issuer] = privateKey;
    issuer.algorithms = ["ES256"];
    issuer.jwks = { keys: [await jose.exportJWK(publicKey)] };
  }
  config.assertion = { issuer: "https://edge.example.com", audience: "https://origin.example.com",
    signing_key_secret: "SIGNING" };
  const edge = await jose.generateKeyPair("EdDSA", { extractable: true });
  mf = await builtWorker({
    EDGE_AUTH: JSON.stringify(config),
    ORIGIN: `http://127.0.0.1:${origin.address().port}`,
    SIGNING: JSON.stringify(await jose.exportJWK(edge.privateKey)),
  });
});

after(async () => {
  await mf?.dispose();
  origin?.close();
});

async function mint(spec) {
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: spec.issuer, aud: AUD, sub: "user-1", iat: now, exp: now + 3600, ...spec.claims };
  // A negative `exp` in the table is relative to now (past the default 60 s leeway: expired).
  if (claims.exp < 0) claims.exp = now + claims.exp;
  return new jose.SignJWT(claims).setProtectedHeader({ alg: "ES256" }).sign(keys[spec.issuer]);
}

test(`policy table: ${table.cases.length} cases in workerd`, async () => {
  const failures = [];
  for (const c of table.cases) {
    const headers = { ...(c.request.headers ?? {}) };
    if (c.token) {
      const t = await mint(c.token);
      if (c.token.in === "cookie") headers.cookie = `at=${t}`;
      else headers.authorization = `Bearer ${t}`;
    }
    const before = received.length;
    const res = await mf.dispatchFetch(c.request.url, { method: c.request.method ?? "GET", headers, redirect: "manual" });
    const text = await res.text();
    const forwarded = received.slice(before);
    const wrong = [];
    const e = c.expect;
    if (res.status !== e.status) wrong.push(`status ${res.status} ${text.slice(0, 200)}`);
    if (e.status === 200) {
      if (forwarded.length !== 1) wrong.push(`forwarded ${forwarded.length} times`);
      else if (e.path && forwarded[0].url !== e.path) wrong.push(`origin got ${forwarded[0].url}`);
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
    if (wrong.length) failures.push(`${c.name}: ${wrong.join(", ")}`);
  }
  assert.deepEqual(failures, []);
});
