//! A visitor's turn as the chat gets it: owns joining a decided outcome with what the words ask
//! of the conversation (a person, urgency) and the count of misses in a row. Both browser modules
//! (the model's and the early tier's) answer through it, so the page sees one shape whichever
//! tier replied. Pure: it decides nothing about entries and reads no clock.

use serde::Serialize;

use super::{Bundle, Reply};
use crate::dialog::Misses;
use crate::retrieve::Outcome;

/// Which tier answered a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// The model.
    Full,
    /// The knowledge base's words alone, before the model has arrived.
    Early,
}

/// One turn's reply (serialised for the page as {reply, signals: {wantsPerson, urgent},
/// offerPerson, tier}).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Turn<'a> {
    /// What `ayuda ask --json` prints.
    pub reply: Reply<'a>,
    pub signals: TurnSignals,
    /// This turn reached the owner's number of unanswered questions in a row: offer a person.
    pub offer_person: bool,
    pub tier: Tier,
}

/// What the visitor's words ask of the conversation, as the page reads it.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnSignals {
    pub wants_person: bool,
    pub urgent: bool,
}

/// One visitor's conversation with a knowledge base: the misses in a row so far.
#[derive(Debug, Clone, Copy)]
pub struct Conversation {
    misses: Misses,
}

impl Conversation {
    /// A new conversation under `bundle`'s contact settings.
    pub fn new(bundle: &Bundle) -> Conversation {
        Conversation {
            misses: Misses::new(bundle.contact().misses_before_offer),
        }
    }

    /// The turn for `text`, whose outcome `bundle` decided in `tier`. Signals use the owner's
    /// urgent words too. An early tier's non-answer is not counted as a miss: the model will
    /// be asked that question.
    pub fn turn<'a>(
        &mut self,
        bundle: &'a Bundle,
        text: &str,
        outcome: &Outcome,
        tier: Tier,
    ) -> Turn<'a> {
        let signals = bundle.contact().triggers.detect(text);
        let answered = matches!(outcome, Outcome::Answer(_));
        let offer_person = if tier == Tier::Full || answered {
            self.misses.record(answered)
        } else {
            false
        };
        Turn {
            reply: bundle.reply(outcome),
            signals: TurnSignals {
                wants_person: signals.wants_person,
                urgent: signals.urgent,
            },
            offer_person,
            tier,
        }
    }
}
