//! Mail to the owner: each message the inbox stores is mailed to the owner's own address over
//! SMTP (lettre), From the owner, Reply-To the visitor when they gave an email, the lane in the
//! subject, the visitor's words as sent in a plain-text body; queued and retried by
//! deliver.rs. Owns composing and sending mail and explaining SMTP mistakes; never changes a
//! stored message.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use axum::http::Uri;
use ayuda::escalate::{transcript_text, Escalation, LaneKind, ReplyTo};
use clap::Args;
use lettre::message::{header::ContentType, Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{SmtpTransport, Transport};

use super::deliver::Channel;
use super::store::Due;
use crate::say::say;

/// The mail options `ayuda inbox` and `ayuda serve --inbox-db` share.
#[derive(Args, Clone, Default)]
pub struct MailArgs {
    /// Mail each message to the owner through this SMTP server: smtp://HOST:587 (STARTTLS when
    /// the server offers it, required when a password is sent) or smtps://HOST:465 (TLS from
    /// the start). User and password from $AYUDA_SMTP_USER and $AYUDA_SMTP_PASSWORD, or
    /// --smtp-credentials.
    #[arg(long, value_name = "URL", requires = "notify")]
    pub smtp: Option<String>,
    /// The owner's address the messages are mailed to.
    #[arg(long, value_name = "ADDRESS", requires = "smtp")]
    pub notify: Option<String>,
    /// The sender address (default: the --notify address; many servers accept only the
    /// account's own).
    #[arg(long, value_name = "ADDRESS", requires = "smtp")]
    pub from: Option<String>,
    /// A file with the SMTP user on its first line and the password on its second.
    #[arg(long, value_name = "FILE", requires = "smtp")]
    pub smtp_credentials: Option<PathBuf>,
}

/// How mail is sent, checked once at start.
#[derive(Clone)]
pub struct MailSettings {
    server: Server,
    notify: Mailbox,
    from: Mailbox,
    credentials: Option<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Server {
    host: String,
    port: u16,
    /// TLS from the first byte (smtps://), else STARTTLS.
    implicit_tls: bool,
}

impl MailArgs {
    /// The settings, or None when mail is off; a mistake is refused before the inbox starts.
    pub fn settings(&self) -> Result<Option<MailSettings>> {
        let (Some(url), Some(notify)) = (&self.smtp, &self.notify) else {
            return Ok(None);
        };
        let server = parse_server(url)?;
        let notify: Mailbox = notify.parse().with_context(|| {
            say!(
                en: "--notify {notify}: not an email address",
                es: "--notify {notify}: no es una dirección de correo"
            )
        })?;
        let from = match &self.from {
            Some(f) => f.parse().with_context(|| {
                say!(
                    en: "--from {f}: not an email address",
                    es: "--from {f}: no es una dirección de correo"
                )
            })?,
            None => notify.clone(),
        };
        let credentials = match &self.smtp_credentials {
            Some(file) => {
                let text = std::fs::read_to_string(file)
                    .with_context(|| say!(en: "reading {}", es: "leyendo {}", file.display()))?;
                let mut lines = text.lines();
                match (lines.next(), lines.next()) {
                    (Some(user), Some(password)) if !user.is_empty() => {
                        Some((user.to_string(), password.to_string()))
                    }
                    _ => bail!(say!(
                        en: "{}: expected the SMTP user on the first line and the password on the second",
                        es: "{}: se esperaba el usuario SMTP en la primera línea y la contraseña en la segunda",
                        file.display()
                    )),
                }
            }
            None => match (
                std::env::var("AYUDA_SMTP_USER"),
                std::env::var("AYUDA_SMTP_PASSWORD"),
            ) {
                (Ok(user), Ok(password)) if !user.is_empty() => Some((user, password)),
                _ => None,
            },
        };
        Ok(Some(MailSettings {
            server,
            notify,
            from,
            credentials,
        }))
    }
}

fn parse_server(url: &str) -> Result<Server> {
    let uri: Uri = url
        .parse()
        .with_context(|| say!(en: "--smtp {url}: not a URL", es: "--smtp {url}: no es una URL"))?;
    let implicit_tls = match uri.scheme_str() {
        Some("smtp") => false,
        Some("smtps") => true,
        _ => bail!(say!(
            en: "--smtp {url}: expected smtp://HOST:PORT or smtps://HOST:PORT",
            es: "--smtp {url}: se esperaba smtp://SERVIDOR:PUERTO o smtps://SERVIDOR:PUERTO"
        )),
    };
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        bail!(say!(
            en: "--smtp {url}: no user or password in the URL (it would show in the process list); use $AYUDA_SMTP_USER and $AYUDA_SMTP_PASSWORD or --smtp-credentials",
            es: "--smtp {url}: ni usuario ni contraseña en la URL (se vería en la lista de procesos); usa $AYUDA_SMTP_USER y $AYUDA_SMTP_PASSWORD o --smtp-credentials"
        ));
    }
    let Some(host) = uri.host().filter(|h| !h.is_empty()) else {
        bail!(say!(en: "--smtp {url}: no host", es: "--smtp {url}: falta el servidor"));
    };
    let port = uri
        .port_u16()
        .unwrap_or(if implicit_tls { 465 } else { 587 });
    Ok(Server {
        host: host.to_string(),
        port,
        implicit_tls,
    })
}

impl MailSettings {
    fn transport(&self) -> Result<SmtpTransport> {
        let s = &self.server;
        let params = TlsParameters::new(s.host.clone())
            .with_context(|| say!(en: "TLS settings for {}", es: "ajustes TLS para {}", s.host))?;
        let loopback = matches!(s.host.as_str(), "127.0.0.1" | "localhost" | "::1" | "[::1]");
        let tls = if s.implicit_tls {
            Tls::Wrapper(params)
        } else if self.credentials.is_some() && !loopback {
            // A password never crosses the network in clear.
            Tls::Required(params)
        } else {
            Tls::Opportunistic(params)
        };
        let mut builder = SmtpTransport::builder_dangerous(s.host.as_str())
            .port(s.port)
            .tls(tls)
            // Servers greet within a second; a silent one is usually a TLS port (explained).
            .timeout(Some(Duration::from_secs(10)));
        if let Some((user, password)) = &self.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(builder.build())
    }

    /// The mail for one stored message: in the visitor's language when it is Spanish, else in
    /// English; the visitor's words exactly as sent.
    fn compose(&self, id: i64, received_at: &str, message: &Escalation) -> Result<Message> {
        let es = message.lang.as_deref().is_some_and(|l| l.starts_with("es"));
        let lane = match (message.lane, es) {
            (LaneKind::Urgent, true) => "URGENTE",
            (LaneKind::Urgent, false) => "URGENT",
            (LaneKind::Open, true) => "en horario",
            (LaneKind::Open, false) => "while open",
            (LaneKind::Closed, true) => "fuera de horario",
            (LaneKind::Closed, false) => "while closed",
        };
        let first_line: String = message
            .message
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or_default()
            .chars()
            .take(60)
            .collect();
        let subject = if es {
            format!("[{lane}] Mensaje de un visitante: {first_line}")
        } else {
            format!("[{lane}] Message from a visitor: {first_line}")
        };
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(self.notify.clone())
            .subject(subject)
            // The same id for every try, so a mail client shows a resent copy once.
            .message_id(Some(format!(
                "<{}@ayuda.inbox>",
                message_id_part(&message.key)
            )))
            .header(ContentType::TEXT_PLAIN);
        let how = match &message.reply_to {
            ReplyTo::Email(email) => match email.parse::<Mailbox>() {
                Ok(mailbox) => {
                    builder = builder.reply_to(mailbox);
                    if es {
                        format!("Responde a este correo para contestarle ({email}).")
                    } else {
                        format!("Reply to this mail to answer them ({email}).")
                    }
                }
                Err(_) => {
                    if es {
                        format!("Su correo: {email}")
                    } else {
                        format!("Their email: {email}")
                    }
                }
            },
            ReplyTo::Phone(phone) => {
                let tel: String = phone
                    .chars()
                    .filter(|c| c.is_ascii_digit() || *c == '+')
                    .collect();
                if es {
                    format!("Quiere que le llames o escribas: {phone} (tel:{tel})")
                } else {
                    format!("They asked to be called or texted: {phone} (tel:{tel})")
                }
            }
        };
        let mut body = if es {
            format!("Un visitante te ha escrito desde el chat de tu sitio ({lane}).\n{how}\n\nMensaje:\n\n")
        } else {
            format!("A visitor wrote to you from your site's chat ({lane}).\n{how}\n\nMessage:\n\n")
        };
        body.push_str(&message.message);
        body.push_str("\n\n");
        if let Some(lines) = &message.transcript {
            body.push_str(if es {
                "La conversación con el asistente, que incluyó:\n\n"
            } else {
                "The conversation with the assistant, which they included:\n\n"
            });
            body.push_str(&transcript_text(lines));
            body.push_str("\n\n");
        }
        body.push_str(&if es {
            format!("-- \nMensaje n.º {id} de tu bandeja de ayuda, recibido {received_at}.\n")
        } else {
            format!("-- \nMessage #{id} in your ayuda inbox, received {received_at}.\n")
        });
        builder.body(body).with_context(|| {
            say!(
                en: "composing the mail for message {id}",
                es: "redactando el correo del mensaje {id}"
            )
        })
    }
}

/// The key as a Message-ID part: only characters an id may hold.
fn message_id_part(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-._".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Mail to the owner as a delivery channel.
pub struct Mail {
    settings: MailSettings,
    transport: SmtpTransport,
}

impl Mail {
    pub fn new(settings: MailSettings) -> Result<Mail> {
        Ok(Mail {
            transport: settings.transport()?,
            settings,
        })
    }
}

impl Channel for Mail {
    fn name(&self) -> &'static str {
        "mail"
    }

    fn send(&self, due: &Due) -> Result<()> {
        let message: Escalation = serde_json::from_str(&due.body).with_context(|| {
            say!(
                en: "the stored message is damaged",
                es: "el mensaje guardado está dañado"
            )
        })?;
        let mail = self.settings.compose(due.id, &due.received_at, &message)?;
        self.transport
            .send(&mail)
            .map_err(|e| explain(&e, &self.settings.server))?;
        Ok(())
    }
}

/// An SMTP failure in words an owner can act on: the usual port and TLS mix-ups first. Stored
/// with the delivery, in the language of the inbox that tried.
fn explain(err: &lettre::transport::smtp::Error, server: &Server) -> anyhow::Error {
    let text = format!("{err}");
    let chain = {
        let mut all = text.clone();
        let mut source = std::error::Error::source(err);
        while let Some(s) = source {
            let more = s.to_string();
            if !all.contains(&more) {
                all.push_str(&format!(": {more}"));
            }
            source = s.source();
        }
        all
    };
    let lower = chain.to_lowercase();
    let at = format!("{}:{}", server.host, server.port);
    let hint = if lower.contains("connection refused") {
        say!(
            en: "nothing answers at {at}: is the server name and port right, and is it running?",
            es: "nadie responde en {at}: ¿son correctos el nombre del servidor y el puerto, y está en marcha?"
        )
    } else if server.implicit_tls
        && (lower.contains("tls")
            || lower.contains("ssl")
            || lower.contains("corrupt")
            || lower.contains("invalid")
            || lower.contains("handshake")
            || lower.contains("eof")
            || lower.contains("timed out"))
    {
        say!(
            en: "TLS failed at {at}: smtps:// expects TLS from the first byte (usually port 465); a server on port 587 or 25 starts in plain text and upgrades with STARTTLS, so use smtp://{at}",
            es: "falló TLS en {at}: smtps:// espera TLS desde el primer byte (normalmente en el puerto 465); un servidor en el puerto 587 o 25 empieza en texto plano y pasa a TLS con STARTTLS, así que usa smtp://{at}"
        )
    } else if !server.implicit_tls
        // A read that times out shows as "timed out" or, on Linux, EAGAIN.
        && ["timed out", "timeout", "temporarily unavailable", "would block", "response", "parse", "eof", "closed"]
            .iter()
            .any(|w| lower.contains(w))
    {
        say!(
            en: "no SMTP greeting from {at}: a server on port 465 expects TLS from the first byte, so use smtps://{at}",
            es: "{at} no saluda como un servidor SMTP: un servidor en el puerto 465 espera TLS desde el primer byte, así que usa smtps://{at}"
        )
    } else if lower.contains("535")
        || lower.contains("authentication")
        || lower.contains("credentials")
    {
        say!(
            en: "the server refused the user name or password ($AYUDA_SMTP_USER and $AYUDA_SMTP_PASSWORD, or --smtp-credentials)",
            es: "el servidor rechazó el usuario o la contraseña ($AYUDA_SMTP_USER y $AYUDA_SMTP_PASSWORD, o --smtp-credentials)"
        )
    } else if err.is_permanent() {
        say!(
            en: "the server at {at} refused the mail",
            es: "el servidor de {at} rechazó el correo"
        )
    } else {
        say!(en: "sending through {at} failed", es: "falló el envío a través de {at}")
    };
    anyhow::anyhow!("{hint} ({chain})")
}

/// `ayuda inbox test-mail`: one test mail now, and the server's answer.
#[derive(Args)]
pub struct TestMailArgs {
    #[command(flatten)]
    mail: MailArgs,
}

pub fn test_mail(args: &TestMailArgs) -> Result<()> {
    let Some(settings) = args.mail.settings()? else {
        bail!(say!(
            en: "test-mail needs --smtp URL and --notify ADDRESS",
            es: "test-mail necesita --smtp URL y --notify DIRECCIÓN"
        ));
    };
    let transport = settings.transport()?;
    let mail = Message::builder()
        .from(settings.from.clone())
        .to(settings.notify.clone())
        .subject("ayuda: correo de prueba / test mail")
        .header(ContentType::TEXT_PLAIN)
        .body(String::from(
            "Este es un correo de prueba de `ayuda inbox test-mail`: los mensajes de tus visitantes llegarán así.\n\nThis is a test mail from `ayuda inbox test-mail`: your visitors' messages will arrive like this.\n",
        ))?;
    let response = transport
        .send(&mail)
        .map_err(|e| explain(&e, &settings.server))?;
    println!(
        "{}",
        say!(
            en: "ayuda: test mail to {} accepted by {}:{}: {} {}",
            es: "ayuda: correo de prueba a {} aceptado por {}:{}: {} {}",
            settings.notify,
            settings.server.host,
            settings.server.port,
            response.code(),
            response.message().collect::<Vec<_>>().join(" ")
        )
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_name_their_tls_and_never_carry_passwords() {
        let s = parse_server("smtp://mail.example.com").unwrap();
        assert_eq!((s.port, s.implicit_tls), (587, false));
        let s = parse_server("smtps://mail.example.com").unwrap();
        assert_eq!((s.port, s.implicit_tls), (465, true));
        assert_eq!(parse_server("smtp://127.0.0.1:2525").unwrap().port, 2525);
        assert!(parse_server("http://mail.example.com").is_err());
        let err = parse_server("smtp://me:secret@mail.example.com").unwrap_err();
        assert!(format!("{err}").contains("AYUDA_SMTP_USER"));
    }
}
