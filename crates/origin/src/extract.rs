//! [`Identity`] as an axum extractor: the identity a layer verified, else a verification with the
//! [`EdgeAuth`] in the request's extensions.

use std::sync::Arc;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use edge_auth_gate::Refusal;
use http::request::Parts;

use crate::identity::Identity;
use crate::rejection::{Rejection, DEFAULT_REALM};
use crate::verify::EdgeAuth;

impl<S: Send + Sync> FromRequestParts<S> for Identity {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Identity, Rejection> {
        if let Some(identity) = parts.extensions.get::<Identity>() {
            return Ok(identity.clone());
        }
        let Some(edge) = parts.extensions.get::<EdgeAuth>().cloned() else {
            // A wiring mistake (no layer, no Extension): never let the handler run unverified.
            return Err(Rejection::new(Refusal::Internal, &Arc::from(DEFAULT_REALM)));
        };
        let identity = edge.verify(parts).await?;
        parts.extensions.insert(identity.clone());
        Ok(identity)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Identity {
    type Rejection = Rejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Identity>, Rejection> {
        if parts.extensions.get::<Identity>().is_none() {
            if let Some(edge) = parts.extensions.get::<EdgeAuth>() {
                if !parts.headers.contains_key(edge.header_name()) {
                    return Ok(None);
                }
            }
        }
        <Identity as FromRequestParts<S>>::from_request_parts(parts, state)
            .await
            .map(Some)
    }
}
