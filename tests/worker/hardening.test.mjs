// Issue 9 (hardening): the findings' intended behaviour, black-box in workerd (miniflare) against the built
// Worker, with a real origin on 127.0.0.1 that records what it receives. Each test names one behaviour and
// fails when it is absent (see the issue for the findings' numbers).
// Run: bash scripts/build-worker.sh && node --test tests/worker/hardening.test.mjs
//   (EDGE_AUTH_BUILD=<dir> runs another build, for example the one before the fixes).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac, hkdfSync, randomBytes } from "node:crypto";
import { builtWorker, buildDir, collectLogs } from "./built-worker.mjs";
import { cookieNames, decisions, rawValues, recordingOrigin, waitFor } from "./raw-http.mjs";
import * as jose from "jose";

const ISS = "https://idp.example.com/";
const AUD = "https://api.example.com";
const EDGE = "https://edge.example.com";
const ORIGIN_AUD = "https://origin.example.com";
const JWKS_PATH = "/.well-known/edge-auth/jwks.json";

let origin, idp, idpPublic;
const signing = {}; // private JWKs: EdDSA, ES256, HS256 (current) and their *2 siblings
const live = [];

before(async () => {
  origin = await recordingOrigin();
  const pair = await jose.generateKeyPair("ES256", { extractable: true });
  idp = pair.privateKey;
  idpPublic = { ...(await jose.exportJWK(pair.publicKey)), kid: "idp-1", alg: "ES256" };
  for (const alg of ["EdDSA", "ES256"]) {
    signing[alg] = await jose.exportJWK((await jose.generateKeyPair(alg, { extractable: true })).privateKey);
    signing[`${alg}2`] = await jose.exportJWK((await jose.generateKeyPair(alg, { extractable: true })).privateKey);
  }
  signing.HS256 = { kty: "oct", k: randomBytes(32).toString("base64url"), alg: "HS256" };
  signing.HS2562 = { kty: "oct", k: randomBytes(32).toString("base64url"), alg: "HS256" };
});

after(async () => {
  for (const mf of live.splice(0)) await mf.dispose();
  await origin?.close();
});

function config(extra = {}) {
  return {
    issuers: [{ issuer: ISS, audiences: [AUD], algorithms: ["ES256"], jwks: { keys: [idpPublic] } }],
    assertion: { issuer: EDGE, audience: ORIGIN_AUD, signing_key_secret: "SIGNING" },
    routes: [
      { path: "/public/*", auth: "none" },
      { path: "/optional/*", auth: "optional" },
      { path: "/admin/*", roles: ["admin"] },
      { path: "/orders/*", scopes: ["orders:read"] },
    ],
    ...extra,
  };
}

/// A Worker with this config (an object, or a string given as is) and bindings; its log lines go to the
/// returned `logs`. Disposed at the end of the file (or earlier with `done`).
async function worker(edgeAuth, bindings = {}, options = {}) {
  const logs = [];
  const mf = await builtWorker(
    {
      ...(edgeAuth === undefined ? {} : { EDGE_AUTH: typeof edgeAuth === "string" ? edgeAuth : JSON.stringify(edgeAuth) }),
      ORIGIN: origin.url,
      SIGNING: JSON.stringify(signing.EdDSA),
      ...bindings,
    },
    { handleRuntimeStdio: collectLogs(logs), ...options },
  );
  live.push(mf);
  mf.logs = logs;
  return mf;
}

async function done(mf) {
  live.splice(live.indexOf(mf), 1);
  await mf.dispose();
}

async function token(claims = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new jose.SignJWT({ iss: ISS, aud: AUD, sub: "alice", iat: now, exp: now + 600, scope: "orders:read", ...claims })
    .setProtectedHeader({ alg: "ES256", kid: "idp-1" }).sign(idp);
}

/// One request through `dispatchFetch`; what the origin got while it ran.
async function call(mf, path, { token: t, headers = {}, method = "GET", body, host = "https://api.example.com" } = {}) {
  const before = origin.received.length;
  const h = { ...headers };
  if (t) h.authorization = `Bearer ${t}`;
  const res = await mf.dispatchFetch(`${host}${path}`, { method, headers: h, body, redirect: "manual" });
  const text = await res.text();
  return { res, text, json: safeJson(text), forwarded: origin.received.slice(before) };
}

function safeJson(text) {
  try { return JSON.parse(text); } catch { return undefined; }
}

function assertRefused({ res, text, json, forwarded }, status, code, what) {
  assert.equal(res.status, status, `${what}: status (body ${text.slice(0, 200)})`);
  assert.equal(json?.code, code, `${what}: problem code`);
  assert.equal(forwarded.length, 0, `${what}: nothing may reach the origin, it got ${forwarded.map((f) => f.url).join(" ")}`);
}

async function edgeJwks(mf) {
  const { res, text } = await call(mf, JWKS_PATH);
  return { status: res.status, text, json: safeJson(text) };
}

async function verifyAssertion(mf, assertion, algorithms = ["EdDSA"]) {
  const { json } = await edgeJwks(mf);
  return jose.jwtVerify(assertion, jose.createLocalJWKSet(json), { issuer: EDGE, audience: ORIGIN_AUD, typ: "edge-auth+jwt", algorithms });
}

/// A config that must be refused: every request (JWKS included) 503 config_invalid, nothing forwarded, and a
/// `config_error` log line that names `field`.
async function assertConfigRefused(mf, field, what) {
  const t = await token();
  for (const path of [JWKS_PATH, "/orders/1", "/public/x"]) {
    const r = await call(mf, path, { token: path === "/orders/1" ? t : undefined });
    assertRefused(r, 503, "config_invalid", `${what}: GET ${path}`);
    assert.ok(!/"k"\s*:|"d"\s*:/.test(r.text), `${what}: the answer carries key material: ${r.text}`);
  }
  await waitFor(() => mf.logs.some((l) => l.includes("config_error") && l.includes(field)));
  assert.ok(mf.logs.some((l) => l.includes("config_error") && l.includes(field)),
    `${what}: no config_error log line naming ${field}; logs:\n${mf.logs.join("\n")}`);
}

// ---- Finding 1: no symmetric key (nor any private part) is ever published -------------------------------

test("1: the assertion JWKS never holds `k` or `d`, whatever the two key slots hold", async () => {
  const slots = [
    ["EdDSA", "EdDSA2"], ["ES256", "EdDSA"], ["HS256", "HS2562"], ["EdDSA", "HS256"], ["ES256", "HS256"], ["HS256", "EdDSA"],
  ];
  for (const [current, previous] of slots) {
    const mf = await worker(config({ assertion: { issuer: EDGE, audience: ORIGIN_AUD, signing_key_secret: "SIGNING", previous_signing_key_secret: "PREVIOUS" } }),
      { SIGNING: JSON.stringify(signing[current]), PREVIOUS: JSON.stringify(signing[previous]) });
    try {
      const { status, text, json } = await edgeJwks(mf);
      assert.ok(status === 200 || status === 503, `${current}+${previous}: JWKS status ${status}`);
      for (const key of json?.keys ?? []) {
        assert.equal(key.k, undefined, `${current} current + ${previous} previous: the JWKS publishes a symmetric key (k): ${text}`);
        assert.equal(key.d, undefined, `${current} current + ${previous} previous: the JWKS publishes a private key (d): ${text}`);
      }
      assert.ok(!/"(k|d|p|q|dp|dq|qi)"\s*:/.test(text), `${current}+${previous}: private members in ${text}`);
    } finally {
      await done(mf);
    }
  }
});

for (const current of ["EdDSA", "ES256"]) {
  test(`1: ${current} current + HS256 previous assertion key is a config error naming assertion.previous_signing_key_secret`, async () => {
    const mf = await worker(config({ assertion: { issuer: EDGE, audience: ORIGIN_AUD, signing_key_secret: "SIGNING", previous_signing_key_secret: "PREVIOUS" } }),
      { SIGNING: JSON.stringify(signing[current]), PREVIOUS: JSON.stringify(signing.HS256) });
    try {
      await assertConfigRefused(mf, "assertion.previous_signing_key_secret", `${current}+HS256`);
    } finally {
      await done(mf);
    }
  });
}

test("1: HS256 current + EdDSA previous assertion key is a config error naming assertion.previous_signing_key_secret", async () => {
  const mf = await worker(config({ assertion: { issuer: EDGE, audience: ORIGIN_AUD, signing_key_secret: "SIGNING", previous_signing_key_secret: "PREVIOUS" } }),
    { SIGNING: JSON.stringify(signing.HS256), PREVIOUS: JSON.stringify(signing.EdDSA) });
  try {
    await assertConfigRefused(mf, "assertion.previous_signing_key_secret", "HS256+EdDSA");
  } finally {
    await done(mf);
  }
});

test("1: two HS256 assertion keys (current and previous, no kid) are a valid config; the JWKS is empty", async () => {
  const mf = await worker(config({ assertion: { issuer: EDGE, audience: ORIGIN_AUD, signing_key_secret: "SIGNING", previous_signing_key_secret: "PREVIOUS" } }),
    { SIGNING: JSON.stringify(signing.HS256), PREVIOUS: JSON.stringify(signing.HS2562) });
  try {
    const { status, text, json } = await edgeJwks(mf);
    assert.equal(status, 200, `JWKS: ${text}; logs:\n${mf.logs.join("\n")}`);
    assert.deepEqual(json, { keys: [] });
    const r = await call(mf, "/orders/1", { token: await token() });
    assert.equal(r.res.status, 200, r.text);
    // Signed with the current secret.
    const secret = Buffer.from(signing.HS256.k, "base64url");
    const { payload } = await jose.jwtVerify(r.forwarded[0].headers["edge-auth-assertion"], secret,
      { issuer: EDGE, audience: ORIGIN_AUD, typ: "edge-auth+jwt", algorithms: ["HS256"] });
    assert.equal(payload.sub, "alice");
  } finally {
    await done(mf);
  }
});

// ---- One shared Worker for findings 2, 3, 5 and 14 ---------------------------------------------------

let main;
async function mainWorker() {
  main ??= await worker(config({ token_cookie: "at" }));
  return main;
}

// ---- Finding 2: htu names what the origin receives -------------------------------------------------

test("2: htu is the public URL with the normalized path (//orders/7, /orders/%37, /orders/./7)", async () => {
  const mf = await mainWorker();
  const t = await token();
  for (const path of ["//orders/7", "/orders/%37", "/orders/./7", "/orders//./%37"]) {
    const { res, text, forwarded } = await call(mf, `${path}?x=1`, { token: t });
    assert.equal(res.status, 200, `${path}: ${text}`);
    assert.equal(forwarded.length, 1, `${path}: forwarded once`);
    assert.equal(forwarded[0].url, "/orders/7?x=1", `${path}: the origin receives the normalized path`);
    const { payload } = await verifyAssertion(mf, forwarded[0].headers["edge-auth-assertion"]);
    assert.equal(payload.htu, "https://api.example.com/orders/7", `${path}: htu names the URL the origin serves`);
    assert.equal(payload.htm, "GET");
  }
});

// ---- Finding 3: `;` path parameters, trailing slashes, case ----------------------------------------

test("3: a `;` in the path (raw, %3B or %3b) is 400 path_ambiguous and never forwarded", async () => {
  const mf = await mainWorker();
  const t = await token({ roles: ["admin"] });
  const failures = [];
  for (const [path, withToken] of [
    ["/public/..;/admin/x", false], ["/public/a;b", false], ["/public/x;jsessionid=1", false],
    ["/public/..%3B/admin/x", false], ["/public/a%3bb", false], ["/orders;v=1/7", true], ["/orders/7;", true],
  ]) {
    const r = await call(mf, path, { token: withToken ? t : undefined });
    try {
      assertRefused(r, 400, "path_ambiguous", path);
    } catch (e) {
      failures.push(e.message.split("\n")[0]);
    }
  }
  assert.deepEqual(failures, []);
});

test("3: with paths.allow_matrix_parameters, `;` parameters are matched away but forwarded as sent", async () => {
  const mf = await worker(config({ paths: { allow_matrix_parameters: true } }));
  try {
    const staff = await token({ roles: ["staff"] });
    // `/public/..;/admin/x` is `/admin/x` for Tomcat, Jetty and Spring: the admin rule applies.
    assertRefused(await call(mf, "/public/..;/admin/x"), 401, "token_missing", "/public/..;/admin/x without a token");
    assertRefused(await call(mf, "/public/..;/admin/x", { token: staff }), 403, "role_missing", "/public/..;/admin/x, no admin role");
    // `/orders;v=1/7` is matched like `/orders/7` (the orders rule needs orders:read) and forwarded as sent.
    assertRefused(await call(mf, "/orders;v=1/7", { token: await token({ scope: "profile" }) }), 403, "insufficient_scope",
      "/orders;v=1/7 without orders:read");
    const ok = await call(mf, "/orders;v=1/7?x=1", { token: await token() });
    assert.equal(ok.res.status, 200, ok.text);
    assert.equal(ok.forwarded.length, 1);
    assert.equal(ok.forwarded[0].url, "/orders;v=1/7?x=1", "the origin gets its matrix parameters");
  } finally {
    await done(mf);
  }
});

test("3: `/admin/*` also guards `/admin` and `/admin/`, even when the default rule is auth none", async () => {
  const mf = await worker(config({ default: { auth: "none" } }));
  try {
    const staff = await token({ roles: ["staff"] });
    for (const path of ["/admin", "/admin/", "/admin?x=1", "/%61dmin"]) {
      assertRefused(await call(mf, path), 401, "token_missing", `${path} without a token`);
      assertRefused(await call(mf, path, { token: staff }), 403, "role_missing", `${path} without the admin role`);
    }
    const admin = await call(mf, "/admin", { token: await token({ roles: ["admin"] }) });
    assert.equal(admin.res.status, 200, admin.text);
    assert.equal(admin.forwarded[0]?.url, "/admin");
    // The default rule still serves everything else anonymously.
    const other = await call(mf, "/administrator");
    assert.equal(other.res.status, 200, other.text);
  } finally {
    await done(mf);
  }
});

test("3: an exact route `/a/b` also matches `/a/b/`", async () => {
  const mf = await worker(config({ routes: [{ path: "/a/b", roles: ["admin"] }], default: { auth: "none" } }));
  try {
    assertRefused(await call(mf, "/a/b"), 401, "token_missing", "/a/b");
    assertRefused(await call(mf, "/a/b/"), 401, "token_missing", "/a/b/ without a token");
    assertRefused(await call(mf, "/a/b/", { token: await token({ roles: ["staff"] }) }), 403, "role_missing", "/a/b/ without the role");
    const below = await call(mf, "/a/b/c");
    assert.equal(below.res.status, 200, "an exact route does not cover the paths below it");
  } finally {
    await done(mf);
  }
});

test("3: paths.case_insensitive makes `/admin/*` guard `/ADMIN/x`; by default `/ADMIN/x` falls to the default rule", async () => {
  const insensitive = await worker(config({ default: { auth: "none" }, paths: { case_insensitive: true } }));
  try {
    assertRefused(await call(insensitive, "/ADMIN/x"), 401, "token_missing", "/ADMIN/x (case-insensitive) without a token");
    assertRefused(await call(insensitive, "/Admin/x", { token: await token({ roles: ["staff"] }) }), 403, "role_missing",
      "/Admin/x (case-insensitive) without the role");
  } finally {
    await done(insensitive);
  }
  const sensitive = await worker(config({ default: { auth: "none" } }));
  try {
    const r = await call(sensitive, "/ADMIN/x");
    assert.equal(r.res.status, 200, `default (case-sensitive): /ADMIN/x is the default rule's: ${r.text}`);
    assert.equal(r.forwarded.length, 1);
    assertRefused(await call(sensitive, "/admin/x"), 401, "token_missing", "/admin/x");
  } finally {
    await done(sensitive);
  }
});

// ---- Finding 4: the edge owns CORS response headers -------------------------------------------------

test("4: with a cors section the origin's own Access-Control-* headers never reach the client", async () => {
  const mf = await worker(config({
    cors: { allowed_origins: ["https://app.example.com"], allow_credentials: false },
  }));
  origin.respond = (req, res) => {
    res.setHeader("access-control-allow-origin", "*");
    res.setHeader("access-control-allow-credentials", "true");
    res.setHeader("access-control-expose-headers", "x-secret");
    res.setHeader("access-control-max-age", "86400");
    res.setHeader("vary", "Accept-Encoding");
    res.end("from origin");
  };
  try {
    const t = await token();
    const acHeaders = (res) => [...res.headers].filter(([n]) => n.startsWith("access-control-"));
    const vary = (res) => (res.headers.get("vary") ?? "").split(",").map((v) => v.trim().toLowerCase()).filter(Boolean);
    for (const [path, opts] of [["/public/x", {}], ["/orders/1", { token: t }]]) {
      const foreign = await call(mf, path, { ...opts, headers: { origin: "https://evil.example" } });
      assert.equal(foreign.res.status, 200, foreign.text);
      assert.deepEqual(acHeaders(foreign.res), [], `${path}, foreign Origin: no access-control-* at all`);
      assert.ok(vary(foreign.res).includes("origin"), `${path}: Vary has Origin: ${foreign.res.headers.get("vary")}`);
      assert.ok(vary(foreign.res).includes("accept-encoding"), `${path}: the origin's Vary is kept: ${foreign.res.headers.get("vary")}`);

      const allowed = await call(mf, path, { ...opts, headers: { origin: "https://app.example.com" } });
      assert.equal(allowed.res.status, 200, allowed.text);
      assert.deepEqual(acHeaders(allowed.res), [["access-control-allow-origin", "https://app.example.com"]],
        `${path}, allowed Origin: exactly the edge's headers (no credentials: the config does not allow them)`);
      assert.ok(vary(allowed.res).includes("origin") && vary(allowed.res).includes("accept-encoding"),
        `${path}: Vary ${allowed.res.headers.get("vary")}`);

      const none = await call(mf, path, opts);
      assert.deepEqual(acHeaders(none.res), [], `${path}, no Origin: no access-control-* at all`);
    }
  } finally {
    origin.respond = null;
    await done(mf);
  }
});

// ---- Finding 5: bearer attempts and anonymous forwards ------------------------------------------

test("5: `Authorization: Bearer<TAB>token` is 400 authorization_malformed and never forwarded", async () => {
  const mf = await mainWorker();
  const t = await token();
  for (const path of ["/optional/x", "/orders/1", "/other"]) {
    assertRefused(await call(mf, path, { headers: { authorization: `Bearer\t${t}` } }), 400, "authorization_malformed", `${path}, Bearer<TAB>`);
  }
});

test("5: an anonymous forward carries neither Authorization nor the token cookie (other cookies kept)", async () => {
  const mf = await mainWorker();
  const t = await token();
  // auth = "none": the token is not looked at, and does not travel either.
  const pub = await call(mf, "/public/x", { token: t, headers: { cookie: `theme=dark; at=${t}; lang=en` } });
  assert.equal(pub.res.status, 200, pub.text);
  assert.equal(pub.forwarded.length, 1);
  assert.equal(pub.forwarded[0].headers.authorization, undefined, "auth none: Authorization reached the origin");
  assert.deepEqual(cookieNames(pub.forwarded[0].headers.cookie), ["theme", "lang"], "auth none: the token cookie reached the origin");
  assert.deepEqual(rawValues(pub.forwarded[0].rawHeaders, "edge-auth-assertion"), []);
  // auth = "optional" without a bearer token: another scheme's credentials do not travel either.
  const opt = await call(mf, "/optional/x", { headers: { authorization: "Basic dXNlcjpwdw==", cookie: "theme=dark" } });
  assert.equal(opt.res.status, 200, opt.text);
  assert.equal(opt.forwarded.length, 1);
  assert.equal(opt.forwarded[0].headers.authorization, undefined, "auth optional, anonymous: Authorization reached the origin");
  assert.equal(opt.forwarded[0].headers.cookie, "theme=dark");
  assert.deepEqual(rawValues(opt.forwarded[0].rawHeaders, "edge-auth-assertion"), []);
});

// ---- Finding 11: ORIGIN with a path; invalid ORIGIN values -----------------------------------------

test("11: ORIGIN with a path keeps it (verified and anonymous forwards)", async () => {
  const mf = await worker(config(), { ORIGIN: `${origin.url}/api` });
  try {
    const verified = await call(mf, "/orders/1?q=2", { token: await token() });
    assert.equal(verified.res.status, 200, verified.text);
    assert.equal(verified.forwarded[0]?.url, "/api/orders/1?q=2");
    // The assertion still names the public URL the caller used (the origin's mount point is not in it).
    const { payload } = await verifyAssertion(mf, verified.forwarded[0].headers["edge-auth-assertion"]);
    assert.equal(payload.htu, "https://api.example.com/orders/1");
    const anonymous = await call(mf, "/public/x?y=1");
    assert.equal(anonymous.res.status, 200, anonymous.text);
    assert.equal(anonymous.forwarded[0]?.url, "/api/public/x?y=1");
  } finally {
    await done(mf);
  }
});

test("11: ORIGIN with a query, a fragment, userinfo, another scheme, or not a URL is a config error naming ORIGIN", async () => {
  const port = new URL(origin.url).port;
  const failures = [];
  for (const bad of [
    `${origin.url}/?debug=1`, `${origin.url}/#frag`, `http://user:pw@127.0.0.1:${port}/`, `ftp://127.0.0.1:${port}/`, "not a url",
  ]) {
    const mf = await worker(config(), { ORIGIN: bad });
    try {
      await assertConfigRefused(mf, "ORIGIN", `ORIGIN=${bad}`);
    } catch (e) {
      failures.push(e.message.split("\n")[0].slice(0, 160));
    } finally {
      await done(mf);
    }
  }
  assert.deepEqual(failures, []);
});

// ---- Finding 14: decision logs ----------------------------------------------------------------

test("14: decision logs carry sub_hash = HMAC-SHA256(HKDF(signing key), sub) and io_wait_ms, not latency_ms", async () => {
  const mf = await mainWorker();
  const sub = "someone@example.com";
  mf.logs.length = 0;
  const r = await call(mf, "/orders/1", { token: await token({ sub }) });
  assert.equal(r.res.status, 200, r.text);
  await waitFor(() => decisions(mf.logs).length >= 1);
  const [d] = decisions(mf.logs);
  assert.ok(d, `no decision line in:\n${mf.logs.join("\n")}`);
  const logKey = Buffer.from(hkdfSync("sha256", Buffer.from(signing.EdDSA.d, "base64url"), "edge-auth/v1", "decision-log", 32));
  const expected = createHmac("sha256", logKey).update(sub).digest("hex").slice(0, 16);
  assert.equal(d.sub_hash, expected, "sub_hash is keyed (HMAC under the HKDF-derived log key), not a plain SHA-256 prefix");
  assert.equal("latency_ms" in d, false, "latency_ms is gone");
  assert.equal(typeof d.io_wait_ms, "number", "io_wait_ms replaces it");
});

test("14: with an HS256 assertion key the log key is derived from its `k`", async () => {
  const mf = await worker(config(), { SIGNING: JSON.stringify(signing.HS256) });
  try {
    const r = await call(mf, "/orders/1", { token: await token({ sub: "bob" }) });
    assert.equal(r.res.status, 200, r.text);
    await waitFor(() => decisions(mf.logs).length >= 1);
    const [d] = decisions(mf.logs);
    const logKey = Buffer.from(hkdfSync("sha256", Buffer.from(signing.HS256.k, "base64url"), "edge-auth/v1", "decision-log", 32));
    assert.equal(d?.sub_hash, createHmac("sha256", logKey).update("bob").digest("hex").slice(0, 16));
  } finally {
    await done(mf);
  }
});

// ---- Finding 7 and the assertion signing fallback: faults injected into WebCrypto ----------------------
// The built Worker runs unchanged behind a small entry module that wraps it: a request with
// `x-inject-fault: getrandom` makes `crypto.getRandomValues` throw while that request runs, `sign` makes
// `crypto.subtle.sign` reject. The wrapper strips that header before the Worker sees the request and
// reports in `x-injected-faults` how many calls it failed, so a test cannot pass without the fault firing.

const FAULT_ENTRY = `
import { WorkerEntrypoint } from "cloudflare:workers";
import Inner from "./index.js";
let fault = null;
let fired = 0;
const cryptoProto = Object.getPrototypeOf(crypto);
const getRandomValues = cryptoProto.getRandomValues;
cryptoProto.getRandomValues = function (array) {
  if (fault === "getrandom") { fired += 1; throw new Error("injected: getRandomValues fails"); }
  return getRandomValues.call(this, array);
};
const subtleProto = Object.getPrototypeOf(crypto.subtle);
const sign = subtleProto.sign;
subtleProto.sign = function (...args) {
  if (fault === "sign") { fired += 1; return Promise.reject(new Error("injected: subtle.sign fails")); }
  return sign.apply(this, args);
};
export default class extends WorkerEntrypoint {
  async fetch(request) {
    fault = request.headers.get("x-inject-fault");
    fired = 0;
    const headers = new Headers(request.headers);
    headers.delete("x-inject-fault");
    try {
      const response = await Inner.fetch(new Request(request, { headers }), this.env, this.ctx);
      const out = new Response(response.body, response);
      out.headers.set("x-injected-faults", String(fired));
      return out;
    } finally {
      fault = null;
    }
  }
}`;

async function faultyWorker() {
  return worker(config(), {}, {
    modules: [
      { type: "ESModule", path: `${buildDir}/edge-auth-fault-entry.mjs`, contents: FAULT_ENTRY },
      { type: "ESModule", path: `${buildDir}/index.js` },
      { type: "CompiledWasm", path: `${buildDir}/index_bg.wasm` },
    ],
  });
}

test("7: a failing getrandom (the assertion's jti) is 500 internal_error, not 503 config_invalid; the isolate recovers", async () => {
  const mf = await faultyWorker();
  try {
    const t = await token();
    const warm = await call(mf, "/orders/1", { token: t });
    assert.equal(warm.res.status, 200, warm.text);
    const r = await call(mf, "/orders/1", { token: t, headers: { "x-inject-fault": "getrandom" } });
    assert.ok(Number(r.res.headers.get("x-injected-faults")) >= 1, "the injected getRandomValues failure never fired");
    assertRefused(r, 500, "internal_error", "getrandom failure");
    assert.equal(r.res.headers.get("retry-after"), null, "an internal error is not a 503 with Retry-After");
    const after = await call(mf, "/orders/1", { token: t });
    assert.equal(after.res.status, 200, `the next request: ${after.text}`);
  } finally {
    await done(mf);
  }
});

test("an assertion key whose private part belongs to another key is refused at its first signature: 500 internal_error every time, nothing forwarded", async () => {
  // The Worker's core has no Rust P-256 or Ed25519 arithmetic to check the pairing at load
  // (`Pairing::Unchecked`); the WebCrypto signer verifies its first signature with the public key.
  for (const alg of ["EdDSA", "ES256"]) {
    const mismatched = { ...signing[alg], d: signing[`${alg}2`].d };
    const mf = await worker(config(), { SIGNING: JSON.stringify(mismatched) });
    try {
      const t = await token();
      for (let i = 1; i <= 2; i++) {
        assertRefused(await call(mf, "/orders/1", { token: t }), 500, "internal_error", `${alg}, mismatched key, request ${i}`);
      }
      await waitFor(() => mf.logs.some((l) => l.includes("assertion_sign_error")));
      assert.ok(mf.logs.some((l) => l.includes("assertion_sign_error")), `${alg}: no assertion_sign_error line in:\n${mf.logs.join("\n")}`);
    } finally {
      await done(mf);
    }
  }
});

test("a WebCrypto assertion-signing failure is 500 internal_error with an assertion_sign_error log line, never a silent fallback", async () => {
  const mf = await faultyWorker();
  try {
    const t = await token();
    const warm = await call(mf, "/orders/1", { token: t });
    assert.equal(warm.res.status, 200, warm.text);
    mf.logs.length = 0;
    const r = await call(mf, "/orders/1", { token: t, headers: { "x-inject-fault": "sign" } });
    assert.ok(Number(r.res.headers.get("x-injected-faults")) >= 1, "the injected subtle.sign failure never fired");
    assertRefused(r, 500, "internal_error", "subtle.sign failure");
    await waitFor(() => mf.logs.some((l) => l.includes("assertion_sign_error")));
    assert.ok(mf.logs.some((l) => l.includes("assertion_sign_error")), `no assertion_sign_error line in:\n${mf.logs.join("\n")}`);
    const after = await call(mf, "/orders/1", { token: t });
    assert.equal(after.res.status, 200, `the next request: ${after.text}`);
    await verifyAssertion(mf, after.forwarded[0].headers["edge-auth-assertion"]);
  } finally {
    await done(mf);
  }
});

test("a request waiting on its origin holds one open await (status open_awaits), released when the origin answers", async () => {
  const mf = await worker(config({ status_endpoint: true }));
  const held = [];
  try {
    const t = await token();
    assert.equal((await call(mf, "/orders/1", { token: t })).res.status, 200, "warm-up");
    const status = async () => (await (await mf.dispatchFetch("https://api.example.com/.well-known/edge-auth/status")).json()).open_awaits;
    assert.equal(await status(), 0, "nothing open between requests");
    origin.respond = (req, res) => held.push(res);
    const pending = [1, 2, 3].map((i) => call(mf, `/orders/${i}`, { token: t }));
    await waitFor(() => held.length === 3, 5000);
    assert.equal(held.length, 3, "the three requests reached the origin");
    assert.equal(await status(), 3, "one open await per request waiting on the origin");
    origin.respond = null;
    for (const res of held) res.end('{"ok":true}');
    for (const r of await Promise.all(pending)) assert.equal(r.res.status, 200, r.text);
    assert.equal(await status(), 0, "released once the origin answered");
  } finally {
    origin.respond = null;
    for (const res of held) if (!res.writableEnded) res.end();
    await done(mf);
  }
});
