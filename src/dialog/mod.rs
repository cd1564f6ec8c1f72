//! A conversation turn: owns reading what the visitor's words ask of the conversation itself
//! (a person, urgency) before any FAQ lookup. Pure: text in, signals out; it never sends,
//! stores or schedules anything (hours, lanes and delivery come with the rest of issue 5).

mod triggers;

pub use triggers::{Signals, Triggers};
