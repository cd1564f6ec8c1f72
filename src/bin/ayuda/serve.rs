//! `ayuda serve`: a static file server for the demo and the browser tests. Loopback by default;
//! every response carries the headers a deployment of the widget should have, and is
//! compressed the way static hosts compress (see `compression`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::IntoResponse;
use axum::Router;
use clap::Args;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::inbox;
use crate::say::say;

#[derive(Args)]
pub struct ServeArgs {
    /// The folder served at /.
    dir: PathBuf,
    /// Further folders at their own URL prefix, as PREFIX=DIR (for example /shared=../shared).
    #[arg(long = "mount", value_name = "PREFIX=DIR")]
    mounts: Vec<String>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Also receive the widget's messages at /inbox (POST /inbox/messages) into this SQLite
    /// file (or postgres:// URL, as `ayuda inbox --db` takes).
    #[arg(long, value_name = "FILE")]
    inbox_db: Option<PathBuf>,
    /// Another origin whose pages may post to /inbox (repeatable; the demo's own needs none).
    #[arg(
        long = "inbox-allow-origin",
        value_name = "ORIGIN",
        requires = "inbox_db"
    )]
    inbox_allow_origins: Vec<String>,
    /// The inbox's token (with --inbox-db): your messages at /inbox/admin/; prefer
    /// $AYUDA_INBOX_TOKEN, which other users cannot see in the process list.
    #[arg(long = "inbox-token", value_name = "TOKEN", requires = "inbox_db")]
    inbox_token: Option<String>,
    /// Requests one address may make to the inbox per minute, after a burst of 20.
    #[arg(long = "inbox-per-minute", default_value_t = inbox::PER_MINUTE, value_parser = clap::value_parser!(u32).range(1..), requires = "inbox_db")]
    inbox_per_minute: u32,
    /// A reverse proxy in front (repeatable): the inbox counts requests per visitor by the
    /// X-Forwarded-For it adds, as `ayuda inbox --trusted-proxy` does.
    #[arg(long = "inbox-trusted-proxy", value_name = "IP", requires = "inbox_db")]
    inbox_trusted_proxies: Vec<std::net::IpAddr>,
    /// The inbox's mail to the owner (with --inbox-db), as `ayuda inbox` takes it.
    #[command(flatten)]
    mail: inbox::MailArgs,
    /// The inbox's webhook (with --inbox-db), as `ayuda inbox` takes it.
    #[command(flatten)]
    webhook: inbox::WebhookArgs,
}

/// gzip or brotli, as the browser accepts, for what static hosts and CDNs compress (HTML, CSS,
/// JavaScript, JSON, SVG, wasm), never for `application/octet-stream` (the packed model and
/// the bundle), which they serve as stored: so that what the benchmarks measure here is what
/// a visitor of a real host downloads.
fn compression() -> CompressionLayer<impl Predicate> {
    CompressionLayer::new().compress_when(
        DefaultPredicate::new().and(NotForContentType::const_new("application/octet-stream")),
    )
}

pub fn run(args: ServeArgs) -> Result<()> {
    if !args.dir.is_dir() {
        bail!(say!(
            en: "{} is not a folder",
            es: "{} no es una carpeta",
            args.dir.display()
        ));
    }
    let mut app = Router::new();
    for mount in &args.mounts {
        let Some((prefix, dir)) = mount.split_once('=') else {
            bail!(say!(
                en: "--mount {mount}: expected PREFIX=DIR, for example /shared=../shared",
                es: "--mount {mount}: se esperaba PREFIJO=CARPETA, por ejemplo /shared=../shared"
            ));
        };
        if !prefix.starts_with('/') || prefix.len() < 2 {
            bail!(say!(
                en: "--mount {mount}: the prefix must start with / and name a path",
                es: "--mount {mount}: el prefijo debe empezar por / y nombrar una ruta"
            ));
        }
        if !PathBuf::from(dir).is_dir() {
            bail!(say!(
                en: "--mount {mount}: {dir} is not a folder",
                es: "--mount {mount}: {dir} no es una carpeta"
            ));
        }
        app = app.nest_service(prefix.trim_end_matches('/'), folder(Path::new(dir))?);
    }
    let token = inbox::token_or_env(args.inbox_token);
    let inbox_note = match &args.inbox_db {
        Some(db) => {
            let admin = if token.is_some() {
                say!(en: "; yours to read at /inbox/admin/", es: "; léelos en /inbox/admin/")
            } else {
                String::new()
            };
            say!(
                en: " (messages to /inbox/messages are stored in {}{admin})",
                es: " (los mensajes a /inbox/messages se guardan en {}{admin})",
                db.display()
            )
        }
        None => String::new(),
    };
    let mail = args.mail.settings()?;
    let webhook = args.webhook.webhook()?;
    if (mail.is_some() || webhook.is_some()) && args.inbox_db.is_none() {
        bail!(say!(
            en: "--smtp and --webhook deliver what the inbox stores: add --inbox-db FILE",
            es: "--smtp y --webhook entregan lo que guarda el buzón: añade --inbox-db ARCHIVO"
        ));
    }
    if let Some(db) = args.inbox_db {
        let config = inbox::Config {
            allow_origins: args.inbox_allow_origins,
            token,
            per_minute: args.inbox_per_minute,
            trusted_proxies: args.inbox_trusted_proxies,
            mail,
            webhook,
            ..inbox::Config::new(db)
        };
        app = app.nest("/inbox", inbox::router(config)?);
    }
    let app = app
        .fallback_service(folder(&args.dir)?)
        // Visitors' browsers must revalidate, so a redeployed model or widget is picked up.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(compression());
    let runtime = tokio::runtime::Runtime::new().with_context(
        || say!(en: "starting the async runtime", es: "arrancando el entorno asíncrono"),
    )?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| say!(en: "listening on {}", es: "escuchando en {}", args.listen))?;
        // Scripts and the browser tests find the address by its "http://".
        eprintln!(
            "{}",
            say!(
                en: "ayuda: serving {} on http://{}{inbox_note}",
                es: "ayuda: sirviendo {} en http://{}{inbox_note}",
                args.dir.display(),
                listener.local_addr()?
            )
        );
        crate::listen::serve(listener, app, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .with_context(|| say!(en: "serving", es: "sirviendo"))
    })
}

/// A folder served as a static host serves it: never a dotfile or dot folder (.git, .env), and
/// never a file a symlink leads to outside the folder.
fn folder(dir: &Path) -> Result<Router> {
    let root: Arc<Path> = dir
        .canonicalize()
        .with_context(|| say!(en: "reading {}", es: "leyendo {}", dir.display()))?
        .into();
    Ok(Router::new()
        .fallback_service(ServeDir::new(dir))
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            let root = root.clone();
            async move {
                if inside(&root, request.uri().path()).await {
                    next.run(request).await
                } else {
                    StatusCode::NOT_FOUND.into_response()
                }
            }
        })))
}

/// Whether the URL `path` names something ServeDir may serve from `root`.
async fn inside(root: &Path, path: &str) -> bool {
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    let mut target = root.to_path_buf();
    for segment in decoded.split(['/', '\\']).filter(|s| !s.is_empty()) {
        if segment.starts_with('.') {
            return false;
        }
        target.push(segment);
    }
    // Not found is ServeDir's to answer; found, it must be inside the folder.
    match tokio::fs::canonicalize(&target).await {
        Ok(real) => real.starts_with(root),
        Err(_) => true,
    }
}
