//! The tower layer: verify, check a requirement, then call the service with the [`Identity`] in the
//! request's extensions.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::response::{IntoResponse, Response};
use edge_auth_core::Requirement;
use http::Request;
use tower_layer::Layer;
use tower_service::Service;

use crate::identity::{need, Identity};
use crate::verify::EdgeAuth;

/// Verifies each request's assertion and checks a requirement before the inner service runs; made by
/// [`EdgeAuth::layer`], [`EdgeAuth::require_scopes`], [`EdgeAuth::require_roles`] and
/// [`EdgeAuth::require`].
///
/// Layers stack: an outer `edge.layer()` on the router verifies once, and a
/// `require_scopes` on a route reuses the [`Identity`] it found instead of verifying again. Why a layer
/// per route rather than a marker type in the handler's signature: the requirement stays next to the
/// route (where the edge's route table puts it too), takes the scopes as data (from configuration if
/// need be), and cannot be forgotten inside the handler; [`Identity::require_scopes`] remains for
/// decisions that depend on the request's content.
///
/// ```
/// use axum::{routing::get, Router};
/// use edge_auth_origin::{EdgeAuth, Identity};
///
/// # fn app(edge: EdgeAuth) -> Router {
/// Router::new()
///     .route("/orders", get(|id: Identity| async move { id.sub().unwrap_or("").to_owned() })
///         .layer(edge.require_scopes(["orders:read"])))
///     .layer(edge.layer())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct EdgeAuthLayer {
    edge: EdgeAuth,
    requirement: Arc<Requirement>,
}

impl EdgeAuthLayer {
    pub(crate) fn new(edge: EdgeAuth, requirement: Requirement) -> EdgeAuthLayer {
        EdgeAuthLayer {
            edge,
            requirement: Arc::new(requirement),
        }
    }
}

impl<S> Layer<S> for EdgeAuthLayer {
    type Service = EdgeAuthService<S>;

    fn layer(&self, inner: S) -> EdgeAuthService<S> {
        EdgeAuthService {
            inner,
            edge: self.edge.clone(),
            requirement: Arc::clone(&self.requirement),
        }
    }
}

/// The service [`EdgeAuthLayer`] wraps around another.
#[derive(Debug, Clone)]
pub struct EdgeAuthService<S> {
    inner: S,
    edge: EdgeAuth,
    requirement: Arc<Requirement>,
}

impl<S, B> Service<Request<B>> for EdgeAuthService<S>
where
    S: Service<Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send + 'static>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The clone that was driven to readiness serves this request (tower's usual pattern).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let edge = self.edge.clone();
        let requirement = Arc::clone(&self.requirement);
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            let identity = match parts.extensions.get::<Identity>() {
                Some(identity) => identity.clone(),
                None => match edge.verify(&parts).await {
                    Ok(identity) => identity,
                    Err(rejection) => return Ok(rejection.into_response()),
                },
            };
            if let Err(rejection) = identity.require(&requirement) {
                return Ok(rejection.into_response());
            }
            parts.extensions.insert(identity);
            parts.extensions.insert(edge);
            inner.call(Request::from_parts(parts, body)).await
        })
    }
}

impl EdgeAuth {
    /// A layer that verifies every request and puts its [`Identity`] (and this `EdgeAuth`) in the
    /// request's extensions; a refused request gets the Worker's answer and never reaches the service.
    pub fn layer(&self) -> EdgeAuthLayer {
        EdgeAuthLayer::new(self.clone(), Requirement::default())
    }

    /// [`layer`](Self::layer), and the caller must hold every one of `scopes` (`403 insufficient_scope`
    /// with `scope="…"` otherwise). Put it on a route: `get(handler).layer(edge.require_scopes([..]))`.
    pub fn require_scopes<I, S>(&self, scopes: I) -> EdgeAuthLayer
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.require(Requirement {
            scopes: need(scopes),
            ..Requirement::default()
        })
    }

    /// [`layer`](Self::layer), and the caller must hold every one of `roles` (`403 role_missing`).
    pub fn require_roles<I, S>(&self, roles: I) -> EdgeAuthLayer
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.require(Requirement {
            roles: need(roles),
            ..Requirement::default()
        })
    }

    /// [`layer`](Self::layer) with any requirement of the core's (scopes, roles, claim conditions,
    /// `any`/`all`): the Worker's route requirements, checked again at the origin.
    pub fn require(&self, requirement: Requirement) -> EdgeAuthLayer {
        EdgeAuthLayer::new(self.clone(), requirement)
    }
}
