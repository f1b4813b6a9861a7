// Times for people: UTC text and "in 4 min" / "2 h ago", and the evaluation time the page works at.

export function utc(seconds) {
  const date = new Date(seconds * 1000);
  if (Number.isNaN(date.getTime())) return "not a valid time";
  return `${date.toISOString().replace("T", " ").replace(/\.\d+Z$/, "").replace(/Z$/, "")} UTC`;
}

export function span(delta) {
  const a = Math.abs(delta);
  if (a < 90) return `${Math.round(a)} s`;
  if (a < 90 * 60) return `${Math.round(a / 60)} min`;
  if (a < 48 * 3600) return `${Math.round(a / 3600)} h`;
  if (a < 730 * 86400) return `${Math.round(a / 86400)} days`;
  return `${Math.round(a / (365.25 * 86400))} years`;
}

/// A NumericDate claim relative to `now`, phrased for the claim.
export function relative(name, seconds, now) {
  const d = seconds - now;
  const s = span(d);
  switch (name) {
    case "exp": return d > 0 ? `expires in ${s}` : `expired ${s} ago`;
    case "nbf": return d > 0 ? `not valid for another ${s}` : `valid since ${s} ago`;
    case "iat": return d > 0 ? `issued in the future (in ${s})` : `issued ${s} ago`;
    default: return d > 0 ? `in ${s}` : `${s} ago`;
  }
}

/// The "evaluate at" field: empty = now; Unix seconds; or an ISO date-time (UTC unless it says otherwise).
/// Returns `{ now, error }` (whole seconds; `error` set when the text is not a time, and `now` is then the clock).
export function evaluationTime(text, clock = Date.now()) {
  const value = text.trim();
  const wall = Math.floor(clock / 1000);
  if (value === "") return { now: wall, error: null, given: false };
  if (/^\d{1,12}$/.test(value)) return { now: Number(value), error: null, given: true };
  const iso = /[zZ]|[+-]\d{2}:?\d{2}$/.test(value) ? value : `${value}Z`;
  const ms = Date.parse(iso.replace(" ", "T"));
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(ms)) return { now: wall, error: "not a time: give Unix seconds or YYYY-MM-DD HH:MM:SS (UTC)", given: false };
  return { now: Math.floor(ms / 1000), error: null, given: true };
}
