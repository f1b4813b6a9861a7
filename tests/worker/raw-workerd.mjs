// workerd started from a hand-written config, without miniflare in between: for what miniflare hides.
// Its entry Worker stands between the client and the Worker, so a client that resets its connection
// never cancels the Worker's request there; here it does (cancel.test.mjs).
import { spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import workerdPackage from "workerd";

const workerd = workerdPackage.default ?? workerdPackage;

/// A capnp text literal: JSON's quoting is capnp's for printable ASCII, which is all these configs hold.
function capnp(text) {
  if (!/^[\x20-\x7e]*$/.test(text)) throw new Error("a config value holds a character capnp would not read");
  return JSON.stringify(text);
}

/// A port free on 127.0.0.1 now (the kernel's choice; released at once for workerd to take).
async function freePort() {
  const server = createServer().listen(0, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

/// Starts workerd with `workers`: `[{ name, modules: [{ path } | { name, text }], bindings: { NAME: text },
/// flags: [...], durableObjects: { BINDING: "ClassName" } }]`, the first module of each its main module
/// (`.wasm` files are wasm modules; Durable Objects of the Worker's own classes, in memory). Every
/// Worker gets a socket on 127.0.0.1 and may fetch loopback addresses. `ready(urls)` is polled until it
/// answers true (10 s at most). Resolves to `{ urls: { name: "http://127.0.0.1:PORT" }, stdout, stop }`:
/// `stdout()` is what the Workers logged so far; `stop()` ends workerd and removes its files.
export async function rawWorkerd(workers, ready) {
  const dir = mkdtempSync(join(tmpdir(), "raw-workerd-"));
  let runtime;
  try {
    const urls = {};
    const services = [], sockets = [], definitions = [];
    for (const [i, w] of workers.entries()) {
      const modules = w.modules.map((m) => {
        // workerd embeds files relative to its config.
        const name = m.name ?? basename(m.path);
        const file = `w${i}-${name}`;
        if (m.path) copyFileSync(m.path, join(dir, file));
        else writeFileSync(join(dir, file), m.text);
        return `(name = ${capnp(name)}, ${name.endsWith(".wasm") ? "wasm" : "esModule"} = embed ${capnp(file)})`;
      });
      const port = await freePort();
      urls[w.name] = `http://127.0.0.1:${port}`;
      services.push(`(name = ${capnp(w.name)}, worker = .w${i})`);
      sockets.push(`(name = ${capnp(w.name)}, address = "127.0.0.1:${port}", http = (), service = ${capnp(w.name)})`);
      const objects = Object.entries(w.durableObjects ?? {});
      const bindings = [
        ...Object.entries(w.bindings ?? {}).map(([k, v]) => `(name = ${capnp(k)}, text = ${capnp(v)})`),
        ...objects.map(([k, cls]) => `(name = ${capnp(k)}, durableObjectNamespace = (className = ${capnp(cls)}))`),
      ];
      const storage = objects.length ? `
  durableObjectNamespaces = [${objects.map(([, cls]) => `(className = ${capnp(cls)}, uniqueKey = ${capnp(`w${i}-${cls}`)})`).join(", ")}],
  durableObjectStorage = (inMemory = void),` : "";
      definitions.push(`const w${i} :Workerd.Worker = (
  modules = [${modules.join(", ")}],
  compatibilityDate = "2026-04-26",
  compatibilityFlags = [${(w.flags ?? []).map(capnp).join(", ")}],
  bindings = [${bindings.join(", ")}],${storage}
  globalOutbound = "loopback",
);`);
    }
    writeFileSync(join(dir, "config.capnp"), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [${[...services, '(name = "loopback", network = (allow = ["local"]))'].join(", ")}],
  sockets = [${sockets.join(", ")}],
);
${definitions.join("\n")}
`);
    runtime = spawn(workerd, ["serve", join(dir, "config.capnp")], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    runtime.stdout.on("data", (d) => { out += d; });
    runtime.stderr.on("data", (d) => { err += d; });
    const spawnError = new Promise((_, reject) => runtime.once("error", reject));
    spawnError.catch(() => {});
    const stop = () => {
      runtime.kill();
      rmSync(dir, { recursive: true, force: true });
    };
    for (let i = 0; ; i++) {
      if (runtime.exitCode !== null) throw new Error(`workerd exited (${runtime.exitCode}): ${err.slice(0, 2000)}`);
      if (i === 100) throw new Error(`workerd was not ready in 10 s: ${err.slice(0, 2000)}`);
      if (await Promise.race([spawnError, ready(urls).catch(() => false)])) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return { urls, stdout: () => out, stop };
  } catch (error) {
    runtime?.kill();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
