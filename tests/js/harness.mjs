// A tiny test harness with no dependency, the same in Node, Deno, Bun and a browser page: register cases
// with `test(name, fn, options)`, run them in order with `run()`, which prints TAP version 13 lines through
// `print` and resolves to a summary. The caller turns the summary into an exit code (tests/js/main.mjs;
// in Chromium tests/js/browser/chromium.mjs). Assertions are in the same module (`assert`).
//
// options: { timeout: ms (default 30000), only: ["node", …] (runtimes that run it), needs: ["fs", …]
// (capabilities the runtime must have) }. A case that does not run in this runtime is printed as
// `ok N - name # SKIP <why>` and counted: nothing is skipped silently.

export class AssertionError extends Error {
  constructor(message, details) {
    super(message);
    this.name = "AssertionError";
    this.details = details;
  }
}

function show(value) {
  if (value instanceof Uint8Array) return `Uint8Array(${value.length}) [${Array.from(value.slice(0, 16)).join(",")}${value.length > 16 ? ",…" : ""}]`;
  if (typeof value === "string") return JSON.stringify(value.length > 300 ? `${value.slice(0, 300)}…` : value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "function") return `[function ${value.name}]`;
  try {
    const text = JSON.stringify(value);
    if (text === undefined) return String(value);
    return text.length > 600 ? `${text.slice(0, 600)}…` : text;
  } catch {
    return String(value);
  }
}

/// Structural equality of JSON-like values (and Uint8Array); `undefined` members count as absent.
export function isDeepEqual(a, b) {
  if (Object.is(a, b)) return true;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length) return false;
    return a.every((x, i) => x === b[i]);
  }
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === b.length && a.every((x, i) => isDeepEqual(x, b[i]));
  const keys = (o) => Object.keys(o).filter((k) => o[k] !== undefined).sort();
  const ka = keys(a), kb = keys(b);
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && isDeepEqual(a[k], b[k]));
}

export const assert = {
  ok(value, message = "expected a truthy value") {
    if (!value) throw new AssertionError(message, { actual: show(value) });
  },
  equal(actual, expected, message = "not equal") {
    if (!Object.is(actual, expected)) throw new AssertionError(message, { actual: show(actual), expected: show(expected) });
  },
  notEqual(actual, unexpected, message = "equal") {
    if (Object.is(actual, unexpected)) throw new AssertionError(message, { actual: show(actual) });
  },
  deepEqual(actual, expected, message = "not deeply equal") {
    if (!isDeepEqual(actual, expected)) throw new AssertionError(message, { actual: show(actual), expected: show(expected) });
  },
  match(text, pattern, message = "does not match") {
    if (typeof text !== "string" || !pattern.test(text)) throw new AssertionError(message, { actual: show(text), pattern: String(pattern) });
  },
  fail(message, details) {
    throw new AssertionError(message, details);
  },
  /// Awaits `promiseOrFn` (a promise, or a function called and awaited) and returns what it threw or
  /// rejected with; fails when it resolved.
  async rejects(promiseOrFn, message = "expected a rejection") {
    let value;
    try {
      value = await (typeof promiseOrFn === "function" ? promiseOrFn() : promiseOrFn);
    } catch (error) {
      return error;
    }
    throw new AssertionError(message, { resolved: show(value) });
  },
  /// A list of problems must be empty (the table runners collect them and fail once, listing all).
  noProblems(problems, message = "problems") {
    if (problems.length) throw new AssertionError(`${message}: ${problems.length}`, { problems });
  },
};

function yamlBlock(error) {
  const lines = ["  ---", `  message: ${JSON.stringify(String(error?.message ?? error))}`];
  if (error instanceof AssertionError && error.details) {
    for (const [key, value] of Object.entries(error.details)) {
      if (Array.isArray(value)) {
        lines.push(`  ${key}:`);
        for (const item of value.slice(0, 200)) lines.push(`    - ${JSON.stringify(String(item))}`);
        if (value.length > 200) lines.push(`    - "… ${value.length - 200} more"`);
      } else {
        lines.push(`  ${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`);
      }
    }
  } else if (error?.stack) {
    lines.push("  stack: |");
    for (const line of String(error.stack).split("\n").slice(0, 12)) lines.push(`    ${line}`);
  }
  if (error && typeof error === "object" && "code" in error) lines.push(`  code: ${JSON.stringify(error.code)}`);
  lines.push("  ...");
  return lines;
}

/// A registry of cases and their runner. `env` is { runtime, capabilities: Set, print, now() }.
export function createHarness(env) {
  const cases = [];
  const names = new Set();
  function test(name, fn, options = {}) {
    if (names.has(name)) throw new Error(`duplicate test name: ${name}`);
    names.add(name);
    cases.push({ name, fn, options });
  }

  async function run({ filter } = {}) {
    const print = env.print;
    const started = env.now();
    const selected = filter ? cases.filter((c) => filter(c)) : cases;
    const summary = { runtime: env.runtime, total: selected.length, passed: 0, failed: 0, skipped: 0, failures: [], ms: 0 };
    print("TAP version 13");
    print(`# edge-auth JS tests in ${env.runtime}: ${selected.length} tests`);
    let n = 0;
    for (const c of selected) {
      n += 1;
      const { only, needs = [], timeout = 30000 } = c.options;
      let skip = null;
      if (only && !only.includes(env.runtime)) skip = `runs in ${only.join(", ")} only`;
      const missing = needs.filter((need) => !env.capabilities.has(need));
      if (!skip && missing.length) skip = `${env.runtime} lacks ${missing.join(", ")}`;
      if (skip) {
        summary.skipped += 1;
        print(`ok ${n} - ${c.name} # SKIP ${skip}`);
        continue;
      }
      const notes = [];
      const t = { log: (message) => notes.push(String(message)), runtime: env.runtime };
      const t0 = env.now();
      let timer;
      try {
        await Promise.race([
          Promise.resolve().then(() => c.fn(t)),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`timed out after ${timeout} ms`)), timeout);
          }),
        ]);
        clearTimeout(timer);
        summary.passed += 1;
        print(`ok ${n} - ${c.name} (${Math.round(env.now() - t0)} ms)`);
        for (const note of notes) print(`# ${note}`);
      } catch (error) {
        clearTimeout(timer);
        summary.failed += 1;
        summary.failures.push(c.name);
        print(`not ok ${n} - ${c.name} (${Math.round(env.now() - t0)} ms)`);
        for (const note of notes) print(`# ${note}`);
        for (const line of yamlBlock(error)) print(line);
      }
    }
    print(`1..${n}`);
    summary.ms = Math.round(env.now() - started);
    print(`# ${env.runtime}: ${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped, ${summary.ms} ms`);
    if (summary.failed) print(`# failed: ${summary.failures.join(" | ")}`);
    return summary;
  }

  return { test, run, cases };
}
