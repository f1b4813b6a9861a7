// The built Worker (build/index.js + build/index_bg.wasm, from scripts/build-worker.sh) in a workerd
// instance through miniflare: one definition for the tests and benchmarks that run it.
// EDGE_AUTH_BUILD=<dir> runs another build (for example a copy of the build before a fix, to see a
// regression test fail against it); the default is build/.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";

export const root = fileURLToPath(new URL("../..", import.meta.url));
export const buildDir = process.env.EDGE_AUTH_BUILD ?? "build";

/// Collects the Worker's log lines into `lines` (for `handleRuntimeStdio`).
export function collectLogs(lines) {
  return (stdout, stderr) => {
    for (const stream of [stdout, stderr]) {
      stream.on("data", (d) => lines.push(...d.toString().split("\n").filter(Boolean)));
    }
  };
}

/// A ready instance of the built Worker with these bindings; `options` go to Miniflare as they are.
export async function builtWorker(bindings, options = {}) {
  const mf = new Miniflare({
    rootPath: root,
    modulesRoot: root,
    modules: [
      // Absolute paths: the tests may run from any directory.
      { type: "ESModule", path: resolve(root, buildDir, "index.js") },
      { type: "CompiledWasm", path: resolve(root, buildDir, "index_bg.wasm") },
    ],
    compatibilityDate: "2026-04-26",
    bindings,
    ...options,
  });
  await mf.ready;
  return mf;
}

/// Whether the build exports the revocation Durable Object class (`Revocations`, issue 14). Tests that
/// need it start the Worker without the binding when it does not, so that they fail on the missing
/// behaviour rather than at start-up.
export function buildHasRevocations() {
  try {
    return /\bRevocations\b/.test(readFileSync(resolve(root, buildDir, "index.js"), "utf8"));
  } catch {
    return false;
  }
}

/// `count` isolates of the built Worker in one workerd (one Miniflare): Workers `edge-0` … `edge-<count-1>`,
/// each its own isolate (its own module state: key, verified-token and revocation caches), with the same
/// bindings. With `revocations` (the binding name), `edge-0` hosts the `Revocations` Durable Object class
/// and every isolate binds that one namespace, so they share the objects (and their storage) as
/// isolates of one deployment do. Resolves to { mf, isolates }, each isolate with `dispatchFetch(url,
/// init)` (what the harnesses call on a Miniflare) and `name`.
export async function builtIsolates(bindings, { count = 2, revocations, ...options } = {}) {
  const host = "edge-0";
  const workers = Array.from({ length: count }, (_, i) => ({
    name: `edge-${i}`,
    modulesRoot: root,
    modules: [
      { type: "ESModule", path: resolve(root, buildDir, "index.js") },
      { type: "CompiledWasm", path: resolve(root, buildDir, "index_bg.wasm") },
    ],
    compatibilityDate: "2026-04-26",
    bindings,
    ...(revocations
      ? { durableObjects: { [revocations]: i === 0 ? "Revocations" : { className: "Revocations", scriptName: host } } }
      : {}),
  }));
  const mf = new Miniflare({ rootPath: root, workers, ...options });
  await mf.ready;
  const isolates = [];
  for (const { name } of workers) {
    const fetcher = await mf.getWorker(name);
    isolates.push({ name, dispatchFetch: (url, init) => fetcher.fetch(url, init) });
  }
  return { mf, isolates };
}
