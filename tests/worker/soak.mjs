// The soak (issue 9): the built Worker in workerd (miniflare) under a steady mix of good and bad tokens
// while its key provider rotates, stalls, fails and comes back. Run it with `bash scripts/soak.sh`
// (EDGE_AUTH_BUILD=<dir> for another build; SOAK_SECONDS, SOAK_RATE, SOAK_CONCURRENCY to change the load).
//
// Everything is on 127.0.0.1: a key provider stand-in (discovery + JWKS, key-provider.mjs) and an origin
// that records every request it receives. For SOAK_SECONDS (90) requests go out at SOAK_RATE (120/s) with
// at most SOAK_CONCURRENCY (32) in flight, each bounded by a 10 s deadline, drawn from this mix:
//   valid         current minting key, 5 subjects, scope "read" or "read admin", /api/… or /admin/…
//                 (admin needs scope admin: 403 otherwise); half reused from a pool (token-cache hits)
//   old-key       valid claims, signed by k1 once k1 no longer mints (published, then removed)
//   expired       current key, exp an hour ago
//   forged-sig    a valid token with one signature character changed
//   forged-key    signed by a key never published, under the current key's kid
//   wrong-aud     current key, another audience
//   random-kid    a key never published, a random kid (unknown-kid refetch pressure)
//   oversized     longer than max_token_bytes (4096)
//   alg-none      alg "none"
//   no-token      no Authorization
// The provider goes through the phases below (durations scale with SOAK_SECONDS).
//
// The oracle. A request is sent at t and answered at u (ms). The provider's history is known exactly:
// the phases, and every JWKS it served completely (`serves`: start, end, kids). For a token that needs
// the issuer's keys, signed by a key with kid K, `ideal(set)` is its right answer when the Worker holds
// `set`: K in set → the kind's own answer (200 / 403 insufficient_scope / 401 token_expired /
// signature_invalid / audience_mismatch); K not in set → 401 key_not_found.
//  - Converged: if the provider served one and the same set S without any fault over all of
//    [t - C, u], C = min_ttl + 2·timeout + error_backoff + 3 s, the Worker must hold S (its set went stale
//    and was refreshed in that time, whatever happened before): exactly ideal(S).
//  - Otherwise the Worker holds one of the sets it can have: the last set served completely before
//    t - A (A = 1 s + timeout: by then the Worker has certainly adopted it), or one served between t - A
//    and u. Any ideal(set) of those is right, and 503
//    keys_unavailable is right too when the Worker may have no usable set: nothing served yet, or
//    u ≥ (end of that last serve) + (min_ttl + stale_if_error) s - 1.5 s (whole-second clocks), unless
//    the provider has been healthy over [t - C503, u], C503 = 2·timeout + error_backoff + 2 s (then a
//    fetch must have succeeded: a wedged Worker is wrong, not excused).
// Tokens that never need keys (oversized, alg none, no token) have one right answer in every phase.
// No answer within the deadline, a 5xx other than keys_unavailable, a 503 without Retry-After, or a 200
// whose body is not the origin's are wrong. Every request the origin saw must carry exactly one assertion that verifies with
// jose against the Worker's JWKS (issuer, audience, typ), whose sub is the token's, for a request the
// oracle allowed to pass, and no Authorization header: else it is an unauthenticated forward.
//
// The fetch bound. Attempts (each is at most one discovery and one JWKS request) are bounded per phase:
// a healthy phase of length L allows ⌈L/(min_ttl-1)⌉+1 refreshes (a set is fresh for min_ttl; whole
// seconds lose up to 1) plus ⌈L/(kid_cooldown-1)⌉+1 unknown-kid refetches; a failing phase allows
// ⌈(L + 2·timeout)/(error_backoff-1)⌉+1 attempts (none within the backoff after a failure). The JWKS
// request count and the discovery request count must each be within the sum.
import { createServer } from "node:http";
import { randomUUID } from "node:crypto";
import * as jose from "jose";
import { builtWorker, buildDir, collectLogs } from "./built-worker.mjs";
import { keyProvider, loopbackHttp } from "./key-provider.mjs";

const SECONDS = Number(process.env.SOAK_SECONDS ?? 90);
const RATE = Number(process.env.SOAK_RATE ?? 120);
const CONCURRENCY = Number(process.env.SOAK_CONCURRENCY ?? 32);
const REQUEST_DEADLINE_MS = 10_000;
const R = { minTtl: 4, kidCooldown: 6, staleIfError: 8, errorBackoff: 3, timeoutMs: 1500 };
const C_CONVERGED = (R.minTtl + 2 * R.timeoutMs / 1000 + R.errorBackoff + 3) * 1000;
const C_LIVE = (2 * R.timeoutMs / 1000 + R.errorBackoff + 2) * 1000;
// A set served completely more than ADOPT_SLACK + timeout before a request was certainly adopted by then.
const ADOPT_SLACK = 1000 + R.timeoutMs;
const CLOCK_SLACK = 1500;
const AUD = "https://api.example.com";
const EDGE = { issuer: "https://edge.example.com", audience: "https://origin.example.com" };
const MAX_TOKEN_BYTES = 4096;

// The provider's phases for a 90 s soak (scaled to SOAK_SECONDS): [name, seconds, mode, published, mints,
// faultOn]. In "stall-body" discovery answers and the JWKS stalls mid-body (headers and 10 bytes sent).
const PLAN = [
  ["normal", 15, "ok", ["k1"], "k1"],
  ["rotate-add", 13, "ok", ["k1", "k2"], "k2"],
  ["rotate-drop", 12, "ok", ["k2"], "k2"],
  ["hang", 6, "hang", null, "k2"],
  ["stall-body", 6, "stall-body", null, "k2", "jwks"],
  ["status-500", 8, "down", null, "k2"],
  ["garbage", 8, "garbage", null, "k2"],
  ["recovered", 10, "ok", ["k2"], "k2"],
  ["rotate-again", 12, "ok", ["k2", "k3"], "k3"],
];
const PLAN_SECONDS = PLAN.reduce((sum, p) => sum + p[1], 0);

const KINDS = [
  ["valid", 36], ["old-key", 8], ["expired", 8], ["forged-sig", 6], ["forged-key", 6], ["wrong-aud", 6],
  ["random-kid", 10], ["oversized", 4], ["alg-none", 4], ["no-token", 4],
];
const KEYLESS = { oversized: [401, "token_too_large"], "alg-none": [401, "alg_not_allowed"], "no-token": [401, "token_missing"] };
const SUBJECTS = ["alice", "bob", "carol", "dave", "erin"];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pick = (items) => items[Math.floor(Math.random() * items.length)];
const b64 = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");

async function keypair(kid) {
  const { privateKey, publicKey } = await jose.generateKeyPair("ES256", { extractable: true });
  return { kid, privateKey, jwk: { ...(await jose.exportJWK(publicKey)), kid, alg: "ES256", use: "sig" } };
}

function claims(iss, overrides = {}) {
  const now = Math.floor(Date.now() / 1000);
  return { iss, aud: AUD, sub: pick(SUBJECTS), scope: pick(["read", "read admin"]), iat: now, exp: now + 900, jti: randomUUID(), ...overrides };
}

async function sign(key, payload, kid = key.kid) {
  return new jose.SignJWT(payload).setProtectedHeader({ alg: "ES256", kid }).sign(key.privateKey);
}

function tamper(token) {
  const [h, p, s] = token.split(".");
  const i = Math.floor(s.length / 2);
  return `${h}.${p}.${s.slice(0, i)}${s[i] === "A" ? "B" : "A"}${s.slice(i + 1)}`;
}

function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(String(h).length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(" | ")} |`;
  return [line(headers), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}

async function main() {
  const started = Date.now();
  const keys = { k1: await keypair("k1"), k2: await keypair("k2"), k3: await keypair("k3") };
  const stranger = await keypair("stranger");
  const provider = await keyProvider();
  const ISS = provider.iss;
  provider.cacheControl = `max-age=${R.minTtl}`;

  // The origin: records every request and answers with its id.
  const seen = [];
  const origin = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      seen.push({ id: req.headers["x-soak-id"], at: Date.now(), method: req.method, url: req.url, headers: req.headersDistinct });
      res.end(`origin ${req.headers["x-soak-id"]}`);
    });
  });
  await new Promise((resolve) => origin.listen(0, "127.0.0.1", resolve));

  const edgeKey = await jose.exportJWK((await jose.generateKeyPair("EdDSA", { extractable: true })).privateKey);
  const config = {
    issuers: [{ issuer: ISS, audiences: [AUD], algorithms: ["ES256"], discovery: true }],
    assertion: { ...EDGE, signing_key_secret: "SIGNING" },
    routes: [{ path: "/admin/*", scopes: ["admin"] }],
    max_token_bytes: MAX_TOKEN_BYTES,
    remote_keys: {
      ...loopbackHttp, min_ttl_seconds: R.minTtl, max_ttl_seconds: R.minTtl, kid_cooldown_seconds: R.kidCooldown,
      stale_if_error_seconds: R.staleIfError, error_backoff_seconds: R.errorBackoff, timeout_ms: R.timeoutMs,
    },
    status_endpoint: true,
  };
  const logs = [];
  const mf = await builtWorker(
    { EDGE_AUTH: JSON.stringify(config), ORIGIN: `http://127.0.0.1:${origin.address().port}`, SIGNING: JSON.stringify(edgeKey) },
    { handleRuntimeStdio: collectLogs(logs) },
  );
  const edgeJwks = await (await mf.dispatchFetch("https://api.example.com/.well-known/edge-auth/jwks.json")).json();
  const verifyAssertion = jose.createLocalJWKSet(edgeJwks);

  // Token pools (reused tokens are verified-token cache hits).
  const pools = {};
  for (const key of Object.values(keys)) {
    pools[key.kid] = await Promise.all(Array.from({ length: 30 }, async () => {
      const c = claims(ISS);
      return { token: await sign(key, c), claims: c };
    }));
  }
  const oversized = await sign(keys.k1, claims(ISS, { pad: "x".repeat(MAX_TOKEN_BYTES) }));
  const algNone = `${b64({ alg: "none", typ: "JWT" })}.${b64(claims(ISS))}.`;

  // The phases, driven by timers; `phases` records when each really began and ended.
  const scale = SECONDS / PLAN_SECONDS;
  const phases = [];
  let current;
  const t0 = Date.now();
  const enter = (i) => {
    const [name, , mode, published, mints, faultOn = "all"] = PLAN[i];
    const now = Date.now();
    if (current) current.end = now;
    current = { name, mode, published, mints, start: now, end: Infinity };
    phases.push(current);
    provider.mode = mode;
    provider.faultOn = faultOn;
    if (published) provider.keys = published.map((kid) => keys[kid]);
  };
  enter(0);
  const timers = [];
  let offset = 0;
  for (let i = 1; i < PLAN.length; i++) {
    offset += PLAN[i - 1][1] * scale * 1000;
    timers.push(setTimeout(() => enter(i), offset));
  }
  const endAt = t0 + SECONDS * 1000;

  // The Worker's own view, sampled once a second (printed, never used by the oracle).
  const samples = [];
  const sampler = setInterval(async () => {
    try {
      const res = await Promise.race([mf.dispatchFetch("https://api.example.com/.well-known/edge-auth/status"), sleep(2000)]);
      if (res) samples.push({ at: Date.now(), phase: current.name, state: (await res.json()).issuers[0] });
    } catch { /* a sample lost is not a finding */ }
  }, 1000);

  const weights = KINDS.reduce((sum, [, w]) => sum + w, 0);
  const drawKind = () => {
    let x = Math.random() * weights;
    for (const [kind, w] of KINDS) { if ((x -= w) < 0) return kind; }
    return "valid";
  };

  const requests = [];
  let inflight = 0;
  let skipped = 0;
  const pending = new Set();

  async function one(seq, forced) {
    const phase = current;
    const mint = keys[phase.mints];
    let kind = forced?.kind ?? drawKind();
    if (kind === "old-key" && phase.mints === "k1") kind = "valid";
    const req = { id: `r${seq}`, seq, kind, phase: phase.name, path: forced?.path ?? (Math.random() < 0.3 ? "/admin/panel" : `/api/items/${seq % 50}`) };
    let token;
    switch (kind) {
      case "valid":
      case "old-key": {
        const key = kind === "valid" ? mint : keys.k1;
        let c;
        if (Math.random() < 0.5) ({ token, claims: c } = pick(pools[key.kid]));
        else { c = claims(ISS); token = await sign(key, c); }
        Object.assign(req, { kid: key.kid, sub: c.sub, want: req.path.startsWith("/admin/") && !c.scope.split(" ").includes("admin") ? [403, "insufficient_scope"] : [200, undefined] });
        break;
      }
      case "expired": {
        const now = Math.floor(Date.now() / 1000);
        token = await sign(mint, claims(ISS, { iat: now - 7200, exp: now - 3600 }));
        Object.assign(req, { kid: mint.kid, want: [401, "token_expired"] });
        break;
      }
      case "forged-sig":
        token = tamper(pick(pools[mint.kid]).token);
        Object.assign(req, { kid: mint.kid, want: [401, "signature_invalid"] });
        break;
      case "forged-key":
        token = await sign(stranger, claims(ISS), mint.kid);
        Object.assign(req, { kid: mint.kid, want: [401, "signature_invalid"] });
        break;
      case "wrong-aud":
        token = await sign(mint, claims(ISS, { aud: "https://other.example.com" }));
        Object.assign(req, { kid: mint.kid, want: [401, "audience_mismatch"] });
        break;
      case "random-kid": {
        const kid = `rnd-${randomUUID()}`;
        token = await sign(stranger, claims(ISS), kid);
        Object.assign(req, { kid, want: [401, "signature_invalid"] });
        break;
      }
      case "oversized": token = oversized; break;
      case "alg-none": token = algNone; break;
      default: break;
    }
    const headers = { "x-soak-id": req.id };
    if (token) headers.authorization = `Bearer ${token}`;
    req.t = Date.now();
    let timer;
    try {
      const answer = (async () => {
        const res = await mf.dispatchFetch(`https://api.example.com${req.path}`, { headers });
        const text = await res.text();
        return { status: res.status, text, retryAfter: res.headers.get("retry-after") };
      })();
      const outcome = await Promise.race([answer, new Promise((resolve) => { timer = setTimeout(() => resolve(null), REQUEST_DEADLINE_MS); })]);
      req.u = Date.now();
      if (!outcome) req.got = "no-answer";
      else {
        req.status = outcome.status;
        req.retryAfter = outcome.retryAfter;
        if (outcome.status === 200) req.body = outcome.text;
        else { try { req.code = JSON.parse(outcome.text).code; } catch { req.code = `(body ${outcome.text.slice(0, 40)})`; } }
      }
    } catch (error) {
      req.u = Date.now();
      req.got = `error: ${error.message}`;
    } finally {
      clearTimeout(timer);
    }
    requests.push(req);
  }

  // Steady rate with bounded concurrency: a request due while the limit is reached is skipped (counted).
  let due = 0;
  let seq = 0;
  while (Date.now() < endAt) {
    const target = Math.floor(((Date.now() - t0) / 1000) * RATE);
    while (due < target) {
      due++;
      if (inflight >= CONCURRENCY) { skipped++; continue; }
      inflight++;
      const p = one(seq++).finally(() => { inflight--; pending.delete(p); });
      pending.add(p);
    }
    await sleep(5);
  }
  for (const t of timers) clearTimeout(t);
  // Final health, while the last requests drain: the Worker still answers its own endpoints, and one more
  // valid token of the current key (judged by the oracle like the others).
  const health = {};
  const endpoint = async (name, path) => {
    health[name] = await Promise.race([
      mf.dispatchFetch(`https://api.example.com${path}`).then((r) => r.status),
      sleep(5000).then(() => "no answer"),
    ]).catch((e) => `error ${e.message}`);
  };
  const finalSeq = seq++;
  await Promise.all([
    Promise.race([Promise.all(pending), sleep(REQUEST_DEADLINE_MS + 500)]),
    endpoint("jwks", "/.well-known/edge-auth/jwks.json"),
    endpoint("status", "/.well-known/edge-auth/status"),
    one(finalSeq, { kind: "valid", path: "/api/health" }),
  ]);
  clearInterval(sampler);
  const last = requests.find((r) => r.seq === finalSeq);
  health["valid token"] = last.got ?? `${last.status} ${last.code ?? ""}`.trim();
  current.end = Date.now();   // the provider stays in the last phase until here

  // ---------------------------------------------------------------- the oracle
  const serves = provider.serves;
  const healthyOver = (from, to) => phases.every((p) => p.end <= from || p.start >= to || p.mode === "ok");
  const sameSetOver = (from, to) => {
    const over = phases.filter((p) => !(p.end <= from || p.start >= to));
    if (!over.length || over[0].start > from || over.some((p) => p.mode !== "ok")) return null;
    const set = over[0].published.join(",");
    return over.every((p) => p.published.join(",") === set) ? over[0].published : null;
  };
  const ideal = (req, set) => (set.includes(req.kid) ? req.want : [401, "key_not_found"]);
  const key = ([status, code]) => `${status} ${code ?? ""}`.trim();

  for (const req of requests) {
    const acceptable = new Set();
    if (KEYLESS[req.kind]) acceptable.add(key(KEYLESS[req.kind]));
    else {
      const converged = sameSetOver(req.t - C_CONVERGED, req.u ?? req.t);
      if (converged) {
        acceptable.add(key(ideal(req, converged)));
        req.rule = "converged";
      } else {
        req.rule = "transition";
        const before = serves.filter((s) => s.end < req.t - ADOPT_SLACK).at(-1);
        const sets = serves.filter((s) => s.end >= req.t - ADOPT_SLACK && s.start <= (req.u ?? Infinity)).map((s) => s.kids);
        if (before) sets.push(before.kids);
        for (const set of sets) acceptable.add(key(ideal(req, set)));
        const usableUntil = before ? before.end + (R.minTtl + R.staleIfError) * 1000 - CLOCK_SLACK : -Infinity;
        const live = healthyOver(req.t - C_LIVE, req.u ?? req.t) && req.t - C_LIVE >= t0;
        if ((req.u ?? Infinity) >= usableUntil && !live) acceptable.add("503 keys_unavailable");
      }
    }
    req.acceptable = [...acceptable];
    const got = req.got ?? key([req.status, req.code]);
    req.answer = got;
    req.wrong = !acceptable.has(got) || (req.status === 200 && req.body !== `origin ${req.id}`)
      || (req.status === 503 && !(Number(req.retryAfter) >= 1));
  }

  // Every request the origin saw.
  const byId = new Map(requests.map((r) => [r.id, r]));
  const unauthenticated = [];
  for (const hit of seen) {
    if (hit.id === "health") continue;
    const req = byId.get(hit.id);
    const problems = [];
    if (!req) problems.push("unknown request");
    else if (!req.acceptable.includes("200")) problems.push(`the oracle refuses it (${req.kind}, ${req.phase})`);
    const assertions = hit.headers["edge-auth-assertion"] ?? [];
    if (assertions.length !== 1) problems.push(`${assertions.length} assertions`);
    else {
      try {
        const { payload } = await jose.jwtVerify(assertions[0], verifyAssertion, { ...EDGE, typ: "edge-auth+jwt", currentDate: new Date(hit.at) });
        if (req && payload.sub !== req.sub) problems.push(`assertion sub ${payload.sub}, token sub ${req.sub}`);
      } catch (error) {
        problems.push(`assertion does not verify: ${error.code ?? error.message}`);
      }
    }
    if (hit.headers.authorization) problems.push("Authorization reached the origin");
    if (problems.length) unauthenticated.push({ id: hit.id, problems });
  }
  const answered200 = requests.filter((r) => r.status === 200).length;
  const originIds = new Set(seen.map((s) => s.id));
  const missingAtOrigin = requests.filter((r) => r.status === 200 && !originIds.has(r.id)).length;

  // The fetch bound.
  const ceil = Math.ceil;
  let bound = 0;
  const boundRows = [];
  for (const p of phases) {
    const len = (p.end - p.start) / 1000;
    const allowed = p.mode === "ok"
      ? ceil(len / (R.minTtl - 1)) + 1 + ceil(len / (R.kidCooldown - 1)) + 1
      : ceil((len + (2 * R.timeoutMs) / 1000) / (R.errorBackoff - 1)) + 1;
    bound += allowed;
    const inPhase = provider.log.filter((l) => l.at >= p.start && l.at < p.end);
    boundRows.push([p.name, p.mode, len.toFixed(1), (p.published ?? []).join(",") || "-", p.mints,
      inPhase.filter((l) => l.path.startsWith("/.well-known")).length, inPhase.filter((l) => l.path === "/jwks").length, allowed]);
  }

  // Crashes.
  const crashes = logs.filter((l) => /Uncaught|panicked|RuntimeError: unreachable/.test(l));
  const healthy = health.jwks === 200 && health.status === 200;

  // ---------------------------------------------------------------- the report
  const wrong = requests.filter((r) => r.wrong);
  const noAnswer = requests.filter((r) => r.got === "no-answer").length;
  const statusCount = {};
  for (const r of requests) statusCount[r.got ?? r.status] = (statusCount[r.got ?? r.status] ?? 0) + 1;
  const out = [];
  out.push(`edge-auth soak: build ${buildDir}, ${SECONDS} s at ${RATE}/s, concurrency ${CONCURRENCY}, remote_keys ${JSON.stringify(R)}`);
  out.push(`converged window C = ${C_CONVERGED / 1000} s, liveness window C503 = ${C_LIVE / 1000} s; requests judged by rule: ${
    ["converged", "transition", undefined].map((rule) => `${rule ?? "keyless"} ${requests.filter((r) => r.rule === rule).length}`).join(", ")}`);
  out.push("");
  out.push("Phases (provider requests seen during each, and the attempts the config allows):");
  out.push(table(["phase", "mode", "seconds", "published", "mints", "discovery", "jwks", "attempts allowed"], boundRows));
  out.push("");
  const phaseRows = phases.map((p) => {
    const rs = requests.filter((r) => r.phase === p.name);
    const n = (pred) => rs.filter(pred).length;
    const ms = rs.filter((r) => !r.got).map((r) => r.u - r.t).sort((a, b) => a - b);
    const q = (f) => (ms.length ? ms[Math.min(ms.length - 1, Math.floor(f * ms.length))] : "-");
    return [p.name, rs.length, n((r) => r.status === 200), n((r) => r.status === 401), n((r) => r.status === 403),
      n((r) => r.status === 503), n((r) => r.got || ![200, 401, 403, 503].includes(r.status)), n((r) => r.wrong), q(0.5), q(0.99), ms.at(-1) ?? "-"];
  });
  out.push("Decisions by phase (other = other statuses, no answer, errors; latency in ms of the answered ones):");
  out.push(table(["phase", "sent", "200", "401", "403", "503", "other", "wrong", "p50", "p99", "max"], phaseRows));
  out.push("");
  const kindRows = KINDS.map(([kind]) => {
    const rs = requests.filter((r) => r.kind === kind);
    const answers = {};
    for (const r of rs) answers[r.answer] = (answers[r.answer] ?? 0) + 1;
    return [kind, rs.length, Object.entries(answers).sort((a, b) => b[1] - a[1]).map(([a, c]) => `${a}: ${c}`).join(", "), rs.filter((r) => r.wrong).length];
  });
  out.push("Decisions by token kind:");
  out.push(table(["kind", "sent", "answers", "wrong"], kindRows));
  out.push("");
  out.push("The Worker's status endpoint, last sample of each phase (not used by the oracle):");
  out.push(table(["phase", "kids", "fresh_for", "fetches", "last_error"], phases.map((p) => {
    const s = samples.filter((x) => x.phase === p.name).at(-1)?.state ?? {};
    return [p.name, (s.kids ?? []).join(",") || "-", s.fresh_for_seconds ?? "-", s.fetches ?? "-", (s.last_error?.error ?? "-").slice(0, 70)];
  })));
  out.push("");
  if (wrong.length) {
    out.push(`First wrong decisions (of ${wrong.length}):`);
    for (const r of wrong.slice(0, 12)) {
      out.push(`  ${r.id} ${r.kind} kid=${r.kid ?? "-"} ${r.path} phase=${r.phase} sent=+${((r.t - t0) / 1000).toFixed(2)}s answered=+${r.u ? ((r.u - t0) / 1000).toFixed(2) : "?"}s rule=${r.rule ?? "keyless"}: got ${r.answer}${r.status === 503 && !(Number(r.retryAfter) >= 1) ? " without Retry-After" : ""}${r.status === 200 && r.body !== `origin ${r.id}` ? ` (body ${JSON.stringify(r.body?.slice(0, 40))})` : ""}; acceptable ${r.acceptable.join(" | ")}`);
    }
    const byKindPhase = {};
    for (const r of wrong) byKindPhase[`${r.kind} @ ${r.phase}: ${r.answer}`] = (byKindPhase[`${r.kind} @ ${r.phase}: ${r.answer}`] ?? 0) + 1;
    out.push("  Wrong decisions grouped:");
    for (const [k, c] of Object.entries(byKindPhase).sort((a, b) => b[1] - a[1])) out.push(`    ${c} × ${k}`);
    out.push("");
  }
  if (unauthenticated.length) {
    out.push(`Unauthenticated forwards (first of ${unauthenticated.length}):`);
    for (const u of unauthenticated.slice(0, 8)) out.push(`  ${u.id}: ${u.problems.join("; ")}`);
    out.push("");
  }
  const checks = [
    ["requests sent", requests.length, `${skipped} skipped at the concurrency limit`, true],
    ["decisions by status", Object.entries(statusCount).sort().map(([s, c]) => `${s}: ${c}`).join(", "), "", true],
    ["unauthenticated forwards", unauthenticated.length, `origin saw ${seen.filter((s) => s.id !== "health").length}, clients got 200 ${answered200}, 200 not seen at the origin ${missingAtOrigin}`, unauthenticated.length === 0 && missingAtOrigin === 0],
    ["wrong decisions", wrong.length, `of which no answer within ${REQUEST_DEADLINE_MS / 1000} s: ${noAnswer}`, wrong.length === 0],
    ["provider JWKS fetches", provider.counts.jwks, `bound ${bound}`, provider.counts.jwks <= bound],
    ["provider discovery fetches", provider.counts.discovery, `bound ${bound}`, provider.counts.discovery <= bound],
    ["isolate crash", crashes.length ? crashes[0].slice(0, 80) : "none", `final health: ${JSON.stringify(health)}`, crashes.length === 0 && healthy],
  ];
  out.push(table(["check", "value", "detail", "ok"], checks.map(([a, b, c, ok]) => [a, b, c, ok ? "yes" : "NO"])));
  out.push(`elapsed ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(out.join("\n"));

  provider.release();
  await Promise.race([mf.dispose(), sleep(3000)]);
  await Promise.race([provider.close(), sleep(2000)]);
  origin.closeAllConnections?.();
  origin.close();
  return checks.every(([, , , ok]) => ok);
}

main().then(
  (ok) => process.exit(ok ? 0 : 1),
  (error) => { console.error(error); process.exit(1); },
);
