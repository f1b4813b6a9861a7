//! The verified caller, as a handler sees it.

use std::sync::Arc;

use edge_auth_core::{Caller, NeedSet, Requirement, VerifiedToken};
use edge_auth_gate::Refusal;
use serde_json::{Map, Value};

use crate::rejection::Rejection;

/// The caller behind a verified assertion. Only [`EdgeAuth`](crate::EdgeAuth) makes one (after the signature, the
/// claims and the request binding held), so a handler that takes an `Identity` runs only for requests
/// that came through the edge.
///
/// As an axum extractor it takes the identity the [`EdgeAuthLayer`](crate::EdgeAuthLayer) verified,
/// or verifies the request itself with the [`EdgeAuth`](crate::EdgeAuth) found in the request's extensions
/// (`.layer(Extension(edge))`); a refusal is the Worker's answer ([`Rejection`]).
/// `Option<Identity>` is `None` only when the request carries no assertion at all.
///
/// ```
/// use axum::{routing::get, Extension, Json, Router};
/// use edge_auth_origin::{EdgeAuth, Identity, Rejection};
///
/// async fn orders(identity: Identity) -> Result<Json<serde_json::Value>, Rejection> {
///     identity.require_scopes(["orders:read"])?;
///     Ok(Json(identity.to_json()))
/// }
///
/// # fn app() -> Result<Router, edge_auth_origin::BuildError> {
/// let edge = EdgeAuth::builder()
///     .jwks_url("https://edge.example/.well-known/edge-auth/jwks.json")
///     .issuer("https://edge.example")
///     .audience("https://api.example")
///     .public_url("https://api.example")
///     .build()?;
/// Ok(Router::new().route("/orders", get(orders)).layer(Extension(edge)))
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Identity {
    sub: Option<String>,
    issuer: Option<String>,
    scopes: Vec<String>,
    roles: Vec<String>,
    claims: Map<String, Value>,
    assertion_id: String,
    realm: Arc<str>,
}

impl Identity {
    pub(crate) fn from_verified(
        verified: VerifiedToken,
        realm: &Arc<str>,
    ) -> Result<Identity, Rejection> {
        let text = |name: &str| {
            verified
                .claims()
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        // `jti` is required by the assertion rules; a non-string one is refused, never defaulted.
        let assertion_id = text("jti").ok_or_else(|| {
            Rejection::new(
                Refusal::Token(
                    edge_auth_core::ClaimsError::Invalid {
                        claim: "jti",
                        expected: "a string",
                    }
                    .into(),
                ),
                realm,
            )
        })?;
        Ok(Identity {
            sub: verified.registered().sub.clone(),
            issuer: text("src_iss"),
            scopes: verified.scopes().to_vec(),
            roles: verified.roles().to_vec(),
            assertion_id,
            claims: verified.claims().clone(),
            realm: Arc::clone(realm),
        })
    }

    /// The caller's subject (`sub` of the token the edge verified).
    pub fn sub(&self) -> Option<&str> {
        self.sub.as_deref()
    }

    /// The issuer of the caller's original token (`src_iss`), not the edge's `iss`.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// The scopes (`scope`, space-separated), without duplicates.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// The roles (`roles`), without duplicates.
    pub fn roles(&self) -> &[String] {
        &self.roles
    }

    /// Every claim of the assertion.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// The caller's OIDC session (`sid`), when its token had one: the edge ends that session on a
    /// back-channel logout, and an origin keying its own session state by it can end it too.
    pub fn session_id(&self) -> Option<&str> {
        self.claims.get("sid").and_then(Value::as_str)
    }

    /// The assertion's `jti` (base64url of 16 random bytes), for logs and replay caches.
    pub fn assertion_id(&self) -> &str {
        &self.assertion_id
    }

    /// `403 insufficient_scope` (with `scope="…"`) unless the caller holds every one of `scopes`.
    pub fn require_scopes<I, S>(&self, scopes: I) -> Result<(), Rejection>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.require(&Requirement {
            scopes: need(scopes),
            ..Requirement::default()
        })
    }

    /// `403 role_missing` unless the caller holds every one of `roles`.
    pub fn require_roles<I, S>(&self, roles: I) -> Result<(), Rejection>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.require(&Requirement {
            roles: need(roles),
            ..Requirement::default()
        })
    }

    /// Checks a requirement with the core's rules (the Worker's route requirements).
    pub fn require(&self, requirement: &Requirement) -> Result<(), Rejection> {
        let caller = Caller {
            scopes: &self.scopes,
            roles: &self.roles,
            claims: &self.claims,
        };
        requirement
            .check(&caller)
            .map_err(|unmet| Rejection::new(Refusal::Forbidden(unmet), &self.realm))
    }

    /// `{ sub, issuer, scopes, roles, assertion_id, claims }` (absent `sub`/`issuer` are `null`).
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "sub": self.sub,
            "issuer": self.issuer,
            "scopes": self.scopes,
            "roles": self.roles,
            "assertion_id": self.assertion_id,
            "claims": self.claims,
        })
    }
}

/// All of `items`.
pub(crate) fn need<I, S>(items: I) -> NeedSet
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    NeedSet {
        all: items.into_iter().map(Into::into).collect(),
        any: Vec::new(),
    }
}
