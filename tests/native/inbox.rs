//! `ayuda inbox` over real HTTP: the binary on a free loopback port with a fresh database, read
//! back with `ayuda inbox list`. No model needed; no server outlives its test.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use ayuda::escalate::Escalation;
use serde_json::{json, Value};

use crate::util::{ayuda, ayuda_command, root, stderr};

/// A running `ayuda` server, killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<String>>,
}

impl Server {
    /// Starts `ayuda ARGS` in the repository root and waits for the address it prints.
    fn start(args: &[&str]) -> Server {
        let mut child = ayuda_command()
            .args(args)
            .current_dir(root())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ayuda runs");
        let pipe = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (found, address) = mpsc::channel();
        let keep = log.clone();
        // Drained for the server's whole life, so a chatty server never blocks on a full pipe.
        thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if let Some((_, rest)) = line.split_once("http://") {
                    let addr = rest.split_whitespace().next().unwrap_or("");
                    let _ = found.send(addr.parse::<SocketAddr>());
                }
                keep.lock().unwrap().push_str(&format!("{line}\n"));
            }
        });
        match address.recv_timeout(Duration::from_secs(30)) {
            Ok(Ok(addr)) => Server { child, addr, log },
            other => {
                let _ = child.kill();
                panic!("no address ({other:?}); stderr: {}", log.lock().unwrap())
            }
        }
    }

    fn inbox(db: &Path, extra: &[&str]) -> Server {
        let mut args = vec![
            "inbox",
            "--listen",
            "127.0.0.1:0",
            "--db",
            db.to_str().unwrap(),
        ];
        args.extend(extra);
        Server::start(&args)
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Reply {
    status: u16,
    headers: ureq::http::HeaderMap,
    text: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("{} is not JSON ({e}): {}", self.status, self.text))
    }

    fn error(&self) -> String {
        self.json()["error"].as_str().unwrap_or("").to_string()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

/// A client that reports every status instead of treating 4xx as an error.
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

fn reply(sent: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    let mut response = sent.expect("the request gets an answer");
    Reply {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        text: response.body_mut().read_to_string().unwrap(),
    }
}

fn post_json(agent: &ureq::Agent, url: &str, body: &str) -> Reply {
    reply(
        agent
            .post(url)
            .header("Content-Type", "application/json")
            .send(body),
    )
}

fn key(tag: &str, i: usize) -> String {
    format!("{tag}-{i:05}-0123456789ab")
}

fn message(key: &str, text: &str) -> Value {
    json!({
        "key": key,
        "message": text,
        "reply_to": {"email": "ana@example.es"},
        "lane": "open",
        "lang": "es",
        "written_at": "2026-11-24T10:00:00Z",
    })
}

/// `ayuda inbox list --db DB --json`, parsed.
fn listed(db: &Path) -> Vec<Value> {
    let out = ayuda(
        &["inbox", "list", "--db", db.to_str().unwrap(), "--json"],
        b"",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("one JSON array")
}

/// Waits (up to `within`) until `inbox list` shows what `done` wants; fails with the listing.
fn wait_for_listing(db: &Path, within: Duration, done: impl Fn(&[Value]) -> bool) {
    let started = Instant::now();
    loop {
        let rows = listed(db);
        if done(&rows) {
            return;
        }
        assert!(started.elapsed() < within, "still not there: {rows:?}");
        thread::sleep(Duration::from_millis(100));
    }
}

fn listed_keys(db: &Path) -> BTreeSet<String> {
    listed(db)
        .iter()
        .map(|row| row["key"].as_str().unwrap().to_string())
        .collect()
}

/// A listed row without what the inbox added, i.e. the message as it was sent.
fn as_sent(row: &Value) -> Value {
    let mut row = row.clone();
    let fields = row.as_object_mut().unwrap();
    assert!(fields.remove("id").unwrap().is_i64(), "{row}");
    assert!(fields.remove("received_at").unwrap().is_string());
    row
}

#[test]
fn malformed_json_is_a_400_naming_the_problem_and_stores_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    malformed_json_is_a_400_naming_the_problem_and_stores_nothing_in(&tmp.path().join("inbox.db"));
}

/// On the database `db`: a SQLite file here, PostgreSQL in postgres.rs.
pub(crate) fn malformed_json_is_a_400_naming_the_problem_and_stores_nothing_in(db: &Path) {
    let db = db.to_path_buf();
    let server = Server::inbox(&db, &[]);
    let agent = agent();

    let r = post_json(
        &agent,
        &server.url("/messages"),
        r#"{"key": "abc", "message": 'x'}"#,
    );
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.error().contains("line 1 column"), "{}", r.text);

    let r = post_json(&agent, &server.url("/messages"), r#"{"key": "#);
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.error().contains("EOF"), "{}", r.text);

    let body = message(&key("plain", 0), "Hola").to_string();
    let r = reply(
        agent
            .post(server.url("/messages"))
            .header("Content-Type", "text/plain")
            .send(&body),
    );
    assert_eq!(r.status, 415, "{}", r.text);
    assert!(r.error().contains("application/json"), "{}", r.text);

    assert_eq!(listed(&db), Vec::<Value>::new());
}

/// Sends `head` and a body of `len` bytes on a raw connection, as fast as the server takes it,
/// and returns whatever the server answered before closing.
fn raw_oversized(addr: SocketAddr, head: &str, len: usize, chunked: bool) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let sending = thread::spawn(move || {
        let chunk = vec![b'a'; 64 * 1024];
        let mut sent = 0;
        while sent < len {
            let framed = if chunked {
                let mut frame = format!("{:x}\r\n", chunk.len()).into_bytes();
                frame.extend(&chunk);
                frame.extend(b"\r\n");
                frame
            } else {
                chunk.clone()
            };
            // The server may stop reading and close: that is an answer, not a failure.
            if writer.write_all(&framed).is_err() {
                return sent;
            }
            sent += chunk.len();
        }
        if chunked {
            let _ = writer.write_all(b"0\r\n\r\n");
        }
        sent
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend(&buf[..n]),
        }
        let text = String::from_utf8_lossy(&answer);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head.lines().find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length: ")?
                    .parse()
                    .ok()
            });
            if length.is_some_and(|n: usize| body.len() >= n) {
                break;
            }
        }
    }
    drop(stream);
    let sent = sending.join().unwrap();
    assert!(sent < len, "the server read the whole {len}-byte body");
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn a_10mb_body_is_refused_with_413_and_the_server_keeps_serving() {
    let tmp = tempfile::tempdir().unwrap();
    a_10mb_body_is_refused_with_413_and_the_server_keeps_serving_in(&tmp.path().join("inbox.db"));
}

/// On the database `db`: a SQLite file here, PostgreSQL in postgres.rs.
pub(crate) fn a_10mb_body_is_refused_with_413_and_the_server_keeps_serving_in(db: &Path) {
    let db = db.to_path_buf();
    let server = Server::inbox(&db, &[]);
    let len = 10 * 1024 * 1024;

    let declared = format!(
        "POST /messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n"
    );
    let chunked = "POST /messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (head, is_chunked) in [(declared.as_str(), false), (chunked, true)] {
        let answer = raw_oversized(server.addr, head, len, is_chunked);
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        let body = answer.split_once("\r\n\r\n").unwrap().1;
        let body: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("{answer}"));
        assert!(
            body["error"].as_str().unwrap().contains("512 KiB"),
            "{body}"
        );
    }

    let k = key("after-413", 0);
    let r = post_json(
        &agent(),
        &server.url("/messages"),
        &message(&k, "Hola").to_string(),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(listed_keys(&db), BTreeSet::from([k]));
}

#[test]
fn missing_or_invalid_fields_are_a_422_naming_them_and_store_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    missing_or_invalid_fields_are_a_422_naming_them_and_store_nothing_in(
        &tmp.path().join("inbox.db"),
    );
}

/// On the database `db`: a SQLite file here, PostgreSQL in postgres.rs.
pub(crate) fn missing_or_invalid_fields_are_a_422_naming_them_and_store_nothing_in(db: &Path) {
    let db = db.to_path_buf();
    let server = Server::inbox(&db, &[]);
    let agent = agent();
    let url = server.url("/messages");

    let mut no_reply = message(&key("noreply", 0), "Hola");
    no_reply.as_object_mut().unwrap().remove("reply_to");
    let r = post_json(&agent, &url, &no_reply.to_string());
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.error().contains("missing field `reply_to`"), "{}", r.text);

    let r = post_json(&agent, &url, &message(&key("empty", 0), "   ").to_string());
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.error().contains("message: empty"), "{}", r.text);
    assert_eq!(r.json()["problems"], json!([{"code": "message-empty"}]));

    let mut several = message("short", &"x".repeat(2001));
    several["reply_to"] = json!({"phone": "12"});
    let r = post_json(&agent, &url, &several.to_string());
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        r.json()["problems"],
        json!([
            {"code": "key-invalid"},
            {"code": "message-too-long", "limit": 2000},
            {"code": "phone-invalid"},
        ])
    );

    let mut unknown = message(&key("unknown", 0), "Hola");
    unknown["tracking_id"] = json!("x");
    let r = post_json(&agent, &url, &unknown.to_string());
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.error().contains("tracking_id"), "{}", r.text);

    assert_eq!(listed(&db), Vec::<Value>::new());
}

#[test]
fn a_resend_is_a_200_duplicate_and_a_reused_key_a_409() {
    let tmp = tempfile::tempdir().unwrap();
    a_resend_is_a_200_duplicate_and_a_reused_key_a_409_in(&tmp.path().join("inbox.db"));
}

/// On the database `db`: a SQLite file here, PostgreSQL in postgres.rs.
pub(crate) fn a_resend_is_a_200_duplicate_and_a_reused_key_a_409_in(db: &Path) {
    let db = db.to_path_buf();
    let server = Server::inbox(&db, &[]);
    let agent = agent();
    let url = server.url("/messages");
    let k = key("dup", 0);
    let sent = message(&k, "¿Tenéis pan sin gluten?");

    let first = post_json(&agent, &url, &sent.to_string());
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.json()["stored"], k.as_str());
    let again = post_json(&agent, &url, &sent.to_string());
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.json()["duplicate"], k.as_str());
    assert_eq!(again.json()["id"], first.json()["id"]);

    let other = post_json(&agent, &url, &message(&k, "Otra cosa").to_string());
    assert_eq!(other.status, 409, "{}", other.text);
    assert!(other.error().contains(&k), "{}", other.text);

    // The widget also sends the key as Idempotency-Key: the same key is fine, another refused.
    for (header, status) in [(k.clone(), 200), (key("dup", 1), 422)] {
        let r = reply(
            agent
                .post(&url)
                .header("Content-Type", "application/json")
                .header("Idempotency-Key", &header)
                .send(sent.to_string()),
        );
        assert_eq!(r.status, status, "{}", r.text);
    }

    let rows = listed(&db);
    assert_eq!(rows.len(), 1);
    assert_eq!(as_sent(&rows[0]), sent);
}

/// A POST from a second loopback address, a different visitor as far as the limit goes.
fn post_from(from: &str, to: SocketAddr, body: &str) -> String {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let from: SocketAddr = format!("{from}:0").parse().unwrap();
    socket.bind(&from.into()).unwrap();
    socket.connect(&to.into()).unwrap();
    let mut stream: TcpStream = socket.into();
    write!(
        stream,
        "POST /messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
fn a_burst_gets_201s_then_429s_with_retry_after_and_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    a_burst_gets_201s_then_429s_with_retry_after_and_loses_nothing_in(&tmp.path().join("inbox.db"));
}

/// On the database `db`: a SQLite file here, PostgreSQL in postgres.rs.
pub(crate) fn a_burst_gets_201s_then_429s_with_retry_after_and_loses_nothing_in(db: &Path) {
    let db = db.to_path_buf();
    let server = Server::inbox(&db, &[]);
    let url = server.url("/messages");

    let started = Instant::now();
    let results: Vec<(String, Reply)> = thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|t| {
                let url = &url;
                s.spawn(move || {
                    let agent = agent();
                    (0..25)
                        .map(|i| {
                            let k = key(&format!("burst{t}"), i);
                            let r = post_json(&agent, url, &message(&k, "Hola").to_string());
                            (k, r)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );

    let mut stored = BTreeSet::new();
    let mut limited = 0;
    for (k, r) in &results {
        match r.status {
            201 => {
                stored.insert(k.clone());
            }
            429 => {
                limited += 1;
                let wait: u64 = r
                    .header("retry-after")
                    .expect("Retry-After")
                    .parse()
                    .unwrap();
                assert!((1..=60).contains(&wait), "{wait}");
                assert!(r.error().contains("try again"), "{}", r.text);
            }
            other => panic!("{other}: {}", r.text),
        }
    }
    assert!((20..100).contains(&stored.len()), "{} stored", stored.len());
    assert!(limited > 0);
    assert_eq!(listed_keys(&db), stored);

    // Another address still has its whole quota; the first gets in again after waiting.
    let other = post_from(
        "127.0.0.2",
        server.addr,
        &message(&key("second", 0), "Hola").to_string(),
    );
    assert!(other.starts_with("HTTP/1.1 201"), "{other}");
    thread::sleep(Duration::from_secs(2));
    let r = post_json(
        &agent(),
        &url,
        &message(&key("later", 0), "Hola").to_string(),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(listed(&db).len(), stored.len() + 2);
}

#[test]
fn hostile_text_is_stored_and_listed_verbatim() {
    let tmp = tempfile::tempdir().unwrap();
    hostile_text_is_stored_and_listed_verbatim_in(&tmp.path().join("inbox.db"));
}

/// On the database `db`: a SQLite file here, PostgreSQL in postgres.rs.
pub(crate) fn hostile_text_is_stored_and_listed_verbatim_in(db: &Path) {
    let db = db.to_path_buf();
    let server = Server::inbox(&db, &[]);
    let text =
        "'); DROP TABLE messages;--\n<script>alert(1)</script>\n\"double\" 'single' `back` \\ \
                \n😀🥖 emoji\nمرحبا بالعالم \u{202e}override\u{202c}\nNUL:\u{0}:end\t\x1b[2Jgone";
    let mut sent = message(&key("hostile", 0), text);
    sent["transcript"] = json!([
        {"from": "visitor", "text": "Robert'); DROP TABLE messages;--"},
        {"from": "assistant", "text": "<img src=x onerror=alert(1)>"},
    ]);
    let r = post_json(&agent(), &server.url("/messages"), &sent.to_string());
    assert_eq!(r.status, 201, "{}", r.text);

    let rows = listed(&db);
    assert_eq!(rows.len(), 1);
    assert_eq!(as_sent(&rows[0]), sent);

    let out = ayuda(&["inbox", "list", "--db", db.to_str().unwrap()], b"");
    assert!(out.status.success(), "{}", stderr(&out));
    let plain = String::from_utf8(out.stdout).unwrap();
    for piece in [
        "'); DROP TABLE messages;--",
        "<script>alert(1)</script>",
        "\"double\" 'single' `back` \\",
        "😀🥖 emoji",
        "مرحبا بالعالم",
        "visitor: Robert'); DROP TABLE messages;--",
        "assistant: <img src=x onerror=alert(1)>",
        "[open]",
        "email ana@example.es",
    ] {
        assert!(plain.contains(piece), "{piece:?} missing from:\n{plain}");
    }
    // Control characters and bidi overrides reach the owner's terminal escaped, never raw.
    assert!(plain.contains("NUL:\\u{0}:end"), "{plain}");
    assert!(plain.contains("\\u{1b}[2Jgone"), "{plain}");
    assert!(plain.contains("\\u{202e}override"), "{plain}");
    assert!(!plain.contains(['\0', '\x1b', '\u{202e}']), "{plain}");
}

#[test]
fn kill_9_during_a_burst_loses_no_acknowledged_message() {
    let tmp = tempfile::tempdir().unwrap();
    kill_9_during_a_burst_loses_no_acknowledged_message_in(&tmp.path().join("inbox.db"));
}

/// On the database `db`: a SQLite file here, PostgreSQL in postgres.rs.
pub(crate) fn kill_9_during_a_burst_loses_no_acknowledged_message_in(db: &Path) {
    let db = db.to_path_buf();
    let mut server = Server::inbox(&db, &["--per-minute", "10000000"]);
    let url = server.url("/messages");
    let stop = AtomicBool::new(false);
    let acked = Mutex::new(Vec::new());

    thread::scope(|s| {
        for t in 0..6 {
            let (url, stop, acked) = (&url, &stop, &acked);
            s.spawn(move || {
                let agent = agent();
                for i in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let k = key(&format!("kill{t}"), i);
                    let body = message(&k, "Hola").to_string();
                    let sent = agent
                        .post(url)
                        .header("Content-Type", "application/json")
                        .send(&body);
                    match sent.map(|r| r.status().as_u16()) {
                        Ok(201 | 200) => acked.lock().unwrap().push(k),
                        Ok(429) => {}
                        Ok(other) => panic!("{other}"),
                        // The server is gone: whatever was under way was never acknowledged.
                        Err(_) => break,
                    }
                }
            });
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while acked.lock().unwrap().len() < 60 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(5));
        }
        server.child.kill().unwrap(); // SIGKILL: no shutdown, no flush.
        server.child.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
    });

    let acked: BTreeSet<String> = acked.into_inner().unwrap().into_iter().collect();
    assert!(acked.len() >= 20, "only {} acknowledged", acked.len());
    let kept = listed_keys(&db);
    let lost: Vec<_> = acked.difference(&kept).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
}

#[test]
fn cors_answers_only_allowed_origins_and_reading_needs_the_token() {
    let tmp = tempfile::tempdir().unwrap();
    cors_answers_only_allowed_origins_and_reading_needs_the_token_in(&tmp.path().join("inbox.db"));
}

/// On the database `db`: a SQLite file here, PostgreSQL in postgres.rs.
pub(crate) fn cors_answers_only_allowed_origins_and_reading_needs_the_token_in(db: &Path) {
    let tmp = tempfile::tempdir().unwrap();
    let db = db.to_path_buf();
    let allowed = "http://127.0.0.1:8080";
    let server = Server::inbox(&db, &["--allow-origin", allowed, "--token", "s3cret-token"]);
    let agent = agent();
    let url = server.url("/messages");

    let preflight = |origin: &str| {
        reply(
            agent
                .options(&url)
                .header("Origin", origin)
                .header("Access-Control-Request-Method", "POST")
                .header(
                    "Access-Control-Request-Headers",
                    "content-type,idempotency-key",
                )
                .call(),
        )
    };
    let ok = preflight(allowed);
    assert!((200..300).contains(&ok.status), "{}", ok.status);
    assert_eq!(ok.header("access-control-allow-origin"), Some(allowed));
    let headers = ok
        .header("access-control-allow-headers")
        .unwrap()
        .to_lowercase();
    assert!(
        headers.contains("content-type") && headers.contains("idempotency-key"),
        "{headers}"
    );
    assert!(ok
        .header("access-control-allow-methods")
        .unwrap()
        .contains("POST"));
    let evil = preflight("https://evil.example");
    assert_eq!(evil.header("access-control-allow-origin"), None);

    let post = |origin: &str, k: &str| {
        reply(
            agent
                .post(&url)
                .header("Origin", origin)
                .header("Content-Type", "application/json")
                .send(message(k, "Hola").to_string()),
        )
    };
    let r = post(allowed, &key("cors", 0));
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.header("access-control-allow-origin"), Some(allowed));
    // Another site's page (a form post needs no CORS) is refused, and nothing is stored.
    let r = post("https://evil.example", &key("cors", 1));
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(r.error().contains("--allow-origin"), "{}", r.text);
    assert_eq!(r.header("access-control-allow-origin"), None);
    let r = post_json(&agent, &url, &message(&key("cors", 2), "Hola").to_string());
    assert_eq!(
        r.status, 201,
        "same-origin requests are unaffected: {}",
        r.text
    );
    // The inbox's own pages name its own origin.
    let r = post(&format!("http://{}", server.addr), &key("cors", 3));
    assert_eq!(r.status, 201, "{}", r.text);

    let read = |auth: Option<&str>| {
        let mut req = agent.get(&url);
        if let Some(auth) = auth {
            req = req.header("Authorization", auth);
        }
        reply(req.call())
    };
    for auth in [
        None,
        Some("Bearer wrong"),
        Some("Bearer s3cret-toke"),
        Some("s3cret-token"),
    ] {
        let r = read(auth);
        assert_eq!(r.status, 401, "{auth:?}: {}", r.text);
        assert!(r.error().contains("Authorization: Bearer"), "{}", r.text);
    }
    let r = read(Some("Bearer s3cret-token"));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json(), Value::Array(listed(&db)));
    assert_eq!(r.json().as_array().unwrap().len(), 3);
    // Only the inbox's owner may read the database and its write-ahead log (a SQLite file; a
    // PostgreSQL server keeps its own files).
    #[cfg(unix)]
    for file in [db.clone(), db.with_extension("db-wal")]
        .into_iter()
        .filter(|_| db.is_file())
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{} is mode {mode:o}", file.display());
    }
    // Visitors' words are never cached on the way; the scheme's case does not matter.
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(read(Some("bearer s3cret-token")).status, 200);
    assert_eq!(read(Some("BEARER s3cret-token")).status, 200);

    let tokenless = Server::inbox(&tmp.path().join("other.db"), &[]);
    let r = reply(agent.get(tokenless.url("/messages")).call());
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(r.error().contains("--token"), "{}", r.text);
}

fn full_message(k: &str) -> Escalation {
    serde_json::from_value(json!({
        "key": k,
        "message": "¿Hacéis tartas por encargo?\nPara el sábado & 20 personas = 1 tarta",
        "reply_to": {"phone": "+34 600 12 34 56"},
        "lane": "closed",
        "lang": "es",
        "transcript": [
            {"from": "visitor", "text": "tartas de cumpleaños\ncon nombre"},
            {"from": "assistant", "text": "No tengo una respuesta segura."},
        ],
        "written_at": "2026-11-24T21:30:00Z",
    }))
    .unwrap()
}

#[test]
fn a_form_encoded_post_stores_the_same_message_as_json() {
    let tmp = tempfile::tempdir().unwrap();
    a_form_encoded_post_stores_the_same_message_as_json_in(&tmp.path().join("inbox.db"));
}

/// On the database `db`: a SQLite file here, PostgreSQL in postgres.rs.
pub(crate) fn a_form_encoded_post_stores_the_same_message_as_json_in(db: &Path) {
    let db = db.to_path_buf();
    let server = Server::inbox(&db, &[]);
    let agent = agent();
    let url = server.url("/messages");
    let sent = full_message(&key("form", 0));

    let r = reply(agent.post(&url).send_form(sent.form_fields()));
    assert_eq!(r.status, 201, "{}", r.text);
    let rows = listed(&db);
    assert_eq!(as_sent(&rows[0]), serde_json::to_value(&sent).unwrap());
    // The JSON form of the same message is the same message: a duplicate, not a conflict.
    let r = post_json(&agent, &url, &serde_json::to_string(&sent).unwrap());
    assert_eq!(r.status, 200, "{}", r.text);

    let mut fields = full_message(&key("form", 1)).form_fields();
    fields.retain(|(name, _)| *name != "phone");
    let r = reply(agent.post(&url).send_form(fields));
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.json()["problems"], json!([{"code": "reply-missing"}]));
    assert_eq!(listed(&db).len(), 1);
}

#[test]
fn serve_mounts_the_inbox_under_its_own_origin() {
    let tmp = tempfile::tempdir().unwrap();
    serve_mounts_the_inbox_under_its_own_origin_in(&tmp.path().join("inbox.db"));
}

/// On the database `db`: a SQLite file here, PostgreSQL in postgres.rs.
pub(crate) fn serve_mounts_the_inbox_under_its_own_origin_in(db: &Path) {
    let db = db.to_path_buf();
    let server = Server::start(&[
        "serve",
        "www",
        "--listen",
        "127.0.0.1:0",
        "--inbox-db",
        db.to_str().unwrap(),
    ]);
    let agent = agent();
    let k = key("serve", 0);
    let r = post_json(
        &agent,
        &server.url("/inbox/messages"),
        &message(&k, "Hola").to_string(),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(listed_keys(&db), BTreeSet::from([k]));
    let page = reply(agent.get(server.url("/ayuda.js")).call());
    assert_eq!(page.status, 200, "the folder is still served");
}

#[test]
fn serve_compresses_what_static_hosts_compress_and_not_the_model() {
    let server = Server::start(&["serve", "www", "--listen", "127.0.0.1:0"]);
    // The headers of a GET with gzip accepted, read off the wire (no client to undo it).
    let encoding = |path: &str| {
        let addr = server
            .url("/")
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let mut conn = std::net::TcpStream::connect(&addr).unwrap();
        write!(
            conn,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut head = String::new();
        let mut reader = BufReader::new(conn);
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            head.push_str(&line.to_ascii_lowercase());
        }
        assert!(head.starts_with("http/1.1 200"), "{path}: {head}");
        head.lines()
            .find_map(|l| l.strip_prefix("content-encoding: ").map(str::to_string))
    };
    assert_eq!(encoding("/ayuda.js").as_deref(), Some("gzip"));
    assert_eq!(encoding("/pkg/ayuda_bg.wasm").as_deref(), Some("gzip"));
    // Hosts serve application/octet-stream as stored; so does this server.
    assert_eq!(encoding("/models/all-MiniLM-L6-v2.ayuda"), None);
}

#[test]
fn new_messages_are_forwarded_to_the_webhook_signed_without_delaying_the_answer() {
    let receiver = TcpListener::bind("127.0.0.1:0").unwrap();
    let hook = format!("http://{}/hook", receiver.local_addr().unwrap());
    let (got, forwarded) = mpsc::channel();
    thread::spawn(move || {
        let (conn, _) = receiver.accept().unwrap();
        got.send(receive(conn, "204 No Content")).unwrap();
    });

    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("inbox.db");
    let secret = tmp.path().join("secret");
    std::fs::write(&secret, "s3cret-shared\n").unwrap();
    let server = Server::inbox(
        &db,
        &[
            "--webhook",
            &hook,
            "--webhook-secret-file",
            secret.to_str().unwrap(),
        ],
    );
    let k = key("hook", 0);
    let r = post_json(
        &agent(),
        &server.url("/messages"),
        &message(&k, "Hola").to_string(),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let (headers, body) = forwarded
        .recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| panic!("nothing forwarded; stderr: {}", server.log()));
    // The documented recipe: HMAC-SHA256 of the exact body with the shared secret, in hex.
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"s3cret-shared").unwrap();
    mac.update(&body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        headers.get("ayuda-signature"),
        Some(&format!("sha256={hex}"))
    );
    assert_eq!(headers.get("ayuda-event-id"), Some(&k));
    let body: Value = serde_json::from_slice(&body).unwrap();
    let mut stored = listed(&db)[0].clone();
    stored.as_object_mut().unwrap().remove("deliveries");
    assert_eq!(body, stored);
    // Delivered: recorded as such once the receiver's 2xx is in.
    wait_for_listing(&db, Duration::from_secs(10), |rows| {
        rows[0]["deliveries"]["webhook"]["state"] == "sent"
    });

    // A webhook that is down costs the sender nothing.
    let dead = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}/", dead.local_addr().unwrap());
    drop(dead);
    let db = tmp.path().join("other.db");
    let server = Server::inbox(&db, &["--webhook", &dead_url]);
    let started = Instant::now();
    let r = post_json(
        &agent(),
        &server.url("/messages"),
        &message(&k, "Hola").to_string(),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(started.elapsed() < Duration::from_secs(1));
}

/// Reads one HTTP request from `conn` (lower-cased headers, body) and answers `status`.
fn receive(conn: TcpStream, status: &str) -> (std::collections::HashMap<String, String>, Vec<u8>) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut headers = std::collections::HashMap::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
    let length = headers
        .get("content-length")
        .map_or(0, |n| n.parse().unwrap());
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let mut conn = conn;
    conn.write_all(
        format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .unwrap();
    (headers, body)
}

#[test]
fn webhook_events_wait_for_a_receiver_that_is_down_across_a_restart_and_arrive_once() {
    let tmp = tempfile::tempdir().unwrap();
    webhook_events_wait_for_a_receiver_that_is_down_across_a_restart_and_arrive_once_in(
        &tmp.path().join("inbox.db"),
    );
}

/// On the database `db`: a SQLite file here, PostgreSQL in postgres.rs.
pub(crate) fn webhook_events_wait_for_a_receiver_that_is_down_across_a_restart_and_arrive_once_in(
    db: &Path,
) {
    let db = db.to_path_buf();
    let port = free_port();
    let hook = format!("http://127.0.0.1:{port}/hook");
    let args = ["--webhook", hook.as_str()];
    let agent = agent();
    let server = Server::inbox(&db, &args);
    for i in 0..2 {
        let r = post_json(
            &agent,
            &server.url("/messages"),
            &message(&key("later", i), "hola").to_string(),
        );
        assert_eq!(r.status, 201);
    }
    wait_for_listing(&db, Duration::from_secs(20), |rows| {
        rows.iter()
            .all(|r| r["deliveries"]["webhook"]["attempts"].as_i64().unwrap_or(0) >= 1)
    });
    // The inbox restarts while the receiver is down; then the receiver comes back, and a
    // redirect answer is not followed (and not taken for delivered).
    drop(server);
    let receiver = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let _server = Server::inbox(&db, &args);
    let (first, _) = receiver.accept().unwrap();
    let (headers, _) = receive(first, "302 Found\r\nLocation: http://127.0.0.1:9/elsewhere");
    let redirected = headers["ayuda-event-id"].clone();
    let mut ids = Vec::new();
    while ids.len() < 2 {
        let (conn, _) = receiver.accept().unwrap();
        let (headers, _) = receive(conn, "200 OK");
        ids.push(headers["ayuda-event-id"].clone());
    }
    ids.sort();
    assert_eq!(
        ids,
        vec![key("later", 0), key("later", 1)],
        "each event once"
    );
    assert!(
        ids.contains(&redirected),
        "the redirected one was tried again"
    );
    wait_for_listing(&db, Duration::from_secs(10), |rows| {
        rows.iter()
            .all(|r| r["deliveries"]["webhook"]["state"] == "sent")
    });
}

#[test]
fn listing_a_missing_database_fails_without_creating_it() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("nope.db");
    let out = ayuda(&["inbox", "list", "--db", db.to_str().unwrap()], b"");
    crate::util::assert_fails(&out, "no inbox database");
    assert!(!db.exists());
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    sigterm_stops_the_server_cleanly_in(&tmp.path().join("inbox.db"));
}

/// On the database `db`: a SQLite file here, PostgreSQL in postgres.rs.
pub(crate) fn sigterm_stops_the_server_cleanly_in(db: &Path) {
    let db = db.to_path_buf();
    let mut server = Server::inbox(&db, &[]);
    let r = post_json(
        &agent(),
        &server.url("/messages"),
        &message(&key("term", 0), "Hola").to_string(),
    );
    assert_eq!(r.status, 201);
    let term = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "still running after SIGTERM");
        thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}: {}", server.log());
    assert_eq!(listed(&db).len(), 1);
}

// --- Mail to the owner (a real SMTP server: Debian's aiosmtpd, writing a Maildir) ---

/// aiosmtpd on `port`, storing what it receives in `maildir`; killed when dropped.
struct Smtp {
    child: Child,
}

impl Smtp {
    fn start(port: u16, maildir: &Path) -> Smtp {
        let child = Command::new("aiosmtpd")
            .args([
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(maildir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd runs (tools/ensure.sh installs python3-aiosmtpd)");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "aiosmtpd did not start"
            );
            thread::sleep(Duration::from_millis(100));
        }
        Smtp { child }
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The mails in `maildir`, parsed, once there are `n` of them (waiting up to `within`).
fn mails(maildir: &Path, n: usize, within: Duration) -> Vec<mail_parser::Message<'static>> {
    let started = Instant::now();
    loop {
        let files: Vec<_> = std::fs::read_dir(maildir.join("new"))
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        if files.len() >= n || started.elapsed() > within {
            return files
                .iter()
                .map(|f| {
                    let raw: &'static [u8] =
                        Box::leak(std::fs::read(f).unwrap().into_boxed_slice());
                    mail_parser::MessageParser::default()
                        .parse(raw)
                        .expect("a mail")
                })
                .collect();
        }
        thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn each_new_message_is_mailed_to_the_owner_once_with_reply_to_and_lane() {
    let tmp = tempfile::tempdir().unwrap();
    each_new_message_is_mailed_to_the_owner_once_with_reply_to_and_lane_in(
        &tmp.path().join("inbox.db"),
    );
}

/// On the database `db`: a SQLite file here, PostgreSQL in postgres.rs.
pub(crate) fn each_new_message_is_mailed_to_the_owner_once_with_reply_to_and_lane_in(db: &Path) {
    let tmp = tempfile::tempdir().unwrap();
    let maildir = tmp.path().join("owner");
    let port = free_port();
    let _smtp = Smtp::start(port, &maildir);
    let db = db.to_path_buf();
    let smtp = format!("smtp://127.0.0.1:{port}");
    let server = Server::inbox(
        &db,
        &[
            "--smtp",
            &smtp,
            "--notify",
            "owner@example.com",
            "--from",
            "shop@example.com",
        ],
    );
    let agent = agent();
    let mut urgent = message(
        &key("mail", 1),
        "¡Se me ha olvidado la tarta en el horno!\nLlamadme.",
    );
    urgent["lane"] = json!("urgent");
    let body = urgent.to_string();
    assert_eq!(
        post_json(&agent, &server.url("/messages"), &body).status,
        201
    );
    // The same message again (a resend after a lost answer): no second mail.
    assert_eq!(
        post_json(&agent, &server.url("/messages"), &body).status,
        200
    );
    let phone = full_message(&key("mail", 2));
    assert_eq!(
        post_json(
            &agent,
            &server.url("/messages"),
            &serde_json::to_string(&phone).unwrap()
        )
        .status,
        201
    );
    let got = mails(&maildir, 2, Duration::from_secs(20));
    thread::sleep(Duration::from_millis(500));
    assert_eq!(
        mails(&maildir, 3, Duration::ZERO).len(),
        2,
        "one mail per message"
    );
    let first = got
        .iter()
        .find(|m| m.subject().unwrap_or_default().contains("URGENTE"))
        .expect("the urgent one, its lane in the subject");
    assert_eq!(
        first.from().unwrap().first().unwrap().address().unwrap(),
        "shop@example.com"
    );
    assert_eq!(
        first.to().unwrap().first().unwrap().address().unwrap(),
        "owner@example.com"
    );
    assert_eq!(
        first
            .reply_to()
            .unwrap()
            .first()
            .unwrap()
            .address()
            .unwrap(),
        "ana@example.es"
    );
    let text = first.body_text(0).unwrap();
    assert!(
        text.contains("¡Se me ha olvidado la tarta en el horno!\nLlamadme."),
        "{text}"
    );
    // A phone is shown as a tel: link; no Reply-To to a phone; the transcript they included.
    let second = got
        .iter()
        .find(|m| !m.subject().unwrap_or_default().contains("URGENTE"))
        .unwrap();
    assert!(second.reply_to().is_none());
    let text = second.body_text(0).unwrap();
    assert!(text.contains("tel:+34600123456"), "{text}");
    assert!(text.contains(&phone.message), "{text}");
    assert!(text.contains("tartas de cumpleaños"), "{text}");
    // `inbox list` says where each mail stands.
    let rows = listed(&db);
    assert!(
        rows.iter()
            .all(|r| r["deliveries"]["mail"]["state"] == "sent"),
        "{rows:?}"
    );
    drop(server);
}

#[test]
fn a_mail_waits_for_a_server_that_is_down_across_an_inbox_restart() {
    let tmp = tempfile::tempdir().unwrap();
    a_mail_waits_for_a_server_that_is_down_across_an_inbox_restart_in(&tmp.path().join("inbox.db"));
}

/// On the database `db`: a SQLite file here, PostgreSQL in postgres.rs.
pub(crate) fn a_mail_waits_for_a_server_that_is_down_across_an_inbox_restart_in(db: &Path) {
    let tmp = tempfile::tempdir().unwrap();
    let maildir = tmp.path().join("owner");
    let port = free_port();
    let db = db.to_path_buf();
    let smtp = format!("smtp://127.0.0.1:{port}");
    let args = ["--smtp", smtp.as_str(), "--notify", "owner@example.com"];
    let agent = agent();
    let server = Server::inbox(&db, &args);
    // The mail server is down: the message is stored (201) and its mail waits.
    let sent = post_json(
        &agent,
        &server.url("/messages"),
        &message(&key("down", 1), "one").to_string(),
    );
    assert_eq!(sent.status, 201);
    wait_for_listing(&db, Duration::from_secs(20), |rows| {
        rows[0]["deliveries"]["mail"]["attempts"]
            .as_i64()
            .unwrap_or(0)
            >= 1
    });
    assert_eq!(listed(&db)[0]["deliveries"]["mail"]["state"], "waiting");
    assert!(server.log().contains("not sent"), "{}", server.log());
    // It comes back: the retry sends it.
    let smtp_server = Smtp::start(port, &maildir);
    assert_eq!(mails(&maildir, 1, Duration::from_secs(30)).len(), 1);
    // Down again; a second message; the inbox restarts; then the server is back.
    drop(smtp_server);
    let sent = post_json(
        &agent,
        &server.url("/messages"),
        &message(&key("down", 2), "two").to_string(),
    );
    assert_eq!(sent.status, 201);
    thread::sleep(Duration::from_millis(500));
    drop(server);
    let _smtp = Smtp::start(port, &maildir);
    let _server = Server::inbox(&db, &args);
    let got = mails(&maildir, 2, Duration::from_secs(20));
    thread::sleep(Duration::from_millis(500));
    assert_eq!(
        mails(&maildir, 3, Duration::ZERO).len(),
        2,
        "each message mailed once"
    );
    let texts: Vec<String> = got
        .iter()
        .map(|m| m.body_text(0).unwrap().into_owned())
        .collect();
    assert!(
        texts.iter().any(|t| t.contains("\none\n")) && texts.iter().any(|t| t.contains("\ntwo\n")),
        "{texts:?}"
    );
}

#[test]
fn test_mail_explains_a_tls_and_port_mix_up_in_plain_words() {
    let tmp = tempfile::tempdir().unwrap();
    let maildir = tmp.path().join("owner");
    let port = free_port();
    let _smtp = Smtp::start(port, &maildir);
    let test_mail = |url: &str| {
        ayuda(
            &[
                "inbox",
                "test-mail",
                "--smtp",
                url,
                "--notify",
                "owner@example.com",
            ],
            b"",
        )
    };
    let ok = test_mail(&format!("smtp://127.0.0.1:{port}"));
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("250"));
    assert_eq!(mails(&maildir, 1, Duration::from_secs(10)).len(), 1);
    // TLS from the first byte to a server that starts in plain text (port 587's way).
    let wrong = test_mail(&format!("smtps://127.0.0.1:{port}"));
    assert!(!wrong.status.success());
    assert!(
        stderr(&wrong).contains("use smtp://127.0.0.1"),
        "{}",
        stderr(&wrong)
    );
    // Plain text to a server that waits for TLS (port 465's way: it never greets first).
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let tls_port = silent.local_addr().unwrap().port();
    let wrong = test_mail(&format!("smtp://127.0.0.1:{tls_port}"));
    assert!(!wrong.status.success());
    assert!(
        stderr(&wrong).contains("use smtps://127.0.0.1"),
        "{}",
        stderr(&wrong)
    );
    // Nothing there at all.
    drop(silent);
    let none = test_mail(&format!("smtp://127.0.0.1:{tls_port}"));
    assert!(
        stderr(&none).contains("nothing answers"),
        "{}",
        stderr(&none)
    );
}

#[test]
fn gaps_groups_messages_by_the_nearest_entry_and_writes_a_csv_that_builds() {
    let tmp = tempfile::tempdir().unwrap();
    gaps_groups_messages_by_the_nearest_entry_and_writes_a_csv_that_builds_in(
        &tmp.path().join("inbox.db"),
    );
}

/// On the database `db`: a SQLite file here, PostgreSQL in postgres.rs.
pub(crate) fn gaps_groups_messages_by_the_nearest_entry_and_writes_a_csv_that_builds_in(db: &Path) {
    let tmp = tempfile::tempdir().unwrap();
    let faq = crate::util::fixture("faq.csv");
    let kb = tmp.path().join("kb.bin");
    let built = ayuda(
        &[
            "build",
            faq.to_str().unwrap(),
            "--out",
            kb.to_str().unwrap(),
        ],
        b"",
    );
    assert!(built.status.success(), "{}", stderr(&built));
    let db = db.to_path_buf();
    let server = Server::inbox(&db, &[]);
    let agent = agent();
    for (i, text) in [
        "¿Cuánto tardará en llegar mi pedido a Sevilla?",
        "¿cuando me llega el pedido?",
        "¿Hacéis tartas sin gluten?",
        "¿cuando me llega el pedido?",
    ]
    .iter()
    .enumerate()
    {
        let r = post_json(
            &agent,
            &server.url("/messages"),
            &message(&key("gap", i), text).to_string(),
        );
        assert_eq!(r.status, 201);
    }
    drop(server);
    let csv = tmp.path().join("gaps.csv");
    let out = ayuda(
        &[
            "inbox",
            "gaps",
            "--db",
            db.to_str().unwrap(),
            "--kb",
            kb.to_str().unwrap(),
            "--out",
            csv.to_str().unwrap(),
        ],
        b"",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    // The repeat counts once; the two ways of asking about delivery are grouped under it.
    assert!(text.starts_with("3 messages"), "{text}");
    let near = text
        .split("\n\n")
        .find(|g| g.contains("(envio-plazo)"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        near.contains(": 2 messages") && near.contains("Sevilla") && near.contains("me llega"),
        "{text}"
    );
    let none = text
        .split("\n\n")
        .find(|g| g.starts_with("near no entry"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(none.contains("sin gluten"), "{text}");
    // The CSV builds with the FAQ: the new topic is known, handed to a person until answered.
    let kb2 = tmp.path().join("kb2.bin");
    let built = ayuda(
        &[
            "build",
            faq.to_str().unwrap(),
            csv.to_str().unwrap(),
            "--out",
            kb2.to_str().unwrap(),
        ],
        b"",
    );
    assert!(built.status.success(), "{}", stderr(&built));
    let asked = ayuda(
        &[
            "ask",
            "--kb",
            kb2.to_str().unwrap(),
            "--json",
            "¿Hacéis tartas sin gluten?",
        ],
        b"",
    );
    let reply: Value =
        serde_json::from_slice(&asked.stdout).unwrap_or_else(|_| panic!("{}", stderr(&asked)));
    assert_eq!(reply["entry"]["handoff"], true, "{reply}");
}

#[test]
fn serve_never_serves_dotfiles_or_symlinks_leading_out_of_its_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    std::fs::create_dir_all(site.join(".git")).unwrap();
    std::fs::write(site.join("index.html"), "<p>hi</p>").unwrap();
    std::fs::write(site.join(".env"), "SECRET=1").unwrap();
    std::fs::write(site.join(".git/config"), "[core]").unwrap();
    std::fs::write(tmp.path().join("outside.txt"), "private").unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(tmp.path().join("outside.txt"), site.join("leak.txt")).unwrap();
        std::os::unix::fs::symlink(site.join("index.html"), site.join("alias.html")).unwrap();
    }
    let server = Server::start(&["serve", site.to_str().unwrap(), "--listen", "127.0.0.1:0"]);
    let agent = agent();
    let get = |path: &str| reply(agent.get(server.url(path)).call());
    assert_eq!(get("/index.html").status, 200);
    for path in ["/.env", "/.git/config", "/%2eenv", "/.git/"] {
        let r = get(path);
        assert_eq!(r.status, 404, "{path}: {}", r.text);
        assert!(
            !r.text.contains("SECRET") && !r.text.contains("[core]"),
            "{path}"
        );
    }
    #[cfg(unix)]
    {
        let r = get("/leak.txt");
        assert_eq!(r.status, 404, "a symlink out of the folder: {}", r.text);
        assert_eq!(
            get("/alias.html").status,
            200,
            "a symlink within it is fine"
        );
    }
}

#[test]
fn behind_a_trusted_proxy_one_visitors_burst_does_not_hold_up_another() {
    let tmp = tempfile::tempdir().unwrap();
    let agent = agent();
    let post_as = |server: &Server, visitor: &str, k: &str| {
        reply(
            agent
                .post(server.url("/messages"))
                .header("Content-Type", "application/json")
                .header("X-Forwarded-For", visitor)
                .send(message(k, "Hola").to_string()),
        )
        .status
    };
    // The proxy (here: this test, on 127.0.0.1) names each visitor.
    let behind = Server::inbox(
        &tmp.path().join("proxied.db"),
        &["--trusted-proxy", "127.0.0.1", "--per-minute", "1"],
    );
    let statuses: Vec<u16> = (0..25)
        .map(|i| post_as(&behind, "203.0.113.7", &key("burst", i)))
        .collect();
    assert!(
        statuses.contains(&429),
        "the bursting visitor is limited: {statuses:?}"
    );
    assert_eq!(
        post_as(&behind, "198.51.100.9", &key("other", 0)),
        201,
        "another visitor is not"
    );
    // Without --trusted-proxy the header is anyone's to write, so it counts for nothing.
    let direct = Server::inbox(&tmp.path().join("direct.db"), &["--per-minute", "1"]);
    let statuses: Vec<u16> = (0..25)
        .map(|i| post_as(&direct, &format!("203.0.113.{i}"), &key("spoof", i)))
        .collect();
    assert!(statuses.contains(&429), "{statuses:?}");
}

#[test]
fn five_hundred_half_open_connections_do_not_keep_a_visitor_waiting() {
    let tmp = tempfile::tempdir().unwrap();
    five_hundred_half_open_connections_do_not_keep_a_visitor_waiting_in(
        &tmp.path().join("inbox.db"),
    );
}

/// On the database `db`: a SQLite file here, PostgreSQL in postgres.rs.
pub(crate) fn five_hundred_half_open_connections_do_not_keep_a_visitor_waiting_in(db: &Path) {
    let db = db.to_path_buf();
    let server = Server::inbox(&db, &[]);
    // Each sends half a request and waits, as a slow-loris client does.
    let idle: Vec<TcpStream> = (0..500)
        .map(|_| {
            let mut s = TcpStream::connect(server.addr).unwrap();
            s.write_all(b"POST /messages HTTP/1.1\r\nHost: x\r\n")
                .unwrap();
            s
        })
        .collect();
    let started = Instant::now();
    let r = post_json(
        &agent(),
        &server.url("/messages"),
        &message(&key("loris", 0), "Hola").to_string(),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
    // The half-sent requests are closed once the header deadline passes.
    let mut first = idle.into_iter().next().unwrap();
    first
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let waited = Instant::now();
    let mut buf = Vec::new();
    let _ = first.read_to_end(&mut buf);
    assert!(
        waited.elapsed() < Duration::from_secs(20),
        "still open after {:?}",
        waited.elapsed()
    );
}

/// A form POST (or GET when `form` is None) with extra headers, redirects not followed.
fn owner_request(url: &str, form: Option<&str>, headers: &[(&str, &str)]) -> Reply {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    match form {
        Some(body) => {
            let mut request = agent
                .post(url)
                .header("Content-Type", "application/x-www-form-urlencoded");
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            reply(request.send(body))
        }
        None => {
            let mut request = agent.get(url);
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            reply(request.call())
        }
    }
}

#[test]
fn the_owners_page_lets_only_the_owner_in_and_only_the_owner_act() {
    let tmp = tempfile::tempdir().unwrap();
    the_owners_page_lets_only_the_owner_in_and_only_the_owner_act_in(&tmp.path().join("inbox.db"));
}

/// On the database `db`: a SQLite file here, PostgreSQL in postgres.rs.
pub(crate) fn the_owners_page_lets_only_the_owner_in_and_only_the_owner_act_in(db: &Path) {
    let db = db.to_path_buf();
    let token = "owner-token-0123456789";
    let server = Server::inbox(&db, &["--token", token]);
    let page = server.url("/admin/");
    let own = server.url("");

    // A visitor's message: stored, and no cookie for the visitor.
    let sent = post_json(
        &agent(),
        &server.url("/messages"),
        &message(&key("owner", 0), "¿Hacéis <b>tartas</b>?").to_string(),
    );
    assert_eq!(sent.status, 201, "{}", sent.text);
    assert_eq!(sent.header("set-cookie"), None);

    // Not signed in: the sign-in form, no message, and the page's own protections.
    let r = owner_request(&page, None, &[]);
    assert_eq!(r.status, 200);
    assert!(r.text.contains(r#"type="password""#), "{}", r.text);
    assert!(!r.text.contains("tartas"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert!(r
        .header("content-security-policy")
        .unwrap()
        .contains("default-src 'none'"));
    assert_eq!(r.header("set-cookie"), None);

    // A wrong token: refused, no cookie.
    let r = owner_request(&server.url("/admin/login"), Some("token=guess"), &[]);
    assert_eq!(r.status, 401);
    assert_eq!(r.header("set-cookie"), None);

    // The token: a session cookie that is HttpOnly and SameSite=Strict and carries no token.
    let r = owner_request(
        &server.url("/admin/login"),
        Some(&format!("token={token}")),
        &[],
    );
    assert_eq!(r.status, 303, "{}", r.text);
    let set = r.header("set-cookie").unwrap().to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    assert!(!set.contains(token));
    let session = set.split(';').next().unwrap().to_string();

    // Signed in: the message, escaped; so with the token as a bearer (a script reading).
    let r = owner_request(&page, None, &[("Cookie", &session)]);
    assert!(
        r.text.contains("¿Hacéis &lt;b&gt;tartas&lt;/b&gt;?"),
        "{}",
        r.text
    );
    let bearer = format!("Bearer {token}");
    let r2 = owner_request(&page, None, &[("Authorization", &bearer)]);
    assert!(r2.text.contains("tartas"));
    let csrf = r
        .text
        .split(r#"name="csrf" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a form token")
        .to_string();

    // A cookie with its expiry moved on is not a session.
    let (expires, mac) = session.split_once('=').unwrap().1.split_once('.').unwrap();
    let forged = format!(
        "ayuda_owner={}.{mac}",
        expires.parse::<i64>().unwrap() + 86_400
    );
    let r = owner_request(&page, None, &[("Cookie", &forged)]);
    assert!(!r.text.contains("tartas"));

    // Acting needs the session, the form token and this page's origin.
    let handled = server.url("/admin/handled");
    let form = format!("id=1&handled=true&csrf={csrf}");
    for (what, body, headers) in [
        ("no session", form.clone(), vec![("Origin", own.as_str())]),
        (
            "no form token",
            "id=1&handled=true&csrf=0".to_string(),
            vec![("Cookie", session.as_str()), ("Origin", own.as_str())],
        ),
        (
            "another origin (same host, another port)",
            form.clone(),
            vec![
                ("Cookie", session.as_str()),
                ("Origin", "http://127.0.0.1:1"),
            ],
        ),
    ] {
        let r = owner_request(&handled, Some(&body), &headers);
        assert_eq!(r.status, 403, "{what}: {}", r.text);
        assert_eq!(listed(&db)[0].get("handled_at"), None, "{what}");
    }
    let r = owner_request(
        &handled,
        Some(&form),
        &[("Cookie", &session), ("Origin", &own)],
    );
    assert_eq!(r.status, 303, "{}", r.text);
    assert!(listed(&db)[0]["handled_at"].is_string());
    let r = owner_request(
        &handled,
        Some(&format!("id=1&handled=false&csrf={csrf}")),
        &[("Cookie", &session), ("Origin", &own)],
    );
    assert_eq!(r.status, 303);
    assert_eq!(listed(&db)[0].get("handled_at"), None);

    // Without a token the page is off, and says how to turn it on.
    drop(server);
    let server = Server::inbox(&db, &[]);
    let r = owner_request(&server.url("/admin/"), None, &[("Accept-Language", "es")]);
    assert_eq!(r.status, 403);
    assert!(r.text.contains("--token"), "{}", r.text);
}

/// Two inboxes on one (PostgreSQL) database, as behind a load balancer: copies of one message
/// racing to both are stored once, and each message is mailed to the owner once, whichever
/// inbox's sender claims it.
pub(crate) fn two_inboxes_share_one_database(db: &Path) {
    let tmp = tempfile::tempdir().unwrap();
    let maildir = tmp.path().join("owner");
    let port = free_port();
    let _smtp = Smtp::start(port, &maildir);
    let smtp = format!("smtp://127.0.0.1:{port}");
    let args = ["--smtp", smtp.as_str(), "--notify", "owner@example.com"];
    let servers = [Server::inbox(db, &args), Server::inbox(db, &args)];
    let n = 12;
    thread::scope(|scope| {
        for i in 0..n {
            let body = message(&key("shared", i), &format!("mensaje {i}")).to_string();
            let servers = &servers;
            scope.spawn(move || {
                // The same message to both at once.
                let mut answers: Vec<u16> = thread::scope(|race| {
                    let sent: Vec<_> = servers
                        .iter()
                        .map(|s| {
                            let (url, body) = (s.url("/messages"), body.clone());
                            race.spawn(move || post_json(&agent(), &url, &body).status)
                        })
                        .collect();
                    sent.into_iter().map(|h| h.join().unwrap()).collect()
                });
                answers.sort();
                assert_eq!(
                    answers,
                    [200, 201],
                    "one stores it, the other finds it stored"
                );
            });
        }
    });
    assert_eq!(listed(db).len(), n);
    wait_for_listing(db, Duration::from_secs(30), |rows| {
        rows.iter()
            .all(|r| r["deliveries"]["mail"]["state"] == "sent")
    });
    // Give a second sender time to send anything twice, then count.
    thread::sleep(Duration::from_secs(2));
    let mails = mails(&maildir, n, Duration::from_secs(10));
    let mut subjects: Vec<String> = mails
        .iter()
        .map(|m| m.body_text(0).unwrap_or_default().to_string())
        .collect();
    subjects.sort();
    subjects.dedup();
    assert_eq!(mails.len(), n, "one mail per message");
    assert_eq!(subjects.len(), n, "no message mailed twice");
}
