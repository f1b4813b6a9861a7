// A tiny static server for www/dist/ on 127.0.0.1: GET and HEAD only, no directory listings, nothing
// outside dist/, and every answer carries the headers of dist/_headers (the Content-Security-Policy that
// Workers static assets would send). Used by scripts/inspector.sh and tests/www:
//   node www/server.mjs [port]        (default 8790)
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".wasm": "application/wasm",
  ".json": "application/json",
};

/// The `/*` block of a Workers `_headers` file as [name, value] pairs.
export function readHeadersFile(text) {
  const out = [];
  let inAll = false;
  for (const line of text.split("\n")) {
    if (!line.trim() || line.trim().startsWith("#")) continue;
    if (!/^\s/.test(line)) {
      inAll = line.trim() === "/*";
      continue;
    }
    const colon = line.indexOf(":");
    if (inAll && colon > 0) out.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  return out;
}

export async function startServer(dir, { port = 0 } = {}) {
  const base = resolve(dir);
  const headers = readHeadersFile(await readFile(resolve(base, "_headers"), "utf8"));
  const server = createServer(async (req, res) => {
    const send = (status, body, type = "text/plain; charset=utf-8") => {
      res.writeHead(status, [...headers, ["content-type", type], ["cache-control", "no-cache"]].flat());
      res.end(req.method === "HEAD" ? undefined : body);
    };
    try {
      if (req.method !== "GET" && req.method !== "HEAD") return send(405, "method not allowed");
      let pathname = decodeURIComponent(new URL(req.url, "http://127.0.0.1").pathname);
      if (pathname.endsWith("/")) pathname += "index.html";
      const relative = pathname.replace(/^\/+/, "");
      if (pathname.includes("\0") || relative.split("/").some((s) => s === ".." || s.startsWith("_") || s.startsWith("."))) return send(404, "not found");
      const file = resolve(base, relative);
      if (!file.startsWith(base + sep)) return send(404, "not found");
      const info = await stat(file).catch(() => null);
      if (!info?.isFile()) return send(404, "not found");
      return send(200, await readFile(file), TYPES[extname(file)] ?? "application/octet-stream");
    } catch {
      return send(400, "bad request");
    }
  });
  await new Promise((done, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", done);
  });
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((done) => {
      server.closeAllConnections?.();
      server.close(() => done());
    }),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const dir = fileURLToPath(new URL("./dist/", import.meta.url));
  const { url } = await startServer(dir, { port: Number(process.argv[2] ?? 8790) });
  console.log(`edge-auth inspector: ${url}/ (serving ${dir}; Ctrl+C stops it)`);
}
