// createAssertionVerifier({ jwks | jwks_uri, issuer, audience }) → verifyRequest(request, { publicUrl? })
// (issue 10): the origin's side. The assertion the gate attaches verifies, and its binding (htm, htu, ath)
// is checked against the actual request: a replay to another path, host or method is binding_mismatch.
// The same assertions verify with PyJWT (tests/js/pyjwt_check.py, in the Node run).
import * as jose from "jose";
import { assert } from "./harness.mjs";
import { EDGE, ORIGIN_AUD, outcome, refusalProblem } from "./common.mjs";
import { policyFixture } from "./policy-fixture.mjs";
import { gateJwks, runTable } from "./gate.test.mjs";

const HEADER = "edge-auth-assertion";

async function forwarded(pkg, fx, gate, name) {
  const c = fx.table.cases.find((x) => x.name === name);
  const { request, token } = await fx.requestOf(c);
  const result = await gate.handle(request);
  if (!result.request) throw new Error(`${name}: not forwarded (${result.response?.status})`);
  return { fwd: result.request, token, c };
}

/// A copy of `request` at another URL or method, with the same headers (the assertion replayed).
function replay(request, { url = request.url, method = request.method, headers = {} } = {}) {
  const h = new Headers(request.headers);
  for (const [name, value] of Object.entries(headers)) h.set(name, value);
  return new Request(url, { method, headers: h });
}

export function register(test, ctx) {
  const pkg = ctx.pkg;

  test("createAssertionVerifier: the gate's assertion verifies against the actual request", async () => {
    const fx = await policyFixture(ctx);
    const gate = await pkg.createGate(fx.config, { secrets: fx.secrets });
    const verifier = await pkg.createAssertionVerifier({ jwks: await gateJwks(gate), issuer: EDGE, audience: ORIGIN_AUD });
    const { fwd } = await forwarded(pkg, fx, gate, "Keycloak realm_access.roles grant admin");
    const identity = await verifier.verifyRequest(fwd);
    assert.equal(identity?.claims?.sub, "user-1", "sub");
    assert.equal(identity.claims.src_iss, "https://keycloak.example/realms/main", "src_iss");
    assert.equal(identity.claims.iss, EDGE, "iss");
    assert.deepEqual(identity.roles, ["admin"], "roles");
    assert.ok(Array.isArray(identity.scopes), "scopes");
    // The query is not part of htu: the same path with a query still verifies.
    const withQuery = await outcome(() => verifier.verifyRequest(replay(fwd, { url: `${fwd.url}?page=2` })));
    assert.equal(withQuery.code, "ok", `with a query: ${withQuery.code}`);
  }, { smoke: true });

  test("createAssertionVerifier: a replay to another path, host or method is binding_mismatch", async () => {
    const fx = await policyFixture(ctx);
    const gate = await pkg.createGate(fx.config, { secrets: fx.secrets });
    const verifier = await pkg.createAssertionVerifier({ jwks: await gateJwks(gate), issuer: EDGE, audience: ORIGIN_AUD });
    const { fwd } = await forwarded(pkg, fx, gate, "Okta scp array grants orders:read");
    const assertion = fwd.headers.get(HEADER);
    const replays = [
      ["another path", replay(fwd, { url: "https://api.example.com/orders/2" })],
      ["a parent path", replay(fwd, { url: "https://api.example.com/orders" })],
      ["another host", replay(fwd, { url: "https://admin.example.com/orders/1" })],
      ["another scheme", replay(fwd, { url: "http://api.example.com/orders/1" })],
      ["another method", replay(fwd, { method: "DELETE" })],
      ["POST instead of GET", replay(fwd, { method: "POST" })],
    ];
    const problems = [];
    for (const [name, request] of replays) {
      const result = await outcome(() => verifier.verifyRequest(request));
      const problem = result.code === "ok" ? "accepted" : refusalProblem(pkg, result.error, "binding_mismatch", assertion);
      if (problem) problems.push(`${name}: ${problem}`);
    }
    assert.noProblems(problems, "replays");
  }, { smoke: true });

  test("createAssertionVerifier: tampered, foreign and missing assertions are refused", async () => {
    const fx = await policyFixture(ctx);
    const gate = await pkg.createGate(fx.config, { secrets: fx.secrets });
    const jwks = await gateJwks(gate);
    const verifier = await pkg.createAssertionVerifier({ jwks, issuer: EDGE, audience: ORIGIN_AUD });
    const { fwd } = await forwarded(pkg, fx, gate, "Okta scp array grants orders:read");
    const assertion = fwd.headers.get(HEADER);
    const [h, p, s] = assertion.split(".");
    const flipped = `${h}.${p}.${s.startsWith("A") ? "B" : "A"}${s.slice(1)}`;
    const cases = [
      ["a flipped signature", replay(fwd, { headers: { [HEADER]: flipped } }), "signature_invalid"],
      ["the caller's own token as the assertion", replay(fwd, { headers: { [HEADER]: await fx.mint({ issuer: "https://okta.example/", claims: {} }) } }), null],
    ];
    const problems = [];
    for (const [name, request, code] of cases) {
      const result = await outcome(() => verifier.verifyRequest(request));
      if (result.code === "ok") problems.push(`${name}: accepted`);
      else if (!(result.error instanceof pkg.EdgeAuthError)) problems.push(`${name}: ${result.error?.name}`);
      else if (code && result.code !== code) problems.push(`${name}: ${result.code}, expected ${code}`);
    }
    // No assertion at all: refused with an EdgeAuthError (its code is the package's choice).
    const bare = new Request(fwd.url, { method: fwd.method });
    const missing = await outcome(() => verifier.verifyRequest(bare));
    if (missing.code === "ok" || !(missing.error instanceof pkg.EdgeAuthError)) problems.push(`no assertion: ${missing.code}`);
    // A verifier for another audience, or another issuer, refuses it.
    const other = await pkg.createAssertionVerifier({ jwks, issuer: EDGE, audience: "https://other-origin.example" });
    const aud = await outcome(() => other.verifyRequest(fwd));
    if (aud.code !== "audience_mismatch") problems.push(`another audience: ${aud.code}`);
    const otherIss = await pkg.createAssertionVerifier({ jwks, issuer: "https://other-edge.example", audience: ORIGIN_AUD });
    const iss = await outcome(() => otherIss.verifyRequest(fwd));
    if (iss.code !== "issuer_unknown") problems.push(`another issuer: ${iss.code}`);
    assert.noProblems(problems);
  });

  test("createAssertionVerifier: behind an ORIGIN prefix, publicUrl names the URL the assertion is bound to", async () => {
    const fx = await policyFixture(ctx);
    const gate = await pkg.createGate(fx.config, { secrets: fx.secrets, origin: "https://origin.internal/api" });
    const verifier = await pkg.createAssertionVerifier({ jwks: await gateJwks(gate), issuer: EDGE, audience: ORIGIN_AUD });
    const { fwd } = await forwarded(pkg, fx, gate, "Okta scp array grants orders:read");
    assert.equal(fwd.url, "https://origin.internal/api/orders/1");
    const asReceived = await outcome(() => verifier.verifyRequest(fwd));
    assert.equal(refusalProblem(pkg, asReceived.error, "binding_mismatch"), null, `the origin's own URL: ${asReceived.code}`);
    const withPublic = await outcome(() => verifier.verifyRequest(fwd, { publicUrl: "https://api.example.com/orders/1" }));
    assert.equal(withPublic.code, "ok", `with publicUrl: ${withPublic.code}`);
    const wrongPublic = await outcome(() => verifier.verifyRequest(fwd, { publicUrl: "https://api.example.com/orders/2" }));
    assert.equal(wrongPublic.code, "binding_mismatch", `another publicUrl: ${wrongPublic.code}`);
  });

  test("createAssertionVerifier: with forward_token, ath binds the assertion to the token the origin receives", async () => {
    const fx = await policyFixture(ctx, { patch: (c) => ({ ...c, forward_token: true }) });
    const gate = await pkg.createGate(fx.config, { secrets: fx.secrets });
    const verifier = await pkg.createAssertionVerifier({ jwks: await gateJwks(gate), issuer: EDGE, audience: ORIGIN_AUD });
    const { fwd, token } = await forwarded(pkg, fx, gate, "Okta scp array grants orders:read");
    assert.equal(fwd.headers.get("authorization"), `Bearer ${token}`, "forward_token keeps Authorization");
    assert.equal((await outcome(() => verifier.verifyRequest(fwd))).code, "ok", "the token it was minted for");
    const another = await fx.mint({ issuer: "https://okta.example/", claims: { scp: ["orders:read"], sub: "user-2" } });
    const swapped = await outcome(() => verifier.verifyRequest(replay(fwd, { headers: { authorization: `Bearer ${another}` } })));
    assert.equal(refusalProblem(pkg, swapped.error, "binding_mismatch"), null, `another token: ${swapped.code}`);
  });

  test("interop: the gate's EdDSA and ES256 assertions verify with PyJWT", async (t) => {
    const { spawn } = await import("node:child_process");
    const { writeFile, mkdtemp, rm } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const sets = [];
    for (const alg of ["EdDSA", "ES256"]) {
      const fx = await policyFixture(ctx, { assertionAlg: alg });
      const gate = await pkg.createGate(fx.config, { secrets: fx.secrets });
      const jwks = await gateJwks(gate);
      // The table run collects every verified forward's assertion that jose accepted (whether the table
      // agrees with the Worker is the policy-table test's business).
      const seen = [];
      await runTable(fx, gate, jose.createLocalJWKSet(jwks), seen);
      assert.ok(seen.length >= 20, `${alg}: only ${seen.length} assertions to check`);
      sets.push({ alg, jwks, issuer: EDGE, audience: ORIGIN_AUD, assertions: seen });
    }
    const dir = await mkdtemp(join(tmpdir(), "edge-auth-pyjwt-"));
    try {
      const file = join(dir, "assertions.json");
      await writeFile(file, JSON.stringify(sets));
      const { code, out } = await new Promise((resolve, reject) => {
        const child = spawn("python3", [join(ctx.root, "tests/js/pyjwt_check.py"), file], { stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        child.stdout.on("data", (d) => (out += d));
        child.stderr.on("data", (d) => (out += d));
        const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
        child.on("error", reject);
        child.on("close", (code) => {
          clearTimeout(timer);
          resolve({ code, out });
        });
      });
      t.log(out.trim().split("\n").at(-1));
      assert.equal(code, 0, `pyjwt_check.py: ${out}`);
      const total = sets.reduce((n, s) => n + s.assertions.length, 0);
      assert.match(out, new RegExp(`${total} assertions verified with PyJWT`), "every assertion checked");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, { only: ["node"], needs: ["subprocess"] });
}
