//! The inbox in a SQLite file (WAL, synchronous commits): see the module above for what it
//! keeps and promises. One connection behind a mutex: SQLite serialises writers anyway.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior};

use super::{Backend, Delivery, Due, Inserted, Listing, NewMessage, Row};
use crate::say::say;

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

pub struct Db {
    conn: Mutex<Connection>,
}

fn opening(path: &Path) -> String {
    say!(
        en: "opening the inbox database {}",
        es: "abriendo la base de datos del buzón {}",
        path.display()
    )
}

impl Db {
    /// Opens the inbox at `path`, creating it if needed.
    pub fn open(path: &Path) -> Result<Db> {
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
                .with_context(|| {
                    say!(
                        en: "creating the inbox database {}",
                        es: "creando la base de datos del buzón {}",
                        path.display()
                    )
                })?;
        }
        let conn = Connection::open(path).with_context(|| opening(path))?;
        let context = || {
            say!(
                en: "setting up the inbox database {}",
                es: "preparando la base de datos del buzón {}",
                path.display()
            )
        };
        conn.busy_timeout(Duration::from_secs(5))
            .with_context(context)?;
        // WAL lets `inbox list` read while the server writes; FULL makes each commit durable
        // before it returns, which is what a 201 promises the widget.
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .with_context(context)?;
        if !mode.eq_ignore_ascii_case("wal") {
            bail!(say!(
                en: "{}: could not switch to WAL (got {mode})",
                es: "{}: no se pudo pasar a WAL (está en {mode})",
                path.display()
            ));
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .with_context(context)?;
        conn.execute_batch(SCHEMA).with_context(context)?;
        Ok(Db {
            conn: Mutex::new(conn),
        })
    }

    /// Opens an inbox that must already exist (for reading while a server may be writing).
    pub fn open_existing(path: &Path) -> Result<Db> {
        if !path.is_file() {
            bail!(say!(
                en: "{}: no inbox database there (`ayuda inbox --db FILE` creates it)",
                es: "{}: ahí no hay ninguna base de datos de buzón (`ayuda inbox --db ARCHIVO` la crea)",
                path.display()
            ));
        }
        // Read-write without create: a reader may have to replay the WAL a killed server left.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).with_context(|| opening(path))?;
        conn.busy_timeout(Duration::from_secs(5))?;
        // A database from before the handled marks gains their table.
        conn.execute_batch(SCHEMA)?;
        Ok(Db {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic mid-transaction rolls back when the transaction drops; the connection is fine.
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Backend for Db {
    fn insert(&self, m: &NewMessage, channels: &[&'static str]) -> Result<Inserted> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let inserted: Option<i64> = tx
            .query_row(
                "INSERT INTO messages (key, received_at, lane, body) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (key) DO NOTHING RETURNING id",
                (m.key, m.received_at, m.lane, m.body),
                |row| row.get(0),
            )
            .optional()?;
        let outcome = match inserted {
            Some(id) => {
                for channel in channels {
                    tx.execute(
                        "INSERT INTO deliveries (message_id, channel, next_at) VALUES (?1, ?2, ?3)",
                        (id, channel, m.received_at),
                    )?;
                }
                Inserted::New(id)
            }
            None => tx.query_row(
                "SELECT id, body FROM messages WHERE key = ?1",
                [m.key],
                |row| {
                    Ok(Inserted::Taken {
                        id: row.get(0)?,
                        body: row.get(1)?,
                    })
                },
            )?,
        };
        tx.commit()?;
        Ok(outcome)
    }

    fn all(&self) -> Result<Listing> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT m.id, m.received_at, m.body, h.at FROM messages m
             LEFT JOIN handled h ON h.message_id = m.id ORDER BY m.id",
        )?;
        let rows = stmt
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
        let states = stmt
            .query_map([], |row| {
                let state = Delivery::from_columns(
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                    row.get(5)?,
                    row.get(6)?,
                );
                Ok((row.get(0)?, row.get(1)?, state))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok((rows, states))
    }

    fn set_handled(&self, id: i64, at: Option<&str>) -> Result<bool> {
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
                (id, at),
            )?,
            _ => conn.execute("DELETE FROM handled WHERE message_id = ?1", [id])?,
        };
        Ok(exists)
    }

    fn requeue(&self, channel: &str, now: &str) -> Result<()> {
        self.conn().execute(
            "UPDATE deliveries SET next_at = ?1
             WHERE channel = ?2 AND sent_at IS NULL AND failed_at IS NULL",
            (now, channel),
        )?;
        Ok(())
    }

    fn due(&self, channel: &str, now: &str, lease: &str) -> Result<Vec<Due>> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let due = {
            let mut stmt = tx.prepare(
                "SELECT m.id, d.attempts, m.received_at, m.body FROM deliveries d
                 JOIN messages m ON m.id = d.message_id
                 WHERE d.channel = ?1 AND d.sent_at IS NULL AND d.failed_at IS NULL
                   AND d.next_at <= ?2
                 ORDER BY m.lane = 'urgent' DESC, m.id",
            )?;
            let rows = stmt.query_map((channel, now), |row| {
                Ok(Due {
                    id: row.get(0)?,
                    attempts: row.get(1)?,
                    received_at: row.get(2)?,
                    body: row.get(3)?,
                })
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()?
        };
        for d in &due {
            tx.execute(
                "UPDATE deliveries SET next_at = ?3 WHERE message_id = ?1 AND channel = ?2",
                (d.id, channel, lease),
            )?;
        }
        tx.commit()?;
        Ok(due)
    }

    fn next_due(&self, channel: &str) -> Result<Option<String>> {
        Ok(self.conn().query_row(
            "SELECT min(next_at) FROM deliveries
             WHERE channel = ?1 AND sent_at IS NULL AND failed_at IS NULL",
            [channel],
            |row| row.get(0),
        )?)
    }

    fn delivered(&self, id: i64, channel: &str, now: &str) -> Result<()> {
        self.conn().execute(
            "UPDATE deliveries SET sent_at = ?3, attempts = attempts + 1, last_error = NULL
             WHERE message_id = ?1 AND channel = ?2",
            (id, channel, now),
        )?;
        Ok(())
    }

    fn failed(
        &self,
        id: i64,
        channel: &str,
        error: &str,
        next_at: Option<&str>,
        now: &str,
    ) -> Result<()> {
        let conn = self.conn();
        match next_at {
            Some(next) => conn.execute(
                "UPDATE deliveries SET attempts = attempts + 1, next_at = ?3, last_error = ?4
                 WHERE message_id = ?1 AND channel = ?2",
                (id, channel, next, error),
            )?,
            None => conn.execute(
                "UPDATE deliveries SET attempts = attempts + 1, failed_at = ?3, last_error = ?4
                 WHERE message_id = ?1 AND channel = ?2",
                (id, channel, now, error),
            )?,
        };
        Ok(())
    }
}
