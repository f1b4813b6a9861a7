// Shared by the test files: the stable error codes, base64url, and the one check of a refusal.

/// README "Stable error codes": the core's, then those the Worker (and so `createGate`) adds.
export const CORE_CODES = [
  "token_too_large", "token_malformed", "token_unsupported", "alg_not_allowed", "embedded_key_refused",
  "crit_unsupported", "key_not_found", "key_ambiguous", "signature_invalid", "issuer_unknown", "claim_invalid",
  "claim_missing", "token_expired", "token_not_yet_valid", "token_issued_in_future", "token_too_old",
  "audience_mismatch", "typ_mismatch", "binding_mismatch",
];
export const GATE_CODES = [
  "token_missing", "multiple_tokens", "authorization_malformed", "path_ambiguous", "path_malformed",
  "keys_unavailable", "issuer_not_allowed", "insufficient_scope", "role_missing", "claim_mismatch",
  "binding_refused", "csrf_refused", "cors_refused", "config_invalid", "origin_unreachable", "internal_error",
  // With `revocation` (the Worker only), and the back-channel logout answers' `error_description`.
  "token_revoked", "revocation_unavailable", "revocation_store_full", "revoke_request_invalid",
  "method_not_allowed", "logout_token_missing", "logout_token_invalid", "logout_token_replayed",
  "logout_not_configured",
];
export const STABLE_CODES = [...CORE_CODES, ...GATE_CODES];

/// The number of cases in tests/vectors/attacks.json (= `CASES` in crates/core/tests/attack_vectors.rs).
export const ATTACK_CASES = 256;
/// The number of cases in tests/policy/cases.json.
export const POLICY_CASES = 75;
/// The number of vectors in crates/core/tests/vectors/rfc.json.
export const RFC_VECTORS = 9;

export const AUD = "https://api.example.com";
export const EDGE = "https://edge.example.com";
export const ORIGIN_AUD = "https://origin.example.com";

const encoder = new TextEncoder();

export function b64url(input) {
  const bytes = typeof input === "string" ? encoder.encode(input) : input;
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fromB64url(text) {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/// A compact JWS from literal header and payload text (unsigned unless `signature` is given).
export function compact(headerText, payloadText, signature = "") {
  return `${b64url(headerText)}.${b64url(payloadText)}.${signature}`;
}

export function headerOf(token) {
  return JSON.parse(new TextDecoder().decode(fromB64url(token.split(".")[0])));
}

export function payloadOf(token) {
  return JSON.parse(new TextDecoder().decode(fromB64url(token.split(".")[1])));
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/// Waits until just after the clock's next whole second. The package reads time in whole seconds, so
/// "within a 1 s cooldown" only holds for steps that run inside one second: a test that checks such a
/// window starts it here (it failed in CI when a refetch and the next check straddled a second).
export const startOfSecond = () => sleep(1000 - (Date.now() % 1000) + 20);

/// What is wrong with `error` as a refusal with `code` (null: nothing). Every refusal of a token is an
/// `EdgeAuthError` (an `Error`) whose `.code` is the stable code; its message never repeats the token.
export function refusalProblem(pkg, error, code, token) {
  if (error === undefined) return `accepted, expected ${code}`;
  if (!(error instanceof pkg.EdgeAuthError)) {
    return `threw ${error?.constructor?.name ?? typeof error} ${error?.message ?? String(error)} instead of an EdgeAuthError(${code})`;
  }
  if (!(error instanceof Error)) return "an EdgeAuthError that is not an Error";
  if (error.code !== code) return `${error.code}, expected ${code}`;
  if (typeof error.message !== "string" || error.message.length === 0) return "an empty message";
  if (token && token.length > 20 && error.message.includes(token)) return "the message repeats the token";
  return null;
}

/// Settles `promiseOrFn` and describes the outcome: "ok" and the value, or the code and the error.
export async function outcome(promiseOrFn) {
  try {
    const value = await (typeof promiseOrFn === "function" ? promiseOrFn() : promiseOrFn);
    return { code: "ok", value };
  } catch (error) {
    return { code: error?.code ?? `(${error?.constructor?.name ?? typeof error}: ${error?.message ?? error})`, error };
  }
}

/// One place that compares an outcome with an expectation ("ok" or a code); null when they agree.
export function outcomeProblem(pkg, result, expected, token) {
  if (expected === "ok") return result.code === "ok" ? null : `refused: ${result.code}`;
  if (result.code === "ok") return `accepted, expected ${expected}`;
  return refusalProblem(pkg, result.error, expected, token);
}
