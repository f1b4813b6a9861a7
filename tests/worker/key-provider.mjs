// A loopback OpenID key provider stand-in (discovery + JWKS) for the remote-keys tests and the soak. It
// counts every fetch, records every JWKS it served completely (when, and which kids), and misbehaves on
// demand: `mode` is one of
//   "ok"          discovery and the JWKS as configured
//   "down"        500
//   "garbage"     200 with a body that is not JSON
//   "hang"        accepts the request and never answers (no status line)
//   "stall-body"  status line, headers (content-length) and the first bytes of the body, then nothing
//   "oversized"   200, chunked (no content-length), `oversizeBytes` of JSON whitespace, then nothing
// `faultOn` = "all" (default) or "jwks": which documents the mode applies to (discovery stays fine with
// "jwks"). `delayMs` delays every answer. Stalled answers stay open until `release()` or `close()`.
import { createServer } from "node:http";
import { buildDir } from "./built-worker.mjs";

// Builds from before issue 9 do not know `remote_keys.allow_loopback_http` (and refuse unknown fields).
// Against such a build (EDGE_AUTH_BUILD=build-baseline) the tests leave the switch out, so that each one
// fails, or passes, for its own reason rather than for a config the build cannot read.
export const PRE_HARDENING = buildDir === "build-baseline";
/// The `remote_keys` fields every config with a loopback (http) provider needs.
export const loopbackHttp = PRE_HARDENING ? {} : { allow_loopback_http: true };

export async function keyProvider() {
  const provider = {
    iss: "",
    keys: [],
    mode: "ok",
    faultOn: "all",
    delayMs: 0,
    cacheControl: "max-age=600",
    oversizeBytes: 1024 * 1024,
    /// Requests seen, per document (every request, whatever the mode).
    counts: { discovery: 0, jwks: 0 },
    /// Every JWKS answered completely with status 200 and a key set: { start, end, kids } (ms).
    serves: [],
    /// Every request: { at, path, mode } (ms).
    log: [],
    /// Answers stalled now (open), and stalls begun so far.
    stalled: new Set(),
    stalls: 0,
    server: null,
    /// Ends every stalled answer (the connection is destroyed: the reader sees an error).
    release() {
      for (const res of provider.stalled) res.socket?.destroy();
      provider.stalled.clear();
    },
    async close() {
      provider.release();
      provider.server.closeAllConnections?.();
      await new Promise((resolve) => provider.server.close(resolve));
    },
  };
  const stall = (res) => {
    provider.stalls++;
    provider.stalled.add(res);
    res.on("close", () => provider.stalled.delete(res));
  };
  provider.server = createServer((req, res) => {
    const path = req.url.split("?")[0];
    const document = path === "/.well-known/openid-configuration" ? "discovery" : path === "/jwks" ? "jwks" : null;
    if (document) provider.counts[document]++;
    const mode = document === "discovery" && provider.faultOn === "jwks" ? "ok" : provider.mode;
    provider.log.push({ at: Date.now(), path, mode });
    const answer = () => {
      if (!document) { res.statusCode = 404; res.end(); return; }
      switch (mode) {
        case "down": res.statusCode = 500; res.end("down"); return;
        case "garbage": res.setHeader("content-type", "application/json"); res.end("{not json"); return;
        case "hang": stall(res); return;
        case "stall-body": {
          stall(res);
          const body = JSON.stringify({ keys: provider.keys.map((k) => k.jwk) });
          res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
          res.write(body.slice(0, 10));
          return;
        }
        case "oversized": {
          stall(res);
          res.writeHead(200, { "content-type": "application/json" });   // chunked: no content-length
          res.write('{"keys":[');
          const chunk = " ".repeat(16 * 1024);
          let sent = 0;
          const more = () => {
            while (sent < provider.oversizeBytes && !res.destroyed) {
              sent += chunk.length;
              if (!res.write(chunk)) { res.once("drain", more); return; }
            }
          };
          more();
          return;
        }
        default: break;
      }
      res.setHeader("content-type", "application/json");
      if (document === "discovery") {
        res.end(JSON.stringify({ issuer: provider.iss, jwks_uri: `${provider.iss.replace(/\/$/, "")}/jwks` }));
        return;
      }
      if (provider.cacheControl) res.setHeader("cache-control", provider.cacheControl);
      const kids = provider.keys.map((k) => k.kid);
      const start = Date.now();
      res.on("finish", () => provider.serves.push({ start, end: Date.now(), kids }));
      res.end(JSON.stringify({ keys: provider.keys.map((k) => k.jwk) }));
    };
    if (provider.delayMs) setTimeout(answer, provider.delayMs); else answer();
  });
  await new Promise((resolve) => provider.server.listen(0, "127.0.0.1", resolve));
  provider.iss = `http://127.0.0.1:${provider.server.address().port}/`;
  return provider;
}

/// Races a promise against a deadline: a hung answer fails the test with `what` instead of hanging it.
export function within(ms, promise, what) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
