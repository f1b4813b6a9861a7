// Helpers for the Worker tests that need more control than `dispatchFetch` gives: raw HTTP/1.1 requests
// over a socket (duplicate header lines in several casings reach workerd as sent, which the client-side
// `Headers` of fetch would merge and lower-case first), and a loopback origin that records every request
// with its raw header lines.
import { connect } from "node:net";
import { createServer } from "node:http";

/// Sends one HTTP/1.1 request as raw bytes to `base` (`http://127.0.0.1:PORT`) and reads the whole answer
/// (the request says `Connection: close`). `headers` is a list of `[name, value]` lines, sent in order and
/// as written (several lines with the same name stay several lines). Resolves to
/// `{ status, headers: [[name, value], …], body: Buffer }`; rejects after `timeoutMs`.
export function rawRequest(base, { method = "GET", target = "/", headers = [], body, timeoutMs = 15000 } = {}) {
  const url = new URL(base);
  const lines = [`${method} ${target} HTTP/1.1`, `Host: ${url.host}`];
  for (const [name, value] of headers) lines.push(`${name}: ${value}`);
  const payload = body === undefined ? null : Buffer.from(body);
  if (payload) lines.push(`Content-Length: ${payload.length}`);
  lines.push("Connection: close", "", "");
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    const chunks = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`raw request ${method} ${target}: no complete answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("connect", () => {
      socket.write(lines.join("\r\n"));
      if (payload) socket.write(payload);
    });
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      try {
        resolve(parseResponse(Buffer.concat(chunks)));
      } catch (e) {
        reject(e);
      }
    };
    // Done when the message is complete (workerd may keep the connection open a while despite `close`).
    socket.on("data", (d) => {
      chunks.push(d);
      if (isComplete(Buffer.concat(chunks), method)) finish();
    });
    socket.on("error", (e) => { if (!settled) { settled = true; clearTimeout(timer); reject(e); } });
    socket.on("close", finish);
  });
}

/// Whether `bytes` hold a whole response: headers, then the body its framing announces.
function isComplete(bytes, method) {
  const end = bytes.indexOf("\r\n\r\n");
  if (end < 0) return false;
  const head = bytes.subarray(0, end).toString("latin1").toLowerCase();
  const status = Number(/^http\/1\.[01] (\d{3})/.exec(head)?.[1]);
  if (method === "HEAD" || status === 204 || status === 304 || (status >= 100 && status < 200)) return true;
  const body = bytes.subarray(end + 4);
  const length = /\r\ncontent-length:\s*(\d+)/.exec(head);
  if (length) return body.length >= Number(length[1]);
  if (/\r\ntransfer-encoding:[^\r]*chunked/.test(head)) return body.includes("\r\n0\r\n\r\n") || body.subarray(0, 5).equals(Buffer.from("0\r\n\r\n"));
  return false; // delimited by the connection's close
}

function parseResponse(bytes) {
  const end = bytes.indexOf("\r\n\r\n");
  if (end < 0) throw new Error(`not an HTTP response: ${JSON.stringify(bytes.toString("latin1").slice(0, 200))}`);
  const [statusLine, ...headerLines] = bytes.subarray(0, end).toString("latin1").split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
  const headers = headerLines.map((l) => {
    const i = l.indexOf(":");
    return [l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim()];
  });
  let body = bytes.subarray(end + 4);
  if (headers.some(([n, v]) => n === "transfer-encoding" && /chunked/i.test(v))) body = dechunk(body);
  return { status, headers, body };
}

function dechunk(bytes) {
  const out = [];
  let at = 0;
  for (;;) {
    const eol = bytes.indexOf("\r\n", at);
    if (eol < 0) break;
    const size = parseInt(bytes.subarray(at, eol).toString("latin1"), 16);
    if (!size) break;
    out.push(bytes.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(out);
}

/// Every value of header `name` (any casing) in Node's `rawHeaders` list, one entry per header line.
export function rawValues(rawHeaders, name) {
  const values = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i].toLowerCase() === name.toLowerCase()) values.push(rawHeaders[i + 1]);
  }
  return values;
}

/// The cookie names in a `Cookie` header value (in order).
export function cookieNames(header) {
  return (header ?? "").split(";").map((p) => p.trim()).filter(Boolean).map((p) => p.split("=")[0]);
}

/// A loopback origin that records `{ method, url, headers, rawHeaders, body }` for every request it gets,
/// and answers with `origin.respond(req, res, body)` (default: 200 JSON). `origin.onData(req, chunk)` is
/// called for every body chunk as it arrives (for the streaming proof).
export async function recordingOrigin() {
  const origin = {
    received: [],
    respond: null,
    onData: null,
  };
  origin.server = await new Promise((resolve) => {
    const server = createServer((req, res) => {
      const chunks = [];
      req.on("data", (c) => {
        chunks.push(c);
        origin.onData?.(req, c);
      });
      req.on("end", () => {
        const body = Buffer.concat(chunks);
        origin.received.push({ method: req.method, url: req.url, headers: req.headers, rawHeaders: req.rawHeaders, body });
        if (origin.respond) return origin.respond(req, res, body);
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ ok: true, bytes: body.length }));
      });
    });
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
  origin.url = `http://127.0.0.1:${origin.server.address().port}`;
  origin.close = () => new Promise((resolve) => {
    origin.server.closeAllConnections?.();
    origin.server.close(() => resolve());
  });
  return origin;
}

/// The decision log lines (`"event":"decision"`) among collected log lines, parsed.
export function decisions(lines) {
  return lines.filter((l) => l.includes('"event":"decision"')).map((l) => JSON.parse(l.slice(l.indexOf("{"))));
}

/// Waits until `predicate()` is true (polling every 20 ms), at most `ms`; returns its last value.
export async function waitFor(predicate, ms = 2000) {
  const until = Date.now() + ms;
  while (!predicate() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  return predicate();
}
