// Every test file, registered in one order for every runtime. Each file exports `register(test, ctx)`;
// `ctx` = { runtime, pkg (the package's exports; null with --selftest), selftest, capabilities,
// readText(path), readJson(path) } with paths relative to the repository root.
import * as selfCheck from "./selftest.test.mjs";
import * as tables from "./tables.test.mjs";
import * as errors from "./errors.test.mjs";
import * as decode from "./decode.test.mjs";
import * as verify from "./verify.test.mjs";
import * as remote from "./remote.test.mjs";
import * as gate from "./gate.test.mjs";
import * as assertion from "./assertion.test.mjs";
import * as explain from "./explain.test.mjs";
import * as keys from "./keys.test.mjs";
import * as examples from "./examples.test.mjs";
import * as origin from "./origin.test.mjs";

/// Need only the harness, the shared tables and jose: they run before the package exists.
export const WITHOUT_PACKAGE = [selfCheck, tables];
/// The package's API, as issue 10 fixes it.
export const WITH_PACKAGE = [errors, decode, verify, remote, gate, assertion, explain, keys, examples, origin];

export async function registerAll(test, ctx) {
  for (const suite of WITHOUT_PACKAGE) await suite.register(test, ctx);
  if (ctx.selftest) return;
  for (const suite of WITH_PACKAGE) await suite.register(test, ctx);
}
