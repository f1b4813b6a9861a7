// createGate / gate.handle and withEdgeAuth against the policy table (issue 10: "createGate runs the policy
// table and must agree with the Worker on every case"). Every answer is checked exactly as
// tests/worker/policy.test.mjs checks the Worker's: status, code, problem+json, scope, headers, the
// forwarded path and headers, and for verified forwards exactly one assertion that verifies with jose
// against the JWKS the gate itself serves, bound to the method and public URL.
import * as jose from "jose";
import { assert } from "./harness.mjs";
import { EDGE, ORIGIN_AUD, POLICY_CASES, outcome, refusalProblem } from "./common.mjs";
import { policyFixture } from "./policy-fixture.mjs";

const ASSERTION_HEADER = "edge-auth-assertion";
const JWKS_URL = "https://api.example.com/.well-known/edge-auth/jwks.json";

function cookieNames(cookie) {
  return (cookie ?? "").split(";").map((p) => p.trim().split("=")[0]).filter(Boolean);
}

/// The gate's published assertion keys, fetched through gate.handle.
export async function gateJwks(gate) {
  const { response, request } = await gate.handle(new Request(JWKS_URL));
  if (!response) throw new Error(`the JWKS request was forwarded (${request?.url})`);
  if (response.status !== 200) throw new Error(`JWKS status ${response.status}`);
  return response.json();
}

/// What is wrong with the gate's answer to one table case (empty: nothing). `seen` collects the verified
/// forwards' assertions (for the PyJWT check).
export async function checkCase(c, token, result, edgeJwks, seen, assertionVerifier) {
  const wrong = [];
  const e = c.expect;
  if (!result || typeof result !== "object" || (!result.response === !result.request)) {
    return [`handle resolved to ${JSON.stringify(result)}: expected { response } or { request, identity }`];
  }
  const res = result.response;
  const text = res ? await res.text() : "";
  const status = res ? res.status : 200;
  if (status !== e.status) wrong.push(`status ${status} ${text.slice(0, 200)}`);
  if (e.status === 200 && result.request) {
    const fwd = result.request;
    if (!(fwd instanceof Request)) wrong.push("the forwarded request is not a Request");
    const url = new URL(fwd.url);
    if (e.path && url.pathname + url.search !== e.path) wrong.push(`forwarded to ${url.pathname}${url.search}`);
    const assertions = fwd.headers.get(ASSERTION_HEADER);
    if (!c.token) {
      if (assertions !== null) wrong.push(`an anonymous forward carries an assertion: ${assertions}`);
      if (result.identity != null) wrong.push(`an anonymous forward has an identity: ${JSON.stringify(result.identity)}`);
    } else {
      if (fwd.headers.get("authorization") !== null) wrong.push("Authorization reached the origin");
      if (cookieNames(fwd.headers.get("cookie")).includes("at")) wrong.push("the token cookie reached the origin");
      if ((fwd.headers.get("cookie") ?? "").includes(token)) wrong.push("the token reached the origin in a cookie");
      if (assertions === null || assertions.includes(",")) wrong.push(`assertion header: ${JSON.stringify(assertions)}`);
      else {
        try {
          const { payload } = await jose.jwtVerify(assertions, edgeJwks, { issuer: EDGE, audience: ORIGIN_AUD, typ: "edge-auth+jwt" });
          const publicUrl = new URL(c.request.url);
          const expected = { sub: c.token.claims.sub ?? "user-1", src_iss: c.token.issuer, htm: c.request.method ?? "GET",
            htu: `${publicUrl.origin}${(e.path ?? publicUrl.pathname).split("?")[0]}` };
          for (const [claim, value] of Object.entries(expected)) {
            if (payload[claim] !== value) wrong.push(`assertion ${claim} ${JSON.stringify(payload[claim])}, expected ${JSON.stringify(value)}`);
          }
          seen?.push({ name: c.name, assertion: assertions, ...expected });
        } catch (error) {
          wrong.push(`the assertion does not verify with jose: ${error.code ?? error.message}`);
        }
        if (assertionVerifier) {
          try {
            const identity = await assertionVerifier.verifyRequest(fwd);
            if (identity?.claims?.sub !== (c.token.claims.sub ?? "user-1")) wrong.push(`verifyRequest: sub ${identity?.claims?.sub}`);
          } catch (error) {
            wrong.push(`createAssertionVerifier refuses the forwarded request: ${error?.code ?? error?.message}`);
          }
        }
      }
      const identity = result.identity;
      if (!identity || typeof identity !== "object") wrong.push(`identity ${JSON.stringify(identity)}`);
      else {
        if (identity.claims?.sub !== (c.token.claims.sub ?? "user-1")) wrong.push(`identity.claims.sub ${identity.claims?.sub}`);
        if (identity.issuer !== c.token.issuer) wrong.push(`identity.issuer ${identity.issuer}`);
        if (!Array.isArray(identity.scopes) || !Array.isArray(identity.roles)) wrong.push("identity.scopes / roles not arrays");
      }
    }
    for (const [name, value] of Object.entries(e.forwarded_headers ?? {})) {
      const actual = fwd.headers.get(name);
      if (actual !== value) wrong.push(`forwarded ${name}: ${JSON.stringify(actual)}, expected ${JSON.stringify(value)}`);
    }
  } else if (e.status !== 200) {
    if (!res) wrong.push(`forwarded to ${result.request.url} although refused`);
    else if (e.code) {
      let body = {};
      try {
        body = e.status === 204 ? {} : JSON.parse(text);
      } catch {
        wrong.push(`body is not JSON: ${text.slice(0, 100)}`);
      }
      if (e.status !== 204 && body.code !== e.code) wrong.push(`code ${body.code}`);
      if (e.status !== 204 && res.headers.get("content-type") !== "application/problem+json") wrong.push(`content-type ${res.headers.get("content-type")}`);
    }
  }
  if (res) {
    if (e.scope) {
      const scope = /scope="([^"]*)"/.exec(res.headers.get("www-authenticate") ?? "")?.[1];
      if (scope !== e.scope) wrong.push(`scope ${scope}`);
    }
    for (const [name, value] of Object.entries(e.headers ?? {})) {
      if (res.headers.get(name) !== value) wrong.push(`header ${name}: ${res.headers.get(name)}`);
    }
    if (e.status === 401 && !res.headers.get("www-authenticate")) wrong.push("a 401 without WWW-Authenticate");
    if (e.status === 403 && e.code !== "csrf_refused" && e.code !== "cors_refused") {
      try {
        const body = JSON.parse(text);
        if (typeof body.missing !== "string") wrong.push("no `missing` in the problem");
        if (c.token && JSON.stringify(body).includes("user-1")) wrong.push("problem echoes a claim");
      } catch {
        wrong.push("403 body is not JSON");
      }
    }
  }
  return wrong;
}

/// Runs the whole table through `gate`; returns { failures, ran, notConstructible, verifiedForwards }.
export async function runTable(fx, gate, edgeJwks, seen, assertionVerifier) {
  const failures = [];
  const notConstructible = [];
  let ran = 0, verifiedForwards = 0;
  for (const c of fx.table.cases) {
    if (!fx.constructible(c)) {
      notConstructible.push(c.name);
      continue;
    }
    const { request, token } = await fx.requestOf(c);
    const result = await outcome(() => gate.handle(request));
    const wrong = result.code === "ok" ? await checkCase(c, token, result.value, edgeJwks, seen, assertionVerifier) : [`handle threw ${result.code}: ${result.error?.message}`];
    if (wrong.length) failures.push(`${c.name}: ${wrong.join(", ")}`);
    if (c.expect.status === 200 && c.token) verifiedForwards += 1;
    ran += 1;
  }
  return { failures, ran, notConstructible, verifiedForwards };
}

export function register(test, ctx) {
  const pkg = ctx.pkg;

  test(`policy table: all ${POLICY_CASES} cases through createGate agree with the Worker`, async (t) => {
    const fx = await policyFixture(ctx);
    const gate = await pkg.createGate(fx.config, { secrets: fx.secrets });
    const jwks = await gateJwks(gate);
    // Every verified forward's assertion verifies with jose (in checkCase) and with the package's own
    // origin-side verifier, against the request the gate forwards.
    const assertionVerifier = await pkg.createAssertionVerifier({ jwks, issuer: EDGE, audience: ORIGIN_AUD });
    const { failures, ran, notConstructible, verifiedForwards } = await runTable(fx, gate, jose.createLocalJWKSet(jwks), undefined, assertionVerifier);
    t.log(`${ran} cases run, ${verifiedForwards} verified forwards checked header by header (jose and createAssertionVerifier)`);
    if (notConstructible.length) t.log(`not constructible in ${ctx.runtime} (forbidden request headers): ${notConstructible.length}: ${notConstructible.join(" | ")}`);
    assert.noProblems(failures, "cases where the gate disagrees with the Worker");
    assert.equal(ran + notConstructible.length, POLICY_CASES, "every case run or named");
    if (ctx.capabilities.has("raw-headers")) assert.equal(ran, POLICY_CASES, "every case runs here");
    assert.ok(verifiedForwards >= 20, `only ${verifiedForwards} verified forwards`);
  }, { smoke: true });

  test("policy table: every refused token is refused the same way the second time", async (t) => {
    const fx = await policyFixture(ctx);
    const gate = await pkg.createGate(fx.config, { secrets: fx.secrets });
    const refused = fx.table.cases.filter((c) => c.token && c.expect.status !== 200 && c.expect.status !== 204 && fx.constructible(c));
    const failures = [];
    for (const c of refused) {
      const token = await fx.mint(c.token);
      const answers = [];
      for (const round of [1, 2]) {
        const { request } = await fx.requestOf(c, token);
        const { response } = await gate.handle(request);
        if (!response) {
          failures.push(`${c.name} (round ${round}): forwarded`);
          continue;
        }
        answers.push({ status: response.status, code: (await response.json()).code, challenge: response.headers.get("www-authenticate") });
      }
      if (JSON.stringify(answers[0]) !== JSON.stringify(answers[1])) failures.push(`${c.name}: ${JSON.stringify(answers)}`);
    }
    t.log(`${refused.length} refused-with-token cases sent twice`);
    assert.noProblems(failures);
    assert.ok(refused.length >= 20, `only ${refused.length} cases`);
  });

  test("gate: serves its assertion JWKS (public members only), EdDSA and ES256 keys", async () => {
    for (const alg of ["EdDSA", "ES256"]) {
      const fx = await policyFixture(ctx, { assertionAlg: alg });
      const gate = await pkg.createGate(fx.config, { secrets: fx.secrets });
      const jwks = await gateJwks(gate);
      assert.equal(jwks.keys.length, 1, `${alg}: one key`);
      const key = jwks.keys[0];
      for (const member of ["d", "k", "p", "q"]) assert.equal(key[member], undefined, `${alg}: no ${member}`);
      assert.equal(key.alg, alg, `${alg}: the key names its alg`);
      assert.ok(typeof key.kid === "string" && key.kid.length > 0, `${alg}: a kid`);
      // A verified forward's assertion verifies with it.
      const c = fx.table.cases.find((x) => x.name === "Okta scp array grants orders:read");
      const { request, token } = await fx.requestOf(c);
      const result = await gate.handle(request);
      const wrong = await checkCase(c, token, result, jose.createLocalJWKSet(jwks));
      assert.deepEqual(wrong, [], `${alg} assertion`);
    }
  }, { smoke: true });

  test("gate: broken configurations are refused at creation with config_invalid", async () => {
    const fx = await policyFixture(ctx);
    const broken = structuredClone(fx.config);
    broken.routes[0].auth = "sometimes";
    const e1 = await assert.rejects(pkg.createGate(broken, { secrets: fx.secrets }));
    assert.equal(refusalProblem(pkg, e1, "config_invalid"), null, `a bad route: ${e1?.code ?? e1?.message}`);
    assert.match(e1.message, /routes\[0\]\.auth/, "names the field");
    const e2 = await assert.rejects(pkg.createGate(fx.config, { secrets: {} }));
    assert.equal(refusalProblem(pkg, e2, "config_invalid"), null, `a missing secret: ${e2?.code ?? e2?.message}`);
    assert.ok(!e2.message.includes(fx.secrets.SIGNING), "never the secret");
    const e3 = await assert.rejects(pkg.createGate(fx.config, { secrets: fx.secrets, origin: "https://origin.example/api?x=1" }));
    assert.equal(refusalProblem(pkg, e3, "config_invalid"), null, `an origin with a query: ${e3?.code ?? e3?.message}`);
    // Revocation needs the Worker's Durable Object: a gate that could not check it must not start.
    const revoking = { ...structuredClone(fx.config), revocation: { issuers: [fx.config.issuers[0].issuer] } };
    const e4 = await assert.rejects(pkg.createGate(revoking, { secrets: fx.secrets }));
    assert.equal(refusalProblem(pkg, e4, "config_invalid"), null, `revocation: ${e4?.code ?? e4?.message}`);
    assert.match(e4.message, /revocation: needs the Worker's Durable Object/);
    // `explain` names the revocation endpoints (answered at the edge, never forwarded).
    revoking.issuers[0].backchannel_logout = { client_id: "edge" };
    const url = "https://api.example.com/.well-known/edge-auth/backchannel-logout";
    const explained = await pkg.explain(revoking, { method: "POST", url, headers: {} }, { secrets: fx.secrets });
    assert.deepEqual(explained.decision, { kind: "edge_endpoint", endpoint: "backchannel_logout" });
    const get = await pkg.explain(revoking, { method: "GET", url, headers: {} }, { secrets: fx.secrets });
    assert.deepEqual([get.decision.status, get.decision.code], [405, "method_not_allowed"]);
  });

  test("gate: `origin` is a prefix for the forwarded URL; the assertion's htu stays the public URL", async () => {
    const fx = await policyFixture(ctx);
    const gate = await pkg.createGate(fx.config, { secrets: fx.secrets, origin: "https://origin.internal:8443/api" });
    const jwks = jose.createLocalJWKSet(await gateJwks(gate));
    const cases = [
      ["Okta scp array grants orders:read", "https://origin.internal:8443/api/orders/1"],
      ["the origin receives the normalized path", "https://origin.internal:8443/api/public/x/z?q=1"],
    ];
    for (const [name, url] of cases) {
      const c = fx.table.cases.find((x) => x.name === name);
      const { request } = await fx.requestOf(c);
      const { request: fwd, response } = await gate.handle(request);
      assert.ok(fwd, `${name}: forwarded (${response?.status})`);
      assert.equal(fwd.url, url, name);
      if (c.token) {
        const { payload } = await jose.jwtVerify(fwd.headers.get(ASSERTION_HEADER), jwks, { issuer: EDGE, audience: ORIGIN_AUD });
        assert.equal(payload.htu, "https://api.example.com/orders/1", "htu is the public URL, without the origin's prefix");
      }
    }
  });

  test("withEdgeAuth: the handler gets the forwarded request and identity; refusals never call it", async () => {
    const fx = await policyFixture(ctx);
    const gate = await pkg.createGate(fx.config, { secrets: fx.secrets });
    const calls = [];
    const wrapped = pkg.withEdgeAuth(gate, async (request, identity, ...rest) => {
      calls.push({ request, identity, rest, body: request.body ? await request.text() : null });
      return new Response(`handled ${new URL(request.url).pathname}`, { status: 200, headers: { "x-from": "handler" } });
    });
    const byName = (name) => fx.table.cases.find((x) => x.name === name);

    // A verified forward.
    const verified = byName("Okta scp array grants orders:read");
    const res1 = await wrapped((await fx.requestOf(verified)).request, "ENV", "CTX");
    assert.equal(res1.status, 200);
    assert.equal(await res1.text(), "handled /orders/1");
    assert.equal(calls.length, 1, "handler called once");
    assert.equal(calls[0].identity?.claims?.sub, "user-1");
    assert.equal(calls[0].identity?.issuer, "https://okta.example/");
    assert.deepEqual([...calls[0].identity.scopes].sort(), ["orders:read", "profile"]);
    assert.equal(calls[0].request.headers.get("authorization"), null, "no Authorization for the handler");
    assert.ok(calls[0].request.headers.get(ASSERTION_HEADER), "the assertion is attached");
    assert.deepEqual(calls[0].rest, ["ENV", "CTX"], "the fetch handler's other arguments are passed on");

    // An anonymous forward: identity null.
    const res2 = await wrapped((await fx.requestOf(byName("public route, no token"))).request);
    assert.equal(res2.status, 200);
    assert.equal(calls.length, 2);
    assert.equal(calls[1].identity ?? null, null, "anonymous: no identity");

    // A body is forwarded.
    const post = new Request("https://api.example.com/orders/9", {
      method: "POST", body: "hello body",
      headers: { authorization: `Bearer ${await fx.mint({ issuer: "https://keycloak.example/realms/main", claims: { scope: "orders:read orders:write" } })}`, "content-type": "text/plain" },
    });
    const res3 = await wrapped(post);
    assert.equal(res3.status, 200);
    assert.equal(calls[2].body, "hello body", "the body reaches the handler");

    // Refusals: the handler is never called.
    const before = calls.length;
    for (const [name, status] of [["default rule requires a token", 401], ["/admin/* guards /admin itself", 403], ["an encoded slash is refused", 400], ["optional route with a bad token is refused", 401]]) {
      const res = await wrapped((await fx.requestOf(byName(name))).request);
      assert.equal(res.status, status, name);
    }
    assert.equal(calls.length, before, "refusals never call the handler");
  }, { smoke: true });

  test("withEdgeAuth: with a `cors` section the edge owns the handler's CORS headers", async () => {
    const fx = await policyFixture(ctx);
    const gate = await pkg.createGate(fx.config, { secrets: fx.secrets });
    const wrapped = pkg.withEdgeAuth(gate, () => new Response("x", { headers: { "access-control-allow-origin": "*", "x-own": "1" } }));
    const token = await fx.mint({ issuer: "https://okta.example/", claims: { scp: ["orders:read"] } });
    const res = await wrapped(new Request("https://api.example.com/orders/1", { headers: { authorization: `Bearer ${token}`, origin: "https://app.example.com" } }));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("access-control-allow-origin"), "https://app.example.com", "the edge's allow-origin replaces the handler's *");
    assert.equal(res.headers.get("x-own"), "1", "other headers are kept");
    assert.match(res.headers.get("vary") ?? "", /origin/i, "Vary: Origin");
    const preflight = await wrapped(new Request("https://api.example.com/orders/1", { method: "OPTIONS", headers: { origin: "https://app.example.com", "access-control-request-method": "POST" } }));
    assert.equal(preflight.status, 204, "a preflight is answered at the edge");
  }, { needs: ["raw-headers"] });
}
