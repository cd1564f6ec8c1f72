//! The owner's page at `/admin/`: the visitors' messages, those waiting first (urgent ones on
//! top, then newest), then the handled ones; mark handled or not, reply by mail or phone; in
//! Spanish or English. Plain HTML forms: it reads and acts without JavaScript, and loads
//! nothing from elsewhere (its one stylesheet is its own).
//!
//! Only the owner gets in. The inbox's token, typed once into the login form, becomes a
//! cookie (HttpOnly, SameSite=Strict, Secure off loopback, for 12 hours) that carries no
//! secret: an expiry and an HMAC of it keyed by the token, so changing the token signs
//! everyone out. Visitors never get a cookie: only a right token sets one. Every action is a
//! POST that must come from this page's own origin and carry a form token tied to the
//! session, so no other site (nor another port of the same host) can act for the owner.
//! It never shows a visitor's words as markup: maud escapes every value.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::header::{
    ACCEPT_LANGUAGE, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE, HOST, LOCATION,
    REFERRER_POLICY, SET_COOKIE, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use ayuda::escalate::{Escalation, LaneKind, ReplyTo, Speaker};
use jiff::Timestamp;
use maud::{html, Markup, DOCTYPE};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Deserialize;

use super::server::{bearer_matches, blocking, hmac_hex, origin_allowed, same_secret, Inbox};
use super::store::{Delivery, Row};

/// How long a sign-in lasts.
const SESSION: Duration = Duration::from_secs(12 * 3600);
const COOKIE_NAME: &str = "ayuda_owner";
/// What a mailto: link escapes (RFC 6068): all but what addresses are commonly made of.
const MAILTO: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'@')
    .remove(b'.')
    .remove(b'-')
    .remove(b'_');

/// Signing in: the one route a stranger can use to guess, so the server rate-limits it.
pub fn sign_in() -> Router<Arc<Inbox>> {
    Router::new().route("/admin/login", post(login))
}

/// The page and its actions. Links and forms are relative, so it works wherever the inbox is
/// mounted (`ayuda serve` puts it under /inbox/), and its cookie's default path is its folder.
pub fn pages() -> Router<Arc<Inbox>> {
    Router::new()
        .route("/admin", get(|| async { Redirect::permanent("admin/") }))
        .route("/admin/", get(page))
        .route("/admin/logout", post(logout))
        .route("/admin/handled", post(handled))
        .route("/admin/admin.css", get(stylesheet))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Lang {
    Es,
    En,
}

/// Every word the page shows, in both languages.
struct Words {
    lang: &'static str,
    other: (&'static str, &'static str),
    title: &'static str,
    off: &'static str,
    token: &'static str,
    sign_in: &'static str,
    wrong_token: &'static str,
    sign_out: &'static str,
    waiting: &'static str,
    done: &'static str,
    none_waiting: &'static str,
    none_done: &'static str,
    received: &'static str,
    urgent: &'static str,
    open: &'static str,
    closed: &'static str,
    written_in: &'static str,
    conversation: &'static str,
    visitor: &'static str,
    assistant: &'static str,
    reply_mail: &'static str,
    call: &'static str,
    mark_done: &'static str,
    mark_waiting: &'static str,
    handled_at: &'static str,
    mail: &'static str,
    webhook: &'static str,
    sent: &'static str,
    retrying: &'static str,
    gave_up: &'static str,
    expired: &'static str,
}

const ES: Words = Words {
    lang: "es",
    other: ("en", "English"),
    title: "Mensajes de visitantes",
    off: "La página del buzón está desactivada: inicia el buzón con --token TOKEN (o AYUDA_INBOX_TOKEN) para activarla.",
    token: "Token del buzón",
    sign_in: "Entrar",
    wrong_token: "Ese no es el token del buzón.",
    sign_out: "Salir",
    waiting: "Por atender",
    done: "Atendidos",
    none_waiting: "Nada por atender.",
    none_done: "Aún no has marcado ninguno como atendido.",
    received: "Recibido",
    urgent: "Urgente",
    open: "En horario",
    closed: "Fuera de horario",
    written_in: "Idioma",
    conversation: "Conversación incluida",
    visitor: "Visitante",
    assistant: "Asistente",
    reply_mail: "Responder por email",
    call: "Llamar",
    mark_done: "Marcar como atendido",
    mark_waiting: "Volver a por atender",
    handled_at: "Atendido",
    mail: "Email al dueño",
    webhook: "Webhook",
    sent: "enviado",
    retrying: "reintentando",
    gave_up: "no se pudo enviar",
    expired: "La sesión ha caducado o la página es antigua: vuelve a intentarlo.",
};

const EN: Words = Words {
    lang: "en",
    other: ("es", "Español"),
    title: "Visitors' messages",
    off: "The inbox page is off: start the inbox with --token TOKEN (or AYUDA_INBOX_TOKEN) to turn it on.",
    token: "Inbox token",
    sign_in: "Sign in",
    wrong_token: "That is not the inbox's token.",
    sign_out: "Sign out",
    waiting: "To handle",
    done: "Handled",
    none_waiting: "Nothing to handle.",
    none_done: "None marked handled yet.",
    received: "Received",
    urgent: "Urgent",
    open: "In opening hours",
    closed: "Out of hours",
    written_in: "Language",
    conversation: "Conversation included",
    visitor: "Visitor",
    assistant: "Assistant",
    reply_mail: "Reply by email",
    call: "Call",
    mark_done: "Mark handled",
    mark_waiting: "Back to handle",
    handled_at: "Handled",
    mail: "Email to the owner",
    webhook: "Webhook",
    sent: "sent",
    retrying: "retrying",
    gave_up: "could not be sent",
    expired: "The session expired or the page is old: please try again.",
};

impl Lang {
    /// `?lang=` when given, else the browser's first preference between the two, else English.
    fn of(asked: Option<&str>, headers: &HeaderMap) -> Lang {
        let pick = |tag: &str| match tag.get(..2).map(str::to_ascii_lowercase).as_deref() {
            Some("es") => Some(Lang::Es),
            Some("en") => Some(Lang::En),
            _ => None,
        };
        if let Some(lang) = asked.and_then(pick) {
            return lang;
        }
        headers
            .get(ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').find_map(|tag| pick(tag.trim())))
            .unwrap_or(Lang::En)
    }

    fn words(self) -> &'static Words {
        match self {
            Lang::Es => &ES,
            Lang::En => &EN,
        }
    }
}

#[derive(Deserialize, Default)]
struct LangQuery {
    lang: Option<String>,
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
    #[serde(default)]
    lang: Option<String>,
}

#[derive(Deserialize)]
struct HandledForm {
    id: i64,
    handled: bool,
    csrf: String,
    #[serde(default)]
    lang: Option<String>,
}

#[derive(Deserialize)]
struct LogoutForm {
    csrf: String,
    #[serde(default)]
    lang: Option<String>,
}

/// HMAC-SHA256 of `what`, keyed by the inbox's token, in hex.
fn sign(token: &str, what: &str) -> String {
    hmac_hex(token.as_bytes(), what.as_bytes())
}

/// A signed-in owner's session: the cookie's value, checked.
struct Session(String);

impl Session {
    fn new(token: &str, now: Timestamp) -> Session {
        let expires = now.as_second() + SESSION.as_secs() as i64;
        Session(format!(
            "{expires}.{}",
            sign(token, &format!("session:{expires}"))
        ))
    }

    /// The session the request's cookie carries, if it is one this token signed and unexpired.
    fn from_headers(headers: &HeaderMap, token: &str, now: Timestamp) -> Option<Session> {
        let value = headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|c| c.trim().strip_prefix(COOKIE_NAME)?.strip_prefix('='))?;
        let (expires, mac) = value.split_once('.')?;
        let seconds: i64 = expires.parse().ok()?;
        let good = same_secret(
            mac.as_bytes(),
            sign(token, &format!("session:{seconds}")).as_bytes(),
        );
        (good && seconds > now.as_second()).then(|| Session(value.to_string()))
    }

    /// The form token for this session: a page from another session cannot act in this one.
    fn csrf(&self, token: &str) -> String {
        sign(token, &format!("form:{}", self.0))
    }
}

/// Headers every page carries: never cached, never framed, no script, nothing from elsewhere.
fn secured(status: StatusCode, body: Markup) -> Response {
    let mut response = (status, Html(body.into_string())).into_response();
    let h = response.headers_mut();
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    // Not no-referrer: with it, a browser names the origin of the page's own form posts
    // "null", and they could not be told from another site's.
    h.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// Back to the page (a 303 after a POST, so a reload does not post again).
fn back(lang: Lang, cookie: Option<String>) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let location = format!("./?lang={}", lang.words().lang);
    let h = response.headers_mut();
    h.insert(LOCATION, HeaderValue::from_str(&location).expect("ASCII"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(cookie) = cookie {
        h.insert(SET_COOKIE, HeaderValue::from_str(&cookie).expect("ASCII"));
    }
    response
}

/// `Secure` except on loopback, where a browser on plain http would otherwise drop it.
fn cookie(value: &str, max_age: u64, headers: &HeaderMap) -> String {
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let name = host.rsplit_once(':').map_or(host, |(name, port)| {
        if port.chars().all(|c| c.is_ascii_digit()) {
            name
        } else {
            host
        }
    });
    let loopback = matches!(name, "localhost" | "127.0.0.1" | "[::1]");
    format!(
        "{COOKIE_NAME}={value}; Max-Age={max_age}; HttpOnly; SameSite=Strict{}",
        if loopback { "" } else { "; Secure" }
    )
}

fn layout(w: &Words, main: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(w.lang) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (w.title) " · ayuda" }
                link rel="stylesheet" href="admin.css";
            }
            body { (main) }
        }
    }
}

fn login_page(w: &Words, error: Option<&str>) -> Markup {
    layout(
        w,
        html! {
            main {
                h1 { (w.title) }
                @if let Some(error) = error {
                    p.error role="alert" { (error) }
                }
                form method="post" action="login" {
                    input type="hidden" name="lang" value=(w.lang);
                    label for="token" { (w.token) }
                    input #token type="password" name="token" autocomplete="current-password" required;
                    button { (w.sign_in) }
                }
                p { a href={ "?lang=" (w.other.0) } hreflang=(w.other.0) lang=(w.other.0) { (w.other.1) } }
            }
        },
    )
}

/// Without a token the page is off; it says how to turn it on.
fn off(w: &Words) -> Response {
    secured(
        StatusCode::FORBIDDEN,
        layout(w, html! { main { h1 { (w.title) } p { (w.off) } } }),
    )
}

async fn page(
    State(inbox): State<Arc<Inbox>>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::of(query.lang.as_deref(), &headers);
    let w = lang.words();
    let Some(token) = inbox.token.clone() else {
        return off(w);
    };
    let session = Session::from_headers(&headers, &token, Timestamp::now());
    if session.is_none() && !bearer_matches(&headers, &token) {
        return secured(StatusCode::OK, login_page(w, None));
    }
    let store = inbox.store.clone();
    let rows = match blocking(move || store.all()).await {
        Ok(rows) => rows,
        Err(failure) => return failure.into_response(),
    };
    let csrf = session.as_ref().map(|s| s.csrf(&token));
    secured(StatusCode::OK, messages_page(w, rows, csrf.as_deref()))
}

/// A stored message, read for showing.
struct Shown {
    row: Row,
    message: Option<Escalation>,
}

impl Shown {
    fn urgent(&self) -> bool {
        self.message
            .as_ref()
            .is_some_and(|m| m.lane == LaneKind::Urgent)
    }
}

fn messages_page(w: &Words, rows: Vec<Row>, csrf: Option<&str>) -> Markup {
    let mut shown: Vec<Shown> = rows
        .into_iter()
        .map(|row| Shown {
            message: serde_json::from_str(&row.body).ok(),
            row,
        })
        .collect();
    // Waiting, then handled; in each, urgent ones on top, then newest first.
    shown.sort_by_key(|s| (s.row.handled_at.is_some(), !s.urgent(), -s.row.id));
    let split = shown
        .iter()
        .position(|s| s.row.handled_at.is_some())
        .unwrap_or(shown.len());
    let (waiting, done) = shown.split_at(split);
    layout(
        w,
        html! {
            header {
                h1 { (w.title) }
                nav {
                    a href={ "?lang=" (w.other.0) } hreflang=(w.other.0) lang=(w.other.0) { (w.other.1) }
                    @if let Some(csrf) = csrf {
                        form method="post" action="logout" {
                            input type="hidden" name="csrf" value=(csrf);
                            input type="hidden" name="lang" value=(w.lang);
                            button { (w.sign_out) }
                        }
                    }
                }
            }
            main {
                section aria-labelledby="waiting" {
                    h2 #waiting { (w.waiting) " (" (waiting.len()) ")" }
                    @if waiting.is_empty() { p { (w.none_waiting) } }
                    @else { ol.messages { @for s in waiting { (message(w, s, csrf)) } } }
                }
                section aria-labelledby="done" {
                    h2 #done { (w.done) " (" (done.len()) ")" }
                    @if done.is_empty() { p { (w.none_done) } }
                    @else { ol.messages { @for s in done { (message(w, s, csrf)) } } }
                }
            }
        },
    )
}

/// "2026-11-24 10:00 UTC" from a stored instant.
fn when(at: &str) -> String {
    at.parse::<Timestamp>()
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|_| at.to_string())
}

fn message(w: &Words, s: &Shown, csrf: Option<&str>) -> Markup {
    let id = s.row.id;
    let Some(m) = &s.message else {
        // Not what this version stores: shown raw, still escaped.
        return html! { li { article { h3 { "#" (id) } pre { (s.row.body) } } } };
    };
    let lane = match m.lane {
        LaneKind::Urgent => w.urgent,
        LaneKind::Open => w.open,
        LaneKind::Closed => w.closed,
    };
    let (contact, reply) = match &m.reply_to {
        ReplyTo::Email(email) => {
            let first_line = m.message.lines().next().unwrap_or("");
            let subject: String =
                format!("Re: {}", first_line.chars().take(60).collect::<String>());
            let quoted: String = m.message.lines().map(|l| format!("> {l}\n")).collect();
            let href = format!(
                "mailto:{}?subject={}&body={}",
                utf8_percent_encode(email, MAILTO),
                utf8_percent_encode(&subject, MAILTO),
                utf8_percent_encode(&format!("\n\n{quoted}"), MAILTO)
            );
            (email.clone(), html! { a href=(href) { (w.reply_mail) } })
        }
        ReplyTo::Phone(phone) => {
            let digits: String = phone
                .chars()
                .filter(|c| c.is_ascii_digit() || *c == '+')
                .collect();
            (
                phone.clone(),
                html! { a href={ "tel:" (digits) } { (w.call) " " (phone) } },
            )
        }
    };
    let heading = format!("m{id}");
    html! {
        li {
            article.urgent[m.lane == LaneKind::Urgent] aria-labelledby=(heading) {
                h3 #(heading) {
                    @if m.lane == LaneKind::Urgent { strong { (w.urgent) ": " } }
                    (contact)
                }
                p.meta {
                    (w.received) " " time datetime=(s.row.received_at) { (when(&s.row.received_at)) }
                    " · " (lane)
                    @if let Some(lang) = &m.lang { " · " (w.written_in) ": " span lang=(lang) { (lang) } }
                    @if let Some(at) = &s.row.handled_at {
                        " · " (w.handled_at) " " time datetime=(at) { (when(at)) }
                    }
                }
                p.text lang=[m.lang.as_deref()] { (m.message) }
                @if let Some(lines) = &m.transcript {
                    details {
                        summary { (w.conversation) " (" (lines.len()) ")" }
                        dl {
                            @for line in lines {
                                dt { (match line.from { Speaker::Visitor => w.visitor, Speaker::Assistant => w.assistant }) }
                                dd { (line.text) }
                            }
                        }
                    }
                }
                @if !s.row.deliveries.is_empty() {
                    ul.deliveries {
                        @for (channel, state) in &s.row.deliveries {
                            li {
                                (if channel == "mail" { w.mail } else { w.webhook }) ": "
                                @match state {
                                    Delivery::Sent { .. } => { (w.sent) }
                                    Delivery::Waiting { last_error, .. } => {
                                        (w.retrying)
                                        @if let Some(e) = last_error { " (" (e) ")" }
                                    }
                                    Delivery::GaveUp { last_error, .. } => { (w.gave_up) " (" (last_error) ")" }
                                }
                            }
                        }
                    }
                }
                div.actions {
                    (reply)
                    @if let Some(csrf) = csrf {
                        form method="post" action="handled" {
                            input type="hidden" name="id" value=(id);
                            input type="hidden" name="handled" value=(s.row.handled_at.is_none());
                            input type="hidden" name="csrf" value=(csrf);
                            input type="hidden" name="lang" value=(w.lang);
                            button aria-describedby=(heading) {
                                (if s.row.handled_at.is_none() { w.mark_done } else { w.mark_waiting })
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn login(
    State(inbox): State<Arc<Inbox>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let lang = Lang::of(form.lang.as_deref(), &headers);
    let w = lang.words();
    let Some(token) = inbox.token.as_deref() else {
        return off(w);
    };
    if !origin_allowed(&headers, &[]) {
        return refused(lang);
    }
    if !same_secret(form.token.trim().as_bytes(), token.as_bytes()) {
        return secured(StatusCode::UNAUTHORIZED, login_page(w, Some(w.wrong_token)));
    }
    let session = Session::new(token, Timestamp::now());
    back(lang, Some(cookie(&session.0, SESSION.as_secs(), &headers)))
}

/// The page's language, and whether the action is the owner's own: a valid session cookie,
/// this page's origin, and the session's form token.
fn acting(inbox: &Inbox, headers: &HeaderMap, csrf: &str, asked: Option<&str>) -> (Lang, bool) {
    let ours = inbox.token.as_deref().is_some_and(|token| {
        Session::from_headers(headers, token, Timestamp::now()).is_some_and(|session| {
            origin_allowed(headers, &[])
                && same_secret(csrf.as_bytes(), session.csrf(token).as_bytes())
        })
    });
    (Lang::of(asked, headers), ours)
}

fn refused(lang: Lang) -> Response {
    let w = lang.words();
    secured(StatusCode::FORBIDDEN, login_page(w, Some(w.expired)))
}

async fn handled(
    State(inbox): State<Arc<Inbox>>,
    headers: HeaderMap,
    Form(form): Form<HandledForm>,
) -> Response {
    let (lang, ours) = acting(&inbox, &headers, &form.csrf, form.lang.as_deref());
    if !ours {
        return refused(lang);
    }
    let store = inbox.store.clone();
    let at = form.handled.then(Timestamp::now);
    match blocking(move || store.set_handled(form.id, at)).await {
        Ok(_) => back(lang, None),
        Err(failure) => failure.into_response(),
    }
}

async fn logout(
    State(inbox): State<Arc<Inbox>>,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Response {
    match acting(&inbox, &headers, &form.csrf, form.lang.as_deref()) {
        (lang, true) => back(lang, Some(cookie("", 0, &headers))),
        (lang, false) => refused(lang),
    }
}

async fn stylesheet() -> Response {
    let mut response = ([(CONTENT_TYPE, "text/css; charset=utf-8")], STYLE).into_response();
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

const STYLE: &str = "
:root { color-scheme: light dark; --accent: #8a4b00; --muted: #555; --line: #ccc; }
@media (prefers-color-scheme: dark) { :root { --accent: #ffb870; --muted: #bbb; --line: #555; } }
body { font: 16px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 48rem; padding: 1rem; }
header { display: flex; flex-wrap: wrap; justify-content: space-between; align-items: center; gap: .5rem; }
nav { display: flex; gap: 1rem; align-items: center; }
nav form { margin: 0; }
a { color: var(--accent); }
.messages { list-style: none; padding: 0; }
article { border: 1px solid var(--line); border-radius: 8px; padding: .75rem 1rem; margin: 0 0 1rem; }
article.urgent { border: 2px solid var(--accent); }
h3 { margin: 0 0 .25rem; font-size: 1.05rem; overflow-wrap: anywhere; }
.meta { color: var(--muted); font-size: .875rem; margin: 0 0 .5rem; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; }
dd { margin: 0 0 .5rem; white-space: pre-wrap; overflow-wrap: anywhere; }
dt { font-weight: 600; }
.deliveries { font-size: .875rem; color: var(--muted); padding-left: 1.25rem; }
.actions { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; margin: .5rem 0 0; }
.actions form { margin: 0; }
button { font: inherit; padding: .3rem .9rem; border-radius: 6px; border: 1px solid var(--accent); background: none; color: inherit; cursor: pointer; }
button:focus-visible, a:focus-visible, input:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
label { display: block; font-weight: 600; margin: 1rem 0 .25rem; }
input[type=password] { font: inherit; padding: .4rem; width: min(100%, 24rem); display: block; margin-bottom: .75rem; }
.error { color: #b00020; font-weight: 600; }
@media (prefers-color-scheme: dark) { .error { color: #ff8a80; } }
";
