// Does a client that disconnects cancel the Worker's request? (Not a test: an experiment kept as a
// script.) The built Worker (ROOT/build/) runs in workerd started directly from a hand-written config,
// without miniflare in between, in front of a loopback origin that holds every request. Three requests
// reach the origin, their clients disconnect, and the status endpoint's `open_awaits` is read before, after
// the disconnects, and after the origin answers. If the runtime cancelled the requests, their awaits
// would stay open for good (the leak the stop notes describe); if it did not, they close when the origin
// answers. Bounded: three requests, a few seconds.
//   node tests/worker/bench/abort-lab.mjs [ROOT] [COMPATIBILITY_FLAG,…]
import { createServer, request as httpRequest } from "node:http";
import { spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as jose from "jose";

const root = resolve(process.argv[2] ?? ".");
const flags = (process.argv[3] ?? "").split(",").filter(Boolean);
const workerd = fileURLToPath(new URL("../node_modules/@cloudflare/workerd-linux-64/bin/workerd", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "abort-lab-"));
// workerd embeds files relative to its config.
copyFileSync(join(root, "build/index.js"), join(dir, "index.js"));
copyFileSync(join(root, "build/index_bg.wasm"), join(dir, "index_bg.wasm"));

const held = [];
const origin = createServer((req, res) => { req.resume(); held.push(res); }).listen(0, "127.0.0.1");
await new Promise((r) => origin.once("listening", r));
const ISS = "https://idp.example.com/", AUD = "https://api.example.com";
const idp = await jose.generateKeyPair("ES256", { extractable: true });
const jwk = { ...(await jose.exportJWK(idp.publicKey)), alg: "ES256", kid: "k1" };
const edge = await jose.generateKeyPair("EdDSA", { extractable: true });
const now = Math.floor(Date.now() / 1000);
const token = await new jose.SignJWT({ iss: ISS, aud: AUD, sub: "alice", iat: now, exp: now + 600 })
  .setProtectedHeader({ alg: "ES256", kid: "k1" }).sign(idp.privateKey);
const config = {
  status_endpoint: true,
  issuers: [{ issuer: ISS, audiences: [AUD], algorithms: ["ES256"], jwks: { keys: [jwk] } }],
  assertion: { issuer: "https://edge.example", audience: "https://origin.example", signing_key_secret: "SIGNING" },
};
const port = 20000 + Math.floor(Math.random() * 20000);
const q = JSON.stringify;
writeFileSync(join(dir, "config.capnp"), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .edge), (name = "internet", network = (allow = ["local"]))],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const edge :Workerd.Worker = (
  modules = [(name = "index.js", esModule = embed "index.js"), (name = "index_bg.wasm", wasm = embed "index_bg.wasm")],
  compatibilityDate = "2026-04-26",
  compatibilityFlags = [${flags.map((f) => q(f)).join(", ")}],
  bindings = [
    (name = "EDGE_AUTH", text = ${q(JSON.stringify(config))}),
    (name = "SIGNING", text = ${q(JSON.stringify(await jose.exportJWK(edge.privateKey)))}),
    (name = "ORIGIN", text = ${q(`http://127.0.0.1:${origin.address().port}`)}),
  ],
  globalOutbound = "internet",
);
`);
const runtime = spawn(workerd, ["serve", join(dir, "config.capnp")], { stdio: ["ignore", "ignore", "pipe"] });
let stderr = "";
runtime.stderr.on("data", (d) => { stderr += d; });
const base = `http://127.0.0.1:${port}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
try {
  let up = false;
  for (let i = 0; i < 100 && !up; i++) up = await fetch(`${base}/`).then(() => true, () => sleep(100).then(() => false));
  if (!up) throw new Error(`workerd did not start: ${stderr.slice(0, 2000)}`);
  const openAwaits = async () => (await (await fetch(`${base}/.well-known/edge-auth/status`)).json()).open_awaits;
  console.log(`workerd ${flags.length ? `with ${flags.join(", ")}` : "(no extra compatibility flags)"}`);
  console.log(`open_awaits at rest: ${await openAwaits()}`);
  const clients = [1, 2, 3].map((i) => {
    const r = httpRequest(`${base}/orders/${i}`, { headers: { authorization: `Bearer ${token}` } });
    r.on("error", () => {});
    r.end();
    return r;
  });
  for (let i = 0; i < 50 && held.length < 3; i++) await sleep(100);
  console.log(`requests held by the origin: ${held.length}; open_awaits: ${await openAwaits()}`);
  for (const r of clients) r.destroy();
  await sleep(1000);
  const closed = held.filter((res) => res.socket === null || res.socket.destroyed).length;
  console.log(`1 s after the clients disconnected: open_awaits ${await openAwaits()}; origin connections closed by workerd: ${closed}`);
  for (const res of held) if (!res.writableEnded) res.end('{"ok":true}');
  await sleep(1000);
  console.log(`1 s after the origin answered: open_awaits ${await openAwaits()}`);
} finally {
  runtime.kill();
  origin.close();
  rmSync(dir, { recursive: true, force: true });
}
