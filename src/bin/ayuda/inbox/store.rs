//! The inbox's SQLite file: one table of messages, each kept as the canonical JSON it arrived as,
//! and the mail queue (one row per message to mail to the owner, with its sending state, so
//! retries survive restarts). It never reports a message as saved before its commit (queue row
//! included) is on disk, and never builds SQL from text.

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
CREATE TABLE IF NOT EXISTS mail (
    message_id INTEGER PRIMARY KEY REFERENCES messages (id),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at TEXT NOT NULL,
    sent_at TEXT,
    failed_at TEXT,
    last_error TEXT
)";

/// One stored message, as read back.
pub struct Row {
    pub id: i64,
    pub received_at: String,
    /// The message's canonical JSON, exactly as stored.
    pub body: String,
    /// Its mail to the owner, when mail was on as it arrived.
    pub mail: Option<MailState>,
}

/// Where a message's mail to the owner stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailState {
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

/// A message whose mail is due.
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
    /// New messages are queued for mail to the owner.
    mail: bool,
}

impl Store {
    /// Opens the inbox at `path`, creating it if needed.
    pub fn open(path: &Path) -> Result<Store> {
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
            mail: false,
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
            mail: false,
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
                if self.mail {
                    tx.execute(
                        "INSERT INTO mail (message_id, next_at) VALUES (?1, ?2)",
                        (id, &received_at),
                    )?;
                }
                Saved::New(Row {
                    id,
                    received_at,
                    body,
                    mail: None,
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

    /// Every message, oldest first, with its mail's state.
    pub fn all(&self) -> Result<Vec<Row>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT m.id, m.received_at, m.body, q.attempts, q.next_at, q.sent_at, q.failed_at,
                    q.last_error
             FROM messages m LEFT JOIN mail q ON q.message_id = m.id ORDER BY m.id",
        )?;
        let rows = stmt.query_map([], |row| {
            let attempts: Option<i64> = row.get(3)?;
            let next_at: Option<String> = row.get(4)?;
            let sent_at: Option<String> = row.get(5)?;
            let failed_at: Option<String> = row.get(6)?;
            let last_error: Option<String> = row.get(7)?;
            let mail = match (attempts, next_at, sent_at, failed_at) {
                (_, _, Some(at), _) => Some(MailState::Sent { at }),
                (_, _, None, Some(at)) => Some(MailState::GaveUp {
                    at,
                    last_error: last_error.unwrap_or_default(),
                }),
                (Some(attempts), Some(next_at), None, None) => Some(MailState::Waiting {
                    attempts,
                    next_at,
                    last_error,
                }),
                _ => None,
            };
            Ok(Row {
                id: row.get(0)?,
                received_at: row.get(1)?,
                body: row.get(2)?,
                mail,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// From now on, new messages are queued for mail; those already waiting are due at once
    /// (a restart is when an owner has just fixed the mail settings).
    pub fn queue_mail(mut self, now: Timestamp) -> Result<Store> {
        self.mail = true;
        self.conn().execute(
            "UPDATE mail SET next_at = ?1 WHERE sent_at IS NULL AND failed_at IS NULL",
            [format!("{now:.3}")],
        )?;
        Ok(self)
    }

    /// Messages whose mail is due at `now`, urgent ones first.
    pub fn mail_due(&self, now: Timestamp) -> Result<Vec<Due>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT m.id, q.attempts, m.received_at, m.body FROM mail q
             JOIN messages m ON m.id = q.message_id
             WHERE q.sent_at IS NULL AND q.failed_at IS NULL AND q.next_at <= ?1
             ORDER BY m.lane = 'urgent' DESC, m.id",
        )?;
        let rows = stmt.query_map([format!("{now:.3}")], |row| {
            Ok(Due {
                id: row.get(0)?,
                attempts: row.get(1)?,
                received_at: row.get(2)?,
                body: row.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// When the next waiting mail is due, if any waits.
    pub fn mail_next_at(&self) -> Result<Option<String>> {
        Ok(self.conn().query_row(
            "SELECT min(next_at) FROM mail WHERE sent_at IS NULL AND failed_at IS NULL",
            [],
            |row| row.get(0),
        )?)
    }

    pub fn mail_sent(&self, id: i64, now: Timestamp) -> Result<()> {
        self.conn().execute(
            "UPDATE mail SET sent_at = ?2, attempts = attempts + 1, last_error = NULL
             WHERE message_id = ?1",
            (id, format!("{now:.3}")),
        )?;
        Ok(())
    }

    /// A failed try: again at `next_at`, or never (`next_at` None: given up at `now`).
    pub fn mail_failed(
        &self,
        id: i64,
        error: &str,
        now: Timestamp,
        next_at: Option<Timestamp>,
    ) -> Result<()> {
        let conn = self.conn();
        match next_at {
            Some(next) => conn.execute(
                "UPDATE mail SET attempts = attempts + 1, next_at = ?2, last_error = ?3
                 WHERE message_id = ?1",
                (id, format!("{next:.3}"), error),
            )?,
            None => conn.execute(
                "UPDATE mail SET attempts = attempts + 1, failed_at = ?2, last_error = ?3
                 WHERE message_id = ?1",
                (id, format!("{now:.3}"), error),
            )?,
        };
        Ok(())
    }
}

impl Row {
    /// `{"id", "received_at", ...the message's own fields as stored}`: the shape `inbox list
    /// --json`, `GET /messages` and the webhook share.
    pub fn to_json(&self) -> Result<Value> {
        let mut fields: Map<String, Value> = serde_json::from_str(&self.body)
            .with_context(|| format!("message {} is not a JSON object", self.id))?;
        let mut row = Map::new();
        row.insert("id".into(), self.id.into());
        row.insert("received_at".into(), self.received_at.clone().into());
        row.append(&mut fields);
        if let Some(mail) = &self.mail {
            let state = match mail {
                MailState::Waiting {
                    attempts,
                    next_at,
                    last_error,
                } => {
                    serde_json::json!({"state": "waiting", "attempts": attempts, "next_at": next_at, "last_error": last_error})
                }
                MailState::Sent { at } => serde_json::json!({"state": "sent", "at": at}),
                MailState::GaveUp { at, last_error } => {
                    serde_json::json!({"state": "gave up", "at": at, "last_error": last_error})
                }
            };
            row.insert("mail".into(), state);
        }
        Ok(Value::Object(row))
    }
}
