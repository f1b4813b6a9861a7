// Remote keys through the `fetch` option of createVerifier (issue 10: "the same remote-key rules as the
// Worker"): a stand-in provider serves discovery and the JWKS and counts every call. Concurrent first
// sights share one fetch; an unknown kid causes one refetch, then none during the cooldown; a provider
// that fails with nothing cached gives keys_unavailable. Wall-clock time (no `now`): the key state and
// the token agree on the clock.
import * as jose from "jose";
import { assert } from "./harness.mjs";
import { AUD, outcome, refusalProblem, sleep, startOfSecond } from "./common.mjs";

const ISSUER = "https://idp.remote.example/";
const DISCOVERY = "https://idp.remote.example/.well-known/openid-configuration";
const JWKS = "https://idp.remote.example/keys";

/// A key provider stand-in: `fetch(input, init)` as the package calls it.
function provider() {
  const state = { keys: [], calls: [], delayMs: 0, failing: false, throwing: false };
  state.fetch = async (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const method = init?.method ?? (input instanceof Request ? input.method : "GET");
    state.calls.push({ url, method });
    if (state.delayMs) await sleep(state.delayMs);
    if (state.throwing) throw new TypeError("fetch failed (stand-in: connection refused)");
    if (state.failing) return new Response("upstream down", { status: 503 });
    const headers = { "content-type": "application/json", "cache-control": "max-age=600" };
    if (url === DISCOVERY) return new Response(JSON.stringify({ issuer: ISSUER, jwks_uri: JWKS }), { headers });
    if (url === JWKS) return new Response(JSON.stringify({ keys: state.keys.map((k) => k.jwk) }), { headers });
    return new Response("not found", { status: 404 });
  };
  state.count = (url) => state.calls.filter((c) => c.url === url).length;
  return state;
}

async function signingKey(kid) {
  const { privateKey, publicKey } = await jose.generateKeyPair("ES256", { extractable: true });
  const jwk = { ...(await jose.exportJWK(publicKey)), kid, alg: "ES256", use: "sig" };
  return { kid, privateKey, jwk };
}

async function tokenFor(key, claims = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new jose.SignJWT({ iss: ISSUER, aud: AUD, sub: "user-1", iat: now, exp: now + 600, ...claims })
    .setProtectedHeader({ alg: "ES256", kid: key.kid })
    .sign(key.privateKey);
}

function config(source, remoteKeys = {}) {
  return {
    issuers: [{ issuer: ISSUER, audiences: [AUD], algorithms: ["ES256"], ...source }],
    remote_keys: { kid_cooldown_seconds: 1, error_backoff_seconds: 1, ...remoteKeys },
  };
}

export function register(test, ctx) {
  const pkg = ctx.pkg;

  test("remote keys: discovery, then concurrent first sights share one fetch (single flight)", async (t) => {
    const idp = provider();
    idp.keys = [await signingKey("k1")];
    idp.delayMs = 100;
    const verifier = await pkg.createVerifier(config({ discovery: true }), { fetch: idp.fetch });
    const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => tokenFor(idp.keys[0], { sub: `user-${i}` })));
    const results = await Promise.all(tokens.map((tk) => outcome(() => verifier.verify(tk))));
    assert.deepEqual(results.map((r) => r.code), tokens.map(() => "ok"), "all verify");
    assert.equal(idp.count(DISCOVERY), 1, "discovery fetched once");
    assert.equal(idp.count(JWKS), 1, "JWKS fetched once for 20 concurrent requests");
    assert.deepEqual(idp.calls.map((c) => c.method.toUpperCase()), ["GET", "GET"], "plain GETs");
    // Later requests are served from memory.
    for (const tk of tokens.slice(0, 5)) assert.equal((await outcome(() => verifier.verify(tk))).code, "ok");
    assert.equal(idp.calls.length, 2, "no fetch for known keys");
    t.log(`calls: ${idp.calls.map((c) => c.url).join(", ")}`);
  }, { smoke: true });

  test("remote keys: jwks_uri is fetched directly, once", async () => {
    const idp = provider();
    idp.keys = [await signingKey("k1")];
    const verifier = await pkg.createVerifier(config({ jwks_uri: JWKS }), { fetch: idp.fetch });
    for (let i = 0; i < 3; i++) assert.equal((await outcome(async () => verifier.verify(await tokenFor(idp.keys[0])))).code, "ok");
    assert.deepEqual(idp.calls.map((c) => c.url), [JWKS]);
  });

  test("remote keys: an unknown kid refetches once, then not again during the cooldown", async () => {
    const idp = provider();
    const k1 = await signingKey("k1");
    const k2 = await signingKey("k2");
    const k3 = await signingKey("k3");
    idp.keys = [k1];
    const verifier = await pkg.createVerifier(config({ jwks_uri: JWKS }), { fetch: idp.fetch });
    assert.equal((await outcome(async () => verifier.verify(await tokenFor(k1)))).code, "ok");
    assert.equal(idp.count(JWKS), 1);
    // The provider rotates in k2: a token signed with it causes one refetch and verifies.
    const [t2, t3] = [await tokenFor(k2), await tokenFor(k3)];
    await startOfSecond();
    idp.keys = [k1, k2];
    assert.equal((await outcome(async () => verifier.verify(t2))).code, "ok", "k2 after a refetch");
    assert.equal(idp.count(JWKS), 2, "one refetch for the unknown kid");
    // k3 is unknown everywhere: within the cooldown (1 s) it is refused without a fetch.
    const early = await outcome(async () => verifier.verify(t3));
    assert.equal(refusalProblem(pkg, early.error, "key_not_found"), null, `within the cooldown: ${early.code}`);
    assert.equal(idp.count(JWKS), 2, "no fetch during the cooldown");
    // After the cooldown, one more refetch; the provider now has k3.
    await sleep(1200);
    idp.keys = [k1, k2, k3];
    assert.equal((await outcome(async () => verifier.verify(await tokenFor(k3)))).code, "ok", "k3 after the cooldown");
    assert.equal(idp.count(JWKS), 3, "one refetch after the cooldown");
    // Known keys never refetch.
    assert.equal((await outcome(async () => verifier.verify(await tokenFor(k1)))).code, "ok");
    assert.equal(idp.count(JWKS), 3);
  });

  test("remote keys: a failing provider with nothing cached is keys_unavailable; a recovered one serves", async () => {
    for (const mode of ["failing", "throwing"]) {
      const idp = provider();
      const k1 = await signingKey("k1");
      idp.keys = [k1];
      idp[mode] = true;
      // Creating the verifier never fails because the provider is down (the app must start).
      const verifier = await pkg.createVerifier(config({ discovery: true }), { fetch: idp.fetch });
      const token = await tokenFor(k1);
      await startOfSecond();
      const result = await outcome(() => verifier.verify(token));
      assert.equal(refusalProblem(pkg, result.error, "keys_unavailable", token), null, `${mode}: ${result.code}`);
      assert.ok(idp.calls.length >= 1, `${mode}: the provider was asked`);
      // Within the error backoff (1 s) no new attempt is made.
      const before = idp.calls.length;
      const again = await outcome(() => verifier.verify(token));
      assert.equal(again.code, "keys_unavailable", `${mode}: again`);
      assert.equal(idp.calls.length, before, `${mode}: no fetch during the backoff`);
      // The provider recovers: after the backoff the keys are fetched and the token verifies.
      idp[mode] = false;
      await sleep(1200);
      assert.equal((await outcome(() => verifier.verify(token))).code, "ok", `${mode}: after recovery`);
    }
  });

  test("remote keys: a discovery document naming another issuer is refused (keys_unavailable)", async () => {
    const idp = provider();
    const k1 = await signingKey("k1");
    idp.keys = [k1];
    const inner = idp.fetch;
    idp.fetch = async (input, init) => {
      const response = await inner(input, init);
      const url = typeof input === "string" ? input : input.url ?? String(input);
      if (url !== DISCOVERY) return response;
      return new Response(JSON.stringify({ issuer: "https://evil.example/", jwks_uri: JWKS }), { headers: { "content-type": "application/json" } });
    };
    const verifier = await pkg.createVerifier(config({ discovery: true }), { fetch: idp.fetch });
    const token = await tokenFor(k1);
    const result = await outcome(() => verifier.verify(token));
    assert.equal(refusalProblem(pkg, result.error, "keys_unavailable", token), null, result.code);
    assert.equal(idp.count(JWKS), 0, "the JWKS it names is never fetched");
  });
}
