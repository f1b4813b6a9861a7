// A request whose client goes away while the Worker waits (here, on its origin) ends there: its work is
// dropped, nothing of it stays in the isolate (the status endpoint's `open_awaits` falls back), and the
// runtime's cancellation is counted (`cancelled_requests`) and logged (`request_cancelled`). Run in
// workerd without miniflare (raw-workerd.mjs): a client reset reaches the Worker only that way. Without
// the compatibility flag `enable_request_signal` the same requests stay (the leak this ends), and a
// client that only closes its side (FIN) is not a cancellation: those requests finish when the origin
// answers. Bounded: a dozen requests, a few seconds each step.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer, request as httpRequest } from "node:http";
import * as jose from "jose";
import { COMPATIBILITY_FLAGS, root, buildDir } from "./built-worker.mjs";
import { rawWorkerd } from "./raw-workerd.mjs";

const ISS = "https://idp.example.com/", AUD = "https://api.example.com";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitFor(check, ms) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return true;
    await sleep(50);
  }
  return check();
}

/// The origin holds every request until `release()`; `held` are their responses. `closedByPeer()`: how
/// many of them lost their connection before being answered (workerd cancelled the subrequest).
/// `serve(path)`, when set, answers at once the paths it gives a body for (`undefined`: hold).
async function holdingOrigin() {
  const held = [];
  let closedByPeer = 0;
  const origin = { serve: () => undefined };
  const server = createServer((req, res) => {
    req.resume();
    const body = origin.serve(req.url);
    if (body !== undefined) {
      res.setHeader("content-type", "application/json");
      res.end(body);
      return;
    }
    res.on("close", () => { if (!res.writableEnded) closedByPeer += 1; });
    held.push(res);
  }).listen(0, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  const release = () => { for (const res of held.splice(0)) if (!res.writableEnded) res.end('{"ok":true}'); };
  return Object.assign(origin, {
    held, release, closedByPeer: () => closedByPeer,
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => { release(); server.close(); },
  });
}

/// A JSON document from the Worker, or a failure after 5 s (never a hung test).
const getJson = async (url) => (await fetch(url, { signal: AbortSignal.timeout(5000) })).json();

/// The built Worker in raw workerd with `flags`, in front of `origin`. `remoteKeys`: its issuer's keys
/// come from `origin`'s `/jwks` (served there as `origin.jwks`) instead of the configuration.
async function edgeAuth(flags, origin, { remoteKeys = false, revocation = false } = {}) {
  const idp = await jose.generateKeyPair("ES256", { extractable: true });
  const jwk = { ...(await jose.exportJWK(idp.publicKey)), alg: "ES256", kid: "k1" };
  origin.jwks = JSON.stringify({ keys: [jwk] });
  const signing = await jose.exportJWK((await jose.generateKeyPair("EdDSA", { extractable: true })).privateKey);
  const now = Math.floor(Date.now() / 1000);
  const token = await new jose.SignJWT({ iss: ISS, aud: AUD, sub: "alice", iat: now, exp: now + 600 })
    .setProtectedHeader({ alg: "ES256", kid: "k1" }).sign(idp.privateKey);
  const config = {
    status_endpoint: true,
    issuers: [{
      issuer: ISS, audiences: [AUD], algorithms: ["ES256"],
      ...(remoteKeys ? { jwks_uri: `${origin.url}/jwks` } : { jwks: { keys: [jwk] } }),
      ...(revocation ? { backchannel_logout: { client_id: "edge" } } : {}),
    }],
    assertion: { issuer: "https://edge.example", audience: "https://origin.example", signing_key_secret: "SIGNING" },
    ...(remoteKeys ? { remote_keys: { allow_loopback_http: true } } : {}),
    ...(revocation ? { revocation: { issuers: [ISS], cache_seconds: 0 } } : {}),
  };
  /// A logout token (OIDC Back-Channel Logout 1.0 §2.4) for session `sid`.
  const logoutToken = (sid) => new jose.SignJWT({
    iss: ISS, aud: "edge", iat: now, exp: now + 120, jti: `logout-${sid}`, sid,
    events: { "http://schemas.openid.net/event/backchannel-logout": {} },
  }).setProtectedHeader({ alg: "ES256", kid: "k1", typ: "logout+jwt" }).sign(idp.privateKey);
  const status = (base) => getJson(`${base}/.well-known/edge-auth/status`);
  const runtime = await rawWorkerd([{
    name: "edge",
    modules: [{ path: `${root}/${buildDir}/index.js` }, { path: `${root}/${buildDir}/index_bg.wasm` }],
    bindings: { EDGE_AUTH: JSON.stringify(config), SIGNING: JSON.stringify(signing), ORIGIN: origin.url },
    durableObjects: revocation ? { EDGE_AUTH_REVOCATIONS: "Revocations" } : {},
    flags,
  }], async (urls) => Number.isInteger((await status(urls.edge)).open_awaits));
  const base = runtime.urls.edge;
  return {
    ...runtime,
    token,
    logoutToken,
    status: () => status(base),
    /// One request with the token; its client request, to disconnect.
    send(path) {
      const r = httpRequest(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
      r.on("error", () => {});
      r.end();
      return r;
    },
    /// Three requests with the token, each held by the origin: their client requests (to disconnect)
    /// and the statuses they are answered with.
    async three() {
      const clients = [1, 2, 3].map((i) => {
        const r = httpRequest(`${base}/orders/${i}`, { headers: { authorization: `Bearer ${token}` } });
        r.on("error", () => {});
        r.end();
        return r;
      });
      // Each request's status; a client error (its reset) or no answer in 10 s reads as `null`.
      const statuses = Promise.all(clients.map((r) => new Promise((resolve) => {
        r.on("response", (answer) => { answer.resume(); resolve(answer.statusCode); });
        r.on("error", () => resolve(null));
        setTimeout(() => resolve(null), 10_000).unref();
      })));
      await waitFor(() => origin.held.length === 3, 5000);
      assert.equal(origin.held.length, 3, "the three requests reached the origin");
      return { clients, statuses };
    },
  };
}

/// Runs `body(worker, origin)` against the built Worker (`edgeAuth(flags, origin, options)`) in front of a
/// holding origin; both are stopped afterwards, whatever happens.
async function withWorker(flags, options, body) {
  const origin = await holdingOrigin();
  let worker;
  try {
    worker = await edgeAuth(flags, origin, options);
    await body(worker, origin);
  } finally {
    worker?.stop();
    origin.close();
  }
}

const cancelledLines = (text) => text.split("\n").filter((l) => l.includes('"event":"request_cancelled"')).length;

test("wrangler.toml sets the compatibility flags the tests run with (enable_request_signal)", () => {
  const toml = readFileSync(`${root}/wrangler.toml`, "utf8");
  const line = toml.split("\n").find((l) => l.startsWith("compatibility_flags"));
  assert.ok(line, "wrangler.toml has compatibility_flags");
  assert.deepEqual(JSON.parse(line.split("=")[1]), COMPATIBILITY_FLAGS);
});

test("a client that resets while its request waits on the origin: the request's work ends, nothing stays", () =>
  withWorker(COMPATIBILITY_FLAGS, {}, async (worker, origin) => {
    assert.deepEqual(await worker.status().then((s) => [s.open_awaits, s.cancelled_requests]), [0, 0], "at rest");
    const { clients } = await worker.three();
    assert.equal((await worker.status()).open_awaits, 3, "each request waits on its origin");
    for (const r of clients) r.socket.resetAndDestroy();
    const settled = await waitFor(async () => {
      const s = await worker.status();
      return s.open_awaits === 0 && s.cancelled_requests === 3;
    }, 5000);
    const s = await worker.status();
    assert.ok(settled, `after the resets: open_awaits ${s.open_awaits}, cancelled_requests ${s.cancelled_requests}`);
    // The runtime cancelled the subrequests too: the origin's connections are closed.
    assert.ok(await waitFor(() => origin.closedByPeer() === 3, 5000), `workerd closed the origin's connections (${origin.closedByPeer()} of 3)`);
    assert.ok(await waitFor(() => cancelledLines(worker.stdout()) === 3, 2000),
      `three request_cancelled lines:\n${worker.stdout()}`);
    // The isolate goes on: the next requests are forwarded.
    origin.held.splice(0);
    const { statuses } = await worker.three();
    origin.release();
    assert.deepEqual(await statuses, [200, 200, 200]);
    assert.equal((await worker.status()).cancelled_requests, 3, "answered requests are not cancellations");
    assert.ok(await waitFor(async () => (await worker.status()).open_awaits === 0, 5000), "and they hold nothing once answered");
  }));

test("a client that only closes its side (FIN) is not seen as gone by workerd (its behaviour today): the request finishes when the origin answers", () =>
  withWorker(COMPATIBILITY_FLAGS, {}, async (worker, origin) => {
    const { clients } = await worker.three();
    for (const r of clients) r.destroy();
    await sleep(500);
    const during = await worker.status();
    assert.deepEqual([during.open_awaits, during.cancelled_requests], [3, 0], "still waiting on the origin");
    assert.equal(origin.closedByPeer(), 0, "the origin's connections stay open");
    origin.release();
    assert.ok(await waitFor(async () => (await worker.status()).open_awaits === 0, 5000), "done once the origin answered");
    assert.equal((await worker.status()).cancelled_requests, 0);
    assert.equal(cancelledLines(worker.stdout()), 0);
  }));

test("without enable_request_signal the reset requests stay in the isolate (what the flag ends)", () =>
  withWorker([], {}, async (worker, origin) => {
    const { clients } = await worker.three();
    for (const r of clients) r.socket.resetAndDestroy();
    // The runtime cancels them (it closes the origin's connections) but never tells the Worker.
    assert.ok(await waitFor(() => origin.closedByPeer() === 3, 5000), `workerd closed the origin's connections (${origin.closedByPeer()} of 3)`);
    await sleep(500);
    const s = await worker.status();
    assert.deepEqual([s.open_awaits, s.cancelled_requests], [3, 0], "the three requests' awaits stay open");
  }));

test("a request whose client resets while it fetches its issuer's keys ends, and the fetch goes on for the next requests", () =>
  withWorker(COMPATIBILITY_FLAGS, { remoteKeys: true }, async (worker, origin) => {
    // The first key fetch is held until released; everything else is answered.
    let jwksRequests = 0;
    const forwarded = [];
    origin.serve = (path) => {
      if (path === "/jwks") return ++jwksRequests > 1 ? origin.jwks : undefined;
      forwarded.push(path);
      return '{"ok":true}';
    };
    const first = worker.send("/orders/1");
    assert.ok(await waitFor(() => origin.held.length === 1, 5000), "the first request's key fetch reached the key server");
    first.socket.resetAndDestroy();
    assert.ok(await waitFor(async () => (await worker.status()).cancelled_requests === 1, 5000), "the first request was cancelled");
    await sleep(300);
    assert.equal(origin.closedByPeer(), 0, "its key fetch was not cancelled (a waitUntil task of its own)");
    // The next request waits for that fetch rather than starting one; the keys arrive; it is forwarded.
    const second = fetch(`${worker.urls.edge}/orders/2`, {
      headers: { authorization: `Bearer ${worker.token}` },
      signal: AbortSignal.timeout(5000),
    });
    // Waiting: the detached fetch's await and the second request's own.
    assert.ok(await waitFor(async () => (await worker.status()).open_awaits >= 2, 3000), "the second request waits for the fetch");
    origin.held.splice(0)[0].end(origin.jwks);
    const answer = await second;
    assert.equal(answer.status, 200, await answer.text());
    assert.ok(await waitFor(() => /"decision":"forward".*"keys":"fetch-wait"/.test(worker.stdout()), 2000),
      `its decision line says it waited for a fetch:\n${worker.stdout()}`);
    assert.equal(jwksRequests, 1, "one key fetch served both");
    // The cancelled request is never forwarded, not even once the keys it waited for arrived.
    await sleep(300);
    assert.deepEqual(forwarded, ["/orders/2"]);
    const issuer = (await worker.status()).issuers[0];
    assert.ok("last_error" in issuer && "fetches" in issuer, JSON.stringify(issuer));
    assert.deepEqual([issuer.fetches, issuer.last_error], [1, null], JSON.stringify(issuer));
  }));

test("a back-channel logout whose client resets while it waits for the issuer's keys ends unstored; sent again, it is stored and audited once", () =>
  withWorker(COMPATIBILITY_FLAGS, { remoteKeys: true, revocation: true }, async (worker, origin) => {
    // The issuer's keys are fetched on first use; that fetch is held until released.
    const body = new URLSearchParams({ logout_token: await worker.logoutToken("session-R") }).toString();
    const headers = { "content-type": "application/x-www-form-urlencoded", "content-length": Buffer.byteLength(body) };
    const path = "/.well-known/edge-auth/backchannel-logout";
    const client = httpRequest(`${worker.urls.edge}${path}`, { method: "POST", headers });
    client.on("error", () => {});
    client.end(body);
    assert.ok(await waitFor(() => origin.held.length === 1, 5000), "the logout's key fetch reached the key server");
    client.socket.resetAndDestroy();
    // Not yet storing (only the store runs to its end whatever the client does): cancelled.
    assert.ok(await waitFor(async () => (await worker.status()).cancelled_requests === 1, 5000), "the logout was cancelled");
    origin.held.splice(0)[0].end(origin.jwks);
    await sleep(300);
    const audits = () => worker.stdout().split("\n").filter((l) => l.includes('"event":"revoke"'));
    assert.equal(audits().length, 0, "nothing stored, nothing audited");
    // The provider sends it again: stored (not a replay) and audited, once.
    const again = await fetch(`${worker.urls.edge}${path}`, { method: "POST", headers, body, signal: AbortSignal.timeout(5000) });
    assert.equal(again.status, 200, await again.text());
    assert.ok(await waitFor(() => audits().length === 1, 2000), `one audit line:\n${worker.stdout()}`);
    assert.match(audits()[0], /"kind":"sid"/);
    assert.match(audits()[0], /"via":"logout"/);
    assert.ok(await waitFor(async () => (await worker.status()).open_awaits === 0, 5000), "nothing left open");
  }));
