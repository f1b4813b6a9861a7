// The origins the end-to-end scenario runs against: one entry per kit. An origin is a process that
// - is started by `command()` in `cwd` with the environment `env(settings)`, where `settings` is
//   { jwksUrl, issuer, audience, publicUrl, jwksMinTtl, jwksErrorBackoff } (the last two: seconds, or
//   null for the kit's defaults; the JWKS URL is loopback http, which every kit must be told to allow);
// - listens on 127.0.0.1 on an ephemeral port, and prints it in a line `ready` matches (group 1);
// - serves the scenario's `paths`, each checking the assertion with the kit (the Worker in front has
//   the same rules on /orders, /orders/*, /admin and /admin/*):
//     read   GET, scope orders:read → 200, a JSON body from which `identity(body)` gives
//            { sub, issuer (the caller token's issuer), scopes }
//     other  another path the origin checks the assertion on (GET)
//     write  POST, scope orders:write → 200, `writer(body)` = the caller's sub (null: no such route; then a POST to
//            `read` must still get 401 for an assertion bound to GET, before any 404/405)
//     admin  GET, role admin
// - answers a refusal with the Worker's status and problem+json `code` (401 with
//   `WWW-Authenticate: Bearer …`, 403 insufficient_scope / role_missing, 503 keys_unavailable).
// `cases` names the scenario parts it runs (e2e.test.mjs: CASES); `knownBugs` maps a part to the open bug
// that makes it fail (it still runs, reported as TODO: remove the entry with the fix). An origin whose `command` is null is a
// hook not wired yet: its run is reported as skipped, with `pending` as the reason.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { root } from "../worker/built-worker.mjs";

/// The Python of tests/e2e/.venv (scripts/setup-e2e.sh: FastAPI, uvicorn and the kit, pinned).
export const python = process.env.EDGE_AUTH_E2E_PYTHON ?? resolve(root, "tests/e2e/.venv/bin/python");
/// crates/origin's example origin (target/debug, or EDGE_AUTH_AXUM_ORIGIN).
export const axumOrigin = process.env.EDGE_AUTH_AXUM_ORIGIN ?? resolve(root, "target/debug/examples/axum_origin");

export const origins = [
  {
    name: "fastapi",
    cwd: root,
    // The README's example app itself (examples/fastapi/app.py), under uvicorn.
    command: () => [python, "-m", "uvicorn", "app:app", "--app-dir", "examples/fastapi", "--host", "127.0.0.1", "--port", "0"],
    ready: /Uvicorn running on http:\/\/127\.0\.0\.1:(\d+)/,
    paths: { read: "/orders/7", other: "/orders/8", write: "/orders/7", admin: "/admin/users" },
    identity: (body) => ({ sub: body?.sub, issuer: body?.issuer, scopes: body?.scopes }),
    writer: (body) => body?.updated_by,
    env: (s) => ({
      EDGE_AUTH_JWKS_URL: s.jwksUrl,
      EDGE_AUTH_ISSUER: s.issuer,
      EDGE_AUTH_AUDIENCE: s.audience,
      EDGE_AUTH_PUBLIC_URL: s.publicUrl,
      EDGE_AUTH_JWKS_OPTIONS: JSON.stringify({
        allow_loopback_http: true,
        ...(s.jwksMinTtl === null ? {} : { min_ttl: s.jwksMinTtl }),
        ...(s.jwksErrorBackoff === null ? {} : { error_backoff: s.jwksErrorBackoff }),
      }),
      PYTHONDONTWRITEBYTECODE: "1",
      PYTHONUNBUFFERED: "1",
    }),
    cases: ["allowed", "edge_refuses", "replay", "forgeries", "rotation", "jwks_down"],
    available: () => existsSync(python) || `no ${python}: run bash scripts/setup-e2e.sh`,
  },
  {
    // The JS package's Hono middleware (`edge-auth/hono`) on @hono/node-server: tests/js/origins/hono.mjs,
    // with tests/js's packages (scripts/setup-js-tests.sh) and the package's wasm (scripts/build-js.sh).
    name: "hono",
    cwd: root,
    command: () => {
      if (!existsSync(resolve(root, "js/pkg"))) throw new Error("no js/pkg: bash scripts/build-js.sh");
      if (!existsSync(resolve(root, "tests/js/node_modules/edge-auth"))) throw new Error("no tests/js/node_modules: bash scripts/setup-js-tests.sh");
      return [process.execPath, "tests/js/origins/hono.mjs"];
    },
    ready: /^listening on http:\/\/127\.0\.0\.1:(\d+)$/,
    // Its routes take any method; /orders/8 has no route (404 before any check), so the other path is /admin.
    paths: { read: "/orders", other: "/admin", write: null, admin: "/admin" },
    identity: (body) => ({ sub: body?.claims?.sub, issuer: body?.issuer, scopes: body?.scopes }),
    env: (s) => ({
      EDGE_AUTH_JWKS_URL: s.jwksUrl,
      EDGE_AUTH_ISSUER: s.issuer,
      EDGE_AUTH_AUDIENCE: s.audience,
      PUBLIC_URL: s.publicUrl,
      EDGE_AUTH_REMOTE_KEYS: JSON.stringify({ allow_loopback_http: true }),
      HOST: "127.0.0.1",
      PORT: "0",
    }),
    cases: ["allowed", "edge_refuses", "replay", "rotation", "forgeries"],
    available: () => true,   // a missing build or install fails the run (test.sh does both before)
  },
  {
    // The axum origin of crates/origin (`edge-auth-origin`): its example binary, built by scripts/test.sh
    // (`cargo build -p edge-auth-origin --example axum_origin`) before this runs.
    name: "axum",
    cwd: root,
    command: () => {
      if (!existsSync(axumOrigin)) throw new Error(`no ${axumOrigin}: cargo build -p edge-auth-origin --example axum_origin`);
      return [axumOrigin];
    },
    ready: /^listening on (\d+)$/,
    paths: { read: "/orders", other: "/orders/8", write: null, admin: "/admin" },
    identity: (body) => ({ sub: body?.sub, issuer: body?.issuer, scopes: body?.scopes }),
    env: (s) => ({
      EDGE_JWKS_URL: s.jwksUrl,
      EDGE_ASSERTION_ISSUER: s.issuer,
      EDGE_ASSERTION_AUDIENCE: s.audience,
      PUBLIC_URL: s.publicUrl,
      PORT: "0",
    }),
    cases: ["allowed", "edge_refuses", "replay", "rotation", "forgeries"],
    available: () => true,   // a missing binary fails the run (test.sh builds it)
  },
];
