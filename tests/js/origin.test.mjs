// The origin middlewares, `edge-auth/express` and `edge-auth/hono` (issue 13, Node part), against a real
// edge: `createGate` verifies an IdP token minted with the package's `mint` and signs the assertion it
// forwards; the origin's verifier fetches the edge's JWKS (as the gate serves it, with its Cache-Control)
// through the `fetch` option. One table of cases runs through both middlewares (Express on 127.0.0.1 in
// Node; Hono through `app.fetch` in Node, Deno and Bun), each case asserting the status, the stable code
// and the exact `WWW-Authenticate`; refusals are compared byte for byte with the gate's own answer to the
// same refusal. Then: the JWKS unreachable (503, then recovery, then cached keys serving while it is down
// again), the unknown-kid refetch, forwarding headers only when trusted, the README examples as they are
// quoted, and the e2e origin (tests/js/origins/hono.mjs) as a process.
import { assert } from "./harness.mjs";
import { AUD, EDGE, ORIGIN_AUD, b64url, compact, payloadOf, sleep, startOfSecond } from "./common.mjs";

const IDP = "https://idp.example.com/";
const PUBLIC = "https://api.example.com";
const JWKS_URL = `${PUBLIC}/.well-known/edge-auth/jwks.json`;
const REALM = 'Bearer realm="edge-auth"';
const invalid = (code) => `${REALM}, error="invalid_token", error_description="${code}"`;
const forbidden = (code, scope) =>
  `${REALM}, error="insufficient_scope", error_description="${code}"${scope ? `, scope="${scope}"` : ""}`;

/// `fn()` throws a `TypeError`.
function throwsTypeError(fn, message) {
  let error;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof TypeError, `${message}: expected a TypeError, got ${error}`);
}

/// The edge: an IdP key, the gate with its assertion key, and requests sent through it.
async function edgeSetup(pkg, { audience = ORIGIN_AUD, routes, signing: sameKey } = {}) {
  const idp = await pkg.keygen("ES256");
  const signing = sameKey ?? await pkg.keygen("EdDSA");
  const gate = await pkg.createGate({
    issuers: [{ issuer: IDP, audiences: [AUD], algorithms: ["ES256"], jwks: idp.jwks }],
    assertion: { issuer: EDGE, audience, signing_key_secret: "SIGNING" },
    ...(routes ? { routes } : {}),
  }, { secrets: { SIGNING: JSON.stringify(signing.jwk) } });
  const token = (claims = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return pkg.mint(idp.jwk, { iss: IDP, aud: AUD, sub: "user-1", iat: now, exp: now + 600, ...claims });
  };
  return {
    gate,
    signing,
    token,
    /// The assertion the edge forwards for `method path` with a token holding `claims`.
    async assertionFor(method, path, claims = {}) {
      const bearer = await token(claims);
      const { request, response } = await gate.handle(new Request(`${PUBLIC}${path}`, { method, headers: { authorization: `Bearer ${bearer}` } }));
      assert.ok(request, `the edge forwards ${method} ${path} (it answered ${response?.status})`);
      return { assertion: request.headers.get("edge-auth-assertion"), bearer };
    },
    /// The edge's JWKS answer, as the Worker serves it.
    jwks: async () => (await gate.handle(new Request(JWKS_URL))).response,
  };
}

/// The edge's JWKS endpoint as the origin's verifier reaches it: counts calls, can be down.
function jwksEndpoint(edge) {
  const state = { calls: 0, down: false };
  state.fetch = async (input) => {
    state.calls++;
    assert.equal(String(input), JWKS_URL, "the verifier fetches the configured jwks_uri");
    if (state.down) throw new TypeError("fetch failed (stand-in: connection refused)");
    return edge.jwks();
  };
  return state;
}

/// The origin's routes, the same for both frameworks (any method, so that a replay with another method
/// reaches the middleware).
const ROUTES = [["/orders", { scopes: ["orders:read"] }], ["/admin", { roles: ["admin"] }], ["/me", undefined]];

async function honoOrigin(verifier, options) {
  const { Hono } = await import("hono");
  const { edgeAuth } = await import("edge-auth/hono");
  const auth = edgeAuth(verifier, options);
  const app = new Hono();
  for (const [path, requirement] of ROUTES) app.all(path, auth(requirement), (c) => c.json(c.get("edgeAuth")));
  app.onError((error, c) => c.text(`handler error: ${error?.message}`, 500));
  return {
    send: (method, path, headers = {}) => app.fetch(new Request(`http://origin.internal${path}`, { method, headers })),
    close: async () => {},
  };
}

/// Express on 127.0.0.1 (an ephemeral port); requests go over HTTP.
async function listen(app) {
  const server = await new Promise((resolve, reject) => {
    const s = app.listen(0, "127.0.0.1", (error) => (error ? reject(error) : resolve(s)));
  });
  const base = `http://127.0.0.1:${server.address().port}`;
  return {
    base,
    close: () => new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}

async function expressOrigin(verifier, options) {
  const { default: express } = await import("express");
  const { edgeAuth } = await import("edge-auth/express");
  const auth = edgeAuth(verifier, options);
  const app = express();
  for (const [path, requirement] of ROUTES) app.all(path, auth(requirement), (req, res) => res.json(req.edgeAuth));
  app.use((error, req, res, _next) => res.status(500).type("text").send(`handler error: ${error?.message}`));
  const server = await listen(app);
  return {
    send: (method, path, headers = {}) => fetch(`${server.base}${path}`, { method, headers }),
    close: server.close,
  };
}

const FRAMEWORKS = [
  { name: "hono", make: honoOrigin, only: ["node", "deno", "bun"], needs: [] },
  { name: "express", make: expressOrigin, only: ["node"], needs: ["server"] },
];

/// A forged assertion: the claims of a real one, signed with `jwk` (or unsigned for `alg: none`).
async function forged(pkg, real, alg, kid) {
  const claims = payloadOf(real);
  if (alg === "none") return compact(JSON.stringify({ alg: "none", typ: "edge-auth+jwt" }), JSON.stringify(claims));
  const { jwk } = await pkg.keygen(alg);
  return pkg.mint(jwk, claims, { typ: "edge-auth+jwt", kid });
}

/// The cases: how the assertion is made (`mint`: method and path at the edge, the caller's claims, or
/// `make` for anything else), how it is sent, and what the origin must answer.
const CASES = [
  { name: "allowed: scope held", mint: ["GET", "/orders", { scope: "orders:read profile" }], send: ["GET", "/orders"], status: 200 },
  { name: "allowed: role held", mint: ["GET", "/admin", { roles: ["admin"] }], send: ["GET", "/admin"], status: 200 },
  { name: "allowed: no requirement", mint: ["DELETE", "/me", {}], send: ["DELETE", "/me"], status: 200 },
  { name: "allowed: the query is not bound", mint: ["GET", "/orders?page=1", { scope: "orders:read" }], send: ["GET", "/orders?page=2"], status: 200 },
  { name: "allowed: the forwarded token matches ath", mint: ["GET", "/orders", { scope: "orders:read" }], send: ["GET", "/orders"], bearer: "own", status: 200 },
  { name: "missing scope: 403", mint: ["GET", "/orders", { scope: "profile" }], send: ["GET", "/orders"], status: 403, code: "insufficient_scope", www: forbidden("insufficient_scope", "orders:read") },
  { name: "missing role: 403", mint: ["GET", "/admin", { roles: ["user"] }], send: ["GET", "/admin"], status: 403, code: "role_missing", www: forbidden("role_missing") },
  { name: "replay to another path: 401", mint: ["GET", "/orders", { scope: "orders:read", roles: ["admin"] }], send: ["GET", "/admin"], status: 401, code: "binding_mismatch", www: invalid("binding_mismatch") },
  { name: "replay with another method: 401", mint: ["GET", "/orders", { scope: "orders:read" }], send: ["POST", "/orders"], status: 401, code: "binding_mismatch", www: invalid("binding_mismatch") },
  { name: "another caller's token forwarded (ath): 401", mint: ["GET", "/orders", { scope: "orders:read" }], send: ["GET", "/orders"], bearer: "other", status: 401, code: "binding_mismatch", www: invalid("binding_mismatch") },
  { name: "no assertion: 401 token_missing, no error attribute", make: async () => null, send: ["GET", "/orders"], status: 401, code: "token_missing", www: REALM },
  { name: "signed by another edge key: 401", make: async ({ other }) => (await other.assertionFor("GET", "/orders", { scope: "orders:read" })).assertion, send: ["GET", "/orders"], status: 401, code: "key_not_found", www: invalid("key_not_found") },
  { name: "another edge key again: 401, no second refetch within the kid cooldown", make: async ({ other }) => (await other.assertionFor("GET", "/orders", { scope: "orders:read" })).assertion, send: ["GET", "/orders"], status: 401, code: "key_not_found", www: invalid("key_not_found") },
  { name: "HS256 forgery with the edge key's kid: 401", make: async ({ pkg, real, edge }) => forged(pkg, real, "HS256", edge.signing.jwk.kid), send: ["GET", "/orders"], status: 401, code: "alg_not_allowed", www: invalid("alg_not_allowed") },
  { name: "alg none forgery: 401", make: async ({ pkg, real }) => forged(pkg, real, "none"), send: ["GET", "/orders"], status: 401, code: "alg_not_allowed", www: invalid("alg_not_allowed") },
  { name: "for another origin (audience): 401", make: async ({ elsewhere }) => (await elsewhere.assertionFor("GET", "/orders", { scope: "orders:read" })).assertion, send: ["GET", "/orders"], status: 401, code: "audience_mismatch", www: invalid("audience_mismatch") },
  { name: "another sub, the edge's signature: 401", make: async ({ real }) => { const [h, , sig] = real.split("."); return `${h}.${b64url(JSON.stringify({ ...payloadOf(real), sub: "admin-1" }))}.${sig}`; }, send: ["GET", "/orders"], status: 401, code: "signature_invalid", www: invalid("signature_invalid") },
];

async function runCase(c, world, origin) {
  const { pkg, edge } = world;
  let assertion, bearer;
  if (c.mint) ({ assertion, bearer } = await edge.assertionFor(...c.mint));
  else {
    const real = (await edge.assertionFor("GET", "/orders", { scope: "orders:read" })).assertion;
    assertion = await c.make({ ...world, real, pkg });
  }
  const headers = {};
  if (assertion) headers["edge-auth-assertion"] = assertion;
  if (c.bearer === "own") headers.authorization = `Bearer ${bearer}`;
  // Another token of the same caller (a `jti` of its own: ECDSA may be deterministic, as in Deno).
  if (c.bearer === "other") headers.authorization = `Bearer ${await edge.token({ scope: "orders:read", jti: "another-token" })}`;
  const [method, path] = c.send;
  const response = await origin.send(method, path, headers);
  const text = await response.text();
  assert.equal(response.status, c.status, `${c.name}: status (${text.slice(0, 200)})`);
  if (c.status === 200) {
    const identity = JSON.parse(text);
    assert.equal(identity.claims.sub, "user-1", `${c.name}: the caller`);
    assert.equal(identity.issuer, IDP, `${c.name}: the identity names the token's issuer (src_iss)`);
    assert.equal(identity.claims.htm, c.mint[0], `${c.name}: the assertion's method`);
    assert.deepEqual(identity.scopes, (c.mint[2].scope ?? "").split(" ").filter(Boolean), `${c.name}: scopes`);
    return;
  }
  assert.equal(response.headers.get("content-type"), "application/problem+json", `${c.name}: problem+json`);
  assert.equal(response.headers.get("cache-control"), "no-store", `${c.name}: no-store`);
  assert.equal(response.headers.get("www-authenticate"), c.www, `${c.name}: WWW-Authenticate`);
  const problem = JSON.parse(text);
  assert.equal(problem.code, c.code, `${c.name}: code`);
  assert.equal(problem.status, c.status, `${c.name}: problem status`);
  for (const secret of [assertion, bearer].filter(Boolean)) assert.ok(!text.includes(secret), `${c.name}: the body never echoes a token`);
}

async function worldFor(pkg) {
  const edge = await edgeSetup(pkg);
  return {
    pkg,
    edge,
    other: await edgeSetup(pkg),
    // The same edge key, for another origin.
    elsewhere: await edgeSetup(pkg, { audience: "https://elsewhere.example.com", signing: edge.signing }),
  };
}

async function verifierFor(pkg, endpoint, remoteKeys = {}) {
  return pkg.createAssertionVerifier({ jwks_uri: JWKS_URL, issuer: EDGE, audience: ORIGIN_AUD, remote_keys: remoteKeys }, { fetch: endpoint.fetch });
}

/// The gate's own answer to a request, for comparison with the origin's refusal.
async function edgeAnswer(gate, request) {
  const { response } = await gate.handle(request);
  return { status: response.status, headers: [...response.headers].sort(), body: await response.text() };
}

async function originAnswer(response) {
  const headers = [...response.headers].filter(([name]) => ["content-type", "cache-control", "www-authenticate", "retry-after"].includes(name)).sort();
  return { status: response.status, headers, body: await response.text() };
}

export function register(test, ctx) {
  const pkg = ctx.pkg;

  for (const framework of FRAMEWORKS) {
    const options = { only: framework.only, needs: framework.needs, timeout: 60_000 };

    test(`origin ${framework.name}: the case table (${CASES.length} cases: allowed, 403, replays, no assertion, other key, forgeries)`, async (t) => {
      const world = await worldFor(pkg);
      const endpoint = jwksEndpoint(world.edge);
      const origin = await framework.make(await verifierFor(pkg, endpoint), { publicUrl: PUBLIC });
      let ran = 0;
      try {
        for (const c of CASES) {
          await runCase(c, world, origin);
          ran++;
        }
      } finally {
        await origin.close();
      }
      assert.equal(ran, CASES.length, "every case ran");
      // The other key's kid caused one refetch; the second unknown kid within the cooldown (30 s) none.
      t.log(`JWKS fetches: ${endpoint.calls}`);
      assert.equal(endpoint.calls, 2, "the JWKS fetched once, then once more for the unknown kid");
    }, options);

    test(`origin ${framework.name}: refusals are the Worker's, byte for byte`, async () => {
      const edge = await edgeSetup(pkg, { routes: [{ path: "/orders", scopes: ["orders:read"] }] });
      const endpoint = jwksEndpoint(edge);
      const origin = await framework.make(await verifierFor(pkg, endpoint), { publicUrl: PUBLIC });
      try {
        // token_missing: the same request without a token at the edge, without an assertion at the origin.
        assert.deepEqual(await originAnswer(await origin.send("GET", "/orders")), await edgeAnswer(edge.gate, new Request(`${PUBLIC}/orders`)), "token_missing");
        // insufficient_scope: the edge refuses a token without the scope; the origin an assertion without it.
        const weak = await edge.token({ scope: "profile" });
        const atEdge = await edgeAnswer(edge.gate, new Request(`${PUBLIC}/orders`, { headers: { authorization: `Bearer ${weak}` } }));
        const open = await edgeSetup(pkg);
        const originOpen = await framework.make(await verifierFor(pkg, jwksEndpoint(open)), { publicUrl: PUBLIC });
        try {
          const { assertion } = await open.assertionFor("GET", "/orders", { scope: "profile" });
          assert.deepEqual(await originAnswer(await originOpen.send("GET", "/orders", { "edge-auth-assertion": assertion })), atEdge, "insufficient_scope");
          // alg_not_allowed: an `alg: none` token at the edge and an `alg: none` assertion at the origin.
          const none = compact('{"alg":"none"}', JSON.stringify({ iss: IDP, aud: AUD, sub: "user-1", exp: 2e9 }));
          const real = (await open.assertionFor("GET", "/orders", { scope: "orders:read" })).assertion;
          assert.deepEqual(
            await originAnswer(await originOpen.send("GET", "/orders", { "edge-auth-assertion": await forged(pkg, real, "none") })),
            await edgeAnswer(edge.gate, new Request(`${PUBLIC}/orders`, { headers: { authorization: `Bearer ${none}` } })),
            "alg_not_allowed",
          );
        } finally {
          await originOpen.close();
        }
      } finally {
        await origin.close();
      }
    }, options);

    test(`origin ${framework.name}: the JWKS unreachable at start → 503 keys_unavailable, then it recovers; cached keys serve while it is down again`, async (t) => {
      const edge = await edgeSetup(pkg);
      const endpoint = jwksEndpoint(edge);
      endpoint.down = true;
      // Created while the JWKS is down: nothing is fetched yet.
      const origin = await framework.make(await verifierFor(pkg, endpoint, { error_backoff_seconds: 1 }), { publicUrl: PUBLIC });
      try {
        assert.equal(endpoint.calls, 0, "creating the verifier fetches nothing");
        await startOfSecond();
        const down = await origin.send("GET", "/orders", { "edge-auth-assertion": (await edge.assertionFor("GET", "/orders", { scope: "orders:read" })).assertion });
        const problem = await down.json();
        assert.equal(down.status, 503, "no keys: 503");
        assert.equal(problem.code, "keys_unavailable");
        assert.equal(down.headers.get("content-type"), "application/problem+json");
        assert.ok(Number(down.headers.get("retry-after")) >= 1, `Retry-After: ${down.headers.get("retry-after")}`);
        assert.equal(down.headers.get("www-authenticate"), null, "a 503 has no challenge (as the Worker's)");
        assert.ok(!JSON.stringify(problem).includes("connection refused"), "the fetch error stays out of the body");
        endpoint.down = false;
        await sleep(1100); // past error_backoff_seconds
        const up = await origin.send("GET", "/orders", { "edge-auth-assertion": (await edge.assertionFor("GET", "/orders", { scope: "orders:read" })).assertion });
        assert.equal(up.status, 200, `recovered: ${await up.clone().text()}`);
        const calls = endpoint.calls;
        endpoint.down = true;
        for (let i = 0; i < 3; i++) {
          const cached = await origin.send("GET", "/orders", { "edge-auth-assertion": (await edge.assertionFor("GET", "/orders", { scope: "orders:read" })).assertion });
          assert.equal(cached.status, 200, "the cached keys keep serving while the JWKS is down");
        }
        assert.equal(endpoint.calls, calls, "no fetch while the keys are fresh (the edge's Cache-Control)");
        t.log(`JWKS fetches: ${endpoint.calls}`);
      } finally {
        await origin.close();
      }
    }, options);

    test(`origin ${framework.name}: forwarding headers count only with trustForwarded`, async () => {
      const edge = await edgeSetup(pkg);
      const endpoint = jwksEndpoint(edge);
      const verifier = await verifierFor(pkg, endpoint);
      const trusting = await framework.make(verifier, { trustForwarded: true });
      const pinned = await framework.make(verifier, { publicUrl: PUBLIC });
      const own = await framework.make(verifier, {});
      const send = async (origin, headers, [minted, sent] = ["/orders", "/orders"]) => {
        const { assertion } = await edge.assertionFor("GET", minted, { scope: "orders:read", roles: ["admin"] });
        const response = await origin.send("GET", sent, { "edge-auth-assertion": assertion, ...headers });
        const body = await response.json();
        return response.status === 200 ? 200 : `${response.status} ${body.code}`;
      };
      const cases = [
        [trusting, { "x-forwarded-proto": "https", "x-forwarded-host": "api.example.com" }, 200, "X-Forwarded-* trusted"],
        [trusting, { forwarded: 'for=192.0.2.1;proto=https;host="api.example.com", for=10.0.0.1;host=evil.example' }, 200, "Forwarded, first element"],
        [trusting, { forwarded: "proto=https;host=api.example.com", "x-forwarded-host": "evil.example" }, 200, "Forwarded before X-Forwarded-*"],
        [trusting, { "x-forwarded-proto": "https", "x-forwarded-host": "evil.example" }, "401 binding_mismatch", "a forwarded host that is not the public one"],
        [trusting, { "x-forwarded-proto": "http", "x-forwarded-host": "api.example.com" }, "401 binding_mismatch", "a forwarded scheme that is not the public one"],
        [trusting, { "x-forwarded-proto": "https", "x-forwarded-host": "api.example.com x" }, "401 binding_mismatch", "a forwarded host that does not parse"],
        [trusting, { "x-forwarded-proto": "https", "x-forwarded-host": "api.example.com/orders#" }, "401 binding_mismatch", "a forwarded host that carries a path (replay of /orders to /admin)", ["/orders", "/admin"]],
        [trusting, { forwarded: 'proto=https;host="api.example.com/orders?"' }, "401 binding_mismatch", "a Forwarded host that carries a path", ["/orders", "/admin"]],
        [trusting, { "x-forwarded-proto": "javascript", "x-forwarded-host": "api.example.com" }, "401 binding_mismatch", "a forwarded scheme that is not http(s)"],
        [pinned, { "x-forwarded-proto": "http", "x-forwarded-host": "evil.example" }, 200, "untrusted forwarding headers are ignored"],
        [pinned, { forwarded: "proto=http;host=evil.example" }, 200, "untrusted Forwarded is ignored"],
        [own, { "x-forwarded-proto": "https", "x-forwarded-host": "api.example.com" }, "401 binding_mismatch", "no publicUrl, not trusted: the request's own host"],
      ];
      try {
        for (const [origin, headers, expected, name, paths] of cases) {
          assert.equal(await send(origin, headers, paths), expected, name);
        }
      } finally {
        for (const origin of [trusting, pinned, own]) await origin.close();
      }
    }, options);
  }

  test("origin middlewares: mistakes show when the route is declared", async () => {
    const { edgeAuth } = await import("edge-auth/hono");
    const { edgeAuth: connect } = await import("edge-auth/express");
    const edge = await pkg.keygen("EdDSA");
    const verifier = await pkg.createAssertionVerifier({ jwks: edge.jwks, issuer: EDGE, audience: ORIGIN_AUD });
    for (const make of [edgeAuth, connect]) {
      throwsTypeError(() => make({}), "not a verifier");
      for (const publicUrl of ["api.example.com", "https://api.example.com/prefix", "https://api.example.com/?q", "https://u:p@api.example.com", "ftp://api.example.com"]) {
        throwsTypeError(() => make(verifier, { publicUrl }), `publicUrl ${publicUrl}`);
      }
      throwsTypeError(() => make(verifier, { trustForwarded: "yes" }), "trustForwarded");
      const auth = make(verifier, { publicUrl: "https://api.example.com/" });
      throwsTypeError(() => auth({ scope: ["x"] }), "unknown requirement");
      throwsTypeError(() => auth({ scopes: "orders:read" }), "scopes: a list");
      throwsTypeError(() => auth({ scopes: ["orders read"] }), "a scope with a space");
      throwsTypeError(() => auth({ roles: ['a"b'] }), "a role with a quote");
      assert.equal(typeof auth({ scopes: ["orders:read"], roles: ["admin"] }), "function");
    }
    for (const [options, path] of [
      [{ jwks: edge.jwks, issuer: EDGE, audience: ORIGIN_AUD, realm: 'a"b' }, "realm"],
      [{ jwks: edge.jwks, issuer: EDGE, audience: ORIGIN_AUD, remote_keys: {} }, "remote_keys"],
      [{ jwks_uri: JWKS_URL, issuer: EDGE, audience: ORIGIN_AUD, remote_keys: { kid_cooldown_seconds: 0 } }, "remote_keys.kid_cooldown_seconds"],
      [{ jwks_uri: "http://127.0.0.1:1/jwks.json", issuer: EDGE, audience: ORIGIN_AUD }, "jwks_uri"],
    ]) {
      const error = await pkg.createAssertionVerifier(options).then(() => null, (e) => e);
      assert.equal(error?.code, "config_invalid", path);
      assert.match(error.message, new RegExp(`^${path.replace(/\./g, "\\.")}: `, "m"), `${path}: named`);
    }
    // Loopback http only when allowed.
    await pkg.createAssertionVerifier({ jwks_uri: "http://127.0.0.1:1/jwks.json", issuer: EDGE, audience: ORIGIN_AUD, remote_keys: { allow_loopback_http: true } });
  }, { only: ["node", "deno", "bun"] });

  test("origin: authorize answers a custom realm and verifyRequest rejects with the same code", async () => {
    const edge = await edgeSetup(pkg);
    const verifier = await pkg.createAssertionVerifier({ jwks: (await (await edge.jwks()).json()), issuer: EDGE, audience: ORIGIN_AUD, realm: "orders api" });
    const { assertion } = await edge.assertionFor("GET", "/orders", { scope: "profile" });
    const request = new Request(`${PUBLIC}/orders`, { headers: { "edge-auth-assertion": assertion } });
    const { refusal } = await verifier.authorize(request, { scopes: ["orders:read", "orders:list"] });
    assert.equal(refusal.status, 403);
    assert.equal(refusal.code, "insufficient_scope");
    assert.deepEqual(Object.fromEntries(refusal.headers)["www-authenticate"],
      'Bearer realm="orders api", error="insufficient_scope", error_description="insufficient_scope", scope="orders:read orders:list"');
    assert.equal(refusal.error.code, "insufficient_scope");
    const rejected = await verifier.verifyRequest(request, { scopes: ["orders:read"] }).then(() => null, (e) => e);
    assert.equal(rejected?.name, "EdgeAuthError");
    assert.equal(rejected.code, "insufficient_scope");
    const { identity } = await verifier.authorize(request, { scopes: ["profile"] });
    assert.equal(identity.claims.sub, "user-1");
    assert.equal(verifier.header, "edge-auth-assertion");
  }, { smoke: true });

  test("README: the origin examples are quoted verbatim from tests/js/examples/", async () => {
    const readme = await ctx.readText("js/README.md");
    const quoted = [...readme.matchAll(/`(tests\/js\/examples\/[\w-]+\.mjs)`[^\n]*\n\n```js\n([\s\S]*?)```/g)];
    const files = quoted.map((m) => m[1]);
    for (const file of ["tests/js/examples/origin-express.mjs", "tests/js/examples/origin-hono.mjs", "tests/js/examples/hono.mjs"]) {
      assert.ok(files.includes(file), `js/README.md quotes ${file}`);
    }
    for (const [, file, block] of quoted) assert.equal(block, await ctx.readText(file), `js/README.md's block is ${file}`);
  }, { needs: ["fs"] });

  // The README examples, imported as they are: their jwks_uri (https://api.example.com/…) is answered by
  // the edge's JWKS through a stand-in for the global fetch, restored afterwards.
  for (const example of [
    { file: "origin-hono.mjs", only: ["node", "deno", "bun"], serve: async (app) => ({ send: (m, p, h) => app.fetch(new Request(`http://origin.internal${p}`, { method: m, headers: h })), close: async () => {} }) },
    { file: "origin-express.mjs", only: ["node"], serve: async (app) => { const s = await listen(app); return { send: (m, p, h) => fetch(`${s.base}${p}`, { method: m, headers: h }), close: s.close }; } },
  ]) {
    test(`README example ${example.file}: allowed, 403, 401`, async () => {
      const edge = await edgeSetup(pkg);
      const original = globalThis.fetch;
      let calls = 0;
      globalThis.fetch = (input, init) => (String(input) === JWKS_URL ? (calls++, edge.jwks()) : original(input, init));
      let origin;
      try {
        const app = (await import(new URL(`./examples/${example.file}`, import.meta.url).href)).default;
        origin = await example.serve(app);
        const send = async (path, claims) => {
          const headers = claims ? { "edge-auth-assertion": (await edge.assertionFor("GET", path, claims)).assertion } : {};
          const response = await origin.send("GET", path, headers);
          return { status: response.status, body: await response.json() };
        };
        assert.deepEqual(await send("/orders", { scope: "orders:read" }), { status: 200, body: { caller: "user-1", scopes: ["orders:read"] } });
        assert.deepEqual(await send("/admin", { roles: ["admin"] }), { status: 200, body: { admin: "user-1" } });
        const refused = await send("/orders", { scope: "profile" });
        assert.equal(`${refused.status} ${refused.body.code}`, "403 insufficient_scope");
        const missing = await send("/admin");
        assert.equal(`${missing.status} ${missing.body.code}`, "401 token_missing");
        assert.equal(calls, 1, "the JWKS fetched once");
      } finally {
        globalThis.fetch = original;
        await origin?.close();
      }
    }, { only: example.only, needs: example.file.includes("express") ? ["server"] : [], timeout: 60_000 });
  }

  test("tests/js/origins/hono.mjs (the e2e origin): configured by env, serves /orders, /admin, /healthz on 127.0.0.1", async (t) => {
    const { spawn } = await import("node:child_process");
    const { createServer } = await import("node:http");
    const { join } = await import("node:path");
    const edge = await edgeSetup(pkg);
    // The edge's JWKS on loopback http, as the Worker serves it in the e2e run.
    const jwksServer = createServer(async (req, res) => {
      const answer = await edge.jwks();
      res.writeHead(answer.status, Object.fromEntries(answer.headers));
      res.end(await answer.text());
    });
    await new Promise((resolve) => jwksServer.listen(0, "127.0.0.1", resolve));
    const jwksUrl = `http://127.0.0.1:${jwksServer.address().port}/.well-known/edge-auth/jwks.json`;
    const child = spawn(process.execPath, [join(ctx.root, "tests/js/origins/hono.mjs")], {
      env: {
        ...process.env, EDGE_AUTH_JWKS_URL: jwksUrl, EDGE_AUTH_ISSUER: EDGE, EDGE_AUTH_AUDIENCE: ORIGIN_AUD,
        PUBLIC_URL: PUBLIC, EDGE_AUTH_REMOTE_KEYS: '{"allow_loopback_http":true}', PORT: "0",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    try {
      let base;
      for (let waited = 0; !base && waited < 20_000; waited += 50) {
        base = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
        if (child.exitCode !== null) break;
        if (!base) await sleep(50);
      }
      assert.ok(base, `the origin did not start: ${output}`);
      t.log(`e2e origin on ${base}`);
      assert.equal(await (await fetch(`${base}/healthz`)).text(), "ok");
      const send = async (method, path, claims, sendPath = path) => {
        const headers = claims ? { "edge-auth-assertion": (await edge.assertionFor(method, path, claims)).assertion } : {};
        const response = await fetch(`${base}${sendPath}`, { method, headers });
        return { status: response.status, body: await response.json() };
      };
      const orders = await send("GET", "/orders", { scope: "orders:read" });
      assert.equal(orders.status, 200);
      assert.equal(orders.body.claims.sub, "user-1");
      assert.deepEqual(orders.body.scopes, ["orders:read"]);
      assert.equal(orders.body.issuer, IDP);
      assert.equal((await send("POST", "/admin", { roles: ["admin"] })).status, 200, "any method");
      assert.equal((await send("GET", "/admin", { roles: ["user"] })).body.code, "role_missing");
      assert.equal((await send("GET", "/orders", { scope: "profile" })).body.code, "insufficient_scope");
      assert.equal((await send("GET", "/orders", { scope: "orders:read", roles: ["admin"] }, "/admin")).body.code, "binding_mismatch");
      assert.equal((await send("GET", "/orders")).body.code, "token_missing");
    } finally {
      child.kill("SIGTERM");
      await Promise.race([new Promise((r) => child.once("close", r)), sleep(3000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await new Promise((resolve) => jwksServer.close(resolve));
    }
  }, { only: ["node"], needs: ["subprocess", "server"], timeout: 60_000 });
}
