// Runs the browser page (tests/js/browser/index.html) in headless Debian Chromium through playwright-core:
// serves the repository on 127.0.0.1 (tests/js/server.mjs), prints the page's TAP lines, exits non-zero
// on any failure. Usage: node tests/js/browser/chromium.mjs [selftest|smoke|full] [--grep=TEXT]
// CHROMIUM=/path overrides /usr/bin/chromium. Bounded: 240 s for the page, 300 s in all.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startServer } from "../server.mjs";

const mode = process.argv.slice(2).find((a) => !a.startsWith("--")) ?? "smoke";
const grep = process.argv.slice(2).find((a) => a.startsWith("--grep="))?.slice("--grep=".length);
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const root = fileURLToPath(new URL("../../../", import.meta.url));

const deadline = setTimeout(() => {
  console.error("chromium: no result within 300 s");
  process.exit(1);
}, 300_000);
deadline.unref();

if (!existsSync(executablePath)) {
  console.error(`chromium: ${executablePath} not found — run bash scripts/setup-js-tests.sh`);
  process.exit(1);
}

const server = await startServer(root);
let browser;
let code = 1;
try {
  const started = performance.now();
  browser = await chromium.launch({
    executablePath,
    headless: true,
    timeout: 60_000,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"],
  });
  const page = await browser.newPage();
  page.on("console", (message) => console.log(message.text()));
  page.on("pageerror", (error) => console.log(`# page error: ${error.message}`));
  page.on("requestfailed", (request) => console.log(`# request failed: ${request.url()} ${request.failure()?.errorText}`));
  const query = new URLSearchParams({ mode, ...(grep ? { grep } : {}) });
  await page.goto(`${server.url}/tests/js/browser/index.html?${query}`, { timeout: 30_000 });
  const handle = await page.waitForFunction(() => window.__edgeAuthResult, null, { timeout: 240_000, polling: 100 });
  const result = await handle.jsonValue();
  console.log(`# chromium ${browser.version()} (${mode}): ${result.passed} passed, ${result.failed} failed, ${result.skipped} skipped, page total ${Math.round(performance.now() - started)} ms`);
  if (result.error) console.log(`# ${result.error.split("\n")[0]}`);
  code = result.failed > 0 || result.total === 0 ? 1 : 0;
} catch (error) {
  console.error(`chromium: ${error?.message ?? error}`);
} finally {
  await browser?.close().catch(() => {});
  await server.close();
}
process.exit(code);
