// The inspector page: decode, verify, "would the edge let it through?" and test tokens, all on the npm
// package (./edge-auth/ in dist/, copied from js/ by scripts/build-www.sh), so the page decides as the
// Worker and the CLI do. No decision is made here: this file reads the page's fields, calls the package
// and shows what it answers. Nothing leaves the page except a JWKS or discovery fetch the user clicks for.
// Tokens and secrets are never logged, stored or put in a URL.
import { EdgeAuthError, createVerifier, decode, explain, keygen, mint, verifySignature } from "./edge-auth/browser.js";
import { HMAC_MIN, KeyInputError, algorithmsOf, b64url, readKeyInput } from "./lib/keys.js";
import { CLAIMS, HEADER_MEMBERS } from "./lib/members.js";
import { evaluationTime, relative, utc } from "./lib/time.js";
import { TomlError, parseToml } from "./lib/toml.js";

const $ = (id) => document.getElementById(id);

/// An element with text (never HTML: every value shown comes from a token or a key).
function el(tag, text, attrs = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  return node;
}

/// The default `max_token_bytes` of the Worker and the package (crates/core/src/token.rs).
const MAX_TOKEN_BYTES = 8 * 1024;
/// Placeholders when the user gives no expected issuer/audience and the token names none either: the
/// core then refuses the token as the Worker would (a missing `iss` or `aud`).
const NO_ISSUER = "https://no-issuer.invalid/";
const NO_AUDIENCE = "urn:edge-auth-inspector:no-audience";
const HMAC_SECRET_NAME = "INSPECTOR_HMAC_SECRET";
/// The package is never allowed to fetch on its own: keys come from the page, or from a fetch the user asked for.
const noFetch = () => Promise.reject(new Error("the inspector fetches keys only when you click Fetch"));

const tokenText = () => $("token").value.trim();
const now = () => {
  const at = evaluationTime($("at").value);
  $("at-error").textContent = at.error ?? "";
  return at.now;
};

// ---------------------------------------------------------------------------------------------------
// Decode

function addWarning(list, code, message) {
  const item = el("li", null, { "data-warning": code });
  item.append(el("code", code), document.createTextNode(` ${message}`));
  list.append(item);
}

/// What the page adds to the core's warnings (`decode`): the size.
function pageWarnings(token) {
  const out = [];
  if (new TextEncoder().encode(token).length > MAX_TOKEN_BYTES) {
    out.push(["oversize", `the token is more than ${MAX_TOKEN_BYTES} bytes, the default max_token_bytes: the Worker refuses it (token_too_large), and many servers cap all request headers at 8 KB`]);
  }
  return out;
}

function describe(value) {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function renderMembers(tableId, object, members, at) {
  const body = $(tableId).tBodies[0];
  body.replaceChildren();
  if (!object) return;
  for (const [name, value] of Object.entries(object)) {
    const row = el("tr");
    row.append(el("th", name, { scope: "row" }));
    const cell = el("td");
    cell.append(el("code", describe(value)));
    const meaning = members[name];
    if (meaning?.[2] && typeof value === "number") {
      cell.append(el("div", `${utc(value)} · ${relative(name, value, at)}`, { class: "time" }));
    }
    row.append(cell);
    const about = el("td");
    if (meaning) {
      about.append(document.createTextNode(`${meaning[0]} `), el("span", `(${meaning[1]})`, { class: "ref" }));
    } else {
      about.append(el("span", "not a registered member", { class: "ref" }));
    }
    row.append(about);
    body.append(row);
  }
}

function renderDecoded() {
  const token = tokenText();
  const at = now();
  const warnings = $("warnings");
  warnings.replaceChildren();
  setTrust(false);
  if (token === "") {
    $("decode-status").textContent = "Paste a token, or open this page with #token=… in its address.";
    renderMembers("header-table", null);
    renderMembers("payload-table", null);
    $("header-json").textContent = "";
    $("payload-json").textContent = "";
    return null;
  }
  const decoded = decode(token, { now: at });
  for (const w of decoded.warnings) addWarning(warnings, w.code, w.message);
  for (const [code, message] of pageWarnings(token)) addWarning(warnings, code, message);
  $("decode-status").textContent = decoded.header === null
    ? "This is not a compact JWS: nothing could be decoded."
    : decoded.payload === null ? "Only the header could be decoded." : `Decoded at ${utc(at)}.`;
  renderMembers("header-table", decoded.header, HEADER_MEMBERS, at);
  renderMembers("payload-table", decoded.payload, CLAIMS, at);
  $("header-json").textContent = decoded.header ? JSON.stringify(decoded.header, null, 2) : "";
  $("payload-json").textContent = decoded.payload ? JSON.stringify(decoded.payload, null, 2) : "";
  return decoded;
}

function setTrust(verified) {
  for (const badge of document.querySelectorAll(".trust")) {
    badge.textContent = verified ? "VERIFIED" : "UNVERIFIED";
    badge.dataset.trust = verified ? "verified" : "unverified";
  }
}

// ---------------------------------------------------------------------------------------------------
// Verify

function setVerdict(code, sentence, details = []) {
  const verdict = $("verdict");
  verdict.dataset.code = code;
  verdict.replaceChildren(el("strong", code), document.createTextNode(` ${sentence}`));
  if (details.length) {
    const list = el("ul");
    for (const d of details) list.append(el("li", d));
    verdict.append(list);
  }
  setTrust(code === "ok");
}

function resetVerdict() {
  setVerdict("unverified", "Not verified: give a key and press Verify.");
  $("verified").textContent = "";
}

function listOf(text) {
  return text.split(/[\s,]+/).filter(Boolean);
}

/// The weak-secret warning (RFC 7518 §3.2: an HMAC key shorter than the hash output).
function renderKeyWarnings(key, alg) {
  const list = $("key-warnings");
  list.replaceChildren();
  if (!key?.secret) return;
  const hs = HMAC_MIN[alg] ? alg : "HS256";
  const min = HMAC_MIN[hs];
  if (key.secret.bytes.length < min) {
    addWarning(list, "weak_hmac_secret", `the secret is ${key.secret.bytes.length} bytes; ${hs} needs at least ${min} (RFC 7518 §3.2: no shorter than the hash output). The Worker refuses such a key (config_invalid).`);
  }
  if (key.secret.text === null) {
    addWarning(list, "secret_not_text", "these bytes are not UTF-8 text, so no Workers secret (which is text) can hold them: a Worker could not be given this key");
  }
}

let verifyRun = 0;

async function onVerify() {
  const run = ++verifyRun;
  const token = tokenText();
  if (token === "") return setVerdict("unverified", "Paste a token first.");
  setVerdict("pending", "Verifying…");
  let key;
  try {
    key = await readKeyInput($("key").value, document.querySelector("input[name=encoding]:checked")?.value);
  } catch (error) {
    if (!(error instanceof KeyInputError)) throw error;
    renderKeyWarnings(null);
    return setVerdict("unverified", `The key could not be read: ${error.message}`);
  }
  const at = now();
  const decoded = decode(token, { now: at });
  const header = decoded.header ?? {};
  renderKeyWarnings(key, header.alg);
  if (!key) return setVerdict("unverified", "No key given: paste a secret, JWK, JWKS, PEM public key or certificate, or fetch a JWKS.");
  const payload = decoded.payload ?? {};
  const notes = [`key: ${key.kind}`];
  let issuer = $("issuer").value.trim();
  if (!issuer) {
    issuer = typeof payload.iss === "string" ? payload.iss : NO_ISSUER;
    notes.push(typeof payload.iss === "string" ? "issuer not checked: taken from the token's iss" : "no issuer given and the token has none");
  }
  let audiences = listOf($("audience").value);
  if (audiences.length === 0) {
    const aud = typeof payload.aud === "string" ? [payload.aud] : Array.isArray(payload.aud) ? payload.aud.filter((a) => typeof a === "string") : [];
    audiences = aud.length ? aud : [NO_AUDIENCE];
    notes.push(aud.length ? "audience not checked: taken from the token's aud" : "no audience given and the token has none");
  }
  let algorithms = listOf($("algorithms").value);
  if (algorithms.length === 0) {
    algorithms = key.secret
      ? Object.keys(HMAC_MIN).filter((a) => key.secret.bytes.length >= HMAC_MIN[a])
      : algorithmsOf(key.jwks);
    if (key.secret && key.alg) algorithms = [key.alg];
    if (algorithms.length === 0) algorithms = ["HS256"];
    notes.push(`algorithms from the key: ${algorithms.join(", ")}`);
  }
  const policy = { issuer, audiences, algorithms };
  const typ = $("typ").value.trim();
  if (typ) policy.typ = typ;
  let secrets = {};
  try {
    if (key.secret && key.secret.text === null) {
      // No Workers secret can hold these bytes (secrets are text). The signature is checked with them
      // (the CLI's --signature-only); then the same header and claims, signed again with a stand-in text
      // secret, go through the full verifier for the issuer, audience, type and time rules.
      const alg = algorithms.includes(header.alg) ? header.alg : algorithms[0];
      await verifySignature(token, { kty: "oct", k: b64url(key.secret.bytes) }, { algorithm: alg });
      const standIn = "edge-auth-inspector-stand-in-secret-for-the-claims-check-only-64b";
      const again = await mint({ kty: "oct", k: b64url(new TextEncoder().encode(standIn)), alg }, payload, header.typ === undefined ? {} : { typ: header.typ });
      const verifier = await createVerifier({ issuers: [{ ...policy, algorithms: [alg], hmac_secret: HMAC_SECRET_NAME }] }, { secrets: { [HMAC_SECRET_NAME]: standIn }, fetch: noFetch });
      await verifier.verify(again, { now: at });
      if (run !== verifyRun) return;
      setVerdict("ok", "The token is valid: the signature (with these bytes), then issuer, audience and times.", [...notes, "the secret is not UTF-8 text: no Workers secret can hold it"]);
      return;
    }
    if (key.secret) {
      policy.hmac_secret = HMAC_SECRET_NAME;
      secrets = { [HMAC_SECRET_NAME]: key.secret.text };
    } else {
      policy.jwks = key.jwks;
    }
    const verifier = await createVerifier({ issuers: [policy] }, { secrets, fetch: noFetch });
    const identity = await verifier.verify(token, { now: at });
    if (run !== verifyRun) return;
    setVerdict("ok", "The token is valid: signature, issuer, audience and times check out.", notes);
    $("verified").textContent = JSON.stringify({ issuer: identity.issuer, scopes: identity.scopes, roles: identity.roles }, null, 2);
  } catch (error) {
    if (run !== verifyRun) return;
    if (error instanceof EdgeAuthError) setVerdict(error.code, error.message, notes);
    else setVerdict("internal_error", `unexpected: ${error?.message ?? error}`, notes);
  }
}

// ---------------------------------------------------------------------------------------------------
// Fetching keys: only on the user's click, never during Verify or Explain.

class FetchProblem extends Error {}
const MAX_DOCUMENT_BYTES = 256 * 1024;

/// GET a JSON document from the browser, as plainly as possible: no credentials, no referrer, no
/// redirects followed (the Worker follows none either), 10 s, 256 KB.
async function getJson(url) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    throw new FetchProblem(`not a URL: ${url}`);
  }
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(parsed.hostname);
  if (parsed.protocol !== "https:" && !(parsed.protocol === "http:" && loopback)) {
    throw new FetchProblem("only https URLs (or http on 127.0.0.1/localhost, for a local provider)");
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 10_000);
  let response;
  try {
    response = await fetch(parsed.href, {
      method: "GET", mode: "cors", credentials: "omit", cache: "no-store", redirect: "manual",
      referrerPolicy: "no-referrer", signal: controller.signal,
    });
  } catch (error) {
    clearTimeout(timer);
    if (error?.name === "AbortError") throw new FetchProblem(`${parsed.href} did not answer within 10 s.`);
    throw new FetchProblem(`the browser could not read ${parsed.href}. Either it is unreachable, or it does not allow web pages to read it (CORS: its answer has no Access-Control-Allow-Origin for this page). This says nothing about the token: it is not an invalid signature. Fetch the JWKS yourself (curl) and paste it into the key field.`);
  }
  try {
    if (response.type === "opaqueredirect") throw new FetchProblem(`${parsed.href} answered with a redirect; the Worker follows no redirects: give the final URL.`);
    if (!response.ok) throw new FetchProblem(`${parsed.href} answered HTTP ${response.status}.`);
    const text = await response.text();
    if (text.length > MAX_DOCUMENT_BYTES) throw new FetchProblem(`${parsed.href}: the document is larger than 256 KB.`);
    try {
      return JSON.parse(text);
    } catch {
      throw new FetchProblem(`${parsed.href} did not answer JSON.`);
    }
  } finally {
    clearTimeout(timer);
  }
}

function setFetchStatus(code, text) {
  const status = $("fetch-status");
  status.dataset.code = code;
  status.textContent = text;
}

async function onFetch(discover) {
  setFetchStatus("pending", "Fetching…");
  try {
    let url = $("jwks-url").value.trim();
    if (discover) {
      const payload = decode(tokenText()).payload ?? {};
      const issuer = $("issuer").value.trim() || (typeof payload.iss === "string" ? payload.iss : "");
      if (!issuer) throw new FetchProblem("discovery needs an issuer: fill in the expected issuer, or paste a token with iss");
      const where = `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
      const document_ = await getJson(where);
      if (document_?.issuer !== issuer) {
        throw new FetchProblem(`the discovery document's issuer is ${JSON.stringify(document_?.issuer)}, not ${JSON.stringify(issuer)}: the Worker refuses a mismatch.`);
      }
      if (typeof document_.jwks_uri !== "string") throw new FetchProblem("the discovery document has no jwks_uri");
      url = document_.jwks_uri;
      $("jwks-url").value = url;
    }
    if (!url) throw new FetchProblem("give the JWKS URL first");
    const jwks = await getJson(url);
    if (!Array.isArray(jwks?.keys)) throw new FetchProblem(`${url} is not a JWK Set (no "keys" array)`);
    $("key").value = JSON.stringify(jwks, null, 2);
    setFetchStatus("ok", `Fetched ${jwks.keys.length} key(s) from ${url} into the key field.`);
    await onVerify();
  } catch (error) {
    if (!(error instanceof FetchProblem)) throw error;
    setFetchStatus("fetch_failed", error.message);
  }
}

// ---------------------------------------------------------------------------------------------------
// Would the edge let it through?

/// The pasted configuration: EDGE_AUTH as JSON text, or a wrangler.toml's [vars.EDGE_AUTH] (a table or
/// a JSON string), or a bare EDGE_AUTH table in TOML. Returns `{ config, object, source }`.
function readConfig(text) {
  const trimmed = text.trim();
  if (trimmed === "") throw new TomlError("paste a wrangler.toml or the EDGE_AUTH JSON");
  if (trimmed.startsWith("{")) {
    let object = null;
    try {
      object = JSON.parse(trimmed);
    } catch {
      // The package reports the JSON mistake.
    }
    return { config: trimmed, object, source: "EDGE_AUTH JSON" };
  }
  const document_ = parseToml(text);
  let value = document_.vars?.EDGE_AUTH;
  let source = "wrangler.toml [vars.EDGE_AUTH]";
  if (value === undefined && Array.isArray(document_.issuers)) {
    value = document_;
    source = "EDGE_AUTH as a TOML table";
  }
  if (value === undefined) {
    const envs = Object.keys(document_.env ?? {}).filter((name) => document_.env[name]?.vars?.EDGE_AUTH !== undefined);
    throw new TomlError(envs.length
      ? `no [vars.EDGE_AUTH]; it is only under ${envs.map((e) => `[env.${e}.vars.EDGE_AUTH]`).join(", ")}: paste that environment's table as [vars.EDGE_AUTH]`
      : "no [vars.EDGE_AUTH] table (and no top-level `issuers`)");
  }
  if (typeof value === "string") {
    let object = null;
    try {
      object = JSON.parse(value);
    } catch {
      // reported by the package
    }
    return { config: value, object, source: "wrangler.toml EDGE_AUTH (a JSON string)" };
  }
  return { config: value, object: value, source };
}

/// The secrets a configuration names.
function secretNames(object) {
  const names = new Set();
  const a = object?.assertion;
  for (const n of [a?.signing_key_secret, a?.previous_signing_key_secret]) if (typeof n === "string") names.add(n);
  for (const issuer of Array.isArray(object?.issuers) ? object.issuers : []) {
    if (typeof issuer?.hmac_secret === "string") names.add(issuer.hmac_secret);
  }
  return [...names];
}

/// #secrets: `NAME=value` lines (a .dev.vars file) or a JSON object, as the CLI's --secrets.
function readSecrets(text) {
  const trimmed = text.trim();
  if (trimmed === "") return {};
  if (trimmed.startsWith("{")) return JSON.parse(trimmed);
  const out = {};
  for (const [n, raw] of trimmed.split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq < 1) throw new Error(`secrets line ${n + 1}: expected NAME=value`);
    let value = line.slice(eq + 1).trim();
    const q = value[0];
    if ((q === '"' || q === "'") && value.endsWith(q) && value.length >= 2) value = value.slice(1, -1);
    out[line.slice(0, eq).trim()] = value;
  }
  return out;
}

function readHeaders(text) {
  const out = [];
  for (const [n, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon < 1) throw new Error(`headers line ${n + 1}: expected Name: value`);
    out.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  return out;
}

let standIn = null;

function setDecision(status, code, text) {
  const decision = $("decision");
  decision.dataset.status = String(status);
  decision.dataset.code = code;
  decision.replaceChildren(el("strong", status === "" ? code : `${status} ${code}`), document.createTextNode(text ? ` ${text}` : ""));
}

function showConfigCheck(state, lines) {
  const box = $("config-check");
  box.dataset.config = state;
  box.replaceChildren();
  const list = el("ul");
  for (const line of lines) list.append(el("li", line, line.startsWith("error") ? { "data-config-error": "" } : {}));
  box.append(list);
}

function step(list, label, text, attrs = {}) {
  const item = el("li", null, attrs);
  item.append(el("span", label, { class: "step" }), document.createTextNode(" "), el("span", text));
  list.append(item);
  return item;
}

/// The query as received (the gate forwards it untouched; its decision's path is the normalized path).
function queryOf(url) {
  const q = url.indexOf("?");
  if (q < 0) return "";
  const hash = url.indexOf("#", q);
  return url.slice(q, hash < 0 ? undefined : hash);
}

function renderExplanation(e) {
  const steps = $("steps");
  steps.replaceChildren();
  step(steps, "request", `${e.method} ${e.url}`);
  if (e.normalized !== null && e.normalized !== e.path) step(steps, "path", `${e.path} → normalized ${e.normalized}`);
  else if (e.normalized === null && e.path_error) step(steps, "path", `${e.path}: ${e.path_error}`);
  else step(steps, "path", e.path);
  if (e.matched_path && e.matched_path !== e.normalized) step(steps, "matched", `routes match ${e.matched_path}`);
  if (e.route) {
    const r = e.route;
    const where = r.index === null ? "the default rule" : `routes[${r.index}]`;
    const parts = [`${where}: ${r.pattern}`, `auth ${r.auth}`];
    if (r.methods) parts.push(`methods ${r.methods.join(", ")}`);
    if (r.issuers) parts.push(`issuers ${r.issuers.join(", ")}`);
    step(steps, "route", parts.join(" · "));
  }
  if (e.params.length) step(steps, "params", e.params.map(([k, v]) => `${k}=${v}`).join(" "));
  const t = e.token;
  if (t) {
    step(steps, "token", `from the ${t.source === "cookie" ? "cookie" : "Authorization header"}`);
    if (t.error) {
      step(steps, "verify", `refused: ${t.code}: ${t.error}`, { "data-verify": t.code });
    } else {
      step(steps, "verify", `ok: iss ${t.issuer ?? "-"}, sub ${t.subject ?? "-"}, alg ${t.algorithm ?? "-"}, kid ${t.key_id ?? "-"}`, { "data-verify": "ok" });
      step(steps, "caller", `scopes [${t.scopes.join(", ")}] roles [${t.roles.join(", ")}]`);
      for (const [param, claim, value] of t.bindings) step(steps, "bind", `{${param}} ↔ claim ${claim} = ${value === null || value === undefined ? "(absent)" : JSON.stringify(value)}`);
    }
  }
  if (e.requirement.length) {
    const item = step(steps, "require", "");
    const list = el("ul", null, { class: "requirement" });
    for (const r of e.requirement) {
      const group = r.text.endsWith(":");
      const mark = group ? "•" : r.held ? "✓" : "✗";
      const line = el("li", null, { "data-held": group ? "group" : String(r.held), class: `depth-${Math.min(r.depth, 6)}` });
      line.append(el("span", mark, { "aria-hidden": "true", class: "mark" }), el("span", group ? "" : r.held ? "held: " : "not held: ", { class: "sr-only" }), document.createTextNode(` ${r.text}`));
      list.append(line);
    }
    item.append(list);
  }
  const d = e.decision;
  const answer = $("answer");
  answer.textContent = "";
  switch (d.kind) {
    case "forward": {
      const target = `${d.path}${queryOf(e.url)}`;
      setDecision(200, "forward", d.verified ? `forwarded to ${target} with a signed assertion (the answer is the origin's)` : `forwarded without identity to ${target} (the answer is the origin's)`);
      $("decision").dataset.path = target;
      break;
    }
    case "refuse": {
      setDecision(d.status, d.code, "refused at the edge");
      const lines = [`HTTP ${d.status}`];
      if (d.www_authenticate) lines.push(`WWW-Authenticate: ${d.www_authenticate}`);
      lines.push("Content-Type: application/problem+json", "");
      try {
        lines.push(JSON.stringify(JSON.parse(d.body), null, 2));
      } catch {
        lines.push(d.body);
      }
      answer.textContent = lines.join("\n");
      break;
    }
    case "preflight":
      setDecision(204, "preflight", "the CORS preflight is answered at the edge");
      answer.textContent = ["HTTP 204", ...d.headers.map(([n, v]) => `${n}: ${v}`)].join("\n");
      break;
    case "serve_jwks":
      setDecision(200, "serve_jwks", "the edge serves its assertion JWKS");
      break;
    case "edge_endpoint":
      setDecision(200, d.endpoint, `the edge's ${d.endpoint.replace("_", "-")} endpoint answers (never forwarded; the answer depends on the body and the revocation state)`);
      break;
    default:
      setDecision(200, d.kind, "answered at the edge");
  }
}

function configSummary(object, source, stoodIn) {
  const lines = [`ok (${source}): ${object?.issuers?.length ?? 0} issuer(s), ${object?.routes?.length ?? 0} route(s) plus the default rule`];
  if (object?.remote_keys?.allow_loopback_http) lines.push("warning: remote_keys.allow_loopback_http = true: for the demo and tests only, never in a deployed Worker");
  if (object?.paths?.allow_matrix_parameters) lines.push("warning: paths.allow_matrix_parameters = true: `;` path parameters reach the origin (see the README)");
  if (stoodIn.length) lines.push(`note: stand-ins for the secrets ${stoodIn.join(", ")} (give them below to check them; HS* tokens will not verify)`);
  return lines;
}

let explainRun = 0;

async function onExplain() {
  const run = ++explainRun;
  setDecision("", "pending", "");
  $("steps").replaceChildren();
  $("answer").textContent = "";
  $("decision").removeAttribute("data-path");
  let read;
  try {
    read = readConfig($("config").value);
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    showConfigCheck("invalid", [`error: the configuration could not be read: ${error.message}`]);
    return setDecision(503, "config_invalid", "a configuration the Worker cannot read: every request is answered 503");
  }
  let secrets, headers;
  try {
    secrets = readSecrets($("secrets").value);
    headers = readHeaders($("headers").value);
  } catch (error) {
    showConfigCheck("unread", [`error: ${error.message}`]);
    return setDecision("", "input_invalid", error.message);
  }
  const stoodIn = [];
  for (const name of secretNames(read.object)) {
    if (secrets[name] === undefined) {
      standIn ??= JSON.stringify((await keygen("EdDSA")).jwk);
      secrets[name] = standIn;
      stoodIn.push(name);
    }
  }
  const token = tokenText();
  const carry = $("token-in").value;
  if (token && carry === "header" && !headers.some(([n]) => n.toLowerCase() === "authorization")) {
    headers.push(["Authorization", `Bearer ${token}`]);
  } else if (token && carry === "cookie") {
    const name = read.object?.token_cookie;
    if (typeof name !== "string") {
      showConfigCheck("unread", ["error: the configuration has no token_cookie: the token cannot be sent as a cookie"]);
      return setDecision("", "input_invalid", "no token_cookie in the configuration");
    }
    const existing = headers.findIndex(([n]) => n.toLowerCase() === "cookie");
    if (existing >= 0) headers[existing][1] = `${headers[existing][1]}; ${name}=${token}`;
    else headers.push(["Cookie", `${name}=${token}`]);
  }
  const request = { method: $("method").value.trim() || "GET", url: $("url").value.trim(), headers };
  const fetchOption = $("explain-fetch").checked ? undefined : noFetch;
  try {
    const explanation = await explain(read.config, request, { secrets, now: now(), fetch: fetchOption });
    if (run !== explainRun) return;
    showConfigCheck("ok", configSummary(read.object, read.source, stoodIn));
    renderExplanation(explanation);
  } catch (error) {
    if (run !== explainRun) return;
    if (error instanceof EdgeAuthError && error.code === "config_invalid") {
      showConfigCheck("invalid", error.message.split("\n").map((line) => `error: ${line}`));
      setDecision(503, "config_invalid", "the configuration does not compile: the Worker answers every request 503");
    } else if (error instanceof EdgeAuthError || error instanceof TypeError) {
      showConfigCheck("unread", [`error: ${error.message}`]);
      setDecision("", error.code ?? "input_invalid", error.message);
    } else {
      throw error;
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Make test tokens

let minted = { jwk: null, jwks: null };

function setMintStatus(text) {
  $("mint-status").textContent = text;
}

async function onKeygen() {
  const alg = $("mint-alg").value;
  $("mint-jwk").value = "";
  $("mint-jwks").value = "";
  setMintStatus(`Generating a ${alg} key…`);
  try {
    minted = await keygen(alg);
    $("mint-jwk").value = JSON.stringify(minted.jwk, null, 2);
    $("mint-jwks").value = JSON.stringify(minted.jwks, null, 2);
    setMintStatus(`A new ${alg} key (kid ${minted.jwk.kid}). It exists only in this page.`);
  } catch (error) {
    setMintStatus(`keygen failed: ${error.message}`);
  }
}

function editClaims(edit) {
  let claims;
  try {
    claims = JSON.parse($("claims").value || "{}");
  } catch (error) {
    return setMintStatus(`the claims are not JSON: ${error.message}`);
  }
  edit(claims, Math.floor(Date.now() / 1000));
  $("claims").value = JSON.stringify(claims, null, 2);
}

async function onMint() {
  $("minted").value = "";
  let claims;
  try {
    claims = JSON.parse($("claims").value);
  } catch (error) {
    return setMintStatus(`the claims are not JSON: ${error.message}`);
  }
  let jwk;
  try {
    jwk = JSON.parse($("mint-jwk").value);
  } catch {
    return setMintStatus("generate a key first (or paste a private JWK)");
  }
  const typ = $("mint-typ").value.trim();
  try {
    $("minted").value = await mint(jwk, claims, typ ? { typ } : {});
    setMintStatus("Signed. Copy it, or inspect it above.");
  } catch (error) {
    setMintStatus(`mint failed: ${error.code ? `${error.code}: ` : ""}${error.message}`);
  }
}

function onInspectMinted() {
  const token = $("minted").value.trim();
  if (!token) return setMintStatus("sign a token first");
  $("token").value = token;
  let jwk = null;
  try {
    jwk = JSON.parse($("mint-jwk").value);
  } catch {
    // no key: decode only
  }
  const publicSet = $("mint-jwks").value.trim();
  $("key").value = jwk?.kty === "oct" ? JSON.stringify(jwk) : publicSet;
  resetVerdict();
  renderDecoded();
  $("token").focus();
  $("token").scrollIntoView({ block: "start" });
}

async function copy(sourceId, statusId) {
  const text = $(sourceId).value;
  if (!text) return;
  try {
    await navigator.clipboard.writeText(text);
    $(statusId).textContent = "Copied.";
  } catch {
    $(sourceId).select();
    $(statusId).textContent = "Copying is not allowed here: the text is selected, press Ctrl+C.";
  }
}

// ---------------------------------------------------------------------------------------------------
// Wiring

/// `#token=…` in the address: read from the fragment only (browsers never send it to a server).
function loadFragment() {
  const token = new URLSearchParams(location.hash.slice(1)).get("token");
  if (token) {
    $("token").value = token;
    resetVerdict();
    renderDecoded();
  }
}

function start() {
  const defaultClaims = (at) => ({
    iss: "https://idp.example.com/", sub: "user-1", aud: "https://api.example.com",
    iat: at, exp: at + 3600, scope: "orders:read",
  });
  $("claims").value = JSON.stringify(defaultClaims(Math.floor(Date.now() / 1000)), null, 2);
  $("token").addEventListener("input", () => {
    resetVerdict();
    renderDecoded();
  });
  $("at").addEventListener("change", () => {
    resetVerdict();
    renderDecoded();
  });
  for (const id of ["key", "issuer", "audience", "algorithms", "typ"]) $(id).addEventListener("input", resetVerdict);
  for (const radio of document.querySelectorAll("input[name=encoding]")) radio.addEventListener("change", resetVerdict);
  $("verify").addEventListener("click", onVerify);
  $("fetch-jwks").addEventListener("click", () => onFetch(false));
  $("discover").addEventListener("click", () => onFetch(true));
  $("explain").addEventListener("click", onExplain);
  $("keygen").addEventListener("click", onKeygen);
  $("mint").addEventListener("click", onMint);
  $("inspect-minted").addEventListener("click", onInspectMinted);
  $("copy-token").addEventListener("click", () => copy("minted", "mint-status"));
  $("copy-jwks").addEventListener("click", () => copy("mint-jwks", "mint-status"));
  for (const button of document.querySelectorAll("[data-claim]")) {
    button.addEventListener("click", () => editClaims((claims, at) => {
      claims[button.dataset.claim] = at + Number(button.dataset.offset);
    }));
  }
  window.addEventListener("hashchange", loadFragment);
  resetVerdict();
  renderDecoded();
  loadFragment();
  document.documentElement.dataset.ready = "true";
}

start();
