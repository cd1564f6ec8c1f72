//! Escalation: owns the message a visitor sends to a person (its fields, its checks, the consent
//! rules for the transcript) and how it is delivered. It never sends anything by itself: the
//! widget's outbox sends, the inbox receives, both through these types.

mod message;
mod settings;

pub use message::{
    transcript_text, Draft, Escalation, Invalid, LaneKind, Line, Problem, ReplyTo, Speaker,
    KEY_LEN, MAX_TEXT, MAX_TRANSCRIPT,
};
pub use settings::{
    Contact, Delivery, DeliverySettings, Offer, OpenSettings, Settings, SettingsError,
    UrgentSettings, Week,
};
