// The entry in Node, Deno and Bun: `node tests/js/main.mjs`, `deno run -A tests/js/main.mjs`,
// `bun run tests/js/main.mjs` (tests/js/run.sh runs them all). It imports the package through its one
// specifier for these runtimes, `js/index.js`, registers every test file (suites.mjs), runs them and exits
// non-zero on any failure. Chromium runs the same files from tests/js/browser/ through `js/browser.js`.
//
// Flags: --selftest (the harness and the shared tables, without the package: works before js/ exists),
//        --grep=TEXT (only tests whose name contains TEXT).
import { createHarness } from "./harness.mjs";
import { registerAll } from "./suites.mjs";

const runtime = globalThis.Deno ? "deno" : globalThis.Bun ? "bun" : "node";
const args = globalThis.Deno ? Deno.args : process.argv.slice(2);
const selftest = args.includes("--selftest");
const grep = args.find((a) => a.startsWith("--grep="))?.slice("--grep=".length);

function exit(code) {
  if (globalThis.Deno) Deno.exit(code);
  else process.exit(code);
}

const fs = await import("node:fs/promises");
const { fileURLToPath } = await import("node:url");
const root = new URL("../../", import.meta.url);

/// The package, through the one specifier Node, Deno and Bun use; a clear failure when it is not built.
async function loadPackage() {
  const entry = new URL("js/index.js", root);
  try {
    await fs.access(fileURLToPath(entry));
  } catch {
    console.error("edge-auth JS tests: js/index.js not found — run bash scripts/build-js.sh");
    exit(1);
  }
  try {
    return await import(entry.href);
  } catch (error) {
    console.error(`edge-auth JS tests: importing js/index.js failed in ${runtime}:\n${error?.stack ?? error}`);
    exit(1);
  }
}

const pkg = selftest ? null : await loadPackage();

const ctx = {
  runtime,
  pkg,
  selftest,
  capabilities: new Set(["fs", "subprocess", "env", "server", "raw-headers"]),
  root: fileURLToPath(root),
  readText: (path) => fs.readFile(new URL(path, root), "utf8"),
  readJson: async (path) => JSON.parse(await fs.readFile(new URL(path, root), "utf8")),
};

const harness = createHarness({ runtime, capabilities: ctx.capabilities, print: (line) => console.log(line), now: () => performance.now() });
await registerAll(harness.test, ctx);
const summary = await harness.run({ filter: grep ? (c) => c.name.includes(grep) : undefined });
exit(summary.failed > 0 || summary.total === 0 ? 1 : 0);
