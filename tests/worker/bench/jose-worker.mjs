// The comparison Worker of the benchmarks (issue 11): what a JS Worker built on `jose` does for the same
// job as edge-auth — verify an ES256 token from a local JWKS (issuer, audience, algorithm pinned), sign an
// EdDSA assertion for the origin (sub, htm, htu, iat, exp, jti), forward without the token. Without
// CACHE (below) there is no cache: jose verifies every token in full. Bundled by
// scripts/build-jose-worker.sh with esbuild; configured like edge-auth through bindings (JWKS, SIGNING,
// ISS, AUD, ORIGIN).
//
// CACHE = "1" ("jose cached" in the benchmarks): the same Worker with a verified-token cache of its own,
// a Map from the token to its payload, used until the token's `exp` and cleared whole at 10 000 entries.
// A repeated token then skips `jwtVerify` as edge-auth's cache hit skips verification, and what is left
// is the job's floor in JavaScript: the assertion signed and the request forwarded, per request.
import { createLocalJWKSet, importJWK, jwtVerify, SignJWT } from "jose";

let keys;
let signer;
const cache = new Map();

export default {
  async fetch(request, env) {
    keys ??= createLocalJWKSet(JSON.parse(env.JWKS));
    signer ??= await importJWK(JSON.parse(env.SIGNING), "EdDSA");
    const match = /^Bearer (.+)$/.exec(request.headers.get("authorization") ?? "");
    if (!match) return new Response("missing token", { status: 401 });
    const caching = env.CACHE === "1";
    let payload = caching ? cache.get(match[1]) : undefined;
    if (payload && !(payload.exp > Date.now() / 1000)) payload = undefined;
    if (!payload) {
      try {
        ({ payload } = await jwtVerify(match[1], keys, { issuer: env.ISS, audience: env.AUD, algorithms: ["ES256"] }));
      } catch {
        return new Response("invalid token", { status: 401 });
      }
      if (caching) {
        if (cache.size >= 10000) cache.clear();
        cache.set(match[1], payload);
      }
    }
    const url = new URL(request.url);
    const assertion = await new SignJWT({ sub: payload.sub, htm: request.method, htu: url.origin + url.pathname })
      .setProtectedHeader({ alg: "EdDSA", typ: "edge-auth+jwt" })
      .setIssuer("https://edge.example")
      .setAudience("https://origin.example")
      .setIssuedAt()
      .setExpirationTime("60s")
      .setJti(crypto.randomUUID())
      .sign(signer);
    const headers = new Headers(request.headers);
    headers.delete("authorization");
    headers.set("edge-auth-assertion", assertion);
    return fetch(env.ORIGIN + url.pathname + url.search, { method: request.method, headers, body: request.body, redirect: "manual" });
  },
};
