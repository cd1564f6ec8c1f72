//! The inbox in PostgreSQL, for owners who run several inboxes (an agency's sites, instances
//! behind a load balancer) on one database: see the module above for what it keeps and
//! promises. Commits are synchronous (`synchronous_commit = on` for this connection, whatever
//! the server's default), the unique key decides between racing copies, the tables are created
//! under an advisory lock so that two inboxes starting at once do not collide, and a delivery
//! is claimed (`FOR UPDATE SKIP LOCKED`, then leased) so that only one inbox sends it.
//! One connection behind a mutex, reopened if the server dropped it. No TLS: keep the database
//! on the same machine or a private network.

use std::sync::Mutex;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use postgres::{Client, Config, NoTls};

use super::{Backend, Delivery, Due, Inserted, Listing, NewMessage, Row};
use crate::say::say;

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS messages (
    id BIGSERIAL PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    received_at TEXT NOT NULL,
    lane TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    message_id BIGINT NOT NULL REFERENCES messages (id),
    channel TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_at TEXT NOT NULL,
    sent_at TEXT,
    failed_at TEXT,
    last_error TEXT,
    PRIMARY KEY (message_id, channel)
);
CREATE TABLE IF NOT EXISTS handled (
    message_id BIGINT PRIMARY KEY REFERENCES messages (id),
    at TEXT NOT NULL
);";

/// Any number will do, as long as it is always the same: the advisory lock the inboxes take
/// while creating the tables.
const SCHEMA_LOCK: i64 = 0x0061_7975_6461;

pub struct Db {
    config: Config,
    shown: String,
    client: Mutex<Option<Client>>,
}

impl Db {
    /// Connects to `url` (`postgres://USER@HOST[:PORT]/DATABASE`; the password, if any, from
    /// $PGPASSWORD, never in the URL, where others can see it in the process list). With
    /// `create`, the tables are made if missing; without, they must exist.
    pub fn open(url: &str, create: bool) -> Result<Db> {
        let mut config: Config = url.parse().with_context(|| {
            say!(
                en: "--db {url}: not a PostgreSQL URL (postgres://USER@HOST/DATABASE)",
                es: "--db {url}: no es una URL de PostgreSQL (postgres://USUARIO@SERVIDOR/BASE)"
            )
        })?;
        if config.get_password().is_some() {
            bail!(say!(
                en: "--db: put the database password in $PGPASSWORD, not in the URL (others can see the command line)",
                es: "--db: pon la contraseña de la base de datos en $PGPASSWORD, no en la URL (otros pueden ver la línea de órdenes)"
            ));
        }
        if let Ok(password) = std::env::var("PGPASSWORD") {
            config.password(password);
        }
        config.connect_timeout(Duration::from_secs(10));
        // Every commit waits for the disk, whatever the server's default: a 201 promises it.
        config.options("-c synchronous_commit=on");
        let db = Db {
            config,
            shown: url.to_string(),
            client: Mutex::new(None),
        };
        db.with(|client| {
            if create {
                let mut tx = client.transaction()?;
                tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])?;
                tx.batch_execute(SCHEMA)?;
                tx.commit()?;
            } else {
                let found: Option<String> = client
                    .query_one("SELECT to_regclass('messages')::text", &[])?
                    .get(0);
                if found.is_none() {
                    bail!(say!(
                        en: "no inbox there (`ayuda inbox --db URL` creates its tables)",
                        es: "ahí no hay ningún buzón (`ayuda inbox --db URL` crea sus tablas)"
                    ));
                }
                // A database from before the handled marks gains their table.
                client.batch_execute(SCHEMA)?;
            }
            Ok(())
        })?;
        Ok(db)
    }

    /// Runs `f` on the connection, connecting first if there is none or the last one broke.
    fn with<T>(&self, f: impl FnOnce(&mut Client) -> Result<T>) -> Result<T> {
        let mut guard = self.client.lock().unwrap_or_else(|p| p.into_inner());
        if guard.as_ref().is_none_or(Client::is_closed) {
            let client = self.config.connect(NoTls).with_context(|| {
                say!(
                    en: "connecting to the inbox database {}",
                    es: "conectando con la base de datos del buzón {}",
                    self.shown
                )
            })?;
            *guard = Some(client);
        }
        let client = guard.as_mut().expect("connected above");
        f(client).with_context(|| {
            say!(
                en: "inbox database {}",
                es: "base de datos del buzón {}",
                self.shown
            )
        })
    }
}

impl Drop for Db {
    /// The postgres crate's client runs its own small runtime and cannot be dropped on a thread
    /// that is inside another (the inbox drops its store in its tokio runtime as it stops).
    fn drop(&mut self) {
        let client = self.client.get_mut().ok().and_then(Option::take);
        if let Some(client) = client {
            let _ = std::thread::spawn(move || drop(client)).join();
        }
    }
}

impl Backend for Db {
    fn insert(&self, m: &NewMessage, channels: &[&'static str]) -> Result<Inserted> {
        self.with(|client| {
            let mut tx = client.transaction()?;
            // ON CONFLICT waits for a racing insert of the same key to commit or roll back.
            let inserted = tx.query_opt(
                "INSERT INTO messages (key, received_at, lane, body) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (key) DO NOTHING RETURNING id",
                &[&m.key, &m.received_at, &m.lane, &m.body],
            )?;
            let outcome = match inserted {
                Some(row) => {
                    let id: i64 = row.get(0);
                    for channel in channels {
                        tx.execute(
                            "INSERT INTO deliveries (message_id, channel, next_at) VALUES ($1, $2, $3)",
                            &[&id, channel, &m.received_at],
                        )?;
                    }
                    Inserted::New(id)
                }
                None => {
                    let row = tx.query_one("SELECT id, body FROM messages WHERE key = $1", &[&m.key])?;
                    Inserted::Taken {
                        id: row.get(0),
                        body: row.get(1),
                    }
                }
            };
            tx.commit()?;
            Ok(outcome)
        })
    }

    fn all(&self) -> Result<Listing> {
        self.with(|client| {
            let rows = client
                .query(
                    "SELECT m.id, m.received_at, m.body, h.at FROM messages m
                     LEFT JOIN handled h ON h.message_id = m.id ORDER BY m.id",
                    &[],
                )?
                .iter()
                .map(|r| Row {
                    id: r.get(0),
                    received_at: r.get(1),
                    body: r.get(2),
                    deliveries: Vec::new(),
                    handled_at: r.get(3),
                })
                .collect();
            let states = client
                .query(
                    "SELECT message_id, channel, attempts, next_at, sent_at, failed_at, last_error
                     FROM deliveries ORDER BY message_id, channel",
                    &[],
                )?
                .iter()
                .map(|r| {
                    let state =
                        Delivery::from_columns(r.get(2), r.get(3), r.get(4), r.get(5), r.get(6));
                    (r.get(0), r.get(1), state)
                })
                .collect();
            Ok((rows, states))
        })
    }

    fn set_handled(&self, id: i64, at: Option<&str>) -> Result<bool> {
        self.with(|client| {
            let exists: bool = client
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM messages WHERE id = $1)",
                    &[&id],
                )?
                .get(0);
            match at {
                Some(at) if exists => client.execute(
                    "INSERT INTO handled (message_id, at) VALUES ($1, $2)
                     ON CONFLICT (message_id) DO NOTHING",
                    &[&id, &at],
                )?,
                _ => client.execute("DELETE FROM handled WHERE message_id = $1", &[&id])?,
            };
            Ok(exists)
        })
    }

    fn requeue(&self, channel: &str, now: &str) -> Result<()> {
        self.with(|client| {
            client.execute(
                "UPDATE deliveries SET next_at = $1
                 WHERE channel = $2 AND sent_at IS NULL AND failed_at IS NULL",
                &[&now, &channel],
            )?;
            Ok(())
        })
    }

    fn due(&self, channel: &str, now: &str, lease: &str) -> Result<Vec<Due>> {
        self.with(|client| {
            // Rows another inbox is claiming are skipped, not waited for; the lease keeps them
            // from the others until this one reports how the try went.
            let mut due: Vec<(bool, Due)> = client
                .query(
                    "UPDATE deliveries d SET next_at = $3 FROM messages m
                     WHERE m.id = d.message_id AND (d.message_id, d.channel) IN (
                         SELECT message_id, channel FROM deliveries
                         WHERE channel = $1 AND sent_at IS NULL AND failed_at IS NULL
                           AND next_at <= $2
                         FOR UPDATE SKIP LOCKED)
                     RETURNING m.id, d.attempts, m.received_at, m.body, m.lane = 'urgent'",
                    &[&channel, &now, &lease],
                )?
                .iter()
                .map(|r| {
                    let due = Due {
                        id: r.get(0),
                        attempts: r.get(1),
                        received_at: r.get(2),
                        body: r.get(3),
                    };
                    (r.get(4), due)
                })
                .collect();
            due.sort_by_key(|(urgent, d)| (!*urgent, d.id));
            Ok(due.into_iter().map(|(_, d)| d).collect())
        })
    }

    fn next_due(&self, channel: &str) -> Result<Option<String>> {
        self.with(|client| {
            Ok(client
                .query_one(
                    "SELECT min(next_at) FROM deliveries
                     WHERE channel = $1 AND sent_at IS NULL AND failed_at IS NULL",
                    &[&channel],
                )?
                .get(0))
        })
    }

    fn delivered(&self, id: i64, channel: &str, now: &str) -> Result<()> {
        self.with(|client| {
            client.execute(
                "UPDATE deliveries SET sent_at = $3, attempts = attempts + 1, last_error = NULL
                 WHERE message_id = $1 AND channel = $2",
                &[&id, &channel, &now],
            )?;
            Ok(())
        })
    }

    fn failed(
        &self,
        id: i64,
        channel: &str,
        error: &str,
        next_at: Option<&str>,
        now: &str,
    ) -> Result<()> {
        self.with(|client| {
            match next_at {
                Some(next) => client.execute(
                    "UPDATE deliveries SET attempts = attempts + 1, next_at = $3, last_error = $4
                     WHERE message_id = $1 AND channel = $2",
                    &[&id, &channel, &next, &error],
                )?,
                None => client.execute(
                    "UPDATE deliveries SET attempts = attempts + 1, failed_at = $3, last_error = $4
                     WHERE message_id = $1 AND channel = $2",
                    &[&id, &channel, &now, &error],
                )?,
            };
            Ok(())
        })
    }
}
