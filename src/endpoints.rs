//! The revocation endpoints the edge answers itself: OIDC back-channel logout
//! ([`Plan::BackchannelLogout`](edge_auth_gate::Plan)) and the admin endpoint
//! ([`Plan::Revoke`](edge_auth_gate::Plan)). They translate: the body and headers in, the gate's and the
//! core's decisions (form, logout-token rules, admin rule and body, records, answers), the object's
//! write through [`crate::revocation::store`], the answer out, and one audit line per stored revocation
//! (`"event":"revoke"`; values only as keyed hashes).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

use edge_auth_core::{GateConfig, JsonObject, RevocationRecord, VerifiedToken};
use edge_auth_gate::{self as gate, LogoutRefusal, Refusal};
use web_sys::{Request, Response};

use crate::http::{problem_with_retry, respond, JsResult};
use crate::isolate::{now, Isolate};
use crate::revocation;
use crate::runtime::{ExecutionContext, Finishing};
use crate::verify::{verify, verify_logout, Sources};
use edge_auth_core::hex;

/// The largest body either endpoint reads (a logout token or a revocation is well under 1 KiB).
const MAX_BODY: usize = 16 * 1024;

/// What an endpoint did, for the fetch handler's decision line.
pub(crate) struct Handled {
    pub(crate) response: Response,
    /// The refusal's code (`None`: done).
    pub(crate) code: Option<&'static str>,
    /// The admin's verified token.
    pub(crate) verified: Option<Arc<VerifiedToken>>,
    pub(crate) sources: Option<Sources>,
}

/// The request body as text; `None` when larger than [`MAX_BODY`] (read as a stream and cancelled
/// there: an unauthenticated endpoint never buffers a large body) or not UTF-8.
async fn body_text(req: &Request) -> JsResult<Option<String>> {
    let announced = req
        .headers()
        .get("content-length")?
        .and_then(|length| length.trim().parse::<usize>().ok());
    if announced.is_some_and(|length| length > MAX_BODY) {
        return Ok(None);
    }
    let bytes = crate::keys::read_stream_capped(req.body(), MAX_BODY).await;
    Ok(bytes.ok().and_then(|bytes| String::from_utf8(bytes).ok()))
}

/// The audit line of a stored revocation: who asked (`admin`, with the admin's subject as a keyed
/// hash, or a `logout` token), what kind, the issuer, and the value as a keyed hash (for `sub` the same
/// hash as the decision lines' `sub_hash`, so a reader can follow the subject without learning it).
fn audit(config: &GateConfig, via: &str, record: &RevocationRecord, admin: Option<&VerifiedToken>) {
    let hash = |parts: &[&[u8]]| {
        let tag = config.decision_log_key.mac(parts);
        hex(tag.get(..8).unwrap_or_default())
    };
    let kind = record.kind.as_str();
    let value_hash = match record.kind {
        edge_auth_core::RevocationKind::Sub => hash(&[record.value.as_bytes()]),
        _ => hash(&[kind.as_bytes(), record.value.as_bytes()]),
    };
    let admin_sub_hash = admin
        .and_then(|v| v.registered().sub.as_deref())
        .map(|sub| hash(&[sub.as_bytes()]));
    crate::log::info(
        JsonObject::new()
            .opt_str("admin_sub_hash", admin_sub_hash.as_deref())
            .uint("at", record.at)
            .str("event", "revoke")
            .str("issuer", &record.iss)
            .str("kind", kind)
            .uint("until", record.until)
            .str("value_hash", &value_hash)
            .str("via", via),
    );
}

/// `POST <logout_path>`: OIDC Back-Channel Logout 1.0 §2.5–2.8. `200` (empty) when recorded, else `400`
/// `{"error":"invalid_request","error_description":<code>}`; both `Cache-Control: no-store`.
pub(crate) async fn logout(
    req: &Request,
    isolate: &Rc<RefCell<Isolate>>,
    config: &Rc<GateConfig>,
    ctx: &ExecutionContext,
    finishing: &Cell<bool>,
) -> JsResult<Handled> {
    let content_type = req.headers().get("content-type")?;
    let body = body_text(req).await?;
    let now = now();
    let result = async {
        let body = body.ok_or(LogoutRefusal::Form)?;
        let token = gate::logout_token_from_form(content_type.as_deref(), &body)?;
        let logout = verify_logout(isolate, config, &token, now, Some(ctx)).await?;
        let (issuer, record, seen) = gate::logout_records(config, &logout, now)?;
        let _finish = Finishing::new(ctx, finishing);
        let outcome = revocation::store(isolate, config, issuer, &record, Some(&seen))
            .await
            .map_err(|()| LogoutRefusal::Unavailable)?;
        gate::logout_outcome(outcome)?;
        audit(config, "logout", &record, None);
        Ok::<_, LogoutRefusal>(())
    }
    .await;
    let (response, code) = match result {
        Ok(()) => (respond(200, [("cache-control", "no-store")], None)?, None),
        Err(refusal) => {
            let (status, body) = refusal.to_http();
            let response = respond(status, gate::LOGOUT_HEADERS, Some(&body))?;
            (response, Some(refusal.code()))
        }
    };
    Ok(Handled {
        response,
        code,
        verified: None,
        sources: None,
    })
}

/// `POST <admin_path>` with a bearer token passing `revocation.admin` and a JSON body naming one
/// `jti`, `sid` or `sub`: `200 {"revoked":{…}}`, or the refusal (`400`, `401`, `403`, `503`, `507`).
pub(crate) async fn admin(
    req: &Request,
    isolate: &Rc<RefCell<Isolate>>,
    config: &Rc<GateConfig>,
    token: &str,
    ctx: &ExecutionContext,
    finishing: &Cell<bool>,
) -> JsResult<Handled> {
    let now = now();
    let (result, mut sources) = verify(isolate, config, token, now, Some(ctx)).await;
    let mut verified = None;
    let outcome = async {
        let token = result.map_err(Refusal::Token)?;
        verified = Some(Arc::clone(&token));
        // The admin's own token is checked against revocation like any other.
        let check = revocation::check(isolate, config, &token, now).await;
        sources.revocation = Some(check.as_ref().map_or("refused", |c| c.as_str()));
        check?;
        gate::authorize_admin(config, &token)?;
        let body = body_text(req)
            .await
            .map_err(|_| Refusal::RevokeRequestInvalid)?;
        let body = body.ok_or(Refusal::RevokeRequestInvalid)?;
        let (issuer, record) = gate::revoke_request(config, &body, now)?;
        let _finish = Finishing::new(ctx, finishing);
        let stored = revocation::store(isolate, config, issuer, &record, None)
            .await
            .map_err(|()| Refusal::RevocationUnavailable)?;
        gate::admin_outcome(stored)?;
        audit(config, "admin", &record, Some(&token));
        Ok::<_, Refusal>(record)
    }
    .await;
    let (response, code) = match outcome {
        Ok(record) => {
            let body = gate::revoked_body(&record);
            let headers = [
                ("content-type", "application/json"),
                ("cache-control", "no-store"),
            ];
            (respond(200, headers, Some(&body))?, None)
        }
        Err(refusal) => (
            problem_with_retry(&refusal, &config.realm, sources.retry_after)?,
            Some(refusal.code()),
        ),
    };
    Ok(Handled {
        response,
        code,
        verified,
        sources: Some(sources),
    })
}
