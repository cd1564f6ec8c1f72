//! A conversation turn: owns what decides when and how a person is offered: the visitor's words
//! (asking for a person, urgency), misses in a row, the owner's hours and lanes. Pure: text and
//! instants in, signals and lanes out; it never sends, stores or reads the clock itself.

mod hours;
mod lanes;
mod triggers;

pub use hours::{HoursError, Schedule, Status, Zone};
pub use lanes::{Lane, Lanes, Live, Misses};
pub use triggers::{Signals, Triggers};
