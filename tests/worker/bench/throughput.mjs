// Throughput of the whole Worker (verify + assertion + forward) against a pass-through Worker that only
// forwards, both in workerd (miniflare listening on 127.0.0.1) in front of the same loopback origin,
// measured in the same run with autocannon. Bounded: DURATION seconds and CONNECTIONS connections each.
import { createServer } from "node:http";
import { Miniflare } from "miniflare";
import autocannon from "autocannon";
import * as jose from "jose";

const root = process.argv[2];
const DURATION = Number(process.argv[3] ?? 8), CONNECTIONS = Number(process.argv[4] ?? 16);
const ISS = "https://idp.example.com/", AUD = "https://api.example.com";

const origin = createServer((req, res) => {
  req.resume();
  req.on("end", () => { res.setHeader("content-type", "application/json"); res.end('{"ok":true}'); });
}).listen(0, "127.0.0.1");
await new Promise((r) => origin.once("listening", r));
const ORIGIN = `http://127.0.0.1:${origin.address().port}`;

const idp = await jose.generateKeyPair("ES256", { extractable: true });
const jwk = { ...(await jose.exportJWK(idp.publicKey)), alg: "ES256", kid: "k1" };
const edge = await jose.generateKeyPair("EdDSA", { extractable: true });
const now = Math.floor(Date.now() / 1000);
const token = await new jose.SignJWT({ iss: ISS, aud: AUD, sub: "alice", iat: now, exp: now + 3600 })
  .setProtectedHeader({ alg: "ES256", kid: "k1" }).sign(idp.privateKey);

// Worker log lines are drained, not printed: local logging through miniflare's pipe is not what
// production logging costs, and it would swamp the table.
const drain = (stdout, stderr) => { stdout.resume(); stderr.resume(); };
const edgeAuth = new Miniflare({
  handleRuntimeStdio: drain,
  rootPath: root, host: "127.0.0.1", port: 0, compatibilityDate: "2026-04-26",
  modules: [{ type: "ESModule", path: "build/index.js" }, { type: "CompiledWasm", path: "build/index_bg.wasm" }],
  bindings: {
    ORIGIN,
    EDGE_AUTH: JSON.stringify({
      issuers: [{ issuer: ISS, audiences: [AUD], algorithms: ["ES256"], jwks: { keys: [jwk] } }],
      assertion: { issuer: "https://edge.example", audience: "https://origin.example", signing_key_secret: "SIGNING" },
    }),
    SIGNING: JSON.stringify(await jose.exportJWK(edge.privateKey)),
  },
});
const passThrough = new Miniflare({
  handleRuntimeStdio: drain,
  host: "127.0.0.1", port: 0, compatibilityDate: "2026-04-26", modules: true, bindings: { ORIGIN },
  script: `export default { async fetch(request, env) {
    const url = new URL(request.url);
    return fetch(env.ORIGIN + url.pathname + url.search, { method: request.method, headers: request.headers, body: request.body, redirect: "manual" });
  } };`,
});

async function load(url, headers) {
  const result = await autocannon({ url, connections: CONNECTIONS, duration: DURATION, headers });
  if (result.non2xx || result.errors) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return result;
}

try {
  const [a, b] = [await edgeAuth.ready, await passThrough.ready];
  const auth = { authorization: `Bearer ${token}` };
  // Warm both, then measure alternately: pass-through, edge-auth, pass-through, edge-auth.
  await load(new URL("/warm", a).href, auth);
  await load(new URL("/warm", b).href, {});
  const rows = [];
  for (let i = 0; i < 2; i++) {
    rows.push(["pass-through", await load(new URL("/orders/1", b).href, auth)]);
    rows.push(["edge-auth", await load(new URL("/orders/1", a).href, auth)]);
  }
  console.log(`loopback, autocannon ${CONNECTIONS} connections × ${DURATION} s, ES256 token (repeated: the cache's normal case)`);
  console.log("worker        | req/s   | p50 ms | p99 ms");
  for (const [name, r] of rows) {
    console.log(`${name.padEnd(13)} | ${String(Math.round(r.requests.average)).padStart(7)} | ${String(r.latency.p50).padStart(6)} | ${String(r.latency.p99).padStart(6)}`);
  }
  const avg = (name) => rows.filter((r) => r[0] === name).reduce((s, r) => s + r[1].requests.average, 0) / 2;
  console.log(`edge-auth / pass-through throughput: ${(avg("edge-auth") / avg("pass-through")).toFixed(2)}`);
} finally {
  await edgeAuth.dispose();
  await passThrough.dispose();
  origin.close();
}
