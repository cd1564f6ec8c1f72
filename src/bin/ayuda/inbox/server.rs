//! The inbox's HTTP side: `POST /messages` and `GET /messages` and their limits (size, rate,
//! CORS), with the owner's page (admin.rs) mounted beside them; it wakes the delivery threads. It never answers 2xx to a message before the store
//! has committed it.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::header::{AUTHORIZATION, CONNECTION, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use ayuda::escalate::{Escalation, Invalid, LaneKind, Line, Problem, ReplyTo, Speaker};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::{GovernorError, GovernorLayer};
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::store::{Row, Saved, Store};
use crate::say::say;

/// Largest request body read; anything longer is refused before it is buffered. The largest
/// valid message (2000 characters plus 40 transcript lines of 2000, up to 4 bytes each in
/// UTF-8, JSON-escaped) stays below it.
const MAX_BODY: usize = 512 * 1024;
/// How long a request's body may take to arrive.
const BODY_TIMEOUT: Duration = Duration::from_secs(20);
/// Burst of requests one address may send before the refill rate applies.
const BURST: u32 = 20;

pub struct Inbox {
    pub store: Arc<Store>,
    pub token: Option<String>,
    /// One sending thread per channel that is on (mail, webhook), woken by each new message.
    pub senders: Vec<super::deliver::Sender>,
    /// Origins besides the inbox's own whose pages may post (set by [`routes`]).
    pub allow_origins: Vec<HeaderValue>,
}

/// The routes with their limits, outermost first: CORS (so even a 429 or 413 is readable by an
/// allowed page, and preflights cost no quota), the body limit and deadline, then the rate
/// limit on what strangers send. A 429 is decided before the body is read, so it never follows
/// a store: nothing answered 2xx is dropped.
pub fn routes(
    mut inbox: Inbox,
    allow_origins: Vec<HeaderValue>,
    per_minute: u32,
    trusted_proxies: Vec<std::net::IpAddr>,
) -> Router {
    inbox.allow_origins = allow_origins.clone();
    // Both are non-zero (the CLI refuses --per-minute 0), so `finish` cannot return None.
    let limit = GovernorConfigBuilder::default()
        .key_extractor(ClientKey {
            trusted: trusted_proxies.into(),
        })
        .period(Duration::from_secs(60) / per_minute)
        .burst_size(BURST)
        .finish()
        .expect("non-zero rate and burst");
    let limiter = limit.limiter().clone();
    // The limiter keeps a cell per address seen; forgetting idle ones bounds its memory.
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_secs(60));
        limiter.retain_recent();
    });
    // The limit counts what strangers can send: messages, and guesses at the owner's token.
    // The owner's own pages are not counted, so reading them never locks the owner out.
    let api = Router::new()
        .route("/messages", post(receive).get(list))
        .merge(super::admin::sign_in())
        .layer(GovernorLayer::new(limit).error_handler(too_many))
        .merge(super::admin::pages())
        .fallback(|| async {
            Failure::new(
                StatusCode::NOT_FOUND,
                "No such path: messages go to /messages.",
            )
        })
        .method_not_allowed_fallback(|| async {
            Failure::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "Use POST /messages to send a message, GET /messages to read them.",
            )
        })
        .with_state(Arc::new(inbox))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        // A body sent a byte at a time cannot hold a connection open for minutes.
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            BODY_TIMEOUT,
        ));
    if allow_origins.is_empty() {
        return api;
    }
    api.layer(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(allow_origins))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                CONTENT_TYPE,
                AUTHORIZATION,
                HeaderName::from_static("idempotency-key"),
            ])
            .expose_headers([RETRY_AFTER])
            .max_age(Duration::from_secs(600)),
    )
}

async fn receive(
    State(inbox): State<Arc<Inbox>>,
    headers: HeaderMap,
    Incoming(message): Incoming,
) -> Result<Response, Failure> {
    if !origin_allowed(&headers, &inbox.allow_origins) {
        return Err(Failure::new(
            StatusCode::FORBIDDEN,
            "Messages are taken from this inbox's own pages and the origins it lists (--allow-origin); this page is neither.",
        ));
    }
    message.check().map_err(Failure::invalid)?;
    // The widget sends its key twice, in the header and the body; they must be one key, or a
    // retry could be taken for another message.
    if let Some(header) = headers.get("idempotency-key") {
        if header.as_bytes() != message.key.as_bytes() {
            return Err(Failure::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "The Idempotency-Key header and the message's key differ; send the same key in both.",
            ));
        }
    }
    let key = message.key.clone();
    let store = inbox.store.clone();
    let saved = blocking(move || store.save(&message, Timestamp::now())).await?;
    Ok(match saved {
        Saved::New(row) => {
            for sender in &inbox.senders {
                sender.wake();
            }
            let body = json!({"stored": key, "id": row.id});
            (StatusCode::CREATED, Json(body)).into_response()
        }
        Saved::Duplicate(id) => Json(json!({"duplicate": key, "id": id})).into_response(),
        Saved::Conflict => {
            return Err(Failure::new(
                StatusCode::CONFLICT,
                format!(
                    "A different message is already stored under the key {key}; \
                     a new message needs a new key."
                ),
            ))
        }
    })
}

async fn list(State(inbox): State<Arc<Inbox>>, headers: HeaderMap) -> Response {
    let Some(token) = &inbox.token else {
        return Failure::new(
            StatusCode::FORBIDDEN,
            "Reading messages over HTTP is off: start the inbox with --token TOKEN \
             (or AYUDA_INBOX_TOKEN) to turn it on.",
        )
        .into_response();
    };
    if !bearer_matches(&headers, token) {
        let failure = Failure::new(
            StatusCode::UNAUTHORIZED,
            "Reading messages needs the header `Authorization: Bearer TOKEN` with the inbox's token.",
        );
        return ([(WWW_AUTHENTICATE, "Bearer")], failure).into_response();
    }
    let store = inbox.store.clone();
    let rows = blocking(move || store.all()?.iter().map(Row::to_json).collect()).await;
    match rows {
        // Visitors' messages: never kept by a browser or a proxy on the way.
        Ok(rows) => (
            [(axum::http::header::CACHE_CONTROL, "no-store")],
            Json::<Vec<Value>>(rows),
        )
            .into_response(),
        Err(failure) => failure.into_response(),
    }
}

/// Whether the request carries `Authorization: Bearer TOKEN` with the inbox's token. The
/// scheme is case-insensitive (RFC 9110, 11.1): "bearer" and "BEARER" are "Bearer".
pub(super) fn bearer_matches(headers: &HeaderMap, token: &str) -> bool {
    let given = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map_or("", |(_, token)| token.trim());
    same_secret(given.as_bytes(), token.as_bytes())
}

/// The client a request counts against for the rate limit: the peer address, or, when the
/// peer is a reverse proxy the owner trusts (--trusted-proxy), the nearest address in
/// `X-Forwarded-For` that is not one (each proxy appends the address it heard from, so the
/// right-most untrusted one is the visitor). From anyone else the header is ignored: a client
/// could write anything there.
#[derive(Clone)]
struct ClientKey {
    trusted: Arc<[std::net::IpAddr]>,
}

impl tower_governor::key_extractor::KeyExtractor for ClientKey {
    type Key = std::net::IpAddr;

    fn extract<T>(&self, req: &axum::http::Request<T>) -> Result<Self::Key, GovernorError> {
        let peer = req
            .extensions()
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip())
            .ok_or(GovernorError::UnableToExtractKey)?;
        if !self.trusted.contains(&peer) {
            return Ok(peer);
        }
        let hops: Vec<std::net::IpAddr> = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|hop| hop.trim().parse().ok())
            .collect();
        Ok(hops
            .into_iter()
            .rev()
            .find(|ip| !self.trusted.contains(ip))
            .unwrap_or(peer))
    }
}

/// A browser names the page's origin on every cross-site POST, forms included (which CORS
/// does not stop): one that is neither this inbox's own host (as the request or a reverse proxy
/// names it) nor listed is refused. No Origin (a script, curl) is a client, not a page.
pub(super) fn origin_allowed(headers: &HeaderMap, allowed: &[HeaderValue]) -> bool {
    let Some(origin) = headers.get(axum::http::header::ORIGIN) else {
        return true;
    };
    if allowed.contains(origin) {
        return true;
    }
    let Some((_, authority)) = origin.to_str().ok().and_then(|o| o.split_once("://")) else {
        return false;
    };
    [
        axum::http::header::HOST,
        HeaderName::from_static("x-forwarded-host"),
    ]
    .iter()
    .filter_map(|h| headers.get(h))
    .any(|host| host.as_bytes().eq_ignore_ascii_case(authority.as_bytes()))
}

/// The hex HMAC-SHA256 of `data` under `key`: the webhook's signatures and the owner's
/// sessions and form tokens.
pub(super) fn hmac_hex(key: &[u8], data: &[u8]) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    hex::encode(mac.finalize().into_bytes())
}

/// Hand-written rather than a crate for one line: every byte is compared whatever the first
/// difference, so the time taken says nothing about how much of a guess was right.
pub(super) fn same_secret(given: &[u8], secret: &[u8]) -> bool {
    let diff = given
        .iter()
        .zip(secret)
        .fold(0u8, |acc, (a, b)| std::hint::black_box(acc | (a ^ b)));
    given.len() == secret.len() && diff == 0
}

/// Runs a store call off the async threads. A failure is logged and answered with a 500 that
/// asks for a resend: the widget keeps its copy on anything but a 2xx.
pub(super) async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> Result<T, Failure> {
    let failed = |err: String| {
        eprintln!(
            "{}",
            say!(en: "ayuda: inbox: {err}", es: "ayuda: buzón: {err}")
        );
        Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The inbox could not reach its storage; nothing was stored, please try again later.",
        )
    };
    match tokio::task::spawn_blocking(call).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => Err(failed(format!("{err:#}"))),
        Err(err) => Err(failed(err.to_string())),
    }
}

fn too_many(err: GovernorError) -> Response {
    let GovernorError::TooManyRequests { wait_time, .. } = err else {
        eprintln!(
            "{}",
            say!(
                en: "ayuda: inbox: rate limiter: {err}",
                es: "ayuda: buzón: límite de peticiones: {err}"
            )
        );
        return Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The rate limiter failed.",
        )
        .into_response();
    };
    // governor rounds the wait down to whole seconds, which is 0 at the usual half-second
    // refill; a client told 0 would retry at once.
    let seconds = wait_time + 1;
    let failure = Failure::new(
        StatusCode::TOO_MANY_REQUESTS,
        format!(
            "Too many requests from your address; try again in {seconds} second{}.",
            if seconds == 1 { "" } else { "s" }
        ),
    );
    // Answered before the body is read, so the connection cannot carry another request: say
    // so, or a client reusing it would find it closed under its next request.
    (
        [
            (RETRY_AFTER, seconds.to_string()),
            (CONNECTION, "close".to_string()),
        ],
        failure,
    )
        .into_response()
}

/// An error answer: `{"error": sentence}`, plus the message's problems when it was invalid.
#[derive(Serialize)]
pub struct Failure {
    #[serde(skip)]
    status: StatusCode,
    error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    problems: Option<Vec<Problem>>,
}

impl Failure {
    fn new(status: StatusCode, error: impl Into<String>) -> Failure {
        Failure {
            status,
            error: error.into(),
            problems: None,
        }
    }

    fn invalid(invalid: Invalid) -> Failure {
        Failure {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            error: invalid.to_string(),
            problems: Some(invalid.0),
        }
    }

    /// axum's rejections already pick the right status (400 syntax, 413 size, 415 type,
    /// 422 fields) and name serde's line and column; only two need plainer words.
    fn rejected(status: StatusCode, text: String) -> Failure {
        let error = match status {
            StatusCode::PAYLOAD_TOO_LARGE => {
                format!("The message is larger than {} KiB.", MAX_BODY / 1024)
            }
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "Send the message with Content-Type \
                application/json (or application/x-www-form-urlencoded)."
                .to_string(),
            _ => text,
        };
        Failure::new(status, error)
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (self.status, Json(&self)).into_response()
    }
}

/// A message as it arrives, as JSON or as form fields (for owners whose widget posts to a
/// form backend and who point a copy at this inbox).
struct Incoming(Escalation);

impl<S: Send + Sync> FromRequest<S> for Incoming {
    type Rejection = Failure;

    async fn from_request(req: Request, state: &S) -> Result<Self, Failure> {
        let form = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                v.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if form {
            let Form(fields) = Form::<FormFields>::from_request(req, state)
                .await
                .map_err(|r| Failure::rejected(r.status(), r.body_text()))?;
            fields.into_escalation().map(Incoming)
        } else {
            let Json(message) = Json::<Escalation>::from_request(req, state)
                .await
                .map_err(|r| Failure::rejected(r.status(), r.body_text()))?;
            Ok(Incoming(message))
        }
    }
}

/// The fields of [`Escalation::form_fields`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FormFields {
    key: String,
    message: String,
    email: Option<String>,
    phone: Option<String>,
    lane: LaneKind,
    lang: Option<String>,
    transcript: Option<String>,
    written_at: Timestamp,
}

impl FormFields {
    fn into_escalation(self) -> Result<Escalation, Failure> {
        let unprocessable = |error: &str| Failure::new(StatusCode::UNPROCESSABLE_ENTITY, error);
        let reply_to = match (self.email, self.phone) {
            (Some(email), None) => ReplyTo::Email(email),
            (None, Some(phone)) => ReplyTo::Phone(phone),
            // Left empty so `check` reports it together with any other problem.
            (None, None) => ReplyTo::Email(String::new()),
            (Some(_), Some(_)) => return Err(unprocessable("Give an email or a phone, not both.")),
        };
        let transcript = match self.transcript {
            Some(text) => Some(parse_transcript(&text).ok_or_else(|| {
                unprocessable("transcript: each turn starts with \"visitor: \" or \"assistant: \".")
            })?),
            None => None,
        };
        Ok(Escalation {
            key: self.key,
            message: self.message,
            reply_to,
            lane: self.lane,
            lang: self.lang,
            transcript,
            written_at: self.written_at,
        })
    }
}

/// The inverse of `transcript_text`: a line that starts no turn continues the one before, since
/// a turn's own line breaks are kept as they are.
fn parse_transcript(text: &str) -> Option<Vec<Line>> {
    let mut lines: Vec<Line> = Vec::new();
    if text.is_empty() {
        return Some(lines);
    }
    for part in text.split('\n') {
        let turn = [
            ("visitor: ", Speaker::Visitor),
            ("assistant: ", Speaker::Assistant),
        ]
        .into_iter()
        .find_map(|(prefix, from)| part.strip_prefix(prefix).map(|text| (from, text)));
        match (turn, lines.last_mut()) {
            (Some((from, text)), _) => lines.push(Line {
                from,
                text: text.to_string(),
            }),
            (None, Some(last)) => {
                last.text.push('\n');
                last.text.push_str(part);
            }
            (None, None) => return None,
        }
    }
    Some(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ayuda::escalate::transcript_text;

    #[test]
    fn form_transcripts_read_back_with_their_line_breaks() {
        let lines = vec![
            Line {
                from: Speaker::Visitor,
                text: "first\nsecond".into(),
            },
            Line {
                from: Speaker::Assistant,
                text: String::new(),
            },
        ];
        assert_eq!(parse_transcript(&transcript_text(&lines)), Some(lines));
        assert_eq!(parse_transcript("hello"), None);
    }

    #[test]
    fn secrets_match_only_exactly() {
        assert!(same_secret(b"s3cret", b"s3cret"));
        assert!(!same_secret(b"s3cre", b"s3cret"));
        assert!(!same_secret(b"s3cret!", b"s3cret"));
        assert!(!same_secret(b"", b"s3cret"));
    }
}
