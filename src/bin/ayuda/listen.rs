//! Serving an axum app on a TCP listener with the limits a server facing the internet needs,
//! which `axum::serve` does not offer: a deadline for each request's headers (also while a
//! kept-alive connection waits for its next request), a cap on open connections, and a
//! graceful stop. Used by `ayuda inbox` and `ayuda serve`. Owns connections, never routes.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tower::ServiceExt;

use crate::say::say;

/// A client has this long to send a request's headers; a half-sent request (or an idle
/// kept-alive connection) is closed after it, so it cannot hold a connection for minutes.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Open connections at most; past it new ones are closed at once, so file descriptors never
/// run out (a visitor's browser retries; the widget's outbox keeps the message meanwhile).
pub const MAX_CONNECTIONS: usize = 1024;

/// Serves `app` until `shutdown` resolves, then lets the requests under way finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let (stop, stopping) = watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors, say: wait for some to close rather than spin.
                    eprintln!(
                        "{}",
                        say!(
                            en: "ayuda: accepting a connection: {err}",
                            es: "ayuda: aceptando una conexión: {err}"
                        )
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            // Reap finished connections so the set does not grow.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let app = app.clone();
        let mut stopping = stopping.clone();
        connections.spawn(async move {
            let _slot = slot;
            let service =
                hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                    // What ConnectInfo extractors (the rate limit) read.
                    request.extensions_mut().insert(ConnectInfo(peer));
                    app.clone().oneshot(request.map(axum::body::Body::new))
                });
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = stopping.changed() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
    }
    let _ = stop.send(true);
    while connections.join_next().await.is_some() {}
    Ok(())
}
