// A small, bounds-checked DER reader: just enough to take the SubjectPublicKeyInfo out of an X.509
// certificate and to read the algorithm and key bits of a SubjectPublicKeyInfo (RFC 5280 §4.1). Every
// length is checked against its parent before anything is read; anything else DER allows (high tag
// numbers, indefinite lengths, lengths over 4 bytes) is refused. Throws DerError on any mistake.

export class DerError extends Error {}

const SEQUENCE = 0x30;
const INTEGER = 0x02;
const BIT_STRING = 0x03;
const OID = 0x06;
const NULL = 0x05;
const CONTEXT_0 = 0xa0;

/// The element at `offset` within `bytes[offset, limit)`: its tag, where it starts (`start`, the tag
/// byte), where its contents start (`body`) and where it ends (`end`).
export function readElement(bytes, offset, limit = bytes.length) {
  if (!(bytes instanceof Uint8Array)) throw new DerError("DER: not bytes");
  if (limit > bytes.length || offset < 0 || offset >= limit) throw new DerError("DER: element out of bounds");
  const tag = bytes[offset];
  if ((tag & 0x1f) === 0x1f) throw new DerError("DER: high tag numbers are not supported");
  let at = offset + 1;
  if (at >= limit) throw new DerError("DER: truncated length");
  const first = bytes[at++];
  let length;
  if (first < 0x80) {
    length = first;
  } else if (first === 0x80) {
    throw new DerError("DER: indefinite length (BER) is not DER");
  } else {
    const count = first & 0x7f;
    if (count > 4) throw new DerError("DER: length too large");
    if (at + count > limit) throw new DerError("DER: truncated length");
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[at++];
    if (length < 0x80) throw new DerError("DER: non-minimal length");
  }
  const end = at + length;
  if (end > limit) throw new DerError("DER: element longer than its container");
  return { tag, start: offset, body: at, end };
}

/// The children of a constructed element.
export function children(bytes, element) {
  const out = [];
  let at = element.body;
  while (at < element.end) {
    const child = readElement(bytes, at, element.end);
    out.push(child);
    at = child.end;
  }
  return out;
}

function expect(element, tag, what) {
  if (!element || element.tag !== tag) throw new DerError(`DER: ${what} expected`);
  return element;
}

/// One whole element spanning all of `bytes`.
function top(bytes, what) {
  const element = readElement(bytes, 0);
  if (element.end !== bytes.length) throw new DerError(`DER: bytes after the ${what}`);
  return element;
}

/// The DER of the SubjectPublicKeyInfo inside an X.509 certificate (a copy).
export function spkiFromCertificate(bytes) {
  const certificate = expect(top(bytes, "certificate"), SEQUENCE, "Certificate SEQUENCE");
  const tbs = expect(children(bytes, certificate)[0], SEQUENCE, "TBSCertificate SEQUENCE");
  const fields = children(bytes, tbs);
  let i = fields[0]?.tag === CONTEXT_0 ? 1 : 0; // [0] version, optional
  expect(fields[i++], INTEGER, "serialNumber");
  expect(fields[i++], SEQUENCE, "signature AlgorithmIdentifier");
  expect(fields[i++], SEQUENCE, "issuer Name");
  expect(fields[i++], SEQUENCE, "validity");
  expect(fields[i++], SEQUENCE, "subject Name");
  const spki = expect(fields[i], SEQUENCE, "subjectPublicKeyInfo");
  return bytes.slice(spki.start, spki.end);
}

/// An OBJECT IDENTIFIER's contents as dotted text.
export function oidText(bytes, element) {
  expect(element, OID, "OBJECT IDENTIFIER");
  if (element.body === element.end) throw new DerError("DER: empty OBJECT IDENTIFIER");
  const parts = [];
  let value = 0;
  for (let at = element.body; at < element.end; at++) {
    value = value * 128 + (bytes[at] & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) throw new DerError("DER: OBJECT IDENTIFIER arc too large");
    if ((bytes[at] & 0x80) === 0) {
      if (parts.length === 0) parts.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
      else parts.push(value);
      value = 0;
    } else if (at + 1 === element.end) {
      throw new DerError("DER: truncated OBJECT IDENTIFIER");
    }
  }
  return parts.join(".");
}

/// A SubjectPublicKeyInfo's algorithm OID, its parameter OID (the curve; null when absent or NULL) and
/// the key bits (the BIT STRING's contents after its unused-bits byte, which must be 0).
export function readSpki(bytes) {
  const spki = expect(top(bytes, "SubjectPublicKeyInfo"), SEQUENCE, "SubjectPublicKeyInfo SEQUENCE");
  const [algorithm, key, extra] = children(bytes, spki);
  if (extra) throw new DerError("DER: extra fields in SubjectPublicKeyInfo");
  expect(algorithm, SEQUENCE, "AlgorithmIdentifier");
  expect(key, BIT_STRING, "subjectPublicKey BIT STRING");
  const [oid, parameters] = children(bytes, algorithm);
  const algorithmOid = oidText(bytes, oid);
  let parameterOid = null;
  if (parameters && parameters.tag === OID) parameterOid = oidText(bytes, parameters);
  else if (parameters && parameters.tag !== NULL) throw new DerError("DER: unsupported algorithm parameters");
  if (key.body === key.end || bytes[key.body] !== 0) throw new DerError("DER: the key BIT STRING has unused bits");
  return { algorithmOid, parameterOid, key: bytes.slice(key.body + 1, key.end) };
}

/// Strict base64 (the PEM body) to bytes.
export function base64Bytes(text) {
  const clean = text.replace(/[\r\n\t ]/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 !== 0) throw new DerError("PEM: the body is not base64");
  const binary = atob(clean);
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/// The one PEM block in `text`: `{ label, der }`.
export function readPem(text) {
  const blocks = [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g)];
  if (blocks.length === 0) throw new DerError("PEM: no -----BEGIN …----- / -----END …----- block");
  if (blocks.length > 1) throw new DerError("PEM: paste one key or certificate, not several");
  const [, label, body] = blocks[0];
  return { label, der: base64Bytes(body) };
}
