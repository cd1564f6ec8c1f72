//! The inbox's SQLite file: one table of messages, each kept as the canonical JSON it arrived as.
//! It never reports a message as saved before its commit is on disk, and never builds SQL from text.

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
)";

/// One stored message, as read back.
pub struct Row {
    pub id: i64,
    pub received_at: String,
    /// The message's canonical JSON, exactly as stored.
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
        conn.execute(SCHEMA, []).with_context(context)?;
        Ok(Store {
            conn: Mutex::new(conn),
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
            Some(id) => Saved::New(Row {
                id,
                received_at,
                body,
            }),
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

    /// Every message, oldest first.
    pub fn all(&self) -> Result<Vec<Row>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT id, received_at, body FROM messages ORDER BY id")?;
        let rows = stmt.query_map([], |row| {
            Ok(Row {
                id: row.get(0)?,
                received_at: row.get(1)?,
                body: row.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
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
        Ok(Value::Object(row))
    }
}
