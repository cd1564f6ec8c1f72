//! Durable deliveries: each stored message goes out on every channel that was on as it arrived
//! (mail to the owner, the webhook), from one background thread per channel, with the queue in
//! the inbox's database (store/). Owns the retry schedule (backoff for a day, across
//! restarts) and the thread; never composes what is sent (each channel does) and never changes
//! a stored message.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use jiff::{SignedDuration, Timestamp};

use super::store::{Due, Store};
use crate::say::say;

/// Where stored messages go out: mail, the webhook.
pub trait Channel: Send + 'static {
    /// The channel's name in the queue and in `inbox list`.
    fn name(&self) -> &'static str;
    /// Sends one message; an error is retried later.
    fn send(&self, due: &Due) -> Result<()>;
}

/// Retries: 5 s, 10 s, 20 s... doubling up to an hour between tries; given up a day after the
/// message arrived (at least 12 hours of tries).
const FIRST_RETRY: SignedDuration = SignedDuration::from_secs(5);
const LONGEST_WAIT: SignedDuration = SignedDuration::from_secs(3600);
const GIVE_UP_AFTER: SignedDuration = SignedDuration::from_secs(24 * 3600);

/// When to try again after `attempts` failed tries, or None to give up.
fn next_try(attempts: i64, received_at: Timestamp, now: Timestamp) -> Option<Timestamp> {
    let wait = FIRST_RETRY
        .checked_mul(1 << attempts.clamp(0, 20) as i32)
        .unwrap_or(LONGEST_WAIT)
        .min(LONGEST_WAIT);
    let next = now.checked_add(wait).ok()?;
    (next.duration_since(received_at) < GIVE_UP_AFTER).then_some(next)
}

/// A channel's sending thread, woken by each new message and by its own clock.
pub struct Sender {
    wake: mpsc::Sender<()>,
}

impl Sender {
    pub fn start(store: Arc<Store>, channel: impl Channel) -> Sender {
        let (wake, woken) = mpsc::channel::<()>();
        std::thread::spawn(move || loop {
            if let Err(err) = send_due(&store, &channel) {
                let name = channel.name();
                eprintln!(
                    "{}",
                    say!(en: "ayuda: inbox: {name}: {err:#}", es: "ayuda: buzón: {name}: {err:#}")
                );
            }
            let wait = match store.next_due(channel.name()) {
                Ok(Some(next)) => next
                    .parse::<Timestamp>()
                    .ok()
                    .and_then(|n| n.duration_since(Timestamp::now()).try_into().ok())
                    .unwrap_or(Duration::ZERO)
                    .min(Duration::from_secs(60)),
                _ => Duration::from_secs(60),
            };
            match woken.recv_timeout(wait) {
                Ok(()) | Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
        });
        Sender { wake }
    }

    /// A new message is queued: send now.
    pub fn wake(&self) {
        let _ = self.wake.send(());
    }
}

fn send_due(store: &Store, channel: &impl Channel) -> Result<()> {
    let name = channel.name();
    for due in store.due(name, Timestamp::now())? {
        let now = Timestamp::now();
        match channel.send(&due) {
            Ok(()) => store.delivered(due.id, name, now)?,
            Err(err) => {
                let error = format!("{err:#}");
                let received = due.received_at.parse().unwrap_or(now);
                let next = next_try(due.attempts, received, now);
                let id = due.id;
                let said = match next {
                    Some(at) => say!(
                        en: "ayuda: inbox: {name}: message {id} not sent ({error}); next try at {at:.0}",
                        es: "ayuda: buzón: {name}: mensaje {id} no enviado ({error}); siguiente intento a las {at:.0}"
                    ),
                    None => say!(
                        en: "ayuda: inbox: {name}: message {id} not sent ({error}); gave up after a day of tries (it stays in `ayuda inbox list`)",
                        es: "ayuda: buzón: {name}: mensaje {id} no enviado ({error}); se deja de intentar tras un día (sigue en `ayuda inbox list`)"
                    ),
                };
                eprintln!("{said}");
                store.failed(due.id, name, &error, now, next)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_and_stop_after_a_day() {
        let t0: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let after = |n| next_try(n, t0, t0).unwrap().duration_since(t0).as_secs();
        assert_eq!(after(0), 5);
        assert_eq!(after(1), 10);
        assert_eq!(after(30), 3600);
        let late = t0.checked_add(SignedDuration::from_hours(23)).unwrap();
        assert!(next_try(5, t0, late).is_some());
        assert!(next_try(10, t0, late).is_none());
    }
}
