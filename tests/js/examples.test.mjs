// The README's "Serverless routes" examples, run as they are (tests/js/examples/: the README quotes these
// files verbatim). They import the package by its npm name, `edge-auth`, which tests/js/run.sh links to
// js/ (tests/js/node_modules/edge-auth → ../../../js). Each one refuses a request without a token (401)
// and forwards one with a valid token to its handler.
import * as jose from "jose";
import { assert } from "./harness.mjs";
import { AUD, EDGE, ORIGIN_AUD, sleep } from "./common.mjs";

const ISSUER = "https://idp.example.com/";

async function exampleSetup() {
  const { privateKey, publicKey } = await jose.generateKeyPair("ES256", { extractable: true });
  const edge = await jose.generateKeyPair("EdDSA", { extractable: true });
  const config = {
    issuers: [{ issuer: ISSUER, audiences: [AUD], algorithms: ["ES256"], jwks: { keys: [await jose.exportJWK(publicKey)] } }],
    assertion: { issuer: EDGE, audience: ORIGIN_AUD, signing_key_secret: "EDGE_AUTH_SIGNING_KEY" },
  };
  const now = Math.floor(Date.now() / 1000);
  const token = await new jose.SignJWT({ iss: ISSUER, aud: AUD, sub: "user-1", iat: now, exp: now + 600 })
    .setProtectedHeader({ alg: "ES256" }).sign(privateKey);
  return {
    env: { EDGE_AUTH: JSON.stringify(config), EDGE_AUTH_SIGNING_KEY: JSON.stringify(await jose.exportJWK(edge.privateKey)) },
    token,
  };
}

export function register(test, ctx) {
  test("examples/hono.mjs: 401 without a token, the handler's answer with one", async () => {
    const { env, token } = await exampleSetup();
    Object.assign(process.env, env);
    const app = (await import(new URL("./examples/hono.mjs", import.meta.url).href)).default;
    const refused = await app.fetch(new Request("https://api.example.com/orders/7"));
    assert.equal(refused.status, 401, "no token");
    assert.match(refused.headers.get("www-authenticate") ?? "", /^Bearer /, "a Bearer challenge");
    assert.equal((await refused.json()).code, "token_missing");
    const ok = await app.fetch(new Request("https://api.example.com/orders/7", { headers: { authorization: `Bearer ${token}` } }));
    assert.equal(ok.status, 200, "a valid token");
    assert.deepEqual(await ok.json(), { order: "7", caller: "user-1" });
    const forged = await app.fetch(new Request("https://api.example.com/orders/7", { headers: { authorization: `Bearer ${token}x` } }));
    assert.equal(forged.status, 401, "a bad token");
  }, { needs: ["env"] });

  test("examples/deno.mjs: Deno.serve on 127.0.0.1 refuses without a token and serves with one", async (t) => {
    const { spawn } = await import("node:child_process");
    const { join } = await import("node:path");
    const { env, token } = await exampleSetup();
    const deno = join(ctx.root, "tests/js/node_modules/.bin/deno");
    const child = spawn(deno, ["run", "-A", join(ctx.root, "tests/js/examples/deno.mjs")], {
      env: { ...process.env, ...env, PORT: "0", NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    try {
      let port;
      for (let waited = 0; !port && waited < 20_000; waited += 50) {
        port = /Listening on https?:\/\/[^\s/]+:(\d+)/.exec(output)?.[1];
        if (child.exitCode !== null) break;
        if (!port) await sleep(50);
      }
      assert.ok(port, `the example did not start listening: ${output}`);
      t.log(`deno example listening on 127.0.0.1:${port}`);
      const base = `http://127.0.0.1:${port}`;
      const refused = await fetch(`${base}/orders/7`);
      assert.equal(refused.status, 401, "no token");
      assert.equal((await refused.json()).code, "token_missing");
      const ok = await fetch(`${base}/orders/7`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(ok.status, 200, `a valid token: ${await ok.clone().text()}`);
      assert.deepEqual(await ok.json(), { path: "/orders/7", caller: "user-1" });
    } finally {
      child.kill("SIGTERM");
      await Promise.race([new Promise((r) => child.once("close", r)), sleep(3000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  }, { only: ["node"], needs: ["subprocess", "server"], timeout: 60_000 });
}
