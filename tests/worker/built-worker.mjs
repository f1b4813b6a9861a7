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

/// The built Worker's modules (absolute paths: the tests may run from any directory).
export function workerModules() {
  return [
    { type: "ESModule", path: resolve(root, buildDir, "index.js") },
    { type: "CompiledWasm", path: resolve(root, buildDir, "index_bg.wasm") },
  ];
}

/// wrangler.toml's compatibility flags (cancel.test.mjs checks that they are the same): with
/// `enable_request_signal` the Worker ends the work of a request whose client went away.
export const COMPATIBILITY_FLAGS = ["enable_request_signal"];

/// The Durable Object binding of wrangler.toml: `EDGE_AUTH_REVOCATIONS` → the Worker's own class
/// `Revocations` (in memory: each Miniflare instance starts with an empty object).
export const REVOCATIONS = { EDGE_AUTH_REVOCATIONS: "Revocations" };

/// A ready instance of the built Worker with these bindings; `options` go to Miniflare as they are.
export async function builtWorker(bindings, options = {}) {
  const mf = new Miniflare({
    rootPath: root,
    modulesRoot: root,
    modules: workerModules(),
    compatibilityDate: "2026-04-26",
    compatibilityFlags: COMPATIBILITY_FLAGS,
    durableObjects: REVOCATIONS,
    bindings,
    ...options,
  });
  await mf.ready;
  return mf;
}

/// Several instances of the built Worker in one workerd (each its own isolate), as `workers` entries of
/// one Miniflare: `[{ name, bindings, ...workerOptions }]`; the first defines the `Revocations` object,
/// the others reach the same object (`scriptName` of the first), as isolates of one deployment do.
/// `shared` are Miniflare's instance-wide options (`handleRuntimeStdio`, …). Reach instance `name`
/// with `await mf.getWorker(name)`.
export async function builtWorkers(list, shared = {}) {
  const [first] = list;
  const mf = new Miniflare({
    ...shared,
    workers: list.map(({ name, bindings, ...options }, i) => ({
      name,
      rootPath: root,
      modulesRoot: root,
      modules: workerModules(),
      compatibilityDate: "2026-04-26",
      compatibilityFlags: COMPATIBILITY_FLAGS,
      durableObjects: i === 0 ? REVOCATIONS
        : { EDGE_AUTH_REVOCATIONS: { className: "Revocations", scriptName: first.name } },
      bindings,
      ...options,
    })),
  });
  await mf.ready;
  return mf;
}

/// Whether the build exports the revocation Durable Object class (`Revocations`, issue 14). A test can
/// then start the Worker without the binding when it does not (`durableObjects: {}` in its options), so
/// that it fails on the missing behaviour rather than at start-up.
export function buildHasRevocations() {
  try {
    return /\bRevocations\b/.test(readFileSync(resolve(root, buildDir, "index.js"), "utf8"));
  } catch {
    return false;
  }
}
