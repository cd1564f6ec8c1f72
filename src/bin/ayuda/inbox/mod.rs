//! `ayuda inbox`: the reference endpoint visitors' messages are sent to, `inbox list` to read
//! them and `inbox test-mail` to check the mail settings. It never changes or deletes a stored
//! message, nor sends one anywhere but the owner's mailbox and the webhook.

mod admin;
mod deliver;
mod gaps;
mod mail;
mod server;
mod store;
mod webhook;

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use axum::http::{HeaderValue, Uri};
use axum::Router;
use ayuda::escalate::{transcript_text, Escalation, ReplyTo};
use clap::{value_parser, Args, Subcommand};

use crate::say::say;

use deliver::Sender;
pub use mail::MailArgs;
use mail::{Mail, MailSettings, TestMailArgs};
use server::Inbox;
use store::{Delivery, Row, Store};
use webhook::Webhook;
pub use webhook::WebhookArgs;

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct InboxArgs {
    #[command(subcommand)]
    command: Option<InboxCommand>,
    /// Address to listen on (port 0 picks a free port; the line on stderr names it).
    #[arg(long, required = true)]
    listen: Option<SocketAddr>,
    /// Where messages are kept: a SQLite file (created if missing), or a PostgreSQL database
    /// as postgres://USER@HOST[:PORT]/DATABASE (its password in $PGPASSWORD), for several
    /// inboxes sharing one database.
    #[arg(long, value_name = "FILE", required = true)]
    db: Option<PathBuf>,
    /// A web origin whose pages may post here, e.g. https://example.com (repeatable).
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    allow_origins: Vec<String>,
    /// Token for reading messages: your page at /admin/ and GET /messages; prefer
    /// $AYUDA_INBOX_TOKEN, which other users cannot see in the process list. Without one,
    /// reading over HTTP is off.
    #[arg(long)]
    token: Option<String>,
    #[command(flatten)]
    webhook: WebhookArgs,
    /// Requests one address may make per minute, after a burst of 20.
    #[arg(long, default_value_t = PER_MINUTE, value_parser = value_parser!(u32).range(1..))]
    per_minute: u32,
    /// The address of a reverse proxy in front of the inbox (repeatable): requests from it are
    /// counted per visitor, by the X-Forwarded-For it adds, instead of all as one.
    #[arg(long = "trusted-proxy", value_name = "IP")]
    trusted_proxies: Vec<std::net::IpAddr>,
    #[command(flatten)]
    mail: MailArgs,
}

#[derive(Subcommand)]
enum InboxCommand {
    /// Print the stored messages, oldest first, with where their mail to you stands.
    List(ListArgs),
    /// Send one test mail with the given --smtp settings and print the server's answer.
    TestMail(TestMailArgs),
    /// What the FAQ missed: the messages grouped by the entry they came nearest to (or none),
    /// and a CSV of suggested phrasings and entries to add to your sources.
    Gaps(gaps::GapsArgs),
}

#[derive(Args)]
struct ListArgs {
    /// The inbox's database: its SQLite file or postgres:// URL.
    #[arg(long, value_name = "FILE")]
    db: PathBuf,
    /// One JSON array, each message with its id and received_at.
    #[arg(long)]
    json: bool,
}

/// Requests one address may make per minute by default, after its burst: a visitor sends a
/// message or two; a script flooding the inbox is slowed to two a second.
pub const PER_MINUTE: u32 = 120;

/// What an inbox needs, wherever it is mounted (`ayuda inbox` at /, `ayuda serve` at /inbox).
pub struct Config {
    pub db: PathBuf,
    pub allow_origins: Vec<String>,
    pub token: Option<String>,
    pub webhook: Option<Webhook>,
    pub per_minute: u32,
    /// Reverse proxies whose X-Forwarded-For names the visitor.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Mail each new message to the owner.
    pub mail: Option<MailSettings>,
}

impl Config {
    /// An inbox storing in `db`, with no other origins, no reading over HTTP and no webhook.
    pub fn new(db: PathBuf) -> Config {
        Config {
            db,
            allow_origins: Vec::new(),
            token: None,
            webhook: None,
            per_minute: PER_MINUTE,
            trusted_proxies: Vec::new(),
            mail: None,
        }
    }
}

/// The inbox's routes, with its store opened (or created). Serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()`: the rate limit is per peer address.
pub fn router(config: Config) -> Result<Router> {
    let allow_origins = config
        .allow_origins
        .iter()
        .map(|o| origin(o))
        .collect::<Result<_>>()?;
    let mut channels: Vec<Box<dyn FnOnce(Arc<Store>) -> Sender>> = Vec::new();
    let mut names = Vec::new();
    if let Some(settings) = config.mail {
        let mail = Mail::new(settings)?;
        names.push("mail");
        channels.push(Box::new(move |store| Sender::start(store, mail)));
    }
    if let Some(webhook) = config.webhook {
        names.push("webhook");
        channels.push(Box::new(move |store| Sender::start(store, webhook)));
    }
    let store = Arc::new(Store::open(&config.db)?.queue_on(names, jiff::Timestamp::now())?);
    let inbox = Inbox {
        senders: channels
            .into_iter()
            .map(|start| start(store.clone()))
            .collect(),
        store,
        token: config.token,
        allow_origins: Vec::new(),
    };
    Ok(server::routes(
        inbox,
        allow_origins,
        config.per_minute,
        config.trusted_proxies,
    ))
}

/// Browsers send `Origin` as scheme://host[:port] with nothing after, so anything else here
/// would silently never match.
fn origin(text: &str) -> Result<HeaderValue> {
    let uri: Uri = text
        .parse()
        .with_context(|| format!("--allow-origin {text}"))?;
    let bare = uri.authority().is_some()
        && matches!(uri.scheme_str(), Some("http" | "https"))
        && !text.ends_with('/')
        && uri
            .path_and_query()
            .is_none_or(|p| p.as_str().is_empty() || p == "/");
    if !bare {
        bail!(say!(
            en: "--allow-origin {text}: expected an origin like https://example.com, with no path",
            es: "--allow-origin {text}: se esperaba un origen como https://example.com, sin ruta"
        ));
    }
    Ok(HeaderValue::from_str(text)?)
}

pub fn run(args: InboxArgs) -> Result<()> {
    match &args.command {
        Some(InboxCommand::List(list)) => return list_messages(list),
        Some(InboxCommand::TestMail(test)) => return mail::test_mail(test),
        Some(InboxCommand::Gaps(gaps)) => return gaps::run(gaps),
        None => {}
    }
    let (Some(listen), Some(db)) = (args.listen, args.db) else {
        bail!(say!(
            en: "ayuda inbox needs --listen ADDR and --db FILE",
            es: "ayuda inbox necesita --listen DIRECCIÓN y --db ARCHIVO"
        ));
    };
    let token = token_or_env(args.token);
    let config = Config {
        db,
        allow_origins: args.allow_origins,
        token,
        webhook: args.webhook.webhook()?,
        per_minute: args.per_minute,
        trusted_proxies: args.trusted_proxies,
        mail: args.mail.settings()?,
    };
    let note = match (config.mail.is_some(), config.webhook.is_some()) {
        (true, true) => say!(
            en: ", mailing each message to you and posting it to the webhook",
            es: ", enviándote cada mensaje por correo y al webhook"
        ),
        (true, false) => say!(
            en: ", mailing each message to you",
            es: ", enviándote cada mensaje por correo"
        ),
        (false, true) => say!(
            en: ", posting each message to the webhook",
            es: ", enviando cada mensaje al webhook"
        ),
        (false, false) => String::new(),
    };
    let db_shown = config.db.display().to_string();
    let page = config.token.is_some();
    let app = router(config)?;
    let runtime = tokio::runtime::Runtime::new().with_context(
        || say!(en: "starting the async runtime", es: "arrancando el entorno asíncrono"),
    )?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| say!(en: "listening on {listen}", es: "escuchando en {listen}"))?;
        let at = listener.local_addr()?;
        // Scripts and the tests find the address by its "http://".
        eprintln!(
            "{}",
            say!(
                en: "ayuda: inbox listening on http://{at} (storing in {db_shown}{note})",
                es: "ayuda: buzón escuchando en http://{at} (guarda en {db_shown}{note})"
            )
        );
        if page {
            eprintln!(
                "{}",
                say!(
                    en: "ayuda: your messages: http://{at}/admin/ (sign in with the token)",
                    es: "ayuda: tus mensajes: http://{at}/admin/ (entra con el token)"
                )
            );
        }
        crate::listen::serve(listener, app, shutdown_signal())
            .await
            .with_context(|| say!(en: "serving", es: "sirviendo"))
    })
}

/// The token for reading messages: `--token`, else $AYUDA_INBOX_TOKEN; empty is none.
pub fn token_or_env(arg: Option<String>) -> Option<String> {
    arg.or_else(|| std::env::var("AYUDA_INBOX_TOKEN").ok())
        .filter(|t| !t.is_empty())
}

/// Ctrl-C, or SIGTERM from a service manager: stop taking connections, finish the requests
/// under way (each commit completes before its answer), then exit.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

fn list_messages(args: &ListArgs) -> Result<()> {
    let rows = Store::open_existing(&args.db)?
        .all()
        .with_context(|| say!(en: "reading {}", es: "leyendo {}", args.db.display()))?;
    let mut text = String::new();
    if args.json {
        let rows = rows.iter().map(Row::to_json).collect::<Result<Vec<_>>>()?;
        text = serde_json::to_string_pretty(&rows)?;
        text.push('\n');
    } else if rows.is_empty() {
        eprintln!(
            "{}",
            say!(
                en: "ayuda: no messages in {}",
                es: "ayuda: no hay mensajes en {}",
                args.db.display()
            )
        );
    } else {
        for row in &rows {
            text += &readable(row, &args.db)?;
        }
    }
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(())
}

/// One message for a person to read: a heading line, the message indented, the transcript
/// indented further. The lane and the channels keep the names `--json` gives them.
fn readable(row: &Row, db: &Path) -> Result<String> {
    let message: Escalation = serde_json::from_str(&row.body)
        .with_context(|| damaged(&db.display().to_string(), row.id))?;
    let reply = match &message.reply_to {
        ReplyTo::Email(email) => say!(en: "email {email}", es: "correo {email}"),
        ReplyTo::Phone(phone) => say!(en: "phone {phone}", es: "teléfono {phone}"),
    };
    let lang = message
        .lang
        .as_deref()
        .map(|l| say!(en: ", lang {l}", es: ", idioma {l}"))
        .unwrap_or_default();
    let (id, received_at) = (row.id, &row.received_at);
    let (lane, reply, lang) = (message.lane.as_str(), shown(&reply), shown(&lang));
    let mut out = say!(
        en: "#{id} received {received_at}  [{lane}]  {reply}{lang}\n",
        es: "#{id} recibido {received_at}  [{lane}]  {reply}{lang}\n"
    );
    for (channel, state) in &row.deliveries {
        match state {
            Delivery::Sent { at } => {
                out += &say!(en: "  {channel}: sent {at}\n", es: "  {channel}: enviado {at}\n")
            }
            Delivery::Waiting {
                attempts,
                next_at,
                last_error,
            } => {
                out += &say!(
                    en: "  {channel}: waiting, {attempts} tries so far, next at {next_at}\n",
                    es: "  {channel}: pendiente, {attempts} intentos hasta ahora, el siguiente a las {next_at}\n"
                );
                if let Some(e) = last_error {
                    out += &say!(
                        en: "  {channel}: last error: {}\n",
                        es: "  {channel}: último error: {}\n",
                        shown(e)
                    );
                }
            }
            Delivery::GaveUp { at, last_error } => {
                out += &say!(
                    en: "  {channel}: NOT SENT, gave up {at}: {}\n",
                    es: "  {channel}: NO ENVIADO, se dejó de intentar {at}: {}\n",
                    shown(last_error)
                )
            }
        }
    }
    for line in message.message.split('\n') {
        out += &format!("    {}\n", shown(line));
    }
    if let Some(lines) = &message.transcript {
        out += &say!(en: "  transcript:\n", es: "  conversación:\n");
        for turn in lines {
            let text = transcript_text(std::slice::from_ref(turn));
            let mut parts = text.split('\n');
            out += &format!("      {}\n", shown(parts.next().unwrap_or_default()));
            for more in parts {
                out += &format!("        {}\n", shown(more));
            }
        }
    }
    out.push('\n');
    Ok(out)
}

/// What to say of a stored message that no longer reads as one.
pub(crate) fn damaged(db: &str, id: i64) -> String {
    say!(
        en: "{db}: message {id} is damaged",
        es: "{db}: el mensaje {id} está dañado"
    )
}

/// Visitor text on the owner's terminal: control characters (escape sequences could move the
/// cursor or rewrite earlier lines) and bidi overrides (which could reorder what is shown) are
/// printed escaped; everything else, markup included, as written.
pub(crate) fn shown(text: &str) -> String {
    let risky = |c: char| {
        (c.is_control() && c != '\t')
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
    };
    text.chars()
        .map(|c| {
            if risky(c) {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}
