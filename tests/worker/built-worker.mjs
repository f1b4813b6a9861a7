// The built Worker (build/index.js + build/index_bg.wasm, from scripts/build-worker.sh) in a workerd
// instance through miniflare: one definition for the tests and benchmarks that run it.
// EDGE_AUTH_BUILD=<dir> runs another build (for example a copy of the build before a fix, to see a
// regression test fail against it); the default is build/.
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
