// Recovery after a trap, on the bench build (target/worker-bench: `bash scripts/build-worker.sh -d
// target/worker-bench . --features bench`, which scripts/test.sh makes first): a JS module inside
// workerd imports the built Worker as scripts/build-worker.sh shapes it (src/module.mjs's default
// export; the bench build also exports worker-build's entrypoint class, whose prototype carries
// `bench_trap`), answers a request through its fetch
// handler, traps the instance (`bench_trap`, an `abort`), and answers again. Checks:
// - the trap reaches the caller as a WebAssembly.RuntimeError, and the next request is answered by a
//   fresh instance (wasm-bindgen's abort handler, registered in src/runtime.rs's start);
// - each start leaves `globalThis.queueMicrotask` exactly as it was (src/runtime.rs shadows it while
//   wasm-bindgen-futures' queue is made), so the runtime's own function is still there after a
//   re-instantiation;
// - async work still completes after the re-instantiation (the request path awaits WebCrypto and the
//   origin's fetch through the futures queue);
// - the Durable Object class (`Revocations`, still behind worker-build's proxy) answers before and
//   after the trap: its instance is made anew on the fresh wasm instance.
// Run by scripts/test.sh: `node --test tests/worker/trap-recovery.mjs` (not a *.test.mjs: it needs the
// bench build, which `node --test tests/worker/` alone does not have).
import test from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { Miniflare } from "miniflare";
import * as jose from "jose";
import { COMPATIBILITY_FLAGS, root } from "./built-worker.mjs";

// EDGE_AUTH_BENCH_BUILD=<dir>: another bench build (a mutated copy, to see this test fail).
const dir = resolve(root, process.env.EDGE_AUTH_BENCH_BUILD ?? "target/worker-bench");

const HARNESS = `
import Edge, { BenchEntrypoint } from "./index.js";
export { Revocations } from "./index.js";
const original = globalThis.queueMicrotask;
const ownBefore = Object.hasOwn(globalThis, "queueMicrotask");
export default {
  async fetch(request, env, ctx) {
    const step = new URL(request.url).pathname;
    const same = () => globalThis.queueMicrotask === original && typeof original === "function"
      && Object.hasOwn(globalThis, "queueMicrotask") === ownBefore;
    if (step === "/global") return Response.json({ same: same() });
    if (step === "/object") {
      // The Durable Object class in this isolate (worker-build's proxy around it makes its instance anew
      // after a trap): a sync from nothing.
      const objects = env.EDGE_AUTH_REVOCATIONS;
      const answer = await objects.get(objects.idFromName("https://idp.example/")).fetch("https://revocations/sync?epoch=&since=0");
      const body = await answer.json();
      return Response.json({ status: answer.status, full: body.full, records: body.records });
    }
    if (step === "/trap") {
      try {
        BenchEntrypoint.prototype.bench_trap();
        return Response.json({ trapped: false });
      } catch (error) {
        return Response.json({ trapped: true, runtimeError: error instanceof WebAssembly.RuntimeError });
      }
    }
    // A request through the Worker's own fetch handler, its origin answered here.
    const realFetch = globalThis.fetch;
    globalThis.fetch = async (input) => Response.json({ origin: true, assertion: new Request(input).headers.get("edge-auth-assertion") !== null });
    try {
      // The Worker's default export, called as the runtime calls it.
      const answer = await Edge.fetch(new Request("https://api.example.com/orders/1", {
        headers: { authorization: request.headers.get("authorization") },
      }), env, ctx);
      return Response.json({ status: answer.status, body: await answer.json(), same: same() });
    } finally {
      globalThis.fetch = realFetch;
    }
  },
};`;

// Without the bench build the test is skipped, unless EDGE_AUTH_REQUIRE_BENCH_BUILD=1 (scripts/test.sh),
// where a missing build is a failure.
const missing = !existsSync(resolve(dir, "index.js"));
const skip = missing && process.env.EDGE_AUTH_REQUIRE_BENCH_BUILD !== "1" && "no bench build (scripts/test.sh builds it)";

test("after a trap the next request gets a fresh instance, with queueMicrotask untouched", { skip }, async () => {
  assert.ok(!missing, `no bench build in ${dir}`);
  const issuer = await jose.generateKeyPair("ES256", { extractable: true });
  const signer = await jose.generateKeyPair("EdDSA", { extractable: true });
  const jwk = { ...(await jose.exportJWK(issuer.publicKey)), alg: "ES256", kid: "k1" };
  const config = {
    issuers: [{ issuer: "https://idp.example/", audiences: ["api"], algorithms: ["ES256"], jwks: { keys: [jwk] } }],
    assertion: { issuer: "https://edge.example", audience: "https://origin.example", signing_key_secret: "SIGNING" },
  };
  const now = Math.floor(Date.now() / 1000);
  const token = await new jose.SignJWT({ sub: "alice" }).setProtectedHeader({ alg: "ES256", kid: "k1" })
    .setIssuer("https://idp.example/").setAudience("api").setIssuedAt(now).setExpirationTime(now + 600)
    .sign(issuer.privateKey);
  const mf = new Miniflare({
    rootPath: root,
    modulesRoot: root,
    modules: [
      { type: "ESModule", path: resolve(dir, "trap-harness.js"), contents: HARNESS },
      { type: "ESModule", path: resolve(dir, "index.js") },
      { type: "CompiledWasm", path: resolve(dir, "index_bg.wasm") },
    ],
    compatibilityDate: "2026-04-26",
    compatibilityFlags: COMPATIBILITY_FLAGS,
    durableObjects: { EDGE_AUTH_REVOCATIONS: "Revocations" },
    bindings: {
      EDGE_AUTH: JSON.stringify(config),
      ORIGIN: "https://origin.example",
      SIGNING: JSON.stringify(await jose.exportJWK(signer.privateKey)),
    },
    handleRuntimeStdio: (stdout, stderr) => { stdout.resume(); stderr.resume(); },
  });
  try {
    const get = async (path) => (await mf.dispatchFetch(`http://harness${path}`, { headers: { authorization: `Bearer ${token}` } })).json();
    assert.deepEqual(await get("/global"), { same: true }, "the first start left queueMicrotask as it was");
    const before = await get("/request");
    assert.deepEqual(before, { status: 200, body: { origin: true, assertion: true }, same: true });
    const object = { status: 200, full: true, records: [] };
    assert.deepEqual(await get("/object"), object, "the Durable Object answers before the trap");
    assert.deepEqual(await get("/trap"), { trapped: true, runtimeError: true });
    // The next call re-instantiates the module (its start runs again) and answers as before.
    assert.deepEqual(await get("/request"), before, "a fresh instance answers after the trap");
    assert.deepEqual(await get("/request"), before);
    assert.deepEqual(await get("/global"), { same: true }, "the second start left queueMicrotask as it was");
    // The object made before the trap is made anew on the fresh instance, and answers the same.
    assert.deepEqual(await get("/object"), object, "the Durable Object answers after the trap");
  } finally {
    await mf.dispose();
  }
});
