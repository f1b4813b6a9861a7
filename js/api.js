// The public API of `edge-auth`, over the raw wasm-bindgen exports of crates/wasm (./pkg/edge_auth_wasm.js).
// Shared by every entry (index.js for Node/Deno/Bun, browser.js, workers.js), each of which instantiates
// the wasm before anything here runs. Nothing is decided in this file: every verification, route, refusal
// (status, headers, problem body), assertion and key-fetch rule is the Rust crates'. This file only
//   - turns options, Requests and Responses into the raw calls' arguments and back,
//   - supplies the I/O the Rust side asks for (the key fetch with its timeout, size limit and no
//     redirects; a timer),
//   - turns the raw failures (plain objects made in one place, crates/wasm/src/error.rs) into errors.
import {
  RawAssertionVerifier,
  RawGate,
  RawVerifier,
  decode as rawDecode,
  explain as rawExplain,
  keygen as rawKeygen,
  mint as rawMint,
  verifySignature as rawVerifySignature,
} from "./pkg/edge_auth_wasm.js";
import { namesOf } from "./origin.js";

/// A refused token or request, or a configuration that does not compile. `code` is one of the stable
/// codes (the CLI's and the Worker's); `message` never contains the token, a key or a secret.
export class EdgeAuthError extends Error {
  constructor(code, message, options = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options.retryAfter !== undefined) this.retryAfter = options.retryAfter;
  }
}
Object.defineProperty(EdgeAuthError.prototype, "name", { value: "EdgeAuthError", writable: true, configurable: true });

/// The raw side's failure (or anything unexpected) as the error the caller sees.
function toError(raw) {
  if (raw instanceof EdgeAuthError) return raw;
  if (raw !== null && typeof raw === "object" && raw.edgeAuthError === true) {
    if (raw.name === "TypeError") return new TypeError(raw.message);
    return new EdgeAuthError(raw.code, raw.message, { retryAfter: raw.retryAfter });
  }
  if (raw instanceof TypeError) return raw;
  return new EdgeAuthError("internal_error", `edge-auth: unexpected failure: ${raw?.message ?? String(raw)}`, { cause: raw });
}

async function call(fn) {
  try {
    return await fn();
  } catch (error) {
    throw toError(error);
  }
}

function callSync(fn) {
  try {
    return fn();
  } catch (error) {
    throw toError(error);
  }
}

/// `EDGE_AUTH` as the raw side takes it: JSON text of an object, or the JSON text the caller gave.
function configArgs(config) {
  if (typeof config === "string") return [config, true];
  let text;
  try {
    text = JSON.stringify(config);
  } catch (error) {
    throw new TypeError(`EDGE_AUTH is not JSON data: ${error.message}`);
  }
  return [text ?? "null", false];
}

function secretsText(secrets) {
  try {
    return JSON.stringify(secrets ?? {}) ?? "null";
  } catch (error) {
    throw new TypeError(`secrets is not JSON data: ${error.message}`);
  }
}

/// A `now` option (seconds since the epoch, or a Date) as the raw side takes it; NaN: the wall clock.
function nowArg(options) {
  const now = options?.now;
  if (now === undefined || now === null) return Number.NaN;
  if (now instanceof Date) return now.getTime() / 1000;
  if (typeof now !== "number" || !Number.isFinite(now) || now < 0) {
    throw new TypeError("now: seconds since the epoch (a number ≥ 0) or a Date");
  }
  return now;
}

/// Reads a response body as a stream, refused as soon as it passes `max` bytes.
async function readCapped(response, max, url) {
  const tooLarge = () => new Error(`fetch ${url}: the body is more than ${max} bytes`);
  if (!response.body) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes.byteLength > max) throw tooLarge();
    return bytes;
  }
  const reader = response.body.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.byteLength;
  }
  return body;
}

/// One key fetch as the Rust side asks for it (crates/wasm/src/host.rs): a GET that follows no redirect,
/// whose head and whole body arrive within `timeoutMs`, the body refused once it passes `maxBytes`.
/// Resolves to `{ status, body, cacheControl }` (any status: the Rust side decides), rejects with why.
async function fetchKeys(fetchFn, url, timeoutMs, maxBytes) {
  const controller = new AbortController();
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new Error(`fetch ${url}: no answer within ${timeoutMs} ms (head and body)`));
    }, timeoutMs);
  });
  const answer = (async () => {
    let response;
    try {
      response = await fetchFn(url, { method: "GET", redirect: "manual", signal: controller.signal });
    } catch (error) {
      throw new Error(`fetch ${url}: ${error?.message ?? error}`);
    }
    if (response.status !== 200) {
      response.body?.cancel().catch(() => {});
      return { status: response.status, body: new Uint8Array(0), cacheControl: null };
    }
    const length = Number(response.headers.get("content-length") ?? 0);
    if (length > maxBytes) {
      response.body?.cancel().catch(() => {});
      throw new Error(`fetch ${url}: ${length} bytes is more than ${maxBytes}`);
    }
    const body = await readCapped(response, maxBytes, url);
    return { status: 200, body, cacheControl: response.headers.get("cache-control") };
  })();
  try {
    return await Promise.race([answer, deadline]);
  } finally {
    clearTimeout(timer);
    answer.catch(() => {});
  }
}

/// The I/O the Rust side asks for: the key fetch (the `fetch` option, else the runtime's) and a timer.
function hostFor(fetchOption) {
  if (fetchOption !== undefined && typeof fetchOption !== "function") throw new TypeError("fetch: a function (url, init) => Promise<Response>");
  const fetchFn = fetchOption ?? ((input, init) => globalThis.fetch(input, init));
  return {
    fetch: (url, timeoutMs, maxBytes) => fetchKeys(fetchFn, url, timeoutMs, maxBytes),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}

// ---------------------------------------------------------------------------------------------------
// decode

/// `decode(token)` → `{ header, payload, warnings }`, UNVERIFIED. Never throws.
export function decode(token, options) {
  if (typeof token !== "string") {
    return { header: null, payload: null, warnings: [{ code: "not_jws", message: "not a string" }] };
  }
  let now = Number.NaN;
  try {
    now = nowArg(options);
  } catch {
    // decode never throws: a bad `now` is the wall clock.
  }
  return JSON.parse(rawDecode(token, now));
}

// ---------------------------------------------------------------------------------------------------
// createVerifier

class Verifier {
  #raw;
  constructor(raw) {
    this.#raw = raw;
  }

  /// Verifies `token` (signature, then claims) at `options.now` (seconds; default: now).
  async verify(token, options) {
    const now = nowArg(options);
    const text = await call(() => this.#raw.verify(typeof token === "string" ? token : "", now));
    return JSON.parse(text);
  }
}

/// Compiles the verifier part of an `EDGE_AUTH` configuration once.
export async function createVerifier(config, options = {}) {
  const [text, isText] = configArgs(config);
  const host = hostFor(options.fetch);
  const raw = callSync(() => new RawVerifier(text, isText, secretsText(options.secrets), host));
  return new Verifier(raw);
}

// ---------------------------------------------------------------------------------------------------
// verifySignature

/// Signature only (the CLI's `--signature-only`): resolves to the payload bytes.
export async function verifySignature(token, jwk, options = {}) {
  const jwkText = typeof jwk === "string" ? jwk : JSON.stringify(jwk ?? null);
  const algorithm = options?.algorithm ?? undefined;
  if (algorithm !== undefined && typeof algorithm !== "string") throw new TypeError("algorithm: a JWS algorithm name");
  return call(() => rawVerifySignature(typeof token === "string" ? token : "", jwkText, algorithm));
}

// ---------------------------------------------------------------------------------------------------
// createGate, withEdgeAuth

function isRequestLike(request) {
  return request !== null && typeof request === "object" && typeof request.url === "string" &&
    typeof request.method === "string" && typeof request.headers?.get === "function";
}

/// The parts of a request the gate reads.
function requestParts(request) {
  const header = (name) => request.headers.get(name) ?? undefined;
  return {
    method: request.method,
    url: request.url,
    authorization: header("authorization"),
    cookie: header("cookie"),
    origin: header("origin"),
    referer: header("referer"),
    sec_fetch_site: header("sec-fetch-site"),
    cors_method: header("access-control-request-method"),
    cors_headers: header("access-control-request-headers"),
  };
}

function headersOf(list) {
  const headers = new Headers();
  for (const [name, value] of list) headers.append(name, value);
  return headers;
}

/// An answer of the edge's own (a refusal, a preflight, the JWKS).
function edgeResponse({ status, headers, body }) {
  const nullBody = status === 204 || status === 304;
  return new Response(nullBody ? null : body, { status, headers: headersOf(headers) });
}

/// The request to forward: the original's method and body stream, its headers with the gate's changes
/// (inbound assertion headers always removed; Authorization and the token cookie unless forward_token;
/// the assertion attached), at the gate's URL (origin + normalized path + the query as received).
function forwardedRequest(request, forward) {
  const headers = new Headers(request.headers);
  headers.delete(forward.assertion_header);
  if (forward.remove_authorization) headers.delete("authorization");
  if (!forward.cookie.keep) {
    if (forward.cookie.value === null || forward.cookie.value === undefined) headers.delete("cookie");
    else headers.set("cookie", forward.cookie.value);
  }
  if (forward.assertion) headers.set(forward.assertion_header, forward.assertion);
  const init = { method: request.method, headers, redirect: "manual" };
  if (request.body) {
    init.body = request.body;
    init.duplex = "half";
  }
  return new Request(forward.url, init);
}

class Gate {
  #raw;
  constructor(raw) {
    this.#raw = raw;
  }

  /// `{ response }` when the edge answers itself, else `{ request, identity }` to forward.
  async handle(request) {
    if (!isRequestLike(request)) throw new TypeError("gate.handle(request): a fetch Request");
    const parts = JSON.stringify(requestParts(request));
    const answer = JSON.parse(await call(() => this.#raw.handle(parts)));
    if (answer.respond) return { response: edgeResponse(answer.respond) };
    const forward = answer.forward;
    return { request: forwardedRequest(request, forward), identity: forward.identity ?? null };
  }

  /// The answer to a forwarded request as the edge sends it: with a `cors` section, the answer's own
  /// `Access-Control-*` headers are replaced by the edge's (and `Vary: Origin` added); otherwise as is.
  respond(request, response) {
    if (!isRequestLike(request)) throw new TypeError("gate.respond(request, response): a fetch Request");
    if (!(response && typeof response === "object" && response.headers)) throw new TypeError("gate.respond(request, response): a Response");
    // An upgraded connection (a WebSocket in Workers) is passed on untouched.
    if (response.status === 101 || response.webSocket) return response;
    const list = callSync(() => this.#raw.responseHeaders(JSON.stringify(requestParts(request)), JSON.stringify([...response.headers])));
    if (list === undefined || list === null) return response;
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers: headersOf(JSON.parse(list)) });
  }
}

/// Compiles `EDGE_AUTH` with its secrets (and `origin`, the Worker's `ORIGIN`) once.
export async function createGate(config, options = {}) {
  const [text, isText] = configArgs(config);
  const origin = options.origin ?? undefined;
  if (origin !== undefined && typeof origin !== "string") throw new TypeError("origin: a URL string");
  const host = hostFor(options.fetch);
  const raw = callSync(() => new RawGate(text, isText, secretsText(options.secrets), origin, host));
  return new Gate(raw);
}

/// A fetch handler behind the gate: refusals are answered at the edge; a forward calls
/// `handler(forwardedRequest, identity, ...rest)` and gives its response the edge's CORS headers.
export function withEdgeAuth(gate, handler) {
  if (typeof gate?.handle !== "function" || typeof gate?.respond !== "function") throw new TypeError("withEdgeAuth(gate, handler): a gate from createGate");
  if (typeof handler !== "function") throw new TypeError("withEdgeAuth(gate, handler): a function");
  return async (request, ...rest) => {
    const result = await gate.handle(request);
    if (result.response) return result.response;
    const response = await handler(result.request, result.identity, ...rest);
    return gate.respond(request, response);
  };
}

// ---------------------------------------------------------------------------------------------------
// createAssertionVerifier

/// A header of a fetch Request or of a Node `IncomingMessage` (Express).
function headerOf(request, name) {
  const headers = request?.headers;
  if (typeof headers?.get === "function") return headers.get(name) ?? undefined;
  const value = headers?.[name];
  if (Array.isArray(value)) return value.join(", ");
  return typeof value === "string" ? value : undefined;
}

function absoluteUrl(text) {
  try {
    return new URL(text).href;
  } catch {
    return undefined;
  }
}

class AssertionVerifier {
  #raw;
  constructor(raw) {
    this.#raw = raw;
  }

  /// The header the assertion comes in, lower-cased.
  get header() {
    return this.#raw.header;
  }

  /// Verifies the request's assertion against the request itself, then `scopes` / `roles`: resolves to
  /// `{ identity }` or to `{ refusal: { status, headers, body, code, error } }`, the Worker's answer to the
  /// same refusal (`headers`: [name, value] pairs; `error`: the EdgeAuthError `verifyRequest` rejects with).
  /// `publicUrl`: the URL the edge was asked for (default: the request's own, which must be absolute).
  async authorize(request, options = {}) {
    if (typeof request?.method !== "string") throw new TypeError("authorize(request): a fetch Request or a Node request");
    const url = options.publicUrl ?? request.url;
    if (typeof url !== "string") throw new TypeError("authorize: publicUrl: the URL the edge was asked for");
    const scopes = namesOf(options.scopes, "scopes");
    const roles = namesOf(options.roles, "roles");
    const now = nowArg(options);
    const assertion = headerOf(request, this.#raw.header);
    const text = await call(() => this.#raw.authorize(assertion, request.method, url, headerOf(request, "authorization"), now, scopes, roles));
    const answer = JSON.parse(text);
    if (answer.identity) return { identity: answer.identity };
    const { status, headers, body, code, message, retryAfter } = answer.refuse;
    return { refusal: { status, headers, body, code, error: new EdgeAuthError(code, message, { retryAfter }) } };
  }

  /// Verifies the request's assertion against the request itself; resolves to the identity.
  async verifyRequest(request, options = {}) {
    if (typeof request?.method !== "string") throw new TypeError("verifyRequest(request): a fetch Request or a Node request");
    const url = absoluteUrl(options.publicUrl ?? request.url);
    if (url === undefined) {
      throw new TypeError("verifyRequest: the request URL is not absolute; pass { publicUrl } (the URL the edge was asked for)");
    }
    const answer = await this.authorize(request, { ...options, publicUrl: url });
    if (answer.refusal) throw answer.refusal.error;
    return answer.identity;
  }
}

/// The origin's side: verifies the edge's assertion and its binding to the actual request.
export async function createAssertionVerifier(options, { fetch } = {}) {
  let text;
  try {
    text = JSON.stringify(options ?? null);
  } catch (error) {
    throw new TypeError(`options is not JSON data: ${error.message}`);
  }
  const host = hostFor(fetch);
  return new AssertionVerifier(callSync(() => new RawAssertionVerifier(text, host)));
}

// ---------------------------------------------------------------------------------------------------
// explain

/// The gate's decision for one request, step by step, as data.
export async function explain(config, request, options = {}) {
  const [text, isText] = configArgs(config);
  const headers = new Headers(request?.headers ?? {});
  const parts = requestParts({ method: request?.method ?? "GET", url: request?.url, headers });
  const now = nowArg(options);
  const host = hostFor(options.fetch);
  const answer = await call(() => rawExplain(text, isText, secretsText(options.secrets), JSON.stringify(parts), now, host));
  return JSON.parse(answer);
}

// ---------------------------------------------------------------------------------------------------
// keygen, mint

/// A new private JWK (with `alg` and `kid`) and its public JWK Set.
export async function keygen(alg) {
  return JSON.parse(await call(() => rawKeygen(String(alg))));
}

/// A compact JWS of `claims`, signed with the private JWK; `header` may set `typ` and `kid`.
export async function mint(jwk, claims, header = {}) {
  const jwkText = typeof jwk === "string" ? jwk : JSON.stringify(jwk ?? null);
  let claimsText, headerText;
  try {
    claimsText = JSON.stringify(claims ?? null);
    headerText = JSON.stringify(header ?? {});
  } catch (error) {
    throw new TypeError(`claims and header must be JSON data: ${error.message}`);
  }
  return await call(() => rawMint(jwkText, claimsText, headerText));
}
