//! The inbox's SQLite file: one table of messages, each kept as the canonical JSON it arrived as,
//! and the deliveries queue (one row per message and channel it goes out on: mail to the owner,
//! the webhook; with its state, so retries survive restarts), and which messages the owner has
//! marked handled (a table of its own, so older databases gain it). It never reports a message as
//! saved before its commit (queue rows included) is on disk, and never builds SQL from text.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use ayuda::escalate::Escalation;
use jiff::Timestamp;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use serde_json::{Map, Value};

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    received_at TEXT NOT NULL,
    lane TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    message_id INTEGER NOT NULL REFERENCES messages (id),
    channel TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at TEXT NOT NULL,
    sent_at TEXT,
    failed_at TEXT,
    last_error TEXT,
    PRIMARY KEY (message_id, channel)
);
CREATE TABLE IF NOT EXISTS handled (
    message_id INTEGER PRIMARY KEY REFERENCES messages (id),
    at TEXT NOT NULL
)";

/// One stored message, as read back.
pub struct Row {
    pub id: i64,
    pub received_at: String,
    /// The message's canonical JSON, exactly as stored.
    pub body: String,
    /// Where it stands on each channel that was on as it arrived (mail, webhook).
    pub deliveries: Vec<(String, Delivery)>,
    /// When the owner marked it handled, if they have.
    pub handled_at: Option<String>,
}

/// Where a message's delivery on one channel stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Waiting {
        attempts: i64,
        next_at: String,
        last_error: Option<String>,
    },
    Sent {
        at: String,
    },
    GaveUp {
        at: String,
        last_error: String,
    },
}

/// A message due on a channel.
pub struct Due {
    pub id: i64,
    pub attempts: i64,
    pub received_at: String,
    pub body: String,
}

/// What saving a message did.
pub enum Saved {
    New(Row),
    /// The same key with the same content: a resend after a lost answer.
    Duplicate(i64),
    /// The same key with other content: a client bug or a forgery, never an overwrite.
    Conflict,
}

/// One connection behind a mutex: SQLite serialises writers anyway, and a single connection
/// keeps the durability settings in one place.
pub struct Store {
    conn: Mutex<Connection>,
    /// The channels new messages are queued on.
    channels: Vec<&'static str>,
}

impl Store {
    /// Opens the inbox at `path`, creating it if needed.
    pub fn open(path: &Path) -> Result<Store> {
        // Visitors' messages are for the owner alone: a new database is created readable by its
        // owner only, and SQLite gives its -wal and -shm files the same mode.
        #[cfg(unix)]
        if !path.exists() {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .with_context(|| format!("creating the inbox database {}", path.display()))?;
        }
        let conn = Connection::open(path)
            .with_context(|| format!("opening the inbox database {}", path.display()))?;
        Self::prepare(conn, path)
    }

    /// Opens an inbox that must already exist (for reading while a server may be writing).
    pub fn open_existing(path: &Path) -> Result<Store> {
        if !path.is_file() {
            bail!(
                "{}: no inbox database there (`ayuda inbox --db FILE` creates it)",
                path.display()
            );
        }
        // Read-write without create: a reader may have to replay the WAL a killed server left.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .with_context(|| format!("opening the inbox database {}", path.display()))?;
        conn.busy_timeout(Duration::from_secs(5))?;
        Ok(Store {
            conn: Mutex::new(conn),
            channels: Vec::new(),
        })
    }

    fn prepare(conn: Connection, path: &Path) -> Result<Store> {
        let context = || format!("setting up the inbox database {}", path.display());
        conn.busy_timeout(Duration::from_secs(5))
            .with_context(context)?;
        // WAL lets `inbox list` read while the server writes; FULL makes each commit durable
        // before it returns, which is what a 201 promises the widget.
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .with_context(context)?;
        if !mode.eq_ignore_ascii_case("wal") {
            bail!("{}: could not switch to WAL (got {mode})", path.display());
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .with_context(context)?;
        conn.execute_batch(SCHEMA).with_context(context)?;
        Ok(Store {
            conn: Mutex::new(conn),
            channels: Vec::new(),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic mid-transaction rolls back when the transaction drops; the connection is fine.
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Saves `message` unless its key is taken. The UNIQUE key decides inside one transaction,
    /// so two concurrent copies of one message store it once.
    pub fn save(&self, message: &Escalation, now: Timestamp) -> Result<Saved> {
        let body = serde_json::to_string(message)?;
        let received_at = format!("{now:.3}");
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let inserted: Option<i64> = tx
            .query_row(
                "INSERT INTO messages (key, received_at, lane, body) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (key) DO NOTHING RETURNING id",
                (&message.key, &received_at, message.lane.as_str(), &body),
                |row| row.get(0),
            )
            .optional()?;
        let saved = match inserted {
            Some(id) => {
                for channel in &self.channels {
                    tx.execute(
                        "INSERT INTO deliveries (message_id, channel, next_at) VALUES (?1, ?2, ?3)",
                        (id, channel, &received_at),
                    )?;
                }
                Saved::New(Row {
                    id,
                    received_at,
                    body,
                    deliveries: Vec::new(),
                    handled_at: None,
                })
            }
            None => {
                let (id, stored): (i64, String) = tx.query_row(
                    "SELECT id, body FROM messages WHERE key = ?1",
                    [&message.key],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )?;
                if stored == body {
                    Saved::Duplicate(id)
                } else {
                    Saved::Conflict
                }
            }
        };
        tx.commit()?;
        Ok(saved)
    }

    /// Every message, oldest first, with where its deliveries stand.
    pub fn all(&self) -> Result<Vec<Row>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT m.id, m.received_at, m.body, h.at FROM messages m
             LEFT JOIN handled h ON h.message_id = m.id ORDER BY m.id",
        )?;
        let mut rows = stmt
            .query_map([], |row| {
                Ok(Row {
                    id: row.get(0)?,
                    received_at: row.get(1)?,
                    body: row.get(2)?,
                    deliveries: Vec::new(),
                    handled_at: row.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut stmt = conn.prepare(
            "SELECT message_id, channel, attempts, next_at, sent_at, failed_at, last_error
             FROM deliveries ORDER BY message_id, channel",
        )?;
        let states = stmt.query_map([], |row| {
            let (attempts, next_at): (i64, String) = (row.get(2)?, row.get(3)?);
            let (sent_at, failed_at): (Option<String>, Option<String>) = (row.get(4)?, row.get(5)?);
            let last_error: Option<String> = row.get(6)?;
            let state = match (sent_at, failed_at) {
                (Some(at), _) => Delivery::Sent { at },
                (None, Some(at)) => Delivery::GaveUp {
                    at,
                    last_error: last_error.unwrap_or_default(),
                },
                (None, None) => Delivery::Waiting {
                    attempts,
                    next_at,
                    last_error,
                },
            };
            Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?, state))
        })?;
        for state in states {
            let (id, channel, state) = state?;
            if let Ok(i) = rows.binary_search_by_key(&id, |r| r.id) {
                rows[i].deliveries.push((channel, state));
            }
        }
        Ok(rows)
    }

    /// Marks message `id` handled at `at`, or not handled (`None`); false when there is no
    /// such message.
    pub fn set_handled(&self, id: i64, at: Option<Timestamp>) -> Result<bool> {
        let conn = self.conn();
        let exists: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM messages WHERE id = ?1)",
            [id],
            |row| row.get(0),
        )?;
        match at {
            Some(at) if exists => conn.execute(
                "INSERT INTO handled (message_id, at) VALUES (?1, ?2)
                 ON CONFLICT (message_id) DO NOTHING",
                (id, format!("{at:.3}")),
            )?,
            _ => conn.execute("DELETE FROM handled WHERE message_id = ?1", [id])?,
        };
        Ok(exists)
    }

    /// From now on, new messages are queued on `channels`; those already waiting on them are
    /// due at once (a restart is when an owner has just fixed the settings).
    pub fn queue_on(mut self, channels: Vec<&'static str>, now: Timestamp) -> Result<Store> {
        for channel in &channels {
            self.conn().execute(
                "UPDATE deliveries SET next_at = ?1
                 WHERE channel = ?2 AND sent_at IS NULL AND failed_at IS NULL",
                (format!("{now:.3}"), channel),
            )?;
        }
        self.channels = channels;
        Ok(self)
    }

    /// Messages due on `channel` at `now`, urgent ones first.
    pub fn due(&self, channel: &str, now: Timestamp) -> Result<Vec<Due>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT m.id, d.attempts, m.received_at, m.body FROM deliveries d
             JOIN messages m ON m.id = d.message_id
             WHERE d.channel = ?1 AND d.sent_at IS NULL AND d.failed_at IS NULL AND d.next_at <= ?2
             ORDER BY m.lane = 'urgent' DESC, m.id",
        )?;
        let rows = stmt.query_map((channel, format!("{now:.3}")), |row| {
            Ok(Due {
                id: row.get(0)?,
                attempts: row.get(1)?,
                received_at: row.get(2)?,
                body: row.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// When the next waiting delivery on `channel` is due, if any waits.
    pub fn next_due(&self, channel: &str) -> Result<Option<String>> {
        Ok(self.conn().query_row(
            "SELECT min(next_at) FROM deliveries
             WHERE channel = ?1 AND sent_at IS NULL AND failed_at IS NULL",
            [channel],
            |row| row.get(0),
        )?)
    }

    pub fn delivered(&self, id: i64, channel: &str, now: Timestamp) -> Result<()> {
        self.conn().execute(
            "UPDATE deliveries SET sent_at = ?3, attempts = attempts + 1, last_error = NULL
             WHERE message_id = ?1 AND channel = ?2",
            (id, channel, format!("{now:.3}")),
        )?;
        Ok(())
    }

    /// A failed try: again at `next_at`, or never (`next_at` None: given up at `now`).
    pub fn failed(
        &self,
        id: i64,
        channel: &str,
        error: &str,
        now: Timestamp,
        next_at: Option<Timestamp>,
    ) -> Result<()> {
        let conn = self.conn();
        match next_at {
            Some(next) => conn.execute(
                "UPDATE deliveries SET attempts = attempts + 1, next_at = ?3, last_error = ?4
                 WHERE message_id = ?1 AND channel = ?2",
                (id, channel, format!("{next:.3}"), error),
            )?,
            None => conn.execute(
                "UPDATE deliveries SET attempts = attempts + 1, failed_at = ?3, last_error = ?4
                 WHERE message_id = ?1 AND channel = ?2",
                (id, channel, format!("{now:.3}"), error),
            )?,
        };
        Ok(())
    }
}

impl Row {
    /// `{"id", "received_at", ...the message's own fields as stored}`, `handled_at` once the
    /// owner marked it handled, and `deliveries` (each channel's state) when any was on: the shape `inbox list --json` and `GET /messages` share.
    pub fn to_json(&self) -> Result<Value> {
        let mut row = message_json(self.id, &self.received_at, &self.body)?;
        if let Some(at) = &self.handled_at {
            row.as_object_mut()
                .expect("message_json makes an object")
                .insert("handled_at".into(), at.as_str().into());
        }
        if !self.deliveries.is_empty() {
            let states: Map<String, Value> = self
                .deliveries
                .iter()
                .map(|(channel, state)| {
                    let state = match state {
                        Delivery::Waiting {
                            attempts,
                            next_at,
                            last_error,
                        } => serde_json::json!({"state": "waiting", "attempts": attempts, "next_at": next_at, "last_error": last_error}),
                        Delivery::Sent { at } => serde_json::json!({"state": "sent", "at": at}),
                        Delivery::GaveUp { at, last_error } => {
                            serde_json::json!({"state": "gave up", "at": at, "last_error": last_error})
                        }
                    };
                    (channel.clone(), state)
                })
                .collect();
            row.as_object_mut()
                .expect("message_json makes an object")
                .insert("deliveries".into(), Value::Object(states));
        }
        Ok(row)
    }
}

/// `{"id", "received_at", ...the message's own fields as stored}`.
pub fn message_json(id: i64, received_at: &str, body: &str) -> Result<Value> {
    let mut fields: Map<String, Value> =
        serde_json::from_str(body).with_context(|| format!("message {id} is not a JSON object"))?;
    let mut row = Map::new();
    row.insert("id".into(), id.into());
    row.insert("received_at".into(), received_at.into());
    row.append(&mut fields);
    Ok(Value::Object(row))
}
