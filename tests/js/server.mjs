// A small static file server for the browser tests: the repository's test assets and the package, on
// 127.0.0.1 only, GET/HEAD only, read-only, no directory listings, nothing outside the allowed prefixes.
// Used by tests/js/browser/chromium.mjs; by hand: node tests/js/server.mjs [port] (then open
// http://127.0.0.1:<port>/tests/js/browser/index.html?mode=selftest).
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

/// What a page may load: the package, the test files (with jose from their node_modules), the tables.
const ALLOWED = ["js/", "tests/js/", "tests/vectors/", "tests/policy/", "crates/core/tests/vectors/", "README.md"];

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".md": "text/markdown; charset=utf-8",
  ".ts": "text/plain; charset=utf-8",
  ".map": "application/json",
};

export async function startServer(root, { port = 0 } = {}) {
  const base = resolve(root);
  const server = createServer(async (req, res) => {
    const send = (status, body = "", type = "text/plain; charset=utf-8") => {
      res.writeHead(status, { "content-type": type, "cache-control": "no-store", "x-content-type-options": "nosniff" });
      res.end(req.method === "HEAD" ? undefined : body);
    };
    try {
      if (req.method !== "GET" && req.method !== "HEAD") return send(405, "method not allowed");
      const pathname = decodeURIComponent(new URL(req.url, "http://127.0.0.1").pathname);
      const relative = pathname.replace(/^\/+/, "");
      if (pathname.includes("\0") || relative.split("/").some((s) => s === ".." || s.startsWith("."))) return send(404, "not found");
      if (!ALLOWED.some((prefix) => relative === prefix || relative.startsWith(prefix))) return send(404, "not found");
      const file = resolve(base, relative);
      if (!file.startsWith(base + sep)) return send(404, "not found");
      const info = await stat(file).catch(() => null);
      if (!info?.isFile()) return send(404, "not found");
      const body = await readFile(file);
      return send(200, body, TYPES[extname(file)] ?? "application/octet-stream");
    } catch (error) {
      return send(500, String(error?.message ?? error));
    }
  });
  await new Promise((resolveListen, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolveListen);
  });
  const { port: actual } = server.address();
  return {
    url: `http://127.0.0.1:${actual}`,
    close: () => new Promise((done) => {
      server.closeAllConnections?.();
      server.close(() => done());
    }),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const root = fileURLToPath(new URL("../../", import.meta.url));
  const { url } = await startServer(root, { port: Number(process.argv[2] ?? 8790) });
  console.log(`serving ${root} (test assets only) on ${url}`);
}
