//! Parsing a compact JWS into an [`UntrustedToken`]: structure only, nothing here is trusted yet.

use serde_json::{Map, Value};

use crate::b64;
use crate::error::{ParseError, Part};
use crate::json::{self, JsonError};

/// Limits applied before any decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The longest token accepted, in bytes. Default 8 KiB.
    pub max_token_bytes: usize,
    /// Without a `kid`, how many keys compatible with the algorithm may be tried. Default 4.
    pub max_untargeted_keys: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_token_bytes: 8 * 1024,
            max_untargeted_keys: 4,
        }
    }
}

/// What the payload must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadKind {
    /// A JWT: the payload is a JSON object with unique members.
    JwtClaims,
    /// Any bytes (for `--signature-only` and RFC 7520 vectors).
    Opaque,
}

/// The protected header, after the header rules passed. Members are typed; the raw object is kept for
/// display only.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub(crate) alg: String,
    pub(crate) kid: Option<String>,
    pub(crate) typ: Option<String>,
    pub(crate) raw: Map<String, Value>,
}

impl Header {
    /// The `alg` member as written (not yet checked against any allowlist).
    pub fn alg(&self) -> &str {
        &self.alg
    }
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }
    pub fn typ(&self) -> Option<&str> {
        self.typ.as_deref()
    }
    /// The whole header object.
    pub fn raw(&self) -> &Map<String, Value> {
        &self.raw
    }

    fn from_object(raw: Map<String, Value>) -> Result<Header, ParseError> {
        for member in ["jwk", "jku", "x5u", "x5c"] {
            if raw.contains_key(member) {
                return Err(ParseError::EmbeddedKey { member });
            }
        }
        if raw.contains_key("enc") {
            return Err(ParseError::EncryptedHeader);
        }
        let alg = match raw.get("alg") {
            None => return Err(ParseError::AlgMissing),
            Some(Value::String(alg)) => alg.clone(),
            Some(_) => {
                return Err(ParseError::HeaderMemberType {
                    member: "alg",
                    expected: "a string",
                })
            }
        };
        if alg.eq_ignore_ascii_case("none") {
            return Err(ParseError::AlgNone);
        }
        match raw.get("b64") {
            None | Some(Value::Bool(true)) => {}
            Some(Value::Bool(false)) => return Err(ParseError::UnencodedPayload),
            Some(_) => {
                return Err(ParseError::HeaderMemberType {
                    member: "b64",
                    expected: "a boolean",
                })
            }
        }
        if let Some(crit) = raw.get("crit") {
            // RFC 7515 §4.1.11: a non-empty array of strings. This verifier understands no extension,
            // so any well-formed entry is refused too.
            let Value::Array(entries) = crit else {
                return Err(ParseError::HeaderMemberType {
                    member: "crit",
                    expected: "a non-empty array of strings",
                });
            };
            let mut names = entries.iter();
            match names.next() {
                Some(Value::String(name)) => {
                    return Err(ParseError::CritUnsupported { name: name.clone() })
                }
                _ => {
                    return Err(ParseError::HeaderMemberType {
                        member: "crit",
                        expected: "a non-empty array of strings",
                    })
                }
            }
        }
        let kid = optional_string(&raw, "kid")?;
        let typ = optional_string(&raw, "typ")?;
        if let Some(cty) = optional_string(&raw, "cty")? {
            if media_type_eq(&cty, "jwt") {
                return Err(ParseError::NestedJwt);
            }
        }
        Ok(Header { alg, kid, typ, raw })
    }
}

fn optional_string(
    raw: &Map<String, Value>,
    member: &'static str,
) -> Result<Option<String>, ParseError> {
    match raw.get(member) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ParseError::HeaderMemberType {
            member,
            expected: "a string",
        }),
    }
}

/// Compares a `typ`/`cty` value with a media type the way RFC 7515 §4.1.9 asks: case-insensitively, with
/// an omitted `application/` prefix.
pub(crate) fn media_type_eq(value: &str, expected: &str) -> bool {
    fn strip(s: &str) -> &str {
        match s.get(..12) {
            Some(prefix) if prefix.eq_ignore_ascii_case("application/") => {
                s.get(12..).unwrap_or("")
            }
            _ => s,
        }
    }
    strip(value).eq_ignore_ascii_case(strip(expected))
}

/// A compact JWS whose structure and header rules passed, and whose signature has not been checked.
#[derive(Debug, Clone)]
pub struct UntrustedToken<'a> {
    header: Header,
    /// `BASE64URL(header) '.' BASE64URL(payload)`, borrowed from the input.
    signing_input: &'a str,
    payload: Vec<u8>,
    claims: Option<Map<String, Value>>,
    signature: Vec<u8>,
}

impl<'a> UntrustedToken<'a> {
    /// Parses a compact JWS. Size is checked before anything is decoded.
    pub fn parse(token: &'a str, limits: &Limits, kind: PayloadKind) -> Result<Self, ParseError> {
        if token.len() > limits.max_token_bytes {
            return Err(ParseError::TooLarge {
                len: token.len(),
                max: limits.max_token_bytes,
            });
        }
        if token.starts_with('{') {
            return Err(ParseError::JsonSerialization);
        }
        let dots = token.bytes().filter(|b| *b == b'.').count();
        let (signing_input, signature_b64) = match dots {
            2 => token
                .rsplit_once('.')
                .ok_or(ParseError::PartCount { found: 1 })?,
            4 => return Err(ParseError::Jwe),
            n => return Err(ParseError::PartCount { found: n + 1 }),
        };
        let (header_b64, payload_b64) = signing_input
            .split_once('.')
            .ok_or(ParseError::PartCount { found: 2 })?;

        let header_bytes =
            b64::decode(header_b64).ok_or(ParseError::Base64 { part: Part::Header })?;
        let header = json::parse_object(&header_bytes)
            .map_err(|error| ParseError::Json {
                part: Part::Header,
                error,
            })
            .and_then(Header::from_object)?;
        let payload = b64::decode(payload_b64).ok_or(ParseError::Base64 {
            part: Part::Payload,
        })?;
        let signature = b64::decode(signature_b64).ok_or(ParseError::Base64 {
            part: Part::Signature,
        })?;
        let claims = match kind {
            PayloadKind::Opaque => None,
            PayloadKind::JwtClaims => {
                Some(
                    json::parse_object(&payload).map_err(|error| ParseError::Json {
                        part: Part::Payload,
                        error,
                    })?,
                )
            }
        };
        Ok(UntrustedToken {
            header,
            signing_input,
            payload,
            claims,
            signature,
        })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The bytes the signature covers.
    pub fn signing_input(&self) -> &'a [u8] {
        self.signing_input.as_bytes()
    }

    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The decoded payload bytes (untrusted).
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The claims object, when parsed as a JWT (untrusted).
    pub fn claims(&self) -> Option<&Map<String, Value>> {
        self.claims.as_ref()
    }

    pub(crate) fn into_parts(self) -> (Header, Vec<u8>, Option<Map<String, Value>>) {
        (self.header, self.payload, self.claims)
    }
}

/// An unverified look at a token, for `edge-auth decode` and the inspector. Nothing here is trusted.
#[derive(Debug, Clone)]
pub struct Unverified {
    pub header: Map<String, Value>,
    /// The payload as a JSON object when it is one.
    pub claims: Result<Map<String, Value>, JsonError>,
    pub payload: Vec<u8>,
    pub signature_len: usize,
}

/// Decodes a token without verifying anything and without applying header rules (so `alg: none` and
/// embedded keys can still be inspected). Size, structure, base64 and JSON rules still apply.
pub fn decode_unverified(token: &str, limits: &Limits) -> Result<Unverified, ParseError> {
    if token.len() > limits.max_token_bytes {
        return Err(ParseError::TooLarge {
            len: token.len(),
            max: limits.max_token_bytes,
        });
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        let found = token.split('.').count();
        return Err(if found == 5 {
            ParseError::Jwe
        } else {
            ParseError::PartCount { found }
        });
    };
    let header_bytes = b64::decode(h).ok_or(ParseError::Base64 { part: Part::Header })?;
    let header = json::parse_object(&header_bytes).map_err(|error| ParseError::Json {
        part: Part::Header,
        error,
    })?;
    let payload = b64::decode(p).ok_or(ParseError::Base64 {
        part: Part::Payload,
    })?;
    let signature = b64::decode(s).ok_or(ParseError::Base64 {
        part: Part::Signature,
    })?;
    Ok(Unverified {
        header,
        claims: json::parse_object(&payload),
        payload,
        signature_len: signature.len(),
    })
}
