// The Worker's first request in Deno, with microsecond timers and V8 flags (not a test; issue 11's cold
// start). workerd runs the same V8 family but times at 1 ms locally and takes no V8 flags through
// miniflare; Deno runs the built Worker (ROOT/build/index.js and index_bg.wasm) with a stand-in for
// `cloudflare:workers`, against a loopback origin, so the first request can be split finely and traced
// (`--trace-wasm-compilation-times`). Differences from workerd: Deno honours eager wasm compilation
// (workerd compiles each function on its first call whatever the flags); `console.log` is discarded
// here (its cost is workerd's own: see first-request.mjs); WebCrypto and fetch are Deno's.
// Each run is a fresh Deno process (a fresh isolate); marks are the calls the wasm makes into the
// runtime (env reads, crypto.subtle, getRandomValues, JSON.parse, console.log, fetch), as medians.
//   tests/js/node_modules/.bin/deno run -A tests/worker/bench/deno-first.mjs ROOT [RUNS] [V8_FLAGS]
// (Deno comes with the JS tests' install: bash scripts/setup-js-tests.sh.) V8_FLAGS, e.g.
// "--no-wasm-lazy-compilation", go to every run; with a tracing flag ("--trace-wasm-compilation-times")
// each run's output is written to ROOT/target/bench/deno-first-N.trace, V8's lines between the marks
// (`MARK label ms`; run through stdbuf to keep the order): one line per function compiled, `#index`
// (names come from an EDGE_AUTH_WASM_NAMES=1 build's name section).

import { numbered, printTimeline } from "./timeline.mjs";

const [root = ".", runsArg = "9", v8Flags = ""] = Deno.args.filter((a) => a !== "--child");
const RUNS = Number(runsArg);

if (Deno.args.includes("--child")) {
  await child(root);
} else {
  await parent();
}

async function parent() {
  const timelines = [[], []];
  const self = new URL(import.meta.url).pathname;
  for (let run = 0; run < RUNS; run++) {
    const args = ["run", "-A", ...(v8Flags ? [`--v8-flags=${v8Flags}`] : []), self, "--child", root];
    // Tracing: V8 prints through C's stdio, buffered when piped; line-buffered by stdbuf, its lines
    // and the child's live `MARK` lines come out in order.
    const tracing = v8Flags.includes("--trace");
    const command = tracing ? new Deno.Command("stdbuf", { args: ["-oL", Deno.execPath(), ...args], stdout: "piped", stderr: "piped", env: { EDGE_AUTH_LIVE_MARKS: "1" } })
      : new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "piped" });
    const { code, stdout, stderr } = await command.output();
    const text = new TextDecoder().decode(stdout);
    if (code !== 0) throw new Error(`run ${run}: exit ${code}\n${new TextDecoder().decode(stderr)}`);
    const result = text.split("\n").find((line) => line.startsWith("{\"timelines\""));
    if (!result) throw new Error(`run ${run}: no result line`);
    if (tracing) {
      await Deno.mkdir(`${root}/target/bench`, { recursive: true });
      await Deno.writeTextFile(`${root}/target/bench/deno-first-${run}.trace`, text);
    }
    JSON.parse(result).timelines.forEach((events, i) => timelines[i].push(events));
  }
  for (const [i, runs] of timelines.entries()) {
    printTimeline(`${i === 0 ? "first" : "second"} request in Deno ${Deno.version.deno} (V8 ${Deno.version.v8}): median ms since it reached the Worker, ${RUNS} fresh processes${v8Flags ? `, V8 flags ${v8Flags}` : ""}`, runs, 2);
  }
}

async function child(root) {
  // The built Worker as a plain module: `cloudflare:workers` replaced by a stand-in entrypoint class,
  // the `.wasm` import by the module compiled here.
  const source = await Deno.readTextFile(`${root}/build/index.js`);
  const entry = source.match(/import\s*\{\s*WorkerEntrypoint\s+as\s+(\w+)\s*\}\s*from\s*"cloudflare:workers";?/);
  const wasm = source.match(/import\s+(\w+)\s+from\s*"\.\/index_bg\.wasm";?/);
  if (!entry || !wasm) throw new Error("build/index.js: the cloudflare:workers or index_bg.wasm import was not found");
  const rewritten = source
    .replace(entry[0], `const ${entry[1]} = class { constructor(ctx, env) { this.ctx = ctx; this.env = env; } };`)
    .replace(wasm[0], `const ${wasm[1]} = globalThis.__edgeAuthWasm;`);
  globalThis.__edgeAuthWasm = new WebAssembly.Module(await Deno.readFile(`${root}/build/index_bg.wasm`));

  const events = [];
  let start = 0;
  const live = Deno.env.get("EDGE_AUTH_LIVE_MARKS") === "1";
  const mark = (label) => {
    events.push([label, performance.now() - start]);
    if (live) console.info(`MARK ${label} ${(performance.now() - start).toFixed(2)}`);
  };
  const around = (owner, key, label, replacement) => {
    const original = replacement ?? owner[key];
    owner[key] = function (...args) {
      mark(label);
      const result = original.apply(this, args);
      if (result && typeof result.then === "function") result.then(() => mark(`${label} settled`), () => mark(`${label} rejected`));
      return result;
    };
  };
  for (const key of ["importKey", "verify", "sign", "digest"]) around(SubtleCrypto.prototype, key, key);
  around(Crypto.prototype, "getRandomValues", "getRandomValues");
  around(JSON, "parse", "JSON.parse");
  around(console, "log", "console.log", () => {});
  around(globalThis, "fetch", "fetch");

  const tmp = await Deno.makeTempFile({ suffix: ".mjs" });
  await Deno.writeTextFile(tmp, rewritten);
  const worker = (await import(`file://${tmp}`)).default;
  await Deno.remove(tmp);

  const origin = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => Response.json({ ok: true }));
  const b64u = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
  const json64 = (value) => b64u(new TextEncoder().encode(JSON.stringify(value)));
  const exported = async (key) => {
    const { key_ops: _ops, ext: _ext, ...jwk } = await crypto.subtle.exportKey("jwk", key);
    return jwk;
  };
  const ISS = "https://idp.example.com/", AUD = "https://api.example.com";
  const idp = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
  const edge = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
  const jwk = { ...(await exported(idp.publicKey)), alg: "ES256", kid: "k1" };
  const now = Math.floor(Date.now() / 1000);
  const mint = async (sub) => {
    const input = `${json64({ alg: "ES256", kid: "k1", typ: "JWT" })}.${json64({ iss: ISS, aud: AUD, sub, iat: now, exp: now + 3600 })}`;
    const signature = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, idp.privateKey, new TextEncoder().encode(input));
    return `${input}.${b64u(signature)}`;
  };
  // The configuration of the workerd benchmarks (workers.mjs): an ES256 issuer, an EdDSA assertion key.
  const config = {
    issuers: [{ issuer: ISS, audiences: [AUD], algorithms: ["ES256"], jwks: { keys: [jwk] } }],
    assertion: { issuer: "https://edge.example", audience: "https://origin.example", signing_key_secret: "SIGNING" },
    routes: [{ path: "/public/*", auth: "none" }],
  };
  const bindings = { EDGE_AUTH: JSON.stringify(config), SIGNING: JSON.stringify(await exported(edge.privateKey)), ORIGIN: `http://127.0.0.1:${origin.addr.port}` };
  const env = new Proxy(bindings, { get: (target, key) => { mark(`env.${String(key)}`); return Reflect.get(target, key); } });
  const ctx = { waitUntil() {}, passThroughOnException() {} };
  const timelines = [];
  for (const sub of ["alice", "alice"]) {
    const token = await mint(sub);
    events.length = 0;
    start = performance.now();
    const response = await worker.fetch(new Request(`${AUD}/orders/1`, { headers: { authorization: `Bearer ${token}` } }), env, ctx);
    await response.arrayBuffer();
    mark("response");
    if (response.status !== 200) throw new Error(`answered ${response.status}`);
    timelines.push(numbered(events));
  }
  await origin.shutdown();
  console.info(JSON.stringify({ timelines }));
}
