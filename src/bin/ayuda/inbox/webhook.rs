//! The webhook: each stored message POSTed as JSON to the owner's URL, queued and retried by
//! deliver.rs like mail. Each request carries the message's key as `Ayuda-Event-Id` (receivers
//! drop a repeat) and, with a shared secret, `Ayuda-Signature: sha256=HEX`, the HMAC-SHA256 of
//! the exact body. Owns the request and its signature; never follows a redirect (a moved URL
//! could hand visitors' words to another host) and never prints the URL (it may hold a secret).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use axum::http::Uri;
use clap::Args;

use super::deliver::Channel;
use super::server::hmac_hex;
use super::store::{message_json, Due};
use crate::say::say;

/// The webhook options `ayuda inbox` and `ayuda serve --inbox-db` share.
#[derive(Args, Clone, Default)]
pub struct WebhookArgs {
    /// Also POST each new message, as JSON, to this URL (queued and retried for a day, across
    /// restarts; headers Ayuda-Event-Id and, with a secret, Ayuda-Signature).
    #[arg(long, value_name = "URL")]
    pub webhook: Option<String>,
    /// A file holding the webhook's shared secret (or $AYUDA_WEBHOOK_SECRET): each request is
    /// signed with it (Ayuda-Signature: sha256=HMAC-SHA256(secret, body) in hex).
    #[arg(long, value_name = "FILE", requires = "webhook")]
    pub webhook_secret_file: Option<PathBuf>,
}

pub struct Webhook {
    url: String,
    secret: Option<Vec<u8>>,
    agent: ureq::Agent,
}

impl WebhookArgs {
    /// The webhook, or None when off; a bad URL or secret file is refused at start.
    pub fn webhook(&self) -> Result<Option<Webhook>> {
        let Some(url) = &self.webhook else {
            return Ok(None);
        };
        let parsed: Uri = url
            .parse()
            .with_context(|| say!(en: "--webhook: not a URL", es: "--webhook: no es una URL"))?;
        if !matches!(parsed.scheme_str(), Some("http" | "https")) {
            bail!(say!(
                en: "--webhook: expected an http:// or https:// URL",
                es: "--webhook: se esperaba una URL http:// o https://"
            ));
        }
        let secret = match &self.webhook_secret_file {
            Some(file) => Some(
                std::fs::read_to_string(file)
                    .with_context(|| say!(en: "reading {}", es: "leyendo {}", file.display()))?
                    .trim()
                    .as_bytes()
                    .to_vec(),
            ),
            None => std::env::var("AYUDA_WEBHOOK_SECRET")
                .ok()
                .map(String::into_bytes),
        }
        .filter(|s| !s.is_empty());
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .max_redirects(0)
            .http_status_as_error(false)
            .build()
            .into();
        Ok(Some(Webhook {
            url: url.clone(),
            secret,
            agent,
        }))
    }
}

/// `sha256=` and the hex HMAC-SHA256 of `body` under `secret`: what `Ayuda-Signature` carries.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    format!("sha256={}", hmac_hex(secret, body))
}

impl Channel for Webhook {
    fn name(&self) -> &'static str {
        "webhook"
    }

    fn send(&self, due: &Due) -> Result<()> {
        let json = message_json(due.id, &due.received_at, &due.body)?;
        let key = json["key"].as_str().unwrap_or_default().to_string();
        let body = json.to_string();
        let mut request = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header("Ayuda-Event-Id", &key);
        if let Some(secret) = &self.secret {
            request = request.header("Ayuda-Signature", &signature(secret, body.as_bytes()));
        }
        // The URL itself may hold the receiver's secret, so errors do not print it.
        let response = request.send(&body).map_err(|e| {
            anyhow::anyhow!(say!(
                en: "the webhook could not be reached: {e}",
                es: "no se pudo contactar con el webhook: {e}"
            ))
        })?;
        let status = response.status();
        if status.is_redirection() {
            bail!(say!(
                en: "the webhook answered {status} (a redirect): ayuda never follows one; give the final URL",
                es: "el webhook respondió {status} (una redirección): ayuda nunca las sigue; indica la URL final"
            ));
        }
        if !status.is_success() {
            bail!(say!(
                en: "the webhook answered {status}",
                es: "el webhook respondió {status}"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_the_body_in_hex() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
