//! Contact settings: the owner's file saying how visitors reach a person (time zone, weekly
//! hours, holidays, live contact, the urgent line and its words, where messages go). Checked
//! once at build time with messages naming the field; the bundle carries them to the widget.

use serde::{Deserialize, Serialize};

use jiff::Timestamp;

use super::message::{valid_email, valid_phone, LaneKind};
use crate::dialog::{HoursError, Lane, Lanes, Live, Schedule, Triggers, Zone};
use crate::said;
use crate::said::Said;

/// The settings file as the owner writes it (TOML or JSON; the bundle stores it as JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// IANA name, for example "Europe/Madrid". Needed with `hours`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Without hours the business counts as always open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<Week>,
    /// Local dates (YYYY-MM-DD) closed all day.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holidays: Vec<String>,
    #[serde(default)]
    pub open: OpenSettings,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urgent: Option<UrgentSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<DeliverySettings>,
    /// Unanswered questions in a row before a person is offered unasked (default 2, 0 never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub misses_before_offer: Option<u32>,
}

/// Each day's hours: "08:00-14:00, 17:00-20:30", "closed", or left out (closed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Week {
    #[serde(default)]
    pub monday: String,
    #[serde(default)]
    pub tuesday: String,
    #[serde(default)]
    pub wednesday: String,
    #[serde(default)]
    pub thursday: String,
    #[serde(default)]
    pub friday: String,
    #[serde(default)]
    pub saturday: String,
    #[serde(default)]
    pub sunday: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// A chat link (WhatsApp, Telegram, a live-chat page): http(s) only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_within_hours: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UrgentSettings {
    pub phone: String,
    /// Words that make a message urgent, on top of the built-in Spanish and English ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub terms: Vec<String>,
}

/// Where messages go: exactly one of these.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliverySettings {
    /// Receives the message as JSON (`ayuda inbox`, or any endpoint answering CORS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Receives the message as an HTML form post (form backends).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<String>,
    /// No endpoint: the visitor's own mail program sends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// How a message is delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Delivery {
    Json {
        url: String,
    },
    Form {
        url: String,
    },
    Email {
        address: String,
    },
    /// No way to send a message: the widget offers the phone or the contact page only.
    None,
}

/// Settings, checked and ready to use.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    pub lanes: Lanes,
    pub delivery: Delivery,
    pub triggers: Triggers,
    pub misses_before_offer: u32,
}

/// A settings file that cannot be used, naming the field. `Display` is the English;
/// [`SettingsError::said`] has both languages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.said().en)]
pub enum SettingsError {
    Hours(#[from] HoursError),
    HoursWithoutZone,
    Phone {
        field: &'static str,
        value: String,
    },
    Link {
        field: &'static str,
        value: String,
        /// A path on the site itself would do too.
        path_ok: bool,
    },
    Email(String),
    Deliveries(usize),
    EmptyTerm,
}

impl SettingsError {
    /// The error in both languages. Field names and the settings' own words (`time_zone`,
    /// `endpoint`) are the file's, the same in either.
    pub fn said(&self) -> Said {
        match self {
            SettingsError::Hours(e) => e.said().labelled("hours", "horario"),
            SettingsError::HoursWithoutZone => said!(
                en: "hours need a time_zone, for example time_zone = \"Europe/Madrid\"",
                es: "el horario necesita una time_zone, por ejemplo time_zone = \"Europe/Madrid\""
            ),
            SettingsError::Phone { field, value } => said!(
                en: "{field}: \"{value}\" is not a phone number (6 to 15 digits, spaces, dashes, a leading +)",
                es: "{field}: \"{value}\" no es un número de teléfono (de 6 a 15 cifras, espacios, guiones y un + delante)"
            ),
            SettingsError::Link {
                field,
                value,
                path_ok: false,
            } => said!(
                en: "{field}: \"{value}\" must be a link starting with https:// or http://",
                es: "{field}: \"{value}\" debe ser un enlace que empiece por https:// o http://"
            ),
            SettingsError::Link {
                field,
                value,
                path_ok: true,
            } => said!(
                en: "{field}: \"{value}\" must be a link starting with https:// or http:// (or a path on this site, like /inbox/messages)",
                es: "{field}: \"{value}\" debe ser un enlace que empiece por https:// o http:// (o una ruta de este sitio, como /inbox/messages)"
            ),
            SettingsError::Email(value) => said!(
                en: "delivery.email: \"{value}\" is not an email address",
                es: "delivery.email: \"{value}\" no es una dirección de correo electrónico"
            ),
            SettingsError::Deliveries(n) => said!(
                en: "delivery: give exactly one of endpoint, form or email, not {n}",
                es: "delivery: indica exactamente uno de endpoint, form o email, no {n}"
            ),
            SettingsError::EmptyTerm => said!(
                en: "urgent.terms: an empty term would match nothing",
                es: "urgent.terms: un término vacío no coincidiría con nada"
            ),
        }
    }
}

const DEFAULT_MISSES: u32 = 2;

impl Settings {
    /// Checks every field; the first problem is reported with the field's name. The time zone
    /// is looked up by name, which only native builds can do (see [`Zone::named`]).
    pub fn check(&self) -> Result<Contact, SettingsError> {
        self.check_in(Zone::named)
    }

    /// As `check`, with the time zone from `zone` (given the settings' name for it): a
    /// bundle's reader passes the zone the bundle carries.
    pub fn check_in(
        &self,
        zone: impl FnOnce(&str) -> Result<Zone, HoursError>,
    ) -> Result<Contact, SettingsError> {
        let schedule = match (&self.hours, &self.time_zone) {
            (Some(_), None) => return Err(SettingsError::HoursWithoutZone),
            (Some(w), Some(name)) => Some(Schedule::new(
                zone(name)?,
                [
                    &w.monday,
                    &w.tuesday,
                    &w.wednesday,
                    &w.thursday,
                    &w.friday,
                    &w.saturday,
                    &w.sunday,
                ]
                .map(String::as_str),
                &self.holidays,
            )?),
            (None, _) => None,
        };
        let phone = |field, value: &Option<String>| match value {
            Some(p) if !valid_phone(p) => Err(SettingsError::Phone {
                field,
                value: p.clone(),
            }),
            _ => Ok(value.clone()),
        };
        let live = Live {
            phone: phone("open.phone", &self.open.phone)?,
            chat: link("open.chat", &self.open.chat, false)?,
            reply_within_hours: self.open.reply_within_hours,
        };
        let urgent_phone = match &self.urgent {
            Some(u) => phone("urgent.phone", &Some(u.phone.clone()))?,
            None => None,
        };
        let terms = self
            .urgent
            .as_ref()
            .map(|u| u.terms.as_slice())
            .unwrap_or(&[]);
        if terms.iter().any(|t| t.trim().is_empty()) {
            return Err(SettingsError::EmptyTerm);
        }
        Ok(Contact {
            lanes: Lanes {
                schedule,
                live,
                urgent_phone,
            },
            delivery: self.delivery()?,
            triggers: Triggers::with_urgent_terms(terms),
            misses_before_offer: self.misses_before_offer.unwrap_or(DEFAULT_MISSES),
        })
    }

    fn delivery(&self) -> Result<Delivery, SettingsError> {
        let Some(d) = &self.delivery else {
            return Ok(Delivery::None);
        };
        let given = [&d.endpoint, &d.form, &d.email]
            .iter()
            .filter(|v| v.is_some())
            .count();
        if given != 1 {
            return Err(SettingsError::Deliveries(given));
        }
        Ok(match (&d.endpoint, &d.form, &d.email) {
            (Some(_), _, _) => Delivery::Json {
                url: link("delivery.endpoint", &d.endpoint, true)?.unwrap_or_default(),
            },
            (_, Some(_), _) => Delivery::Form {
                url: link("delivery.form", &d.form, true)?.unwrap_or_default(),
            },
            (_, _, Some(email)) if valid_email(email) => Delivery::Email {
                address: email.trim().to_string(),
            },
            (_, _, Some(email)) => return Err(SettingsError::Email(email.clone())),
            (None, None, None) => unreachable!("exactly one is given"),
        })
    }
}

/// What the widget offers a visitor at one instant: the lane, its ways to a person, and where a
/// message goes. Instants are milliseconds since the epoch, for the page to show in the
/// visitor's own time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Offer<'a> {
    /// The lane a message sent now belongs to.
    pub lane: LaneKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closes_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opens_at: Option<i64>,
    /// Live contact, while open.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_within_hours: Option<u32>,
    /// The direct line, offered in every lane: always reachable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub urgent_phone: Option<&'a str>,
    pub delivery: &'a Delivery,
}

impl Contact {
    /// The owner's time zone, when hours were given.
    pub fn zone(&self) -> Option<&Zone> {
        self.lanes.schedule.as_ref().map(Schedule::zone)
    }

    /// The offer for a visitor at `now`, `urgent` when their words said so.
    pub fn offer(&self, now: Timestamp, urgent: bool) -> Offer<'_> {
        let mut offer = Offer {
            lane: LaneKind::Open,
            closes_at: None,
            opens_at: None,
            phone: None,
            chat: None,
            reply_within_hours: self.lanes.live.reply_within_hours,
            urgent_phone: self.lanes.urgent_phone.as_deref(),
            delivery: &self.delivery,
        };
        let ms = |t: Option<Timestamp>| t.map(|t| t.as_millisecond());
        match self.lanes.at(now, urgent) {
            Lane::Urgent { .. } => offer.lane = LaneKind::Urgent,
            Lane::Open { live, closes_at } => {
                offer.closes_at = ms(closes_at);
                offer.phone = live.phone.as_deref();
                offer.chat = live.chat.as_deref();
            }
            Lane::Closed { opens_at } => {
                offer.lane = LaneKind::Closed;
                offer.opens_at = ms(opens_at);
            }
        }
        // Without an urgent line the visitor still gets the lane's ways, and the message is
        // marked urgent so the owner reads it first.
        if urgent {
            offer.lane = LaneKind::Urgent;
        }
        offer
    }
}

impl Default for Contact {
    /// A bundle built without settings: always open, no phone, no way to send a message
    /// (the widget points to the site's contact page), built-in urgent words.
    fn default() -> Contact {
        Settings::default()
            .check()
            .expect("empty settings are valid")
    }
}

/// An http(s) link, or (where `path_ok`) a path on the site itself.
fn link(
    field: &'static str,
    value: &Option<String>,
    path_ok: bool,
) -> Result<Option<String>, SettingsError> {
    let Some(v) = value else { return Ok(None) };
    let v = v.trim();
    let ok = v.starts_with("https://")
        || v.starts_with("http://")
        || (path_ok && v.starts_with('/') && !v.starts_with("//"));
    if !ok || v.chars().any(char::is_whitespace) {
        return Err(SettingsError::Link {
            field,
            value: v.to_string(),
            path_ok,
        });
    }
    Ok(Some(v.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_is_said_in_both_languages_with_its_english_as_before() {
        use crate::said::assert_said;
        let link = |path_ok| SettingsError::Link {
            field: "delivery.form",
            value: "inbox".into(),
            path_ok,
        };
        for (err, en) in [
            (
                SettingsError::Hours(HoursError::BadHoliday("x".into())),
                "hours: holiday \"x\" is not a date; write it like 2026-12-25",
            ),
            (
                SettingsError::HoursWithoutZone,
                "hours need a time_zone, for example time_zone = \"Europe/Madrid\"",
            ),
            (
                SettingsError::Phone {
                    field: "open.phone",
                    value: "12".into(),
                },
                "open.phone: \"12\" is not a phone number (6 to 15 digits, spaces, dashes, a leading +)",
            ),
            (
                link(false),
                "delivery.form: \"inbox\" must be a link starting with https:// or http://",
            ),
            (
                link(true),
                "delivery.form: \"inbox\" must be a link starting with https:// or http:// (or a path on this site, like /inbox/messages)",
            ),
            (
                SettingsError::Email("me@".into()),
                "delivery.email: \"me@\" is not an email address",
            ),
            (
                SettingsError::Deliveries(2),
                "delivery: give exactly one of endpoint, form or email, not 2",
            ),
            (
                SettingsError::EmptyTerm,
                "urgent.terms: an empty term would match nothing",
            ),
        ] {
            assert_said(&err, &err.said(), en);
        }
    }

    fn from_json(text: &str) -> Result<Contact, SettingsError> {
        serde_json::from_str::<Settings>(text).unwrap().check()
    }

    #[test]
    fn a_full_settings_file_is_accepted() {
        let c = from_json(
            r#"{"time_zone": "Europe/Madrid",
                "hours": {"monday": "08:00-14:00", "saturday": "closed"},
                "holidays": ["2026-12-25"],
                "open": {"phone": "+34 960 000 000", "chat": "https://wa.me/34960000000",
                         "reply_within_hours": 2},
                "urgent": {"phone": "+34 600 000 000", "terms": ["alergia"]},
                "delivery": {"endpoint": "/inbox/messages"},
                "misses_before_offer": 3}"#,
        )
        .unwrap();
        assert_eq!(
            c.delivery,
            Delivery::Json {
                url: "/inbox/messages".into()
            }
        );
        assert_eq!(c.misses_before_offer, 3);
        assert_eq!(c.lanes.urgent_phone.as_deref(), Some("+34 600 000 000"));
        assert!(c.triggers.detect("Tengo una alergia fuerte").urgent);
    }

    #[test]
    fn mistakes_are_named_by_field() {
        let cases = [
            (r#"{"hours": {"monday": "9-14"}}"#, "time_zone"),
            (
                r#"{"time_zone": "Europe/Madrid", "hours": {"monday": "mañanas"}}"#,
                "monday",
            ),
            (r#"{"open": {"phone": "llámanos"}}"#, "open.phone"),
            (r#"{"open": {"chat": "wa.me/3460000"}}"#, "open.chat"),
            (
                r#"{"delivery": {"endpoint": "inbox"}}"#,
                "delivery.endpoint",
            ),
            (
                r#"{"delivery": {"endpoint": "/inbox", "email": "a@b.es"}}"#,
                "exactly one",
            ),
            (r#"{"delivery": {"email": "hola"}}"#, "delivery.email"),
            (
                r#"{"urgent": {"phone": "+34 600 000 000", "terms": [" "]}}"#,
                "urgent.terms",
            ),
        ];
        for (json, named) in cases {
            let err = from_json(json)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains(named), "{json}: {err}");
        }
        let err = serde_json::from_str::<Settings>(r#"{"hours": {"munday": "9-14"}}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `munday`"), "{err}");
    }

    #[test]
    fn the_offer_follows_the_hours_and_always_carries_the_urgent_line() {
        let c = from_json(
            r#"{"time_zone": "Europe/Madrid", "hours": {"tuesday": "08:00-14:00"},
                "open": {"phone": "+34 960 000 000", "reply_within_hours": 2},
                "urgent": {"phone": "+34 600 000 000"},
                "delivery": {"email": "hola@panaderialuna.example"}}"#,
        )
        .unwrap();
        let json = |now: &str, urgent| {
            serde_json::to_value(c.offer(now.parse().unwrap(), urgent)).unwrap()
        };
        assert_eq!(
            json("2026-11-24T09:00:00Z", false),
            serde_json::json!({"lane": "open", "closesAt": 1795525200000_i64,
                "phone": "+34 960 000 000", "replyWithinHours": 2,
                "urgentPhone": "+34 600 000 000",
                "delivery": {"kind": "email", "address": "hola@panaderialuna.example"}})
        );
        let closed = json("2026-11-24T14:00:00Z", false);
        assert_eq!(closed["lane"], "closed");
        assert_eq!(
            closed["opensAt"],
            "2026-12-01T07:00:00Z"
                .parse::<Timestamp>()
                .unwrap()
                .as_millisecond()
        );
        assert!(
            closed.get("phone").is_none(),
            "no live phone while closed: {closed}"
        );
        assert_eq!(closed["urgentPhone"], "+34 600 000 000");
        assert_eq!(json("2026-11-24T14:00:00Z", true)["lane"], "urgent");
    }

    #[test]
    fn no_settings_means_always_open_and_nowhere_to_send() {
        let c = Contact::default();
        assert_eq!(c.delivery, Delivery::None);
        assert!(c.lanes.schedule.is_none());
        assert_eq!(c.misses_before_offer, 2);
    }
}
