// The harness checks itself (a failing case fails, a skip is counted, a timeout fires), and the runtime has
// what the package relies on: WebCrypto with RSA (PKCS#1 v1.5 and PSS), ECDSA P-256/384/521 and Ed25519.
import { assert, createHarness, isDeepEqual } from "./harness.mjs";

export function register(test, ctx) {
  test("harness: pass, fail, skip, timeout and the summary", async () => {
    const lines = [];
    const inner = createHarness({ runtime: ctx.runtime, capabilities: new Set(["fs"]), print: (l) => lines.push(l), now: () => performance.now() });
    inner.test("passes", () => assert.equal(1 + 1, 2));
    inner.test("fails", () => assert.deepEqual({ a: [1, 2] }, { a: [1, 3] }, "differs"));
    inner.test("throws a non-assertion", () => {
      throw new TypeError("boom");
    });
    inner.test("needs a missing capability", () => {}, { needs: ["subprocess"] });
    inner.test("other runtime only", () => {}, { only: ["no-such-runtime"] });
    inner.test("times out", () => new Promise(() => {}), { timeout: 50 });
    inner.test("async pass", async () => {
      await new Promise((r) => setTimeout(r, 5));
    });
    const summary = await inner.run();
    assert.deepEqual(
      { total: summary.total, passed: summary.passed, failed: summary.failed, skipped: summary.skipped },
      { total: 7, passed: 2, failed: 3, skipped: 2 },
    );
    assert.deepEqual(summary.failures, ["fails", "throws a non-assertion", "times out"]);
    assert.equal(lines[0], "TAP version 13");
    assert.ok(lines.includes("1..7"), "plan line");
    assert.ok(lines.some((l) => /^not ok 2 - fails/.test(l)), "a failing case is `not ok`");
    assert.ok(lines.some((l) => /^ok 4 - needs a missing capability # SKIP/.test(l)), "a skip is printed with its reason");
    assert.ok(lines.some((l) => l.includes("timed out after 50 ms")), "the timeout is reported");
  });

  test("harness: deep equality and rejects", async () => {
    assert.ok(isDeepEqual({ a: 1, b: undefined }, { a: 1 }), "undefined members are absent");
    assert.ok(isDeepEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])));
    assert.ok(!isDeepEqual(new Uint8Array([1, 2]), [1, 2]), "a Uint8Array is not an array");
    assert.ok(!isDeepEqual([1, 2], [2, 1]));
    assert.ok(!isDeepEqual({ a: null }, { a: undefined }));
    const error = await assert.rejects(Promise.reject(Object.assign(new Error("x"), { code: "c" })));
    assert.equal(error.code, "c");
    const resolved = await assert.rejects(assert.rejects(Promise.resolve(1)));
    assert.equal(resolved.name, "AssertionError", "rejects() fails when the promise resolves");
  });

  test("runtime: WebCrypto verifies RS256, PS256, ES256, ES384, ES512 and Ed25519", async () => {
    const data = new TextEncoder().encode("edge-auth");
    const algorithms = [
      [{ name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }, { name: "RSASSA-PKCS1-v1_5" }],
      [{ name: "RSA-PSS", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }, { name: "RSA-PSS", saltLength: 32 }],
      [{ name: "ECDSA", namedCurve: "P-256" }, { name: "ECDSA", hash: "SHA-256" }],
      [{ name: "ECDSA", namedCurve: "P-384" }, { name: "ECDSA", hash: "SHA-384" }],
      [{ name: "ECDSA", namedCurve: "P-521" }, { name: "ECDSA", hash: "SHA-512" }],
      [{ name: "Ed25519" }, { name: "Ed25519" }],
    ];
    const missing = [];
    for (const [generate, params] of algorithms) {
      try {
        const { privateKey, publicKey } = await crypto.subtle.generateKey(generate, true, ["sign", "verify"]);
        const signature = await crypto.subtle.sign(params, privateKey, data);
        const jwk = await crypto.subtle.exportKey("jwk", publicKey);
        const imported = await crypto.subtle.importKey("jwk", jwk, generate, false, ["verify"]);
        if (!(await crypto.subtle.verify(params, imported, signature, data))) missing.push(`${generate.name}: does not verify`);
      } catch (error) {
        missing.push(`${generate.namedCurve ?? generate.name}: ${error.message}`);
      }
    }
    assert.deepEqual(missing, [], "WebCrypto support");
  }, { smoke: true });
}
