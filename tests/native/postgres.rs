//! The inbox on PostgreSQL: every inbox test that stores or reads messages (exactly once by
//! key, durable before 201 under kill -9, deliveries across restarts, the owner's page, gaps,
//! hostile text, limits) runs again against a real PostgreSQL server that each test starts in
//! a scratch folder (Debian's package; `make test` installs it), plus what only a shared
//! database has: two inboxes on one database store a message once and send its mail once.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::inbox;

/// A PostgreSQL server of its own on a free loopback port, stopped when dropped.
pub struct Postgres {
    server: Child,
    port: u16,
    _data: tempfile::TempDir,
}

/// Where Debian keeps the server's programs (/usr/lib/postgresql/VERSION/bin), newest first.
fn bin(program: &str) -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed (`make test` installs Debian's postgresql)")
        .map(|e| e.unwrap().path())
        .collect();
    versions.sort();
    versions.last().unwrap().join("bin").join(program)
}

/// `program` as the `postgres` user when running as root (the server refuses root).
fn as_server_user(program: &str) -> Command {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .unwrap()
        .stdout
        .starts_with(b"0");
    if root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=postgres", "--regid=postgres", "--init-groups"])
            .arg(bin(program));
        c
    } else {
        Command::new(bin(program))
    }
}

impl Postgres {
    pub fn start() -> Postgres {
        let data = tempfile::tempdir().unwrap();
        let dir = data.path().to_str().unwrap().to_string();
        let _ = Command::new("chown")
            .args(["-R", "postgres:postgres", &dir])
            .status();
        let init = as_server_user("initdb")
            .args([
                "-D",
                &format!("{dir}/pg"),
                "-U",
                "ayuda",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ])
            .stdout(Stdio::null())
            .output()
            .unwrap();
        assert!(
            init.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&init.stderr)
        );
        let port = crate::inbox::free_port();
        let server = as_server_user("postgres")
            .args([
                "-D",
                &format!("{dir}/pg"),
                "-k",
                &dir,
                "-p",
                &port.to_string(),
            ])
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=on"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pg = Postgres {
            server,
            port,
            _data: data,
        };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "PostgreSQL did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        // Accepting connections is not yet accepting queries.
        while !Command::new(bin("pg_isready"))
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "ayuda"])
            .stdout(Stdio::null())
            .status()
            .unwrap()
            .success()
        {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "PostgreSQL did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        pg
    }

    /// The inbox's `--db` for this server.
    pub fn db(&self) -> PathBuf {
        PathBuf::from(format!("postgres://ayuda@127.0.0.1:{}/postgres", self.port))
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // Immediate shutdown: the postmaster takes its backends with it.
        let _ = Command::new("kill")
            .args(["-QUIT", &self.server.id().to_string()])
            .status();
        let _ = self.server.wait();
    }
}

fn on_postgres(case: fn(&Path)) {
    let pg = Postgres::start();
    case(&pg.db());
}

/// Each inbox test that stores or reads messages, again on PostgreSQL.
macro_rules! on_postgres {
    ($($test:ident => $case:ident),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                on_postgres(inbox::$case);
            }
        )*
    };
}

on_postgres! {
    malformed_json_stores_nothing_on_postgres => malformed_json_is_a_400_naming_the_problem_and_stores_nothing_in,
    a_10mb_body_is_refused_on_postgres => a_10mb_body_is_refused_with_413_and_the_server_keeps_serving_in,
    invalid_fields_store_nothing_on_postgres => missing_or_invalid_fields_are_a_422_naming_them_and_store_nothing_in,
    a_resend_is_a_duplicate_and_a_reused_key_a_409_on_postgres => a_resend_is_a_200_duplicate_and_a_reused_key_a_409_in,
    a_burst_gets_201s_then_429s_and_loses_nothing_on_postgres => a_burst_gets_201s_then_429s_with_retry_after_and_loses_nothing_in,
    hostile_text_is_stored_and_listed_verbatim_on_postgres => hostile_text_is_stored_and_listed_verbatim_in,
    kill_9_during_a_burst_loses_no_acknowledged_message_on_postgres => kill_9_during_a_burst_loses_no_acknowledged_message_in,
    cors_and_reading_with_the_token_on_postgres => cors_answers_only_allowed_origins_and_reading_needs_the_token_in,
    a_form_encoded_post_on_postgres => a_form_encoded_post_stores_the_same_message_as_json_in,
    serve_mounts_the_inbox_on_postgres => serve_mounts_the_inbox_under_its_own_origin_in,
    webhook_events_arrive_once_across_a_restart_on_postgres => webhook_events_wait_for_a_receiver_that_is_down_across_a_restart_and_arrive_once_in,
    sigterm_stops_the_server_cleanly_on_postgres => sigterm_stops_the_server_cleanly_in,
    each_message_is_mailed_once_on_postgres => each_new_message_is_mailed_to_the_owner_once_with_reply_to_and_lane_in,
    a_mail_waits_for_a_server_that_is_down_across_a_restart_on_postgres => a_mail_waits_for_a_server_that_is_down_across_an_inbox_restart_in,
    gaps_on_postgres => gaps_groups_messages_by_the_nearest_entry_and_writes_a_csv_that_builds_in,
    half_open_connections_on_postgres => five_hundred_half_open_connections_do_not_keep_a_visitor_waiting_in,
    the_owners_page_on_postgres => the_owners_page_lets_only_the_owner_in_and_only_the_owner_act_in,
}

#[test]
fn two_inboxes_on_one_database_store_a_message_once_and_mail_it_once() {
    let pg = Postgres::start();
    inbox::two_inboxes_share_one_database(&pg.db());
}

#[test]
fn a_url_with_a_password_or_no_server_is_refused_in_plain_words() {
    let out = crate::util::ayuda(
        &[
            "inbox",
            "list",
            "--db",
            "postgres://ayuda:secret@127.0.0.1:1/postgres",
        ],
        b"",
    );
    crate::util::assert_fails(&out, "PGPASSWORD");
    let out = crate::util::ayuda(
        &[
            "inbox",
            "list",
            "--db",
            "postgres://ayuda@127.0.0.1:1/postgres",
        ],
        b"",
    );
    crate::util::assert_fails(
        &out,
        "connecting to the inbox database postgres://ayuda@127.0.0.1:1/postgres",
    );
}
