// Benchmark (not a test): the package's `verifier.verify` against jose's `jwtVerify`, with the same keys
// and tokens, in the same process, per algorithm: the first sight of a token (every token distinct, so
// the package's verified-token cache never answers) and a repeated token. Runs under Node and Deno
// (scripts/bench-js.sh runs both). Prints µs per call (the median of rounds, rounds in rotated order) and
// the ratio to jose measured in the same round.
//   node tests/js/bench/verify.mjs [TOKENS_PER_ROUND] [ROUNDS]
//   deno run -A tests/js/bench/verify.mjs [TOKENS_PER_ROUND] [ROUNDS]
import * as jose from "jose";

const root = new URL("../../../", import.meta.url);
const pkg = await import(new URL("js/index.js", root).href);
const args = globalThis.Deno ? Deno.args : process.argv.slice(2);
const N = Number(args[0] ?? 2000);
const ROUNDS = Number(args[1] ?? 5);
const runtime = globalThis.Deno ? `deno ${Deno.version.deno}` : `node ${process.version}`;

const ISS = "https://idp.example.com/";
const HS_ISS = "https://hs.example.com/";
const AUD = "https://api.example.com";
const SECRET = "a-shared-hmac-secret-of-at-least-32-bytes!";
const ALGS = ["HS256", "RS256", "PS256", "ES256", "ES384", "ES512", "EdDSA"];
const now = Math.floor(Date.now() / 1000);

let counter = 0;
const cases = [];
const jwks = [];
for (const alg of ALGS) {
  let sign, joseKey;
  if (alg === "HS256") {
    joseKey = new TextEncoder().encode(SECRET);
    sign = (claims) => new jose.SignJWT({ ...claims, iss: HS_ISS }).setProtectedHeader({ alg }).sign(joseKey);
  } else {
    const { privateKey, publicKey } = await jose.generateKeyPair(alg, { extractable: true });
    const jwk = { ...(await jose.exportJWK(publicKey)), alg, kid: `k-${alg}` };
    jwks.push(jwk);
    joseKey = publicKey;
    sign = (claims) =>
      new jose.SignJWT({ ...claims, iss: ISS }).setProtectedHeader({ alg, kid: jwk.kid }).sign(privateKey);
  }
  // A realistic access token; each one distinct (jti).
  const mint = () =>
    sign({ aud: AUD, sub: "248289761001", scope: "openid profile orders:read", roles: ["customer"],
      iat: now, exp: now + 3600, jti: `t${counter++}` });
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) rounds.push(await Promise.all(Array.from({ length: N }, mint)));
  cases.push({ alg, joseKey, issuer: alg === "HS256" ? HS_ISS : ISS, warmup: await mint(), repeated: await mint(), rounds });
}

const verifier = await pkg.createVerifier(
  {
    issuers: [
      { issuer: ISS, audiences: [AUD], algorithms: ALGS.filter((a) => a !== "HS256"), jwks: { keys: jwks } },
      { issuer: HS_ISS, audiences: [AUD], algorithms: ["HS256"], hmac_secret: "HMAC" },
    ],
  },
  { secrets: { HMAC: SECRET } },
);

async function time(tokens, verify) {
  const t0 = performance.now();
  for (const token of tokens) await verify(token);
  return ((performance.now() - t0) * 1000) / tokens.length;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = [];
for (const c of cases) {
  const ours = (t) => verifier.verify(t);
  const theirs = (t) => jose.jwtVerify(t, c.joseKey, { issuer: c.issuer, audience: AUD, algorithms: [c.alg] });
  // Warm both paths (key import, JIT), and check they agree.
  const mine = await ours(c.warmup);
  const jose_ = await theirs(c.warmup);
  if (mine.claims.jti !== jose_.payload.jti) throw new Error(`${c.alg}: the two verifiers disagree`);
  const repeatedTokens = Array.from({ length: N }, () => c.repeated);
  const samples = { first: [], firstJose: [], repeated: [], repeatedJose: [] };
  for (let r = 0; r < ROUNDS; r++) {
    const jobs = [
      async () => samples.first.push(await time(c.rounds[r], ours)),
      async () => samples.firstJose.push(await time(c.rounds[r], theirs)),
      async () => samples.repeated.push(await time(repeatedTokens, ours)),
      async () => samples.repeatedJose.push(await time(repeatedTokens, theirs)),
    ];
    // Rotate the order from round to round, so that drift favours no path.
    for (let j = 0; j < jobs.length; j++) await jobs[(j + r) % jobs.length]();
  }
  const m = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
  rows.push({ alg: c.alg, ...m });
}

const f = (x) => x.toFixed(1).padStart(7);
const ratio = (a, b) => (a / b).toFixed(2).padStart(5);
console.log(`\nedge-auth package vs jose ${runtime}: µs per verify (median of ${ROUNDS} rounds of ${N}; ratio = package / jose)`);
console.log("| alg   | first sight | jose  | ratio | repeated | jose  | ratio |");
console.log("|-------|-------------|-------|-------|----------|-------|-------|");
for (const r of rows) {
  console.log(`| ${r.alg.padEnd(5)} | ${f(r.first)}     |${f(r.firstJose)}|${ratio(r.first, r.firstJose)}  | ${f(r.repeated)}  |${f(r.repeatedJose)}|${ratio(r.repeated, r.repeatedJose)}  |`);
}
