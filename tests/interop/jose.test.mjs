// Cross-implementation tests: edge-auth CLI <-> Node `jose`.
// Run with `npm test` in tests/interop (or tests/interop/run.sh).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as jose from 'jose';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
const BIN = process.env.EDGE_AUTH_BIN || path.join(REPO, 'target', 'debug', 'edge-auth');
const TIMEOUT_MS = 120_000;

const ISSUER = 'https://issuer.interop.example';
const AUDIENCE = 'edge-auth-interop';

const ALL_ALGS = [
  'HS256', 'HS384', 'HS512',
  'RS256', 'RS384', 'RS512',
  'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512', 'ES256K',
  'EdDSA',
];
// One algorithm per key family for the negative cases.
const NEGATIVE_ALGS = ['HS256', 'RS256', 'ES256', 'EdDSA'];

const isHmac = (alg) => alg.startsWith('HS');
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

// Which algorithms does this jose build support? (jose 6 dropped ES256K.)
const unsupported = new Map();
for (const alg of ALL_ALGS) {
  try {
    if (isHmac(alg)) await jose.generateSecret(alg);
    else await jose.generateKeyPair(alg);
  } catch (err) {
    unsupported.set(alg, `jose ${joseVersion()} does not support ${alg}: ${err.code ?? ''} ${err.message}`.trim());
  }
}

function joseVersion() {
  try {
    return JSON.parse(fs.readFileSync(path.join(HERE, 'node_modules', 'jose', 'package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
}

const skipFor = (alg) => unsupported.get(alg) ?? false;

// A skipped test is not a pass: exactly the algorithms jose 6 lacks are skipped, and nothing else (a
// key-generation failure for any other algorithm fails here instead of silently skipping its tests).
test('jose lacks exactly ES256K; every other algorithm runs', () => {
  assert.deepEqual([...unsupported.keys()], ['ES256K'], [...unsupported.values()].join('\n'));
});

// ---------------------------------------------------------------- helpers

const tmpDirs = [];
process.on('exit', () => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

function tmpDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-auth-jose-'));
  tmpDirs.push(dir);
  return dir;
}

function writeJson(dir, name, value) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(value));
  return file;
}

function run(args, input) {
  const res = spawnSync(BIN, args, { encoding: 'utf8', timeout: TIMEOUT_MS, input });
  if (res.error) throw new Error(`spawning ${BIN} ${args.join(' ')} failed: ${res.error.message}`);
  return res;
}

function describe(res, args) {
  return `edge-auth ${args.map((a) => (a.length > 80 ? a.slice(0, 40) + '…' : a)).join(' ')}\n` +
    `exit=${res.status} signal=${res.signal}\nstdout: ${res.stdout}\nstderr: ${res.stderr}`;
}

function runOk(args, input) {
  const res = run(args, input);
  assert.equal(res.status, 0, `expected exit 0\n${describe(res, args)}`);
  return res.stdout;
}

function assertRejected(args, code, input) {
  const res = run(args, input);
  assert.equal(res.status, 1, `expected exit 1 (${code})\n${describe(res, args)}`);
  assert.ok(res.stderr.startsWith(`error: ${code}:`),
    `expected stderr to start with "error: ${code}:"\n${describe(res, args)}`);
  assert.equal(res.stdout, '', `expected no stdout on rejection\n${describe(res, args)}`);
}

function claimsNow(overrides = {}) {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: `user-${randomUUID()}`,
    iat: now,
    exp: now + 600,
    jti: randomUUID(),
    ...overrides,
  };
}

// A jose-generated key: { signKey, publicJwk (with alg + kid) }.
async function joseKey(alg, kid) {
  if (isHmac(alg)) {
    const secret = await jose.generateSecret(alg, { extractable: true });
    const jwk = await jose.exportJWK(secret);
    return { signKey: secret, publicJwk: { ...jwk, alg, kid } };
  }
  const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true });
  const jwk = await jose.exportJWK(publicKey);
  return { signKey: privateKey, publicJwk: { ...jwk, alg, kid } };
}

async function joseSign(alg, signKey, kid, claims) {
  // SignJWT takes the payload as-is; iat/exp/jti etc. are already in `claims`.
  return new jose.SignJWT(claims).setProtectedHeader({ alg, kid, typ: 'JWT' }).sign(signKey);
}

// Flip the lowest bit of the last signature byte: the last base64url
// character changes while the encoding stays canonical.
function tamperSignature(token) {
  const [h, p, s] = token.split('.');
  const sig = Buffer.from(s, 'base64url');
  sig[sig.length - 1] ^= 0x01;
  const s2 = sig.toString('base64url');
  assert.notEqual(s2.at(-1), s.at(-1), 'tampering must change the last signature character');
  return `${h}.${p}.${s2}`;
}

function keygen(alg, extra = []) {
  const out = runOk(['keygen', '--alg', alg, ...extra]);
  let parsed;
  assert.doesNotThrow(() => { parsed = JSON.parse(out); }, `keygen stdout is not JSON: ${out}`);
  assert.ok(parsed.jwk && typeof parsed.jwk === 'object', 'keygen output has "jwk"');
  assert.ok(parsed.jwks && Array.isArray(parsed.jwks.keys), 'keygen output has "jwks.keys"');
  assert.equal(parsed.jwks.keys.length, 1, 'keygen jwks holds exactly one key');
  return parsed;
}

// ---------------------------------------------------------------- positive, both directions

for (const alg of ALL_ALGS) {
  test(`${alg}: jose -> edge-auth verify (--jwk)`, { skip: skipFor(alg) }, async () => {
    const dir = tmpDir();
    const kid = `jose-${alg}-${randomUUID()}`;
    const { signKey, publicJwk } = await joseKey(alg, kid);
    const jwkFile = writeJson(dir, 'public.jwk.json', publicJwk);
    const claims = claimsNow();
    const token = await joseSign(alg, signKey, kid, claims);

    const out = runOk(['verify', '--jwk', jwkFile, '--issuer', ISSUER, '--audience', AUDIENCE, token]);
    assert.deepEqual(JSON.parse(out), claims);
  });

  test(`${alg}: edge-auth keygen + mint -> jose jwtVerify`, { skip: skipFor(alg) }, async () => {
    const dir = tmpDir();
    const { jwk, jwks } = keygen(alg);
    assert.equal(jwk.alg, alg, 'private JWK carries the requested alg');
    assert.equal(typeof jwk.kid, 'string', 'private JWK carries a kid');
    const jwkFile = writeJson(dir, 'private.jwk.json', jwk);
    const claims = claimsNow();

    const token = runOk(['mint', '--jwk', jwkFile, '--claims', JSON.stringify(claims)]);
    assert.ok(token.endsWith('\n'), 'mint prints the token followed by a newline');
    const compact = token.trim();
    assert.match(compact, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);

    const header = jose.decodeProtectedHeader(compact);
    assert.equal(header.alg, alg, 'minted header alg');
    assert.equal(header.kid, jwk.kid, 'minted header kid is the key kid');

    const publicJwk = jwks.keys[0];
    const key = await jose.importJWK(publicJwk, alg);
    const { payload } = await jose.jwtVerify(compact, key, {
      issuer: ISSUER, audience: AUDIENCE, algorithms: [alg],
    });
    assert.deepEqual(payload, claims);
  });

  test(`${alg}: edge-auth keygen -> jose (kid is RFC 7638 thumbprint, or random for HMAC; jwks is public)`, { skip: skipFor(alg) }, async () => {
    const { jwk, jwks } = keygen(alg);
    const pub = jwks.keys[0];
    const thumb = await jose.calculateJwkThumbprint(pub, 'sha256');
    if (isHmac(alg)) {
      // A thumbprint of an oct key is a hash of the secret: the kid is 16 random bytes instead.
      assert.notEqual(jwk.kid, thumb, 'HMAC kid must not be derived from the secret');
      assert.equal(Buffer.from(jwk.kid, 'base64url').length, 16);
    } else {
      assert.equal(jwk.kid, thumb, 'default kid = RFC 7638 SHA-256 thumbprint of the key');
    }
    assert.equal(pub.kid, jwk.kid, 'jwks key kid matches the private JWK kid');
    assert.equal(await jose.calculateJwkThumbprint(jwk, 'sha256'), thumb,
      'private and public JWK describe the same key');
    if (isHmac(alg)) {
      assert.equal(pub.kty, 'oct');
      assert.equal(pub.k, jwk.k, 'HMAC jwks holds the secret');
      const hashBytes = Number(alg.slice(2)) / 8;
      assert.ok(Buffer.from(pub.k, 'base64url').length >= hashBytes,
        `HMAC secret is at least ${hashBytes} bytes`);
    } else {
      for (const m of PRIVATE_MEMBERS) assert.equal(pub[m], undefined, `public JWK must not contain "${m}"`);
      assert.ok(typeof jwk.d === 'string', 'private JWK has "d"');
      if (pub.kty === 'RSA') {
        assert.equal(Buffer.from(pub.n, 'base64url').length * 8, 2048, 'RSA modulus is 2048 bits');
      }
    }
    // The private JWK must import in jose too.
    await jose.importJWK(jwk, alg);

    // --kid overrides the default.
    const custom = keygen(alg, ['--kid', 'my-key-1']);
    assert.equal(custom.jwk.kid, 'my-key-1');
  });
}

// ---------------------------------------------------------------- negative cases, jose-made tokens

for (const alg of NEGATIVE_ALGS) {
  const skip = skipFor(alg);

  async function setup() {
    const dir = tmpDir();
    const kid = `jose-${alg}-neg`;
    const { signKey, publicJwk } = await joseKey(alg, kid);
    const jwkFile = writeJson(dir, 'public.jwk.json', publicJwk);
    return { dir, kid, signKey, jwkFile };
  }
  const verifyArgs = (jwkFile, token) => ['verify', '--jwk', jwkFile, '--issuer', ISSUER, '--audience', AUDIENCE, token];

  test(`${alg}: jose -> edge-auth rejects a changed signature character (signature_invalid)`, { skip }, async () => {
    const { kid, signKey, jwkFile } = await setup();
    const token = await joseSign(alg, signKey, kid, claimsNow());
    runOk(verifyArgs(jwkFile, token)); // control: the untouched token verifies
    assertRejected(verifyArgs(jwkFile, tamperSignature(token)), 'signature_invalid');
  });

  test(`${alg}: jose -> edge-auth rejects an expired token (token_expired)`, { skip }, async () => {
    const { kid, signKey, jwkFile } = await setup();
    const now = Math.floor(Date.now() / 1000);
    const token = await joseSign(alg, signKey, kid, claimsNow({ iat: now - 3600, exp: now - 600 }));
    assertRejected(verifyArgs(jwkFile, token), 'token_expired');
  });

  test(`${alg}: jose -> edge-auth rejects a wrong audience (audience_mismatch)`, { skip }, async () => {
    const { kid, signKey, jwkFile } = await setup();
    const token = await joseSign(alg, signKey, kid, claimsNow({ aud: 'some-other-audience' }));
    assertRejected(verifyArgs(jwkFile, token), 'audience_mismatch');
  });

  test(`${alg}: jose -> edge-auth rejects a token signed by another key of the same type (signature_invalid)`, { skip }, async () => {
    const { kid, jwkFile } = await setup();
    const other = await joseKey(alg, kid); // same kid in the header, different key material
    const token = await joseSign(alg, other.signKey, kid, claimsNow());
    assertRejected(verifyArgs(jwkFile, token), 'signature_invalid');
  });
}

// ---------------------------------------------------------------- JWKS selection by kid, token on stdin

for (const alg of ['RS256', 'ES256']) {
  test(`${alg}: jose -> edge-auth verify --jwks picks the key by kid (token on stdin)`, { skip: skipFor(alg) }, async () => {
    const dir = tmpDir();
    const decoy = await joseKey(alg, 'decoy');
    const real = await joseKey(alg, 'real');
    const jwksFile = writeJson(dir, 'jwks.json', { keys: [decoy.publicJwk, real.publicJwk] });
    const claims = claimsNow();
    const token = await joseSign(alg, real.signKey, 'real', claims);
    const out = runOk(['verify', '--jwks', jwksFile, '--issuer', ISSUER, '--audience', AUDIENCE, '-'], `${token}\n`);
    assert.deepEqual(JSON.parse(out), claims);

    const unknown = await joseSign(alg, real.signKey, 'nobody', claimsNow());
    assertRejected(['verify', '--jwks', jwksFile, '--issuer', ISSUER, '--audience', AUDIENCE, unknown], 'key_not_found');
  });
}
