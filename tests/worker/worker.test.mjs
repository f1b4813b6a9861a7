// Black-box tests of the built Worker (build/index.js + build/index_bg.wasm) inside workerd (miniflare),
// with a real origin server on 127.0.0.1 that records what it receives. Tokens are made with `jose` and
// assertions are verified with `jose` against the JWKS the Worker serves.
// Run: bash scripts/build-worker.sh && node --test tests/worker/
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { createHash, randomBytes } from "node:crypto";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { builtWorker, collectLogs } from "./built-worker.mjs";
import * as jose from "jose";

const ISS = "https://idp.example.com/";
const HS_ISS = "https://hs.example.com/";
const K1_ISS = "https://k1.example.com/";
// ES256K is not in WebCrypto (the Worker verifies it in Rust) nor in jose 6: the edge-auth CLI mints it.
const CLI = process.env.EDGE_AUTH_BIN ?? join(fileURLToPath(new URL("../..", import.meta.url)), "target/debug/edge-auth");
function cli(args) {
  const r = spawnSync(CLI, args, { encoding: "utf8", timeout: 30000 });
  if (r.status !== 0) throw new Error(`edge-auth ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}
const AUD = "https://api.example.com";
const EDGE = "https://edge.example.com";
const ORIGIN_AUD = "https://origin.example.com";
const HS_SECRET = "a-shared-hmac-secret-of-at-least-32-bytes!";
const ALGS = ["RS256", "PS256", "ES256", "ES384", "ES512", "EdDSA"];

const received = [];
let origin, originUrl, mf, broken, logs = [];
const keys = {};

function startOrigin() {
  return new Promise((resolve) => {
    const server = createServer((req, res) => {
      const chunks = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks);
        received.push({ method: req.method, url: req.url, headers: req.headers, body });
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ ok: true, bytes: body.length }));
      });
    });
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}

function config(extra = {}) {
  return JSON.stringify({
    issuers: [
      { issuer: ISS, audiences: [AUD], algorithms: ALGS,
        jwks: { keys: ALGS.map((alg) => keys[alg].publicJwk) } },
      { issuer: HS_ISS, audiences: [AUD], algorithms: ["HS256"], hmac_secret: "IDP_HMAC_SECRET" },
      { issuer: K1_ISS, audiences: [AUD], algorithms: ["ES256K"], jwks: keys.ES256K.jwks },
    ],
    assertion: { issuer: EDGE, audience: ORIGIN_AUD, signing_key_secret: "EDGE_AUTH_SIGNING_KEY" },
    routes: [{ path: "/public/*", auth: "none" }],
    ...extra,
  });
}

async function worker(edgeAuth, origin = originUrl) {
  return builtWorker(
    { EDGE_AUTH: edgeAuth, ORIGIN: origin, EDGE_AUTH_SIGNING_KEY: JSON.stringify(keys.edge), IDP_HMAC_SECRET: HS_SECRET },
    { handleRuntimeStdio: collectLogs(logs) },
  );
}

before(async () => {
  for (const [i, alg] of ALGS.entries()) {
    const { privateKey, publicKey } = await jose.generateKeyPair(alg, { extractable: true });
    const publicJwk = { ...(await jose.exportJWK(publicKey)), kid: `k${i}`, alg };
    keys[alg] = { privateKey, publicJwk };
  }
  const k1 = JSON.parse(cli(["keygen", "--alg", "ES256K"]));
  const k1File = join(mkdtempSync(join(tmpdir(), "edge-auth-worker-")), "es256k.jwk");
  writeFileSync(k1File, JSON.stringify(k1.jwk));
  keys.ES256K = { jwks: k1.jwks, file: k1File };
  const edge = await jose.generateKeyPair("EdDSA", { extractable: true });
  keys.edge = await jose.exportJWK(edge.privateKey);
  origin = await startOrigin();
  originUrl = `http://127.0.0.1:${origin.address().port}`;
  mf = await worker(config());
  broken = await worker(config({ issuers: [] }));
});

after(async () => {
  await mf?.dispose();
  await broken?.dispose();
  origin?.close();
});

async function token(alg, claims = {}, header = {}) {
  const now = Math.floor(Date.now() / 1000);
  const body = { iss: ISS, aud: AUD, sub: "alice", iat: now, exp: now + 300, scope: "orders:read", ...claims };
  if (alg === "ES256K") {
    return cli(["mint", "--jwk", keys.ES256K.file, "--claims", JSON.stringify({ ...body, iss: K1_ISS })]).trim();
  }
  if (alg === "HS256") {
    return new jose.SignJWT({ ...body, iss: HS_ISS }).setProtectedHeader({ alg, ...header })
      .sign(new TextEncoder().encode(HS_SECRET));
  }
  return new jose.SignJWT(body).setProtectedHeader({ alg, kid: keys[alg].publicJwk.kid, ...header })
    .sign(keys[alg].privateKey);
}

async function call(instance, path, { token: t, headers = {}, method = "GET", body } = {}) {
  const before = received.length;
  const h = { ...headers };
  if (t) h.authorization = `Bearer ${t}`;
  const res = await instance.dispatchFetch(`https://api.example.com${path}`, { method, headers: h, body, duplex: "half" });
  const text = await res.text();
  return { res, text, forwarded: received.slice(before) };
}

async function jwks() {
  const { res, text } = await call(mf, "/.well-known/edge-auth/jwks.json");
  assert.equal(res.status, 200);
  return { res, set: jose.createLocalJWKSet(JSON.parse(text)), json: JSON.parse(text) };
}

test("serves the assertion JWKS, public keys only, cacheable", async () => {
  const { res, json } = await jwks();
  assert.match(res.headers.get("content-type"), /jwk-set\+json/);
  assert.match(res.headers.get("cache-control"), /max-age=/);
  assert.equal(json.keys.length, 1);
  assert.equal(json.keys[0].d, undefined);
  assert.equal(json.keys[0].kid, await jose.calculateJwkThumbprint(keys.edge, "sha256"));
});

for (const alg of [...ALGS, "HS256", "ES256K"]) {
  test(`${alg}: a valid token is forwarded with an assertion jose verifies`, async () => {
    const t = await token(alg);
    const { res, text, forwarded } = await call(mf, "/orders/7?expand=1", { token: t, method: "POST", body: "hello" });
    assert.equal(res.status, 200, text);
    assert.equal(forwarded.length, 1);
    const got = forwarded[0];
    assert.equal(got.url, "/orders/7?expand=1");
    assert.equal(got.method, "POST");
    assert.equal(got.body.toString(), "hello");
    assert.equal(got.headers.authorization, undefined, "Authorization is not forwarded");
    const { payload, protectedHeader } = await jose.jwtVerify(got.headers["edge-auth-assertion"], (await jwks()).set, {
      issuer: EDGE, audience: ORIGIN_AUD, typ: "edge-auth+jwt", algorithms: ["EdDSA"],
    });
    assert.equal(protectedHeader.kid, await jose.calculateJwkThumbprint(keys.edge, "sha256"));
    assert.equal(payload.sub, "alice");
    assert.equal(payload.src_iss, { HS256: HS_ISS, ES256K: K1_ISS }[alg] ?? ISS);
    assert.equal(payload.scope, "orders:read");
    assert.equal(payload.htm, "POST");
    assert.equal(payload.htu, "https://api.example.com/orders/7");
    assert.equal(payload.ath, createHash("sha256").update(t).digest("base64url"));
    assert.equal(payload.exp - payload.iat, 60);
    assert.match(payload.jti, /^[A-Za-z0-9_-]{22}$/);
  });

  test(`${alg}: a tampered signature is refused and nothing is forwarded`, async () => {
    const t = await token(alg);
    const [h, p, s] = t.split(".");
    const sig = Buffer.from(s, "base64url");
    sig[sig.length >> 1] ^= 0x01;
    const { res, text, forwarded } = await call(mf, "/orders", { token: `${h}.${p}.${sig.toString("base64url")}` });
    assert.equal(res.status, 401, text);
    assert.equal(JSON.parse(text).code, "signature_invalid");
    assert.equal(forwarded.length, 0);
  });
}

test("refusals: status, WWW-Authenticate, problem code; never forwarded", async () => {
  const now = Math.floor(Date.now() / 1000);
  const none = `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from(JSON.stringify({ iss: ISS, aud: AUD, exp: now + 60 })).toString("base64url")}.`;
  const cases = [
    ["no token", {}, 401, "token_missing", 'Bearer realm="edge-auth"'],
    ["expired", { token: await token("ES256", { exp: now - 120, iat: now - 400 }) }, 401, "token_expired"],
    ["wrong audience", { token: await token("ES256", { aud: "https://other.example" }) }, 401, "audience_mismatch"],
    ["unknown issuer", { token: await token("ES256", { iss: "https://evil.example/" }) }, 401, "issuer_unknown"],
    ["alg none", { token: none }, 401, "alg_not_allowed"],
    ["embedded jwk", { token: await token("ES256", {}, { jwk: keys.ES256.publicJwk }) }, 401, "embedded_key_refused"],
    ["garbage", { token: "not.a.token" }, 401, "token_malformed"],
    ["two tokens", { headers: { authorization: `Bearer ${await token("ES256")}, Bearer ${await token("EdDSA")}` } }, 400, "multiple_tokens"],
    ["malformed bearer", { headers: { authorization: "Bearer a b" } }, 400, "authorization_malformed"],
  ];
  for (const [name, opts, status, code, exactChallenge] of cases) {
    const { res, text, forwarded } = await call(mf, "/orders", opts);
    assert.equal(res.status, status, `${name}: ${text}`);
    assert.match(res.headers.get("content-type"), /application\/problem\+json/, name);
    assert.equal(JSON.parse(text).code, code, name);
    const challenge = res.headers.get("www-authenticate");
    if (exactChallenge) {
      assert.equal(challenge, exactChallenge, name);
    } else {
      const error = status === 400 ? "invalid_request" : "invalid_token";
      assert.equal(challenge, `Bearer realm="edge-auth", error="${error}", error_description="${code}"`, name);
    }
    assert.equal(forwarded.length, 0, `${name}: nothing forwarded`);
  }
});

test("spoofed assertion headers are stripped, whatever their casing", async () => {
  const spoof = { "Edge-Auth-Assertion": "forged-1", "EDGE-AUTH-ASSERTION": "forged-2", "edge-auth-assertion": "forged-3" };
  const pub = await call(mf, "/public/page", { headers: spoof });
  assert.equal(pub.res.status, 200, pub.text);
  assert.equal(pub.forwarded[0].headers["edge-auth-assertion"], undefined);
  const t = await token("ES256");
  const authed = await call(mf, "/orders", { token: t, headers: spoof });
  const value = authed.forwarded[0].headers["edge-auth-assertion"];
  assert.ok(!value.includes("forged"), value);
  await jose.jwtVerify(value, (await jwks()).set, { issuer: EDGE, audience: ORIGIN_AUD });
});

test("public routes are forwarded without a token", async () => {
  const { res, forwarded } = await call(mf, "/public/x?y=1");
  assert.equal(res.status, 200);
  assert.equal(forwarded.length, 1);
  assert.equal(forwarded[0].url, "/public/x?y=1");
});

test("a broken config answers 503 with a generic problem and forwards nothing", async () => {
  for (const path of ["/orders", "/public/x", "/.well-known/edge-auth/jwks.json"]) {
    const { res, text, forwarded } = await call(broken, path, { token: await token("ES256") });
    assert.equal(res.status, 503, text);
    assert.equal(JSON.parse(text).code, "config_invalid");
    assert.ok(!text.includes("issuers"), "the body does not reveal the config: " + text);
    assert.equal(forwarded.length, 0);
  }
  assert.ok(logs.some((l) => l.includes("config_error") && l.includes("issuers")), "the config error is logged with its path");
});

test("an unreachable origin is a 502 problem, not an exception page", async () => {
  // A port nothing listens on: the origin server's, once closed.
  const closed = await new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => { const port = s.address().port; s.close(() => resolve(port)); });
  });
  const unreachable = await worker(config(), `http://127.0.0.1:${closed}`);
  try {
    const res = await unreachable.dispatchFetch("https://api.example.com/orders", {
      headers: { authorization: `Bearer ${await token("ES256")}` },
    });
    const text = await res.text();
    assert.equal(res.status, 502, text);
    assert.equal(JSON.parse(text).code, "origin_unreachable");
  } finally {
    await unreachable.dispose();
  }
});

test("streamed request bodies arrive intact", async () => {
  const data = randomBytes(3 * 1024 * 1024 + 17);
  const stream = new ReadableStream({
    start(controller) {
      for (let i = 0; i < data.length; i += 65536) controller.enqueue(data.subarray(i, i + 65536));
      controller.close();
    },
  });
  const { res, text, forwarded } = await call(mf, "/upload", { token: await token("EdDSA"), method: "PUT", body: stream });
  assert.equal(res.status, 200, text);
  assert.equal(forwarded[0].body.length, data.length);
  assert.ok(forwarded[0].body.equals(data));
});

test("one structured log line per decision; tokens never logged; repeated tokens hit the cache", async () => {
  const t = await token("ES384", { sub: "cache-check" });
  logs.length = 0;
  await call(mf, "/orders/1", { token: t });
  await call(mf, "/orders/2", { token: t });
  await new Promise((r) => setTimeout(r, 200));
  const decisions = logs.filter((l) => l.includes('"event":"decision"')).map((l) => JSON.parse(l.slice(l.indexOf("{"))));
  assert.equal(decisions.length, 2, logs.join("\n"));
  assert.deepEqual(decisions.map((d) => [d.decision, d.cache]), [["forward", "miss"], ["forward", "hit"]]);
  assert.equal(decisions[0].issuer, ISS);
  assert.equal(decisions[0].sub_hash, createHash("sha256").update("cache-check").digest("hex").slice(0, 16));
  for (const line of logs) {
    for (const part of t.split(".")) assert.ok(!line.includes(part), "a token part appears in the logs: " + line);
  }
});
