//! The escalation message: the one thing that ever leaves the visitor's device. Built from what
//! the visitor typed into the form and checked here, by the same code in the widget (before the
//! preview) and in the inbox (on arrival), so both sides agree on what a valid message is.

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Longest message and longest transcript line, in characters.
pub const MAX_TEXT: usize = 2000;
/// Most transcript lines sent with a message (the latest ones are kept).
pub const MAX_TRANSCRIPT: usize = 40;
/// Bounds of an idempotency key: long enough to be unguessable, short enough to index.
pub const KEY_LEN: std::ops::RangeInclusive<usize> = 16..=64;
const MAX_EMAIL: usize = 254;
/// E.164 numbers have at most 15 digits; fewer than 6 is no reachable number.
const PHONE_DIGITS: std::ops::RangeInclusive<usize> = 6..=15;

/// A message for a person, exactly as it is previewed, stored and sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Escalation {
    /// Chosen once by the sender; a resend with the same key is the same message.
    pub key: String,
    pub message: String,
    pub reply_to: ReplyTo,
    /// Which way the visitor came: the owner answers urgent ones first.
    pub lane: LaneKind,
    /// The language the visitor wrote in, so the owner replies in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// The conversation so far, present only when the visitor ticked the box to include it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript: Option<Vec<Line>>,
    /// When the visitor pressed send (a message may wait in the outbox for hours).
    pub written_at: Timestamp,
}

/// The one way to reply the visitor gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum ReplyTo {
    Email(String),
    Phone(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LaneKind {
    /// Sent while the business is open.
    Open,
    /// Left while closed: "we will contact you".
    Closed,
    /// The visitor said it was urgent.
    Urgent,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Line {
    pub from: Speaker,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Speaker {
    Visitor,
    Assistant,
}

/// What the form collected, before checking.
#[derive(Debug, Clone, Deserialize)]
pub struct Draft {
    pub key: String,
    pub message: String,
    /// One field, "email or phone": an `@` makes it an email.
    pub reply: String,
    pub lane: LaneKind,
    #[serde(default)]
    pub lang: Option<String>,
    /// The conversation, if the visitor ticked "include the conversation"; `None` otherwise.
    #[serde(default)]
    pub transcript: Option<Vec<Line>>,
    pub written_at: Timestamp,
}

/// One thing wrong with a message, named so the widget can say it in the visitor's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "kebab-case")]
pub enum Problem {
    MessageEmpty,
    MessageTooLong { limit: usize },
    ReplyMissing,
    EmailInvalid,
    PhoneInvalid,
    KeyInvalid,
    LangInvalid,
    TranscriptTooLong { limit: usize },
    TranscriptLineTooLong { limit: usize },
}

impl Problem {
    /// The form field the problem belongs to.
    pub fn field(self) -> &'static str {
        match self {
            Problem::MessageEmpty | Problem::MessageTooLong { .. } => "message",
            Problem::ReplyMissing | Problem::EmailInvalid | Problem::PhoneInvalid => "reply",
            Problem::TranscriptTooLong { .. } | Problem::TranscriptLineTooLong { .. } => {
                "transcript"
            }
            Problem::KeyInvalid => "key",
            Problem::LangInvalid => "lang",
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::MessageEmpty => write!(f, "message: empty"),
            Problem::MessageTooLong { limit } => {
                write!(f, "message: longer than {limit} characters")
            }
            Problem::ReplyMissing => write!(f, "reply_to: no email or phone to reply to"),
            Problem::EmailInvalid => write!(f, "reply_to: not an email address"),
            Problem::PhoneInvalid => write!(
                f,
                "reply_to: not a phone number (6 to 15 digits, spaces, dashes, brackets, a leading +)"
            ),
            Problem::KeyInvalid => write!(
                f,
                "key: {} to {} letters, digits or dashes",
                KEY_LEN.start(),
                KEY_LEN.end()
            ),
            Problem::LangInvalid => write!(f, "lang: not a language tag"),
            Problem::TranscriptTooLong { limit } => {
                write!(f, "transcript: more than {limit} lines")
            }
            Problem::TranscriptLineTooLong { limit } => {
                write!(f, "transcript: a line longer than {limit} characters")
            }
        }
    }
}

/// Every problem found, not just the first, so the visitor fixes them in one go.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid message: {}", .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "))]
pub struct Invalid(pub Vec<Problem>);

impl Draft {
    /// The message this draft makes, trimmed and checked. The transcript keeps its latest
    /// [`MAX_TRANSCRIPT`] lines: older ones are dropped rather than refusing the message.
    pub fn prepare(self) -> Result<Escalation, Invalid> {
        let reply = self.reply.trim();
        let reply_to = if reply.contains('@') {
            ReplyTo::Email(reply.to_string())
        } else {
            ReplyTo::Phone(reply.to_string())
        };
        let transcript = self.transcript.map(|mut lines| {
            lines.retain(|l| !l.text.trim().is_empty());
            let extra = lines.len().saturating_sub(MAX_TRANSCRIPT);
            lines.drain(..extra);
            lines
        });
        let escalation = Escalation {
            key: self.key,
            message: self.message.trim().to_string(),
            reply_to,
            lane: self.lane,
            lang: self.lang.filter(|l| !l.is_empty()),
            transcript,
            written_at: self.written_at,
        };
        escalation.check()?;
        Ok(escalation)
    }
}

impl Escalation {
    /// Checks a message as it arrives: the same rules the form applied.
    pub fn check(&self) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        if !valid_key(&self.key) {
            problems.push(Problem::KeyInvalid);
        }
        let message = self.message.trim();
        if message.is_empty() {
            problems.push(Problem::MessageEmpty);
        } else if self.message.chars().count() > MAX_TEXT {
            problems.push(Problem::MessageTooLong { limit: MAX_TEXT });
        }
        match &self.reply_to {
            ReplyTo::Email(e) | ReplyTo::Phone(e) if e.trim().is_empty() => {
                problems.push(Problem::ReplyMissing)
            }
            ReplyTo::Email(e) if !valid_email(e) => problems.push(Problem::EmailInvalid),
            ReplyTo::Phone(p) if !valid_phone(p) => problems.push(Problem::PhoneInvalid),
            _ => {}
        }
        if let Some(lang) = &self.lang {
            let ok = (2..=16).contains(&lang.len())
                && lang.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            if !ok {
                problems.push(Problem::LangInvalid);
            }
        }
        if let Some(lines) = &self.transcript {
            if lines.len() > MAX_TRANSCRIPT {
                problems.push(Problem::TranscriptTooLong {
                    limit: MAX_TRANSCRIPT,
                });
            }
            if lines.iter().any(|l| l.text.chars().count() > MAX_TEXT) {
                problems.push(Problem::TranscriptLineTooLong { limit: MAX_TEXT });
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Invalid(problems))
        }
    }

    /// The message as form fields, for owners whose endpoint is a form backend: what the
    /// preview shows, one field per line of it.
    pub fn form_fields(&self) -> Vec<(&'static str, String)> {
        let mut fields = vec![("key", self.key.clone()), ("message", self.message.clone())];
        match &self.reply_to {
            ReplyTo::Email(e) => fields.push(("email", e.clone())),
            ReplyTo::Phone(p) => fields.push(("phone", p.clone())),
        }
        fields.push(("lane", self.lane.as_str().to_string()));
        if let Some(lang) = &self.lang {
            fields.push(("lang", lang.clone()));
        }
        if let Some(lines) = &self.transcript {
            fields.push(("transcript", transcript_text(lines)));
        }
        fields.push(("written_at", self.written_at.to_string()));
        fields
    }
}

impl LaneKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LaneKind::Open => "open",
            LaneKind::Closed => "closed",
            LaneKind::Urgent => "urgent",
        }
    }
}

/// A transcript as plain text, one "visitor:" or "assistant:" line per turn.
pub fn transcript_text(lines: &[Line]) -> String {
    lines
        .iter()
        .map(|l| {
            let who = match l.from {
                Speaker::Visitor => "visitor",
                Speaker::Assistant => "assistant",
            };
            format!("{who}: {}", l.text)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn valid_key(key: &str) -> bool {
    KEY_LEN.contains(&key.len()) && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// Deliberately loose (one @, a dotted domain, no spaces): the owner will write to it, so a
/// typo-catching check is what helps; RFC 5322's full grammar would accept more typos, not fewer.
pub(crate) fn valid_email(email: &str) -> bool {
    let email = email.trim();
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    email.len() <= MAX_EMAIL
        && !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == ',')
}

pub(crate) fn valid_phone(phone: &str) -> bool {
    let phone = phone.trim();
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    // A + only as the country prefix: once, before any digit ("(+34) 600...").
    let plus_at = phone.find('+');
    let first_digit = phone.find(|c: char| c.is_ascii_digit());
    let plus_ok = phone.matches('+').count() <= 1 && plus_at.is_none_or(|p| Some(p) < first_digit);
    let allowed = |c: char| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')' | '.' | '+');
    PHONE_DIGITS.contains(&digits) && plus_ok && phone.chars().all(allowed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(message: &str, reply: &str) -> Draft {
        Draft {
            key: "0f8e2a1c-5b7d-4e3f-9a6b-1c2d3e4f5a6b".into(),
            message: message.into(),
            reply: reply.into(),
            lane: LaneKind::Open,
            lang: Some("es".into()),
            transcript: None,
            written_at: "2026-11-24T10:00:00Z".parse().unwrap(),
        }
    }

    fn problems(d: Draft) -> Vec<Problem> {
        d.prepare().map(|_| Vec::new()).unwrap_or_else(|e| e.0)
    }

    #[test]
    fn an_at_sign_makes_the_reply_an_email_otherwise_a_phone() {
        let e = draft("  ¿Tenéis pan sin gluten?  ", " ana@example.es ")
            .prepare()
            .unwrap();
        assert_eq!(e.reply_to, ReplyTo::Email("ana@example.es".into()));
        assert_eq!(e.message, "¿Tenéis pan sin gluten?");
        let e = draft("Hola", "+34 600 12 34 56").prepare().unwrap();
        assert_eq!(e.reply_to, ReplyTo::Phone("+34 600 12 34 56".into()));
    }

    #[test]
    fn every_problem_is_reported_at_once_with_its_field() {
        let mut d = draft("   ", "ana@");
        d.key = "short".into();
        let found = problems(d);
        assert_eq!(
            found,
            vec![
                Problem::KeyInvalid,
                Problem::MessageEmpty,
                Problem::EmailInvalid
            ]
        );
        assert_eq!(
            found.iter().map(|p| p.field()).collect::<Vec<_>>(),
            ["key", "message", "reply"]
        );
    }

    #[test]
    fn replies_must_be_reachable() {
        for bad in ["ana", "ana@example", "ana @example.es", "a@b..es", "a@.es"] {
            let p = problems(draft("Hola", bad));
            assert!(
                p == [Problem::EmailInvalid] || p == [Problem::PhoneInvalid],
                "{bad}: {p:?}"
            );
        }
        assert_eq!(problems(draft("Hola", "  ")), [Problem::ReplyMissing]);
        assert_eq!(problems(draft("Hola", "12345")), [Problem::PhoneInvalid]);
        assert_eq!(
            problems(draft("Hola", "600+123456")),
            [Problem::PhoneInvalid]
        );
        for good in [
            "(+34) 600-12-34-56",
            "600.123.456",
            "me+bakery@mail.example.es",
        ] {
            assert_eq!(problems(draft("Hola", good)), [], "{good}");
        }
    }

    #[test]
    fn long_messages_are_refused_with_the_limit() {
        let long = "a".repeat(MAX_TEXT + 1);
        assert_eq!(
            problems(draft(&long, "ana@example.es")),
            [Problem::MessageTooLong { limit: MAX_TEXT }]
        );
        // Characters, not bytes: 2000 accented letters are within the limit.
        assert_eq!(problems(draft(&"ñ".repeat(MAX_TEXT), "ana@example.es")), []);
    }

    #[test]
    fn the_transcript_goes_only_when_ticked_and_keeps_its_latest_lines() {
        let without = draft("Hola", "ana@example.es").prepare().unwrap();
        let json = serde_json::to_value(&without).unwrap();
        assert!(json.get("transcript").is_none(), "{json}");

        let mut d = draft("Hola", "ana@example.es");
        let lines: Vec<Line> = (0..MAX_TRANSCRIPT + 5)
            .map(|i| Line {
                from: if i % 2 == 0 {
                    Speaker::Visitor
                } else {
                    Speaker::Assistant
                },
                text: format!("line {i}"),
            })
            .collect();
        d.transcript = Some(lines);
        let with = d.prepare().unwrap();
        let kept = with.transcript.as_ref().unwrap();
        assert_eq!(kept.len(), MAX_TRANSCRIPT);
        assert_eq!(kept[0].text, "line 5");
        assert_eq!(
            kept.last().unwrap().text,
            format!("line {}", MAX_TRANSCRIPT + 4)
        );
    }

    #[test]
    fn the_wire_form_round_trips_and_refuses_unknown_fields() {
        let e = draft(
            "<script>alert(1)</script>'; DROP TABLE messages;--",
            "600123456",
        )
        .prepare()
        .unwrap();
        let text = serde_json::to_string(&e).unwrap();
        assert_eq!(serde_json::from_str::<Escalation>(&text).unwrap(), e);
        assert!(
            text.contains(r#""reply_to":{"phone":"600123456"}"#),
            "{text}"
        );
        assert!(
            text.contains(r#""written_at":"2026-11-24T10:00:00Z""#),
            "{text}"
        );
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["tracking_id"] = "x".into();
        let err = serde_json::from_value::<Escalation>(v)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `tracking_id`"), "{err}");
    }

    #[test]
    fn form_fields_carry_the_same_content() {
        let mut d = draft("Hola", "ana@example.es");
        d.transcript = Some(vec![
            Line {
                from: Speaker::Visitor,
                text: "¿Abrís el domingo?".into(),
            },
            Line {
                from: Speaker::Assistant,
                text: "No tengo una respuesta segura.".into(),
            },
        ]);
        let fields = d.prepare().unwrap().form_fields();
        let get = |k: &str| {
            fields
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("email"), Some("ana@example.es"));
        assert_eq!(get("phone"), None);
        assert_eq!(
            get("transcript"),
            Some("visitor: ¿Abrís el domingo?\nassistant: No tengo una respuesta segura.")
        );
        assert_eq!(get("written_at"), Some("2026-11-24T10:00:00Z"));
    }
}
