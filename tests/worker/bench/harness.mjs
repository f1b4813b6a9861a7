// Runs inside workerd (bundled with jose by scripts/bench-worker.sh). POST /run with the cases; answers
// the median per-call times of jose's jwtVerify and of edge-auth's own paths, measured in this isolate.
import * as jose from "jose";
import Edge from "./index.js";

// worker-build attaches exported Rust functions to the entrypoint class (for RPC); they ignore `this`.
const { bench_setup, bench_verify, bench_request } = Edge.prototype;

async function time(n, fn) {
  const t0 = Date.now();
  for (let i = 0; i < n; i++) await fn(i);
  return ((Date.now() - t0) * 1000) / n; // µs per call
}

const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];

export default {
  async fetch(request) {
    const { config, secrets, issuer, audience, cases, rounds } = await request.json();
    bench_setup(JSON.stringify(config), JSON.stringify(secrets));
    const results = [];
    for (const c of cases) {
      const key = c.alg.startsWith("HS") ? new TextEncoder().encode(c.secret) : await jose.importJWK(c.jwk, c.alg);
      const opts = { issuer, audience, algorithms: [c.alg] };
      const n = c.tokens.length;
      // Warm-up: one token each, so that key import and JIT are not in the figures.
      await jose.jwtVerify(c.warmup, key, opts);
      if (!(await bench_verify(c.warmup))) throw new Error(`${c.alg}: edge-auth refused the warm-up token`);
      const r = { jose: [], first: [], repeated: [], request_first: [], request_repeated: [] };
      for (let round = 0; round < rounds; round++) {
        const fresh = c.tokens.map((t) => t); // distinct tokens per round: see `tokens` below
        r.jose.push(await time(n, (i) => jose.jwtVerify(fresh[i], key, opts)));
        r.first.push(await time(n, async (i) => {
          if (!(await bench_verify(c.rounds[round][i]))) throw new Error(`${c.alg}: refused`);
        }));
        r.repeated.push(await time(n, () => bench_verify(c.repeated)));
        r.request_first.push(await time(n, async (i) => {
          if (!(await bench_request(`Bearer ${c.requestRounds[round][i]}`))) throw new Error(`${c.alg}: request refused`);
        }));
        r.request_repeated.push(await time(n, () => bench_request(`Bearer ${c.repeated}`)));
      }
      results.push({ alg: c.alg, n, ...Object.fromEntries(Object.entries(r).map(([k, v]) => [k, median(v)])) });
    }
    return Response.json(results);
  },
};
