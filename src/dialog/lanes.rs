//! Lanes: which way to a person the widget offers right now. Open hours give live contact (a
//! phone, a chat link, or a message with the promised reply time), out of hours a message and
//! the next opening, and the urgent lane a direct line at any hour. Pure: an instant in, a lane
//! out; the misses counter lives here too because it decides when a person is offered unasked.

use jiff::Timestamp;

use super::hours::{Schedule, Status};

/// Live contact while open.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Live {
    pub phone: Option<String>,
    pub chat: Option<String>,
    /// The reply time promised for messages, in hours.
    pub reply_within_hours: Option<u32>,
}

/// The owner's ways to a person.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lanes {
    /// `None`: no hours given, so the business counts as always open.
    pub schedule: Option<Schedule>,
    pub live: Live,
    /// The direct line for urgent matters, reachable at any hour.
    pub urgent_phone: Option<String>,
}

/// The lane offered at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane<'a> {
    Open {
        live: &'a Live,
        closes_at: Option<Timestamp>,
    },
    Closed {
        opens_at: Option<Timestamp>,
    },
    Urgent {
        phone: &'a str,
    },
}

impl Lanes {
    /// The lane for a visitor at `now`; `urgent` when their words said so. Without an urgent
    /// line the urgent visitor gets the lane everyone gets (their message is still marked
    /// urgent by the widget).
    pub fn at(&self, now: Timestamp, urgent: bool) -> Lane<'_> {
        if let (true, Some(phone)) = (urgent, &self.urgent_phone) {
            return Lane::Urgent { phone };
        }
        let status = match &self.schedule {
            Some(schedule) => schedule.status(now),
            None => Status::Open { closes_at: None },
        };
        match status {
            Status::Open { closes_at } => Lane::Open {
                live: &self.live,
                closes_at,
            },
            Status::Closed { opens_at } => Lane::Closed { opens_at },
        }
    }
}

/// Counts answers missed in a row and says when to offer a person without being asked.
#[derive(Debug, Clone, Copy)]
pub struct Misses {
    in_a_row: u32,
    limit: u32,
}

impl Misses {
    /// `limit` misses in a row offer a person; 0 never does.
    pub fn new(limit: u32) -> Misses {
        Misses { in_a_row: 0, limit }
    }

    /// Records a turn; true when this turn should offer a person. The count starts again
    /// after an offer, so the visitor is not asked after every later question.
    pub fn record(&mut self, answered: bool) -> bool {
        if answered {
            self.in_a_row = 0;
            return false;
        }
        self.in_a_row += 1;
        if self.limit > 0 && self.in_a_row >= self.limit {
            self.in_a_row = 0;
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lanes(urgent: Option<&str>) -> Lanes {
        Lanes {
            schedule: Some(crate::dialog::hours::bakery(&[])),
            live: Live {
                phone: Some("+34 960 000 000".into()),
                chat: None,
                reply_within_hours: Some(2),
            },
            urgent_phone: urgent.map(str::to_string),
        }
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn open_hours_offer_live_contact_and_closed_hours_the_next_opening() {
        let l = lanes(Some("+34 600 000 000"));
        match l.at(at("2026-11-24T09:00:00Z"), false) {
            Lane::Open { live, closes_at } => {
                assert_eq!(live.phone.as_deref(), Some("+34 960 000 000"));
                assert_eq!(closes_at, Some(at("2026-11-24T13:00:00Z")));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            l.at(at("2026-11-24T22:00:00Z"), false),
            Lane::Closed {
                opens_at: Some(at("2026-11-25T07:00:00Z"))
            }
        );
    }

    #[test]
    fn the_urgent_line_is_offered_at_any_hour_when_there_is_one() {
        let l = lanes(Some("+34 600 000 000"));
        for now in ["2026-11-24T09:00:00Z", "2026-11-29T03:00:00Z"] {
            assert_eq!(
                l.at(at(now), true),
                Lane::Urgent {
                    phone: "+34 600 000 000"
                }
            );
        }
        assert!(matches!(
            lanes(None).at(at("2026-11-29T03:00:00Z"), true),
            Lane::Closed { .. }
        ));
    }

    #[test]
    fn without_hours_the_business_counts_as_open() {
        let l = Lanes::default();
        assert!(matches!(
            l.at(at("2026-11-29T03:00:00Z"), false),
            Lane::Open {
                closes_at: None,
                ..
            }
        ));
    }

    #[test]
    fn two_misses_in_a_row_offer_a_person_once() {
        let mut m = Misses::new(2);
        assert!(!m.record(false));
        assert!(!m.record(true), "an answer resets the count");
        assert!(!m.record(false));
        assert!(m.record(false));
        assert!(!m.record(false), "counting starts again after an offer");
        assert!(m.record(false));
        let mut never = Misses::new(0);
        assert!((0..10).all(|_| !never.record(false)));
    }
}
