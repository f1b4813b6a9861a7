// explain(EDGE_AUTH, { method, url, headers }, { now?, secrets? }) → the steps `edge-auth explain` prints,
// as data (issue 10). The issue leaves the shape open; these tests take the gate crate's `Explanation`
// (crates/gate/src/explain.rs) as the shape the package returns, serialized as JSON-like data:
//   { method, url, path, normalized, matched_path, path_error,
//     route: { index, pattern, methods, auth, issuers } | null, params: [[name, value]…] (or an object),
//     token: { source, code, error, issuer, subject, algorithm, key_id, scopes, roles, bindings } | null,
//     requirement: [{ depth, text, held }…],
//     decision: { kind: "forward", path (normalized, without the query), verified } | { kind: "refuse", status, code, www_authenticate, body }
//             | { kind: "preflight", headers } | { kind: "serve_jwks" } | { kind: "serve_status" } }
// (absent values may be null or undefined). The decision must agree with gate.handle on every case.
import { assert } from "./harness.mjs";
import { outcome } from "./common.mjs";
import { policyFixture } from "./policy-fixture.mjs";

function paramsOf(explanation) {
  const p = explanation.params ?? [];
  return Array.isArray(p) ? Object.fromEntries(p) : p;
}

export function register(test, ctx) {
  const pkg = ctx.pkg;

  async function explainCase(fx, c, token) {
    const { headers } = await fx.requestOf(c, token);
    return pkg.explain(fx.config, { method: c.request.method ?? "GET", url: c.request.url, headers }, { secrets: fx.secrets });
  }

  test("explain: the decision agrees with gate.handle on every table case", async (t) => {
    const fx = await policyFixture(ctx);
    const gate = await pkg.createGate(fx.config, { secrets: fx.secrets });
    const problems = [];
    let ran = 0;
    for (const c of fx.table.cases.filter(fx.constructible)) {
      const token = c.token ? await fx.mint(c.token) : undefined;
      const x = await outcome(() => explainCase(fx, c, token));
      if (x.code !== "ok") {
        problems.push(`${c.name}: explain threw ${x.code} ${x.error?.message}`);
        continue;
      }
      const d = x.value?.decision;
      const { request } = await fx.requestOf(c, token);
      const handled = await gate.handle(request);
      if (handled.response) {
        const status = handled.response.status;
        if (status === 204) {
          if (d?.kind !== "preflight") problems.push(`${c.name}: gate 204, explain ${JSON.stringify(d)}`);
        } else {
          const code = (await handled.response.json()).code;
          if (d?.kind !== "refuse" || d.status !== status || d.code !== code) problems.push(`${c.name}: gate ${status} ${code}, explain ${JSON.stringify(d)}`);
        }
      } else {
        const url = new URL(handled.request.url);
        // `decision.path` is the normalized path; the query is forwarded as received and is not part of it.
        if (d?.kind !== "forward" || d.path !== url.pathname || d.verified !== Boolean(c.token)) {
          problems.push(`${c.name}: gate forwards to ${url.pathname}${url.search}, explain ${JSON.stringify(d)}`);
        }
      }
      const impure = notPlain(x.value);
      if (impure) problems.push(`${c.name}: not plain data at ${impure}`);
      ran += 1;
    }
    t.log(`${ran} cases explained`);
    assert.noProblems(problems);
    assert.ok(ran >= 60, `only ${ran} cases`);
  }, { smoke: true });

  test("explain: path normalization, route, verification and each requirement part", async () => {
    const fx = await policyFixture(ctx);
    const byName = (name) => fx.table.cases.find((x) => x.name === name);

    const encoded = await explainCase(fx, byName("bypass: encoded letters"));
    assert.equal(encoded.path, "/%61dmin/users", "the path as received");
    assert.equal(encoded.normalized, "/admin/users", "normalized");
    assert.equal(encoded.route?.index, 5, "routes[5]");
    assert.equal(encoded.route?.pattern, "/admin/*");
    assert.equal(encoded.route?.auth, "required");
    assert.equal(encoded.token?.code, "ok", "the token verified");
    assert.equal(encoded.token?.issuer, "https://okta.example/");
    assert.equal(encoded.token?.subject, "user-1");
    assert.equal(encoded.token?.algorithm, "ES256");
    assert.equal(encoded.token?.source, "header");
    assert.deepEqual(encoded.token?.roles, ["staff"]);
    assert.equal(encoded.requirement?.length, 1, "one requirement part");
    assert.equal(encoded.requirement[0].held, false, "✗");
    assert.match(encoded.requirement[0].text, /admin/, "names the role");
    assert.equal(encoded.decision?.kind, "refuse");
    assert.equal(encoded.decision.status, 403);
    assert.equal(encoded.decision.code, "role_missing");
    assert.match(encoded.decision.www_authenticate ?? "", /insufficient_scope/);

    const tenant = await explainCase(fx, byName("tenant binding: own tenant"));
    assert.deepEqual(paramsOf(tenant), { tenant: "acme" }, "params");
    assert.equal(tenant.decision?.kind, "forward");
    assert.equal(tenant.decision.path, "/tenants/acme/orders");
    assert.equal(tenant.decision.verified, true);

    const nested = await explainCase(fx, byName("nested any/all: second alternative (scope and claim)"));
    const held = nested.requirement.map((s) => s.held);
    assert.ok(nested.requirement.length >= 3, `steps: ${JSON.stringify(nested.requirement)}`);
    assert.ok(held.includes(false) && held.at(-1) === true, "the first alternative fails, the second holds");
    assert.ok(nested.requirement.some((s) => s.depth > 0), "nested steps are deeper");
    assert.equal(nested.decision?.kind, "forward");

    const expired = await explainCase(fx, byName("optional route with a bad token is refused"));
    assert.equal(expired.token?.code, "token_expired");
    assert.equal(expired.decision?.kind, "refuse");
    assert.equal(expired.decision.status, 401);

    const slash = await explainCase(fx, byName("an encoded slash is refused"));
    assert.equal(slash.normalized ?? null, null, "no normal form");
    assert.ok(typeof slash.path_error === "string" && slash.path_error.length > 0, "why");
    assert.equal(slash.route ?? null, null, "no route");
    assert.equal(slash.decision?.code, "path_ambiguous");

    const fallback = await explainCase(fx, byName("default rule requires a token"));
    assert.equal(fallback.route?.index ?? null, null, "the default rule has no index");
    assert.equal(fallback.token ?? null, null, "no token");
    assert.equal(fallback.decision?.code, "token_missing");
  });

  test("explain: `now` is the verification time", async () => {
    const fx = await policyFixture(ctx);
    const c = fx.table.cases.find((x) => x.name === "default rule: any verified caller");
    const token = await fx.mint(c.token);
    const headers = { authorization: `Bearer ${token}` };
    const later = Math.floor(Date.now() / 1000) + 7200;
    const x = await pkg.explain(fx.config, { method: "GET", url: c.request.url, headers }, { secrets: fx.secrets, now: later });
    assert.equal(x.token?.code, "token_expired", "two hours later the token has expired");
    assert.equal(x.decision?.status, 401);
  });
}

/// The path to the first value that is not JSON-like data (a Map, a class instance, a BigInt…), or null.
function notPlain(value, path = "$") {
  if (value === null || value === undefined || ["string", "boolean"].includes(typeof value)) return null;
  if (typeof value === "number") return Number.isFinite(value) ? null : path;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = notPlain(value[i], `${path}[${i}]`);
      if (found) return found;
    }
    return null;
  }
  if (typeof value === "object" && [Object.prototype, null].includes(Object.getPrototypeOf(value))) {
    for (const [k, v] of Object.entries(value)) {
      const found = notPlain(v, `${path}.${k}`);
      if (found) return found;
    }
    return null;
  }
  return path;
}
