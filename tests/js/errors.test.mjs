// The package's exports and its one error type (issue 10, "The package"): `EdgeAuthError extends Error`
// with a stable `.code`; every refusal is one, and nothing else is thrown for a bad token.
import { assert } from "./harness.mjs";
import { STABLE_CODES } from "./common.mjs";

export const EXPORTS = [
  "decode", "EdgeAuthError", "createVerifier", "verifySignature", "createGate", "withEdgeAuth",
  "createAssertionVerifier", "explain", "keygen", "mint",
];

export function register(test, ctx) {
  const pkg = ctx.pkg;

  test("exports: every name issue 10 fixes is a function or class", () => {
    const missing = EXPORTS.filter((name) => typeof pkg[name] !== "function");
    assert.deepEqual(missing, [], "missing exports");
  }, { smoke: true });

  test("EdgeAuthError: a class extending Error with a stable code", async () => {
    assert.ok(pkg.EdgeAuthError.prototype instanceof Error, "EdgeAuthError.prototype instanceof Error");
    // One real refusal, from the public API.
    const { jwk } = await pkg.keygen("ES256");
    const verifier = await pkg.createVerifier({
      issuers: [{ issuer: "https://idp.example/", audiences: ["api"], algorithms: ["ES256"], jwks: { keys: [publicOf(jwk)] } }],
    });
    const error = await assert.rejects(verifier.verify("not-a-token"));
    assert.ok(error instanceof pkg.EdgeAuthError, "instanceof EdgeAuthError");
    assert.ok(error instanceof Error, "instanceof Error");
    assert.equal(error.name, "EdgeAuthError", "name");
    assert.equal(error.code, "token_malformed", "code");
    assert.ok(typeof error.message === "string" && error.message.length > 0, "a message");
    assert.ok(typeof error.stack === "string", "a stack");
  }, { smoke: true });

  test("EdgeAuthError: every string a verifier is given settles as ok or an EdgeAuthError with a stable code", async () => {
    const { jwk } = await pkg.keygen("EdDSA");
    const verifier = await pkg.createVerifier({
      issuers: [{ issuer: "https://idp.example/", audiences: ["api"], algorithms: ["EdDSA"], jwks: { keys: [publicOf(jwk)] } }],
    });
    const inputs = ["", ".", "..", "...", "a.b.c", "a.b.c.d.e", "eyJ.eyJ.", " ", "\u0000", "é.é.é", "x".repeat(100_000), "=.=.=", "e30.e30.", "e30.e30.e30"];
    const problems = [];
    for (const input of inputs) {
      try {
        await verifier.verify(input);
        problems.push(`${JSON.stringify(input.slice(0, 20))}: accepted`);
      } catch (error) {
        if (!(error instanceof pkg.EdgeAuthError)) problems.push(`${JSON.stringify(input.slice(0, 20))}: threw ${error?.name}: ${error?.message}`);
        else if (!STABLE_CODES.includes(error.code)) problems.push(`${JSON.stringify(input.slice(0, 20))}: code ${error.code}`);
      }
    }
    assert.noProblems(problems);
  });

  test("EdgeAuthError: a broken configuration is config_invalid, naming the field", async () => {
    const error = await assert.rejects(pkg.createVerifier({ issuers: [{ issuer: "https://idp.example/", audiences: [], algorithms: ["ES256"], jwks: { keys: [] } }] }));
    assert.ok(error instanceof pkg.EdgeAuthError, `an EdgeAuthError, not ${error?.name}: ${error?.message}`);
    assert.equal(error.code, "config_invalid");
    assert.match(error.message, /issuers\[0\]\.audiences/, "the message names the field path");
  });

}

/// The public members of a private JWK.
export function publicOf(jwk) {
  const { d, p, q, dp, dq, qi, k, ...rest } = jwk;
  if (jwk.kty === "oct") return jwk;
  return rest;
}
