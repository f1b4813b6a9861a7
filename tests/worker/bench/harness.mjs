// Runs inside workerd (bundled with jose by scripts/bench-worker.sh). POST /run with the cases; answers
// the median per-call times of jose's jwtVerify and of edge-auth's own paths, measured in this isolate.
import * as jose from "jose";
import Edge, { BenchEntrypoint } from "./index.js";

// worker-build attaches exported Rust functions to its entrypoint class (for RPC); they ignore `this`.
// A bench build exports that class as `BenchEntrypoint` (scripts/build-worker.sh).
const { bench_setup, bench_verify, bench_verify_each, bench_request, bench_begin, bench_async_noop, bench_await_resolved, bench_await_light, bench_abort_watch,
  bench_revocation_setup, bench_revocation_check, bench_cache_hit, bench_request_phases, bench_assertion_parts } = BenchEntrypoint.prototype;

async function time(n, fn) {
  const t0 = Date.now();
  for (let i = 0; i < n; i++) await fn(i);
  return ((Date.now() - t0) * 1000) / n; // µs per call
}

// The whole fetch handler as the runtime calls it (the default export's `fetch` with `env` and `ctx`), with
// the outbound fetch answered here at once: what the Worker's own request handling costs in this
// isolate, without the runtime's HTTP. Beside it, the pass-through Worker's handler under the same stub.
// The stub builds the outbound `Request` as the runtime's fetch does, so that both pay for it.
const stubbedFetch = async (input, init) => {
  if (!(new Request(input, init).url)) throw new Error("no URL");
  return new Response('{"ok":true}', { headers: { "content-type": "application/json" } });
};
const handlerCtx = { waitUntil() {}, passThroughOnException() {} };
/// A handler: `respond(request, env)` answers with the runtime's `fetch` stubbed, and must answer 200.
function stubbed(name, respond) {
  return async (request, env) => {
    const fetch = globalThis.fetch;
    globalThis.fetch = stubbedFetch;
    try {
      const response = await respond(request, env);
      if (response.status !== 200) throw new Error(`${name} answered ${response.status}: ${await response.text()}`);
    } finally {
      globalThis.fetch = fetch;
    }
  };
}
// edge-auth's handler as the runtime calls the Worker's default export (src/module.mjs).
const edgeHandler = stubbed("edge-auth", (request, env) => Edge.fetch(request, env, handlerCtx));
// The same call as the runtime made it on worker-build's own default export (its entrypoint class,
// before src/module.mjs): a new instance through the shim's proxies per request, then its `fetch`.
const shimHandler = stubbed("edge-auth via the shim", (request, env) => new BenchEntrypoint(handlerCtx, env).fetch(request));
const passThroughHandler = stubbed("pass-through", (request, env) => {
  const url = new URL(request.url);
  return globalThis.fetch(env.ORIGIN + url.pathname + url.search, { method: request.method, headers: request.headers, body: request.body, redirect: "manual" });
});
// The pass-through written the way edge-auth forwards (send_to_origin in src/entry.rs): a Headers copy,
// two deletes, a Request, a fetch.
const shapedHandler = stubbed("shaped", (request, env) => {
  const url = new URL(request.url);
  const headers = new Headers(request.headers);
  headers.delete("edge-auth-assertion");
  headers.delete("authorization");
  return globalThis.fetch(new Request(env.ORIGIN + url.pathname + url.search, { method: request.method, headers, redirect: "manual", body: request.body }));
});

const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];

// The floor: WebCrypto verify alone, called from JS on the token's signing input.
async function subtleCase(c) {
  const p = { RS256: [{ name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, { name: "RSASSA-PKCS1-v1_5" }],
    PS256: [{ name: "RSA-PSS", hash: "SHA-256" }, { name: "RSA-PSS", saltLength: 32 }],
    ES256: [{ name: "ECDSA", namedCurve: "P-256" }, { name: "ECDSA", hash: "SHA-256" }],
    ES384: [{ name: "ECDSA", namedCurve: "P-384" }, { name: "ECDSA", hash: "SHA-384" }],
    ES512: [{ name: "ECDSA", namedCurve: "P-521" }, { name: "ECDSA", hash: "SHA-512" }],
    EdDSA: [{ name: "Ed25519" }, { name: "Ed25519" }] }[c.alg];
  const { alg, kid, ...jwk } = c.jwk;
  const key = await crypto.subtle.importKey("jwk", jwk, p[0], false, ["verify"]);
  const enc = new TextEncoder();
  return async (token) => {
    const dot = token.lastIndexOf(".");
    const sig = Uint8Array.from(atob(token.slice(dot + 1).replace(/-/g, "+").replace(/_/g, "/")), (ch) => ch.charCodeAt(0));
    if (!(await crypto.subtle.verify(p[1], key, sig, enc.encode(token.slice(0, dot))))) throw new Error("subtle refused");
  };
}

export default {
  async fetch(request) {
    const { config, secrets, issuer, audience, cases, rounds, revocationRecords, revocationChecks, handlerConfig } = await request.json();
    const handlerEnv = { ...secrets, EDGE_AUTH: JSON.stringify(handlerConfig), ORIGIN: "https://origin.example" };
    const handler = (request) => edgeHandler(request, handlerEnv);
    const viaShim = (request) => shimHandler(request, handlerEnv);
    bench_setup(JSON.stringify(config), JSON.stringify(secrets));
    // The revocation state cached in the isolate: `revocationRecords` records of each kind per issuer.
    bench_revocation_setup(revocationRecords);
    const results = [];
    for (const c of cases) {
      const key = c.alg.startsWith("HS") ? new TextEncoder().encode(c.secret) : await jose.importJWK(c.jwk, c.alg);
      const opts = { issuer, audience, algorithms: [c.alg] };
      const n = c.rounds[0].length;
      // Warm-up: one token each, so that key import and JIT are not in the figures.
      await jose.jwtVerify(c.warmup, key, opts);
      if (!(await bench_verify(c.warmup))) throw new Error(`${c.alg}: edge-auth refused the warm-up token`);
      // The handler's first request compiles its configuration: not timed.
      await handler(new Request("https://api.example.com/orders/42", { headers: { authorization: `Bearer ${c.warmup}` } }));
      const r = { handler_repeated_unlogged: [], shim_none: [], shim_repeated: [], shaped: [], handler_none: [], handler_repeated: [], pass_through: [], revocation: [], cache_hit_loop: [], in_task: [], jose: [], first: [], repeated: [], request_first: [], request_repeated: [], subtle: [], begin: [], noop: [], awaited: [], light: [], abort_watch: [] };
      const sub = c.alg.startsWith("HS") ? null : await subtleCase(c);
      // The whole handler's request for the repeated token: a new one per call, as the runtime gives each.
      const repeatedRequest = () => new Request("https://api.example.com/orders/42?page=1", { headers: { authorization: `Bearer ${c.repeated}` } });
      // Each round times every path once, in an order rotated per round, so that drift on this shared
      // machine (GC, frequency) does not favour whichever path runs first.
      const paths = [
        ["jose", (round) => (i) => jose.jwtVerify(c.rounds[round][i], key, opts)],
        ["first", (round) => async (i) => {
          if (!(await bench_verify(c.rounds[round][i]))) throw new Error(`${c.alg}: refused`);
        }],
        ["repeated", () => () => bench_verify(c.repeated)],
        // The same first sights, all inside one Rust task as in the fetch handler: timed as one call.
        ["in_task", (round) => async () => {
          const list = c.taskRounds[round];
          if ((await bench_verify_each(list)) !== list.length) throw new Error(`${c.alg}: refused in task`);
        }, 1],
        ["request_first", (round) => async (i) => {
          if (!(await bench_request(`Bearer ${c.requestRounds[round][i]}`))) throw new Error(`${c.alg}: request refused`);
        }],
        ["request_repeated", () => () => bench_request(`Bearer ${c.repeated}`)],
        ["begin", (round) => (i) => bench_begin(c.rounds[round][i])],
        ["handler_none", () => () => handler(new Request("https://api.example.com/public/1"))],
        ["shim_none", () => () => viaShim(new Request("https://api.example.com/public/1"))],
        // The same with `console.log` stubbed out: what the decision line costs (its writing and the
        // runtime's console; not the HMAC of `sub_hash` nor the line's JSON, which stay).
        ["handler_repeated_unlogged", () => async () => {
          const log = console.log;
          console.log = () => {};
          try {
            await handler(repeatedRequest());
          } finally {
            console.log = log;
          }
        }],
        ["handler_repeated", () => () => handler(repeatedRequest())],
        ["shim_repeated", () => () => viaShim(repeatedRequest())],
        ["shaped", () => () => shapedHandler(repeatedRequest(), handlerEnv)],
        ["pass_through", () => () => passThroughHandler(repeatedRequest(), handlerEnv)],
        ["noop", () => () => bench_async_noop()],
        ["awaited", () => () => bench_await_resolved()],
        ["light", () => () => bench_await_light()],
        // The fetch handler's watch for its client going away, made and dropped n times for one request
        // (made here, so its signal is a JS-made one, not the runtime's incoming one; n listeners pile
        // up on it): timed as one call.
        ["abort_watch", () => async () => {
          if (bench_abort_watch(repeatedRequest(), n) !== n) throw new Error(`${c.alg}: abort watch`);
        }, 1],
        // The revocation check alone, `revocationChecks` times in one Rust task (timed as one call, so the
        // millisecond timer resolves 1000 / revocationChecks µs), and the same loop around a cache hit.
        ["revocation", () => async () => {
          if ((await bench_revocation_check(c.repeated, revocationChecks)) !== revocationChecks) throw new Error(`${c.alg}: revoked?`);
        }, 1],
        ["cache_hit_loop", () => async () => {
          if ((await bench_cache_hit(c.repeated, revocationChecks)) !== revocationChecks) throw new Error(`${c.alg}: cache hit refused`);
        }, 1],
      ];
      // The repeated token's request path inside one Rust task, stopped after each phase (0..=5; see
      // bench_request_phases): timed as one call of n requests.
      for (let upto = 0; upto <= 5; upto++) {
        r[`phase${upto}`] = [];
        paths.push([`phase${upto}`, () => async () => {
          if ((await bench_request_phases(`Bearer ${c.repeated}`, n, upto)) !== n) throw new Error(`${c.alg}: phase ${upto} refused`);
        }, 1]);
      }
      for (let part = 0; part <= 3; part++) {
        r[`part${part}`] = [];
        paths.push([`part${part}`, () => async () => {
          if (bench_assertion_parts(c.repeated, n, part) !== n) throw new Error(`${c.alg}: part ${part}`);
        }, 1]);
      }
      if (sub) paths.push(["subtle", (round) => (i) => sub(c.rounds[round][i])]);
      for (let round = 0; round < rounds; round++) {
        for (let k = 0; k < paths.length; k++) {
          const [name, make, calls = n] = paths[(k + round) % paths.length];
          r[name].push(((await time(calls, make(round))) * calls) / n);
        }
      }
      const perCheck = (k) => (x) => (k in { revocation: 1, cache_hit_loop: 1 } ? (x * n) / revocationChecks : x);
      results.push({ alg: c.alg, n, ...Object.fromEntries(Object.entries(r).map(([k, v]) => [k, perCheck(k)(median(v))])) });
    }
    return Response.json(results);
  },
};
