// The pieces of the end-to-end run (tests/e2e/e2e.test.mjs), each on 127.0.0.1 with an ephemeral port:
//   caller ──▶ front (the edge's public URL) ──▶ the built Worker in workerd ──▶ tap ──▶ origin app
//                 └─ /.well-known/edge-auth/jwks.json ◀── the origin's kit fetches the Worker's keys here
// - `edgeFront`: the public URL. It hands each request to the current Worker instance (miniflare
//   `dispatchFetch`); `deploy(worker)` switches instances between two requests, as a deployment does. It
//   can take the Worker's JWKS down (503) and shorten its `Cache-Control`, and counts JWKS requests.
// - `tap`: between the Worker (`ORIGIN`) and the app: records every request the Worker forwards (method,
//   path, the assertion and Authorization headers) and passes it on unchanged. "The app was never called"
//   is then a fact about the socket, whatever the origin's language.
// - `startOrigin`: an origin app as a subprocess (own process group), ready when it prints its port,
//   stopped with SIGTERM (SIGKILL after 5 s); every step is bounded in time.
import { createServer, request as httpRequest } from "node:http";
import { spawn, execFile } from "node:child_process";
import { once } from "node:events";

export const JWKS_PATH = "/.well-known/edge-auth/jwks.json";
const HOP = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "host", "content-length", "proxy-connection"]);

/// A promise bounded in time (rejects with `what` after `ms`).
export function within(ms, promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function listen(server) {
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${server.address().port}`;
}

async function close(server) {
  server.closeAllConnections?.();
  await new Promise((resolve) => server.close(resolve));
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/// The edge's public URL in front of a Worker instance (see the top of the file).
export async function edgeFront() {
  const front = {
    url: "",
    worker: null,
    /// The Worker's JWKS answers 503 while true.
    jwksDown: false,
    /// When set, the JWKS's `Cache-Control` becomes `max-age=<this>` (the Worker says 300).
    jwksMaxAge: null,
    /// JWKS requests seen (answered or not).
    jwksRequests: 0,
    deploy(worker) { front.worker = worker; },
    close: () => close(server),
  };
  const server = createServer(async (req, res) => {
    try {
      const body = await readBody(req);
      const isJwks = req.url.split("?")[0] === JWKS_PATH;
      if (isJwks) {
        front.jwksRequests++;
        if (front.jwksDown) { res.writeHead(503, { "content-type": "text/plain" }); res.end("down"); return; }
      }
      const headers = Object.entries(req.headers).filter(([name]) => !HOP.has(name));
      const answer = await front.worker.dispatchFetch(new URL(req.url, front.url).href, {
        method: req.method, headers, body: body.length ? body : undefined, redirect: "manual",
      });
      const out = {};
      answer.headers.forEach((value, name) => { if (!HOP.has(name) && name !== "content-encoding") out[name] = value; });
      if (isJwks && front.jwksMaxAge !== null) out["cache-control"] = `max-age=${front.jwksMaxAge}`;
      const bytes = Buffer.from(await answer.arrayBuffer());
      res.writeHead(answer.status, out);
      res.end(bytes);
    } catch (error) {
      res.writeHead(502, { "content-type": "text/plain" });
      res.end(`front: ${error.message}`);
    }
  });
  front.url = await listen(server);
  return front;
}

/// The recording pass-through between the Worker and the origin app (see the top of the file).
export async function tap() {
  const t = {
    url: "",
    /// The app's port (set when the app is up; changes when another app starts).
    target: null,
    /// Every request forwarded by the Worker: { method, path, assertion, authorization, mark } (`mark`:
    /// the test's `x-e2e-mark` header, which the Worker forwards as it is).
    seen: [],
    close: () => close(server),
  };
  const server = createServer((req, res) => {
    t.seen.push({
      method: req.method, path: req.url,
      assertion: req.headers["edge-auth-assertion"], authorization: req.headers.authorization,
      mark: req.headers["x-e2e-mark"],
    });
    const upstream = httpRequest({ host: "127.0.0.1", port: t.target, method: req.method, path: req.url, headers: req.headers, timeout: 10_000 }, (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    });
    upstream.on("timeout", () => upstream.destroy(new Error("tap: the app did not answer in 10 s")));
    upstream.on("error", (error) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`tap: ${error.message}`);
    });
    req.pipe(upstream);
  });
  t.url = await listen(server);
  return t;
}

// Origins still running when this process exits (a failed or interrupted run) are killed with it: each
// runs in its own process group, which a dying test runner would otherwise leave behind.
const running = new Set();
process.on("exit", () => {
  for (const pid of running) { try { process.kill(-pid, "SIGKILL"); } catch { /* gone */ } }
});

/// Starts an origin (`spec` from origins.mjs) with the edge settings; resolves once it printed its port.
export async function startOrigin(spec, settings, { timeoutMs = 30_000 } = {}) {
  const [command, ...args] = spec.command();
  const child = spawn(command, args, {
    cwd: spec.cwd, env: { ...process.env, ...spec.env(settings) }, detached: true, stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child.pid);
  child.on("exit", () => running.delete(child.pid));
  const logs = [];
  const origin = {
    name: spec.name, logs, url: "", port: 0, child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      try { process.kill(-child.pid, "SIGTERM"); } catch { return; }
      const timer = setTimeout(() => { try { process.kill(-child.pid, "SIGKILL"); } catch { /* gone */ } }, 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
  const ready = new Promise((resolve, reject) => {
    const onData = (chunk) => {
      for (const line of chunk.toString().split("\n").filter(Boolean)) {
        logs.push(line);
        const match = spec.ready.exec(line);
        if (match && !origin.port) { origin.port = Number(match[1]); resolve(); }
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code, signal) => reject(new Error(`${spec.name} exited (${code ?? signal}) before it was ready:\n${logs.join("\n")}`)));
    child.on("error", reject);
  });
  try {
    await within(timeoutMs, ready, `${spec.name}: start`);
  } catch (error) {
    await origin.stop();
    throw error;
  }
  origin.url = `http://127.0.0.1:${origin.port}`;
  return origin;
}

/// One HTTP request (fetch, bounded): { status, headers, text, json }.
export async function call(url, { method = "GET", headers = {}, body } = {}) {
  const res = await fetch(url, { method, headers, body, redirect: "manual", signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json };
}

/// The CLI's verdict on an assertion (the core, in Rust: the independent check of what the app says):
/// "ok" or the error code. `binary` is target/debug/edge-auth (or EDGE_AUTH_BIN).
export function cliVerdict(binary, { jwksFile, issuer, audience, method, url, accessToken }, assertion) {
  const args = ["verify-assertion", "--jwks", jwksFile, "--issuer", issuer, "--audience", audience, "--method", method, "--url", url];
  if (accessToken) args.push("--access-token", accessToken);
  args.push("-");
  return new Promise((resolve, reject) => {
    const child = execFile(binary, args, { timeout: 10_000 }, (error, _stdout, stderr) => {
      if (!error) return resolve("ok");
      const match = /^error: ([a-z_]+):/m.exec(stderr);
      if (error.code === 1 && match) resolve(match[1]);
      else reject(new Error(`edge-auth verify-assertion: ${error.message}\n${stderr}`));
    });
    child.stdin.end(assertion);
  });
}
