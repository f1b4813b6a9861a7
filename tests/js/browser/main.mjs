// The entry in a browser page (tests/js/browser/index.html): the same test files as in Node, Deno and Bun,
// with the package imported through its one browser specifier, `/js/browser.js`. Modes (`?mode=`):
// `selftest` (the harness and the shared tables, no package), `smoke` (the tests marked smoke: the
// default), `full` (every test this runtime can run). Each TAP line goes to the console and to
// <pre id="results">; the summary is `window.__edgeAuthResult` (and `data-done`, `data-failed`).
import { createHarness } from "../harness.mjs";
import { registerAll } from "../suites.mjs";

const out = document.getElementById("results");
const print = (line) => {
  console.log(line);
  out.textContent += `${line}\n`;
};
const finish = (result) => {
  out.dataset.done = "true";
  out.dataset.failed = String(result.failed);
  window.__edgeAuthResult = result;
};

const params = new URLSearchParams(location.search);
const mode = params.get("mode") ?? "smoke";
const grep = params.get("grep");

try {
  let pkg = null;
  if (mode !== "selftest") {
    try {
      pkg = await import("/js/browser.js");
    } catch (error) {
      const probe = await fetch("/js/browser.js").catch(() => null);
      if (!probe?.ok) throw new Error("js/browser.js not found — run bash scripts/build-js.sh");
      throw new Error(`importing js/browser.js failed: ${error?.message ?? error}`);
    }
  }
  const ctx = {
    runtime: "chromium",
    pkg,
    selftest: mode === "selftest",
    capabilities: new Set(),
    readText: async (path) => {
      const res = await fetch(`/${path}`);
      if (!res.ok) throw new Error(`GET /${path}: ${res.status}`);
      return res.text();
    },
    readJson: async (path) => JSON.parse(await ctx.readText(path)),
  };
  const harness = createHarness({ runtime: "chromium", capabilities: ctx.capabilities, print, now: () => performance.now() });
  await registerAll(harness.test, ctx);
  const filter = (c) => (!grep || c.name.includes(grep)) && (mode !== "smoke" || c.options.smoke);
  const summary = await harness.run({ filter });
  finish({ ...summary, mode, userAgent: navigator.userAgent });
} catch (error) {
  print(`Bail out! ${error?.message ?? error}`);
  finish({ total: 0, passed: 0, failed: 1, skipped: 0, error: String(error?.stack ?? error), mode });
}
