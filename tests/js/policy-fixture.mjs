// The policy table (tests/policy/cases.json) completed the way tests/worker/policy.test.mjs completes it
// for the Worker (its `about` says how): per issuer algorithms ["ES256"] and a fresh key (jwks), the
// assertion section, and an EdDSA (or ES256) assertion key as a secret; tokens minted with jose.
import * as jose from "jose";
import { AUD, EDGE, ORIGIN_AUD } from "./common.mjs";

/// Request headers a browser page cannot set (the Fetch standard's forbidden request headers): cases that
/// need them run only where requests can be built freely (Node, Deno, Bun), and are counted.
const FORBIDDEN = /^(cookie|cookie2|origin|referer|host|connection|content-length|date|dnt|expect|keep-alive|te|trailer|transfer-encoding|upgrade|via|access-control-request-headers|access-control-request-method|accept-charset|accept-encoding|sec-.*|proxy-.*)$/i;

export async function policyFixture(ctx, { assertionAlg = "EdDSA", patch = (c) => c } = {}) {
  const table = await ctx.readJson("tests/policy/cases.json");
  const config = structuredClone(table.config);
  const keys = {};
  for (const issuer of config.issuers) {
    const { privateKey, publicKey } = await jose.generateKeyPair("ES256", { extractable: true });
    keys[issuer.issuer] = privateKey;
    issuer.algorithms = ["ES256"];
    issuer.jwks = { keys: [await jose.exportJWK(publicKey)] };
  }
  config.assertion = { issuer: EDGE, audience: ORIGIN_AUD, signing_key_secret: "SIGNING" };
  const edge = await jose.generateKeyPair(assertionAlg, { extractable: true });
  const secrets = { SIGNING: JSON.stringify(await jose.exportJWK(edge.privateKey)) };

  async function mint(spec) {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: spec.issuer, aud: AUD, sub: "user-1", iat: now, exp: now + 3600, ...spec.claims };
    // A negative `exp` in the table is relative to now (past the default 60 s leeway: expired).
    if (claims.exp < 0) claims.exp = now + claims.exp;
    return new jose.SignJWT(claims).setProtectedHeader({ alg: "ES256" }).sign(keys[spec.issuer]);
  }

  /// The case's request (a fresh token unless `token` is given) and the token it carries.
  async function requestOf(c, token) {
    const headers = { ...(c.request.headers ?? {}) };
    let t = token;
    if (c.token) {
      t ??= await mint(c.token);
      if (c.token.in === "cookie") headers.cookie = headers.cookie ? `${headers.cookie}; at=${t}` : `at=${t}`;
      else headers.authorization = `Bearer ${t}`;
    }
    return { request: new Request(c.request.url, { method: c.request.method ?? "GET", headers }), token: t, headers };
  }

  /// Whether this runtime can build the case's request as the table states it.
  function constructible(c) {
    const names = Object.keys(c.request.headers ?? {});
    if (c.token?.in === "cookie") names.push("cookie");
    return ctx.capabilities.has("raw-headers") || !names.some((n) => FORBIDDEN.test(n));
  }

  return { table, config: patch(config), secrets, keys, mint, requestOf, constructible, edgeKey: edge };
}
