//! The inbox's storage: one table of messages, each kept as the canonical JSON it arrived as;
//! the deliveries queue (one row per message and channel it goes out on: mail to the owner, the
//! webhook; with its state, so retries survive restarts); and which messages the owner has
//! marked handled (a table of its own, so older databases gain it). In a SQLite file
//! (sqlite.rs), or in PostgreSQL (postgres.rs) for owners who run several inboxes on one
//! database. Both keep the same promises: a message is reported saved only once its commit
//! (queue rows included) is durable, one key is stored once however many copies race, and no
//! SQL is ever built from text.

mod postgres;
mod sqlite;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ayuda::escalate::Escalation;
use jiff::Timestamp;
use serde_json::{Map, Value};

use crate::say::say;

/// Where the messages are kept: `--db FILE`, or `--db postgres://USER@HOST/DATABASE`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Location {
    File(PathBuf),
    Postgres(String),
}

impl Location {
    fn of(db: &Path) -> Location {
        match db.to_str() {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Location::Postgres(url.to_string())
            }
            _ => Location::File(db.to_path_buf()),
        }
    }
}

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

impl Delivery {
    /// A deliveries row's state from its columns.
    fn from_columns(
        attempts: i64,
        next_at: String,
        sent_at: Option<String>,
        failed_at: Option<String>,
        last_error: Option<String>,
    ) -> Delivery {
        match (sent_at, failed_at) {
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
        }
    }
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

/// A message ready to insert: its key, lane, canonical JSON and arrival time.
struct NewMessage<'a> {
    key: &'a str,
    lane: &'static str,
    body: &'a str,
    received_at: &'a str,
}

/// What inserting found: a new row, or the id and body already stored under the key.
enum Inserted {
    New(i64),
    Taken { id: i64, body: String },
}

/// Every message (oldest first, with its handled mark), then every delivery row.
type Listing = (Vec<Row>, Vec<(i64, String, Delivery)>);

/// What each database does; times are fixed-width RFC 3339 text (`{:.3}`), so they compare as
/// text in both.
trait Backend: Send + Sync {
    /// Inserts unless the key is taken, with a waiting delivery row per channel, in one
    /// transaction.
    fn insert(&self, m: &NewMessage, channels: &[&'static str]) -> Result<Inserted>;
    fn all(&self) -> Result<Listing>;
    fn set_handled(&self, id: i64, at: Option<&str>) -> Result<bool>;
    /// Makes every waiting delivery on `channel` due at `now`.
    fn requeue(&self, channel: &str, now: &str) -> Result<()>;
    /// Due deliveries on `channel` at `now`, urgent first, claimed until `lease` so that another
    /// inbox on the same database does not send them too.
    fn due(&self, channel: &str, now: &str, lease: &str) -> Result<Vec<Due>>;
    fn next_due(&self, channel: &str) -> Result<Option<String>>;
    fn delivered(&self, id: i64, channel: &str, now: &str) -> Result<()>;
    fn failed(
        &self,
        id: i64,
        channel: &str,
        error: &str,
        next_at: Option<&str>,
        now: &str,
    ) -> Result<()>;
}

/// How long a claimed delivery is left to the inbox that claimed it before another may try
/// (it is longer than any one mail or webhook attempt can take).
const LEASE: std::time::Duration = std::time::Duration::from_secs(600);

pub struct Store {
    backend: Box<dyn Backend>,
    /// The channels new messages are queued on.
    channels: Vec<&'static str>,
    shown: String,
}

fn at(t: Timestamp) -> String {
    format!("{t:.3}")
}

impl Store {
    /// Opens the inbox at `db`, creating its tables if needed.
    pub fn open(db: &Path) -> Result<Store> {
        Store::connect(db, true)
    }

    /// Opens an inbox that must already exist (for reading while a server may be writing).
    pub fn open_existing(db: &Path) -> Result<Store> {
        Store::connect(db, false)
    }

    fn connect(db: &Path, create: bool) -> Result<Store> {
        let backend: Box<dyn Backend> = match (Location::of(db), create) {
            (Location::File(path), true) => Box::new(sqlite::Db::open(&path)?),
            (Location::File(path), false) => Box::new(sqlite::Db::open_existing(&path)?),
            (Location::Postgres(url), create) => Box::new(postgres::Db::open(&url, create)?),
        };
        Ok(Store {
            backend,
            channels: Vec::new(),
            shown: db.display().to_string(),
        })
    }

    /// Saves `message` unless its key is taken. The unique key decides inside one transaction,
    /// so two concurrent copies of one message store it once.
    pub fn save(&self, message: &Escalation, now: Timestamp) -> Result<Saved> {
        let body = serde_json::to_string(message)?;
        let received_at = at(now);
        let new = NewMessage {
            key: &message.key,
            lane: message.lane.as_str(),
            body: &body,
            received_at: &received_at,
        };
        let inserted = self.backend.insert(&new, &self.channels).with_context(|| {
            say!(
                en: "saving a message in {}",
                es: "guardando un mensaje en {}",
                self.shown
            )
        })?;
        Ok(match inserted {
            Inserted::New(id) => Saved::New(Row {
                id,
                received_at,
                body,
                deliveries: Vec::new(),
                handled_at: None,
            }),
            Inserted::Taken { id, body: stored } if stored == body => Saved::Duplicate(id),
            Inserted::Taken { .. } => Saved::Conflict,
        })
    }

    /// Every message, oldest first, with where its deliveries stand.
    pub fn all(&self) -> Result<Vec<Row>> {
        let (mut rows, states) = self.backend.all()?;
        for (id, channel, state) in states {
            if let Ok(i) = rows.binary_search_by_key(&id, |r| r.id) {
                rows[i].deliveries.push((channel, state));
            }
        }
        Ok(rows)
    }

    /// Marks message `id` handled at `at`, or not handled (`None`); false when there is no
    /// such message.
    pub fn set_handled(&self, id: i64, handled: Option<Timestamp>) -> Result<bool> {
        self.backend.set_handled(id, handled.map(at).as_deref())
    }

    /// From now on, new messages are queued on `channels`; those already waiting on them are
    /// due at once (a restart is when an owner has just fixed the settings).
    pub fn queue_on(mut self, channels: Vec<&'static str>, now: Timestamp) -> Result<Store> {
        for channel in &channels {
            self.backend.requeue(channel, &at(now))?;
        }
        self.channels = channels;
        Ok(self)
    }

    /// Messages due on `channel` at `now`, urgent ones first, claimed for this inbox.
    pub fn due(&self, channel: &str, now: Timestamp) -> Result<Vec<Due>> {
        let lease = now + jiff::SignedDuration::try_from(LEASE).expect("ten minutes");
        self.backend.due(channel, &at(now), &at(lease))
    }

    /// When the next waiting delivery on `channel` is due, if any waits.
    pub fn next_due(&self, channel: &str) -> Result<Option<String>> {
        self.backend.next_due(channel)
    }

    pub fn delivered(&self, id: i64, channel: &str, now: Timestamp) -> Result<()> {
        self.backend.delivered(id, channel, &at(now))
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
        self.backend
            .failed(id, channel, error, next_at.map(at).as_deref(), &at(now))
    }
}

impl Row {
    /// `{"id", "received_at", ...the message's own fields as stored}`, `handled_at` once the
    /// owner marked it handled, and `deliveries` (each channel's state) when any was on: the
    /// shape `inbox list --json` and `GET /messages` share.
    pub fn to_json(&self) -> Result<Value> {
        let mut row = message_json(self.id, &self.received_at, &self.body)?;
        let fields = row.as_object_mut().expect("message_json makes an object");
        if let Some(at) = &self.handled_at {
            fields.insert("handled_at".into(), at.as_str().into());
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
            fields.insert("deliveries".into(), Value::Object(states));
        }
        Ok(row)
    }
}

/// `{"id", "received_at", ...the message's own fields as stored}`.
pub fn message_json(id: i64, received_at: &str, body: &str) -> Result<Value> {
    let mut fields: Map<String, Value> = serde_json::from_str(body).with_context(|| {
        say!(
            en: "message {id} is not a JSON object",
            es: "el mensaje {id} no es un objeto JSON"
        )
    })?;
    let mut row = Map::new();
    row.insert("id".into(), id.into());
    row.insert("received_at".into(), received_at.into());
    row.append(&mut fields);
    Ok(Value::Object(row))
}
