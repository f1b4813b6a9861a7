//! Revocation without I/O: the records, the Durable Object's log ([`RevocationLog`]: what it stores,
//! what it answers) and an isolate's copy of it ([`RevocationView`]: synced by deltas, checked on every
//! request). The adapters move the wire text and the storage entries; every rule is here.
//!
//! The wire between an isolate and the object (one object per issuer):
//! - `GET /sync?epoch=E&since=N` → `{"epoch","seq","full","records":[{"seq","kind","iss","value","at","until"}]}`:
//!   the records after `N`, or every live record (`full`) when the epoch differs (a new object) or `N` is
//!   ahead of it.
//! - `POST /revoke` `{"max_entries","records":[…],"logout":{"iss","jti","until"}|null}` → `200
//!   {"epoch","seq"}`, `409 {"error":"logout_token_replayed"}`, `507 {"error":"revocation_store_full"}`.
//!
//! Records are only added (a repeated one extends its `until`) and forgotten when their `until` passes;
//! nothing is ever un-revoked, so a delta never has to carry a removal.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::claims::RegisteredClaims;
use crate::json::{parse_object, push_json_str, JsonObject};

/// The longest `iss`, `value` or logout `jti` a record holds (bytes). Keeps storage keys bounded.
pub const MAX_RECORD_VALUE: usize = 512;

/// What a record revokes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RevocationKind {
    /// One token, by its `jti`.
    Jti,
    /// Every token of one session, by its `sid` (OIDC).
    Sid,
    /// Every token of one subject issued at or before the record's `at`.
    Sub,
}

impl RevocationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationKind::Jti => "jti",
            RevocationKind::Sid => "sid",
            RevocationKind::Sub => "sub",
        }
    }

    pub fn parse(text: &str) -> Option<RevocationKind> {
        match text {
            "jti" => Some(RevocationKind::Jti),
            "sid" => Some(RevocationKind::Sid),
            "sub" => Some(RevocationKind::Sub),
            _ => None,
        }
    }
}

/// One revocation: tokens of `iss` whose `kind` claim equals `value` are refused until `until` (unix
/// seconds); for [`RevocationKind::Sub`] only those issued at or before `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationRecord {
    pub kind: RevocationKind,
    pub iss: String,
    pub value: String,
    pub at: u64,
    pub until: u64,
}

impl RevocationRecord {
    /// The record as JSON object text (the wire and the storage form).
    pub fn to_json(&self) -> String {
        self.write_json(None)
    }

    /// The record's JSON object, with its sequence number on the sync wire. Members in serde_json's
    /// (sorted) order: the bytes a `Value` of the same members gives.
    fn write_json(&self, seq: Option<u64>) -> String {
        let object = JsonObject::new()
            .uint("at", self.at)
            .str("iss", &self.iss)
            .str("kind", self.kind.as_str());
        let object = match seq {
            Some(seq) => object.uint("seq", seq),
            None => object,
        };
        object
            .uint("until", self.until)
            .str("value", &self.value)
            .finish()
    }

    fn from_json(value: &Value) -> Result<RevocationRecord, WireError> {
        let object = value.as_object().ok_or(WireError)?;
        let kind = object
            .get("kind")
            .and_then(Value::as_str)
            .and_then(RevocationKind::parse)
            .ok_or(WireError)?;
        let record = RevocationRecord {
            kind,
            iss: bounded_str(object, "iss")?,
            value: bounded_str(object, "value")?,
            at: uint(object, "at")?,
            until: uint(object, "until")?,
        };
        Ok(record)
    }

    /// What makes two records the same revocation (kind, issuer, value), as one string: the log's
    /// maps are keyed by `String`, the map type the isolate's copy uses too (one copy of its code).
    fn index_key(&self) -> String {
        // The issuer's length first: no two (iss, value) pairs give the same key.
        format!(
            "{}:{}:{}{}",
            self.kind.as_str(),
            self.iss.len(),
            self.iss,
            self.value
        )
    }
}

/// A logout token seen by the object: a second one with the same `iss` and `jti` is a replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenLogout {
    pub iss: String,
    pub jti: String,
    /// Remembered until then (the logout token's `exp`): after it the token is refused as expired.
    pub until: u64,
}

impl SeenLogout {
    /// The wire and the storage form.
    fn to_json(&self) -> String {
        JsonObject::new()
            .str("iss", &self.iss)
            .str("jti", &self.jti)
            .uint("until", self.until)
            .finish()
    }
}

/// A malformed message between the Worker and its object (or a damaged storage entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireError;

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("malformed revocation message")
    }
}

fn bounded_str(object: &Map<String, Value>, name: &str) -> Result<String, WireError> {
    match object.get(name) {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= MAX_RECORD_VALUE => Ok(s.clone()),
        _ => Err(WireError),
    }
}

/// The `records` array of a `/revoke` request or a `/sync` answer, every record read.
fn records(object: &Map<String, Value>) -> Result<Vec<RevocationRecord>, WireError> {
    object
        .get("records")
        .and_then(Value::as_array)
        .ok_or(WireError)?
        .iter()
        .map(RevocationRecord::from_json)
        .collect()
}

fn uint(object: &Map<String, Value>, name: &str) -> Result<u64, WireError> {
    object.get(name).and_then(Value::as_u64).ok_or(WireError)
}

/// The request body of `POST /revoke` (built by the Worker, read by the object).
pub fn revoke_body(
    records: &[RevocationRecord],
    logout: Option<&SeenLogout>,
    max_entries: usize,
) -> String {
    let logout = logout.map(SeenLogout::to_json);
    JsonObject::new()
        .raw("logout", logout.as_deref().unwrap_or("null"))
        .uint("max_entries", max_entries as u64)
        .raw(
            "records",
            &json_array(records.iter().map(RevocationRecord::to_json)),
        )
        .finish()
}

/// `[a,b,…]` of JSON texts.
fn json_array(items: impl Iterator<Item = String>) -> String {
    let mut out = String::from("[");
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&item);
    }
    out.push(']');
    out
}

/// What the object answered to `POST /revoke`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokeOutcome {
    /// Stored; the object's sequence number after it.
    Stored { seq: u64 },
    /// The logout token's `jti` was seen before.
    Replayed,
    /// The object holds `max_entries` live records already.
    Full,
}

/// Reads the object's answer to `POST /revoke`; anything unexpected is an error (the caller fails
/// closed).
pub fn read_revoke_answer(status: u16, body: &str) -> Result<RevokeOutcome, WireError> {
    let object = parse_object(body.as_bytes()).map_err(|_| WireError)?;
    match (status, object.get("error").and_then(Value::as_str)) {
        (200, None) => Ok(RevokeOutcome::Stored {
            seq: uint(&object, "seq")?,
        }),
        (409, Some("logout_token_replayed")) => Ok(RevokeOutcome::Replayed),
        (507, Some("revocation_store_full")) => Ok(RevokeOutcome::Full),
        _ => Err(WireError),
    }
}

/// The object's answer to one request, and the storage writes to make before sending it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogAnswer {
    pub status: u16,
    pub body: String,
    /// Storage entries to write (key, value).
    pub put: Vec<(String, String)>,
    /// Storage keys to delete.
    pub delete: Vec<String>,
}

const META_KEY: &str = "meta";
const RECORD_PREFIX: &str = "r:";
const LOGOUT_PREFIX: &str = "l:";

fn record_key(seq: u64) -> String {
    // Zero-padded: storage lists keys in order, so records come back in sequence order.
    format!("{RECORD_PREFIX}{seq:020}")
}

fn logout_key(iss: &str, jti: &str) -> String {
    // `l:["iss","jti"]`.
    let mut key = String::from(LOGOUT_PREFIX);
    key.push('[');
    push_json_str(&mut key, iss);
    key.push(',');
    push_json_str(&mut key, jti);
    key.push(']');
    key
}

/// The Durable Object's state for one issuer: the live records by sequence number, the seen logout
/// tokens, and an epoch naming this object's history (an isolate that synced from another history
/// starts over).
#[derive(Debug, Clone, Default)]
pub struct RevocationLog {
    epoch: String,
    seq: u64,
    /// Live records in sequence order. A sorted `Vec`, not a `BTreeMap`: records are appended with
    /// growing numbers, and the tree's code was about 2 KiB of the Worker's gzip.
    records: Vec<(u64, RevocationRecord)>,
    /// [`RevocationRecord::index_key`] → seq, for repeats.
    index: HashMap<String, u64>,
    /// [`logout_key`] → until.
    logouts: HashMap<String, u64>,
}

impl RevocationLog {
    /// From every stored (key, value) pair; `epoch` is used (and stored by the first write) when none is
    /// stored. A damaged entry is skipped: the log refuses nothing it cannot read back, and a record
    /// lost that way is the only thing lost.
    pub fn restore<'a>(
        entries: impl IntoIterator<Item = (&'a str, &'a str)>,
        epoch: &str,
    ) -> RevocationLog {
        let mut log = RevocationLog {
            epoch: epoch.to_owned(),
            ..RevocationLog::default()
        };
        for (key, value) in entries {
            let Ok(object) = parse_object(value.as_bytes()) else {
                continue;
            };
            if key == META_KEY {
                if let (Some(epoch), Ok(seq)) = (
                    object.get("epoch").and_then(Value::as_str),
                    uint(&object, "seq"),
                ) {
                    epoch.clone_into(&mut log.epoch);
                    log.seq = log.seq.max(seq);
                }
            } else if let Some(seq) = key.strip_prefix(RECORD_PREFIX) {
                let (Ok(seq), Ok(record)) = (
                    seq.parse::<u64>(),
                    RevocationRecord::from_json(&Value::Object(object)),
                ) else {
                    continue;
                };
                log.seq = log.seq.max(seq);
                log.insert(seq, record);
            } else if key.starts_with(LOGOUT_PREFIX) {
                if let (Ok(iss), Ok(jti), Ok(until)) = (
                    bounded_str(&object, "iss"),
                    bounded_str(&object, "jti"),
                    uint(&object, "until"),
                ) {
                    log.logouts.insert(logout_key(&iss, &jti), until);
                }
            }
        }
        log
    }

    fn insert(&mut self, seq: u64, record: RevocationRecord) {
        let key = record.index_key();
        match self.index.get(&key) {
            // The same revocation stored later (only a damaged history has both): that one stands.
            Some(&newer) if newer > seq => return,
            Some(&old) => self.records.retain(|(s, _)| *s != old),
            None => {}
        }
        self.index.insert(key, seq);
        // Storage lists keys in order, so a restore appends too; anything else still lands in order.
        let at = self.records.partition_point(|(s, _)| *s < seq);
        self.records.insert(at, (seq, record));
    }

    fn record(&self, seq: u64) -> Option<&RevocationRecord> {
        let at = self.records.binary_search_by_key(&seq, |(s, _)| *s).ok()?;
        self.records.get(at).map(|(_, record)| record)
    }

    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Live records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Forgets records and seen logout tokens whose time has passed; returns the storage keys to delete.
    fn prune(&mut self, now: u64) -> Vec<String> {
        let mut delete = Vec::new();
        let index = &mut self.index;
        self.records.retain(|(seq, record)| {
            let keep = record.until > now;
            if !keep {
                index.remove(&record.index_key());
                delete.push(record_key(*seq));
            }
            keep
        });
        self.logouts.retain(|key, until| {
            let keep = *until > now;
            if !keep {
                delete.push(key.clone());
            }
            keep
        });
        delete
    }

    /// One request: `method`, the URL's path and query, the body; `now` in unix seconds.
    pub fn handle(
        &mut self,
        method: &str,
        path_and_query: &str,
        body: &str,
        now: u64,
    ) -> LogAnswer {
        let delete = self.prune(now);
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let mut answer = match (method, path) {
            ("GET", "/sync") => self.sync(query),
            ("POST", "/revoke") => self.revoke(body, now),
            _ => answer(404, r#"{"error":"not_found"}"#.to_owned()),
        };
        answer.delete.extend(delete);
        answer
    }

    fn sync(&self, query: &str) -> LogAnswer {
        let mut epoch = None;
        let mut since = None;
        for pair in query.split('&') {
            match pair.split_once('=') {
                Some(("epoch", value)) => epoch = Some(value),
                Some(("since", value)) => since = value.parse::<u64>().ok(),
                _ => {}
            }
        }
        let full = epoch != Some(self.epoch.as_str()) || since.is_none_or(|s| s > self.seq);
        let after = if full { 0 } else { since.unwrap_or(0) };
        let from = self.records.partition_point(|(seq, _)| *seq <= after);
        let records = json_array(
            self.records
                .get(from..)
                .unwrap_or_default()
                .iter()
                .map(|(seq, record)| record.write_json(Some(*seq))),
        );
        let body = JsonObject::new()
            .str("epoch", &self.epoch)
            .raw("full", if full { "true" } else { "false" })
            .raw("records", &records)
            .uint("seq", self.seq)
            .finish();
        answer(200, body)
    }

    fn revoke(&mut self, body: &str, now: u64) -> LogAnswer {
        let Ok(request) = read_revoke_request(body) else {
            return answer(400, r#"{"error":"revoke_request_invalid"}"#.to_owned());
        };
        if let Some(logout) = &request.logout {
            if self
                .logouts
                .contains_key(&logout_key(&logout.iss, &logout.jti))
            {
                return answer(409, r#"{"error":"logout_token_replayed"}"#.to_owned());
            }
        }
        // Records already expired are not stored; repeats replace their old entry.
        let fresh: Vec<&RevocationRecord> =
            request.records.iter().filter(|r| r.until > now).collect();
        let new = fresh
            .iter()
            .filter(|r| !self.index.contains_key(&r.index_key()))
            .count();
        if self.records.len() + new > request.max_entries
            || (request.logout.is_some() && self.logouts.len() >= request.max_entries)
        {
            return answer(507, r#"{"error":"revocation_store_full"}"#.to_owned());
        }
        let mut put = Vec::new();
        let mut delete = Vec::new();
        for record in fresh {
            let mut record = record.clone();
            if let Some(&old) = self.index.get(&record.index_key()) {
                // A repeat: kept as long as the longer of the two asks, and as of the later revocation.
                if let Some(previous) = self.record(old) {
                    record.until = record.until.max(previous.until);
                    record.at = record.at.max(previous.at);
                }
                delete.push(record_key(old));
            }
            self.seq += 1;
            put.push((record_key(self.seq), record.to_json()));
            self.insert(self.seq, record);
        }
        if let Some(logout) = request.logout {
            put.push((logout_key(&logout.iss, &logout.jti), logout.to_json()));
            self.logouts
                .insert(logout_key(&logout.iss, &logout.jti), logout.until);
        }
        let meta = JsonObject::new()
            .str("epoch", &self.epoch)
            .uint("seq", self.seq)
            .finish();
        put.push((META_KEY.to_owned(), meta.clone()));
        LogAnswer {
            delete,
            put,
            ..answer(200, meta)
        }
    }
}

fn answer(status: u16, body: String) -> LogAnswer {
    LogAnswer {
        status,
        body,
        put: Vec::new(),
        delete: Vec::new(),
    }
}

struct RevokeRequest {
    max_entries: usize,
    records: Vec<RevocationRecord>,
    logout: Option<SeenLogout>,
}

fn read_revoke_request(body: &str) -> Result<RevokeRequest, WireError> {
    let object = parse_object(body.as_bytes()).map_err(|_| WireError)?;
    let max_entries = usize::try_from(uint(&object, "max_entries")?).map_err(|_| WireError)?;
    let records = records(&object)?;
    let logout = match object.get("logout") {
        None | Some(Value::Null) => None,
        Some(Value::Object(logout)) => Some(SeenLogout {
            iss: bounded_str(logout, "iss")?,
            jti: bounded_str(logout, "jti")?,
            until: uint(logout, "until")?,
        }),
        Some(_) => return Err(WireError),
    };
    Ok(RevokeRequest {
        max_entries,
        records,
        logout,
    })
}

/// What revoked a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revoked {
    pub kind: RevocationKind,
}

/// An isolate's copy of one issuer's revocation log, synced by deltas and checked on every request.
#[derive(Debug, Clone, Default)]
pub struct RevocationView {
    epoch: String,
    seq: u64,
    /// When the last sync succeeded (unix seconds); `None`: never.
    synced_at: Option<u64>,
    /// value → until.
    jti: HashMap<String, u64>,
    sid: HashMap<String, u64>,
    /// value → (at, until).
    sub: HashMap<String, (u64, u64)>,
}

impl RevocationView {
    pub fn new() -> RevocationView {
        RevocationView::default()
    }

    /// The object path to ask for what changed since this copy.
    pub fn sync_path(&self) -> String {
        let mut epoch = String::new();
        // The epoch is the object's own hex; anything else is escaped away rather than trusted.
        epoch.extend(self.epoch.chars().filter(char::is_ascii_alphanumeric));
        format!("/sync?epoch={epoch}&since={}", self.seq)
    }

    /// Whether this copy was synced less than `cache_seconds` ago.
    pub fn is_fresh(&self, now: u64, cache_seconds: u64) -> bool {
        self.synced_at
            .is_some_and(|at| now >= at && now - at < cache_seconds)
    }

    /// When this copy was last synced (unix seconds).
    pub fn synced_at(&self) -> Option<u64> {
        self.synced_at
    }

    /// Applies the object's answer to [`sync_path`](Self::sync_path). On an error the copy is unchanged.
    pub fn apply_sync(&mut self, body: &str, now: u64) -> Result<(), WireError> {
        let object = parse_object(body.as_bytes()).map_err(|_| WireError)?;
        let epoch = object
            .get("epoch")
            .and_then(Value::as_str)
            .ok_or(WireError)?;
        let seq = uint(&object, "seq")?;
        let full = object
            .get("full")
            .and_then(Value::as_bool)
            .ok_or(WireError)?;
        let records = records(&object)?;
        if !full && epoch != self.epoch {
            return Err(WireError);
        }
        if full {
            *self = RevocationView::default();
        }
        epoch.clone_into(&mut self.epoch);
        self.seq = seq;
        self.synced_at = Some(now);
        for record in records {
            self.learn(record);
        }
        self.forget(now);
        Ok(())
    }

    /// Adds a record this isolate wrote itself (effective here before the next sync brings it back).
    pub fn learn(&mut self, record: RevocationRecord) {
        let RevocationRecord {
            kind,
            value,
            at,
            until,
            ..
        } = record;
        match kind {
            RevocationKind::Jti => {
                let entry = self.jti.entry(value).or_insert(until);
                *entry = (*entry).max(until);
            }
            RevocationKind::Sid => {
                let entry = self.sid.entry(value).or_insert(until);
                *entry = (*entry).max(until);
            }
            RevocationKind::Sub => {
                let entry = self.sub.entry(value).or_insert((at, until));
                *entry = (entry.0.max(at), entry.1.max(until));
            }
        }
    }

    fn forget(&mut self, now: u64) {
        self.jti.retain(|_, until| *until > now);
        self.sid.retain(|_, until| *until > now);
        self.sub.retain(|_, (_, until)| *until > now);
    }

    /// Live records in this copy.
    pub fn len(&self) -> usize {
        self.jti.len() + self.sid.len() + self.sub.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a verified token (its registered claims and its `sid`) is revoked at `now`. A `sub`
    /// record refuses the subject's tokens issued at or before the record's `at`, and those without
    /// `iat` (nothing shows they are newer).
    pub fn check(
        &self,
        registered: &RegisteredClaims,
        sid: Option<&str>,
        now: u64,
    ) -> Result<(), Revoked> {
        let live = |until: &u64| *until > now;
        if let Some(jti) = &registered.jti {
            if self.jti.get(jti).is_some_and(live) {
                return Err(Revoked {
                    kind: RevocationKind::Jti,
                });
            }
        }
        if let Some(sid) = sid {
            if self.sid.get(sid).is_some_and(live) {
                return Err(Revoked {
                    kind: RevocationKind::Sid,
                });
            }
        }
        if let Some(sub) = &registered.sub {
            if let Some(&(at, until)) = self.sub.get(sub) {
                let issued_before = registered
                    .iat
                    .is_none_or(|iat| i128::from(iat) <= i128::from(at));
                if until > now && issued_before {
                    return Err(Revoked {
                        kind: RevocationKind::Sub,
                    });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic,
        reason = "tests: a panic is a test failure"
    )]

    use std::collections::BTreeMap;

    use super::*;

    fn record(kind: RevocationKind, value: &str, at: u64, until: u64) -> RevocationRecord {
        RevocationRecord {
            kind,
            iss: "https://idp.example/".into(),
            value: value.into(),
            at,
            until,
        }
    }

    fn claims(sub: Option<&str>, jti: Option<&str>, iat: Option<i64>) -> RegisteredClaims {
        RegisteredClaims {
            iss: Some("https://idp.example/".into()),
            sub: sub.map(Into::into),
            aud: vec![],
            exp: None,
            nbf: None,
            iat,
            jti: jti.map(Into::into),
        }
    }

    /// Applies an answer's writes to a map standing in for the object's storage.
    fn persist(storage: &mut BTreeMap<String, String>, answer: &LogAnswer) {
        for key in &answer.delete {
            storage.remove(key);
        }
        for (key, value) in &answer.put {
            storage.insert(key.clone(), value.clone());
        }
    }

    fn revoke(
        log: &mut RevocationLog,
        records: &[RevocationRecord],
        logout: Option<&SeenLogout>,
        max: usize,
        now: u64,
    ) -> LogAnswer {
        log.handle("POST", "/revoke", &revoke_body(records, logout, max), now)
    }

    #[test]
    fn revoke_sync_check_round_trip() {
        let mut storage = BTreeMap::new();
        let mut log = RevocationLog::restore([], "e1");
        let mut view = RevocationView::new();
        let sync = |log: &mut RevocationLog,
                    view: &mut RevocationView,
                    storage: &mut BTreeMap<String, String>,
                    now| {
            let answer = log.handle("GET", &view.sync_path(), "", now);
            persist(storage, &answer);
            assert_eq!(answer.status, 200);
            view.apply_sync(&answer.body, now).unwrap();
        };
        sync(&mut log, &mut view, &mut storage, 100);
        assert!(view.is_empty());
        let t = claims(Some("alice"), Some("t1"), Some(90));
        assert_eq!(view.check(&t, Some("s1"), 100), Ok(()));

        for (kind, value) in [
            (RevocationKind::Jti, "t1"),
            (RevocationKind::Sid, "s1"),
            (RevocationKind::Sub, "alice"),
        ] {
            let mut log = RevocationLog::restore([], "e1");
            let mut view = RevocationView::new();
            let answer = revoke(&mut log, &[record(kind, value, 100, 200)], None, 10, 100);
            assert_eq!(
                read_revoke_answer(answer.status, &answer.body),
                Ok(RevokeOutcome::Stored { seq: 1 })
            );
            let answer = log.handle("GET", &view.sync_path(), "", 101);
            view.apply_sync(&answer.body, 101).unwrap();
            assert_eq!(
                view.check(&t, Some("s1"), 101),
                Err(Revoked { kind }),
                "{kind:?}"
            );
            // Other tokens pass.
            let other = claims(Some("bob"), Some("t2"), Some(90));
            assert_eq!(view.check(&other, Some("s2"), 101), Ok(()));
            // Expired records are forgotten, in the view and in the log.
            assert_eq!(view.check(&t, Some("s1"), 200), Ok(()));
            let answer = log.handle("GET", "/sync?epoch=e1&since=0", "", 200);
            assert_eq!(answer.delete, [record_key(1)]);
            assert!(log.is_empty());
        }
    }

    #[test]
    fn sub_records_refuse_only_tokens_issued_up_to_their_time() {
        let mut view = RevocationView::new();
        view.learn(record(RevocationKind::Sub, "alice", 100, 1000));
        for (iat, revoked) in [
            (Some(99), true),
            (Some(100), true),
            (Some(101), false),
            (None, true),
        ] {
            let t = claims(Some("alice"), None, iat);
            assert_eq!(view.check(&t, None, 150).is_err(), revoked, "iat {iat:?}");
        }
    }

    #[test]
    fn deltas_and_epochs() {
        let mut log = RevocationLog::restore([], "e1");
        revoke(
            &mut log,
            &[record(RevocationKind::Jti, "a", 1, 100)],
            None,
            10,
            1,
        );
        revoke(
            &mut log,
            &[record(RevocationKind::Jti, "b", 1, 100)],
            None,
            10,
            1,
        );
        let body = |q: &str| -> Value {
            serde_json::from_str(&log.clone().handle("GET", q, "", 2).body).unwrap()
        };
        let delta = body("/sync?epoch=e1&since=1");
        assert_eq!(delta["full"], false);
        assert_eq!(delta["records"].as_array().unwrap().len(), 1);
        assert_eq!(delta["records"][0]["value"], "b");
        // Another epoch, or a `since` ahead of the log: everything.
        for q in ["/sync?epoch=e0&since=1", "/sync?epoch=e1&since=9", "/sync"] {
            let all = body(q);
            assert_eq!(all["full"], true, "{q}");
            assert_eq!(all["records"].as_array().unwrap().len(), 2, "{q}");
        }
        // A view that synced from another epoch starts over.
        let mut view = RevocationView::new();
        view.learn(record(RevocationKind::Jti, "stale", 1, 100));
        view.apply_sync(&log.handle("GET", &view.sync_path(), "", 2).body, 2)
            .unwrap();
        assert_eq!(view.len(), 2);
        assert!(view
            .check(&claims(None, Some("stale"), None), None, 2)
            .is_ok());
        // A delta from another epoch is refused.
        let mut other = RevocationView::new();
        other
            .apply_sync(r#"{"epoch":"x","seq":0,"full":true,"records":[]}"#, 2)
            .unwrap();
        assert_eq!(
            other.apply_sync(r#"{"epoch":"y","seq":3,"full":false,"records":[]}"#, 2),
            Err(WireError)
        );
    }

    #[test]
    fn storage_restores_the_same_log() {
        let mut storage = BTreeMap::new();
        let mut log = RevocationLog::restore([], "e1");
        let logout = SeenLogout {
            iss: "https://idp.example/".into(),
            jti: "L1".into(),
            until: 50,
        };
        persist(
            &mut storage,
            &revoke(
                &mut log,
                &[record(RevocationKind::Sid, "s1", 1, 100)],
                Some(&logout),
                10,
                1,
            ),
        );
        persist(
            &mut storage,
            &revoke(
                &mut log,
                &[record(RevocationKind::Sub, "u", 1, 100)],
                None,
                10,
                1,
            ),
        );
        let entries = storage.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        let mut restored = RevocationLog::restore(entries, "ignored");
        assert_eq!(restored.epoch(), "e1");
        assert_eq!(restored.seq(), 2);
        assert_eq!(restored.len(), 2);
        // The seen logout survives a restart.
        let again = revoke(&mut restored, &[], Some(&logout), 10, 2);
        assert_eq!(
            read_revoke_answer(again.status, &again.body),
            Ok(RevokeOutcome::Replayed)
        );
        // A damaged entry is skipped.
        storage.insert(record_key(7), "{".into());
        let entries = storage.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        assert_eq!(RevocationLog::restore(entries, "x").len(), 2);
    }

    #[test]
    fn restore_keeps_sequence_order_and_one_record_per_revocation() {
        let stored = |r: &RevocationRecord| r.to_json().to_string();
        let a = record(RevocationKind::Sid, "a", 1, 100);
        let b = record(RevocationKind::Jti, "b", 1, 100);
        let a_again = RevocationRecord {
            until: 200,
            ..a.clone()
        };
        // Out of key order, and the same revocation twice (the later sequence number wins).
        let entries = [
            (record_key(3), stored(&a_again)),
            (record_key(2), stored(&b)),
            (record_key(1), stored(&a)),
        ];
        let mut log =
            RevocationLog::restore(entries.iter().map(|(k, v)| (k.as_str(), v.as_str())), "e");
        assert_eq!(log.len(), 2);
        let all: Value = serde_json::from_str(&log.handle("GET", "/sync", "", 2).body).unwrap();
        let seqs: Vec<u64> = all["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["seq"].as_u64().unwrap())
            .collect();
        assert_eq!(seqs, [2, 3]);
        assert_eq!(all["records"][1]["until"], 200);
        let delta: Value =
            serde_json::from_str(&log.handle("GET", "/sync?epoch=e&since=2", "", 2).body).unwrap();
        assert_eq!(delta["records"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn the_cap_and_repeats() {
        let mut log = RevocationLog::restore([], "e1");
        let a = record(RevocationKind::Jti, "a", 1, 100);
        let b = record(RevocationKind::Jti, "b", 1, 100);
        let c = record(RevocationKind::Jti, "c", 1, 100);
        for r in [&a, &b] {
            let answer = revoke(&mut log, std::slice::from_ref(r), None, 2, 1);
            assert_eq!(answer.status, 200);
        }
        let full = revoke(&mut log, std::slice::from_ref(&c), None, 2, 1);
        assert_eq!(
            read_revoke_answer(full.status, &full.body),
            Ok(RevokeOutcome::Full)
        );
        assert!(full.put.is_empty());
        // A repeat takes no new room and keeps the longer life.
        let longer = RevocationRecord {
            until: 300,
            ..a.clone()
        };
        let repeat = revoke(&mut log, &[longer], None, 2, 1);
        assert_eq!(repeat.status, 200);
        assert_eq!(repeat.delete, [record_key(1)]);
        assert_eq!(log.len(), 2);
        // Once records expire, there is room again.
        let later = revoke(
            &mut log,
            &[RevocationRecord { until: 400, ..c }],
            None,
            2,
            150,
        );
        assert_eq!(later.status, 200);
        assert!(later.delete.contains(&record_key(2)));
        // Already-expired records are not stored.
        let past = revoke(
            &mut log,
            &[record(RevocationKind::Sid, "old", 1, 10)],
            None,
            2,
            150,
        );
        assert_eq!(past.status, 200);
        assert_eq!(log.len(), 2);
    }

    #[test]
    fn malformed_messages_are_refused() {
        let mut log = RevocationLog::restore([], "e1");
        for body in [
            "",
            "[]",
            r#"{"records":[]}"#,
            r#"{"max_entries":1,"records":[{"kind":"aud","iss":"i","value":"v","at":1,"until":2}]}"#,
            r#"{"max_entries":1,"records":[{"kind":"jti","iss":"","value":"v","at":1,"until":2}]}"#,
            r#"{"max_entries":1,"records":[],"logout":7}"#,
            r#"{"max_entries":1,"max_entries":2,"records":[]}"#,
        ] {
            let answer = log.handle("POST", "/revoke", body, 1);
            assert_eq!(answer.status, 400, "{body}");
            assert!(answer.put.is_empty());
        }
        assert_eq!(log.handle("DELETE", "/revoke", "", 1).status, 404);
        let long = "x".repeat(MAX_RECORD_VALUE + 1);
        let answer = revoke(
            &mut log,
            &[record(RevocationKind::Sid, &long, 1, 9)],
            None,
            9,
            1,
        );
        assert_eq!(answer.status, 400);
        for (status, body) in [
            (200, "{}"),
            (500, r#"{"error":"x"}"#),
            (409, r#"{"error":"revocation_store_full"}"#),
            (200, "nope"),
        ] {
            assert_eq!(
                read_revoke_answer(status, body),
                Err(WireError),
                "{status} {body}"
            );
        }
        let mut view = RevocationView::new();
        for body in [
            "",
            "{}",
            r#"{"epoch":"e","seq":1,"full":true,"records":[{}]}"#,
            r#"{"epoch":"e","seq":-1,"full":true,"records":[]}"#,
        ] {
            assert_eq!(view.apply_sync(body, 1), Err(WireError), "{body}");
        }
        assert_eq!(view.synced_at(), None);
    }

    #[test]
    fn freshness() {
        let mut view = RevocationView::new();
        assert!(!view.is_fresh(10, 5));
        view.apply_sync(r#"{"epoch":"e","seq":0,"full":true,"records":[]}"#, 10)
            .unwrap();
        assert!(view.is_fresh(10, 5));
        assert!(view.is_fresh(14, 5));
        assert!(!view.is_fresh(15, 5));
        assert!(
            !view.is_fresh(10, 0),
            "cache_seconds = 0: read the object on every request"
        );
        assert!(
            !view.is_fresh(9, 5),
            "a clock that went back is not trusted"
        );
    }
}
