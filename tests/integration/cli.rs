//! The command line, run as a real process against the test database.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::TestDatabase;

fn speakup(database: &TestDatabase, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_speakup"))
        .args(args)
        .arg("--database-url")
        .arg(database.cli_url())
        .current_dir(database.dir.path())
        .env_remove("SPEAKUP_DATABASE_URL")
        .output()
        .expect("run speakup")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn organisations_persist_across_runs() {
    let database = TestDatabase::create();
    let added = speakup(
        &database,
        &[
            "org",
            "add",
            "--slug",
            "nhs-borders",
            "--name",
            "NHS Borders",
        ],
    );
    assert!(added.status.success(), "{}", stderr(&added));
    let added: serde_json::Value = serde_json::from_str(stdout(&added).trim()).unwrap();
    assert_eq!(added["slug"], "nhs-borders");

    let partnership = speakup(
        &database,
        &[
            "org",
            "add",
            "--slug",
            "dg-hscp",
            "--name",
            "Dumfries and Galloway HSCP",
            "--services",
            "nhs,local_authority",
        ],
    );
    assert!(partnership.status.success(), "{}", stderr(&partnership));

    let listed = speakup(&database, &["org", "list"]);
    assert!(listed.status.success());
    let lines: Vec<serde_json::Value> = stdout(&listed)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["slug"], "dg-hscp");
    assert_eq!(
        lines[0]["services"],
        serde_json::json!(["nhs", "local_authority"])
    );
    assert_eq!(lines[1]["id"], added["id"]);
}

fn speakup_with_stdin(database: &TestDatabase, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_speakup"))
        .args(args)
        .arg("--database-url")
        .arg(database.cli_url())
        .current_dir(database.dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn user_add_prints_the_id_and_totp_uri_once() {
    let database = TestDatabase::create();
    assert!(
        speakup(
            &database,
            &["org", "add", "--slug", "nhs-fife", "--name", "NHS Fife"]
        )
        .status
        .success()
    );
    let args = [
        "user",
        "add",
        "--org",
        "nhs-fife",
        "--email",
        "Cat.Contact@fife.scot",
        "--name",
        "Cat Contact",
        "--role",
        "contact",
        "--intake",
        "--password-stdin",
    ];
    let output = speakup_with_stdin(&database, &args, "a long enough password\n");
    assert!(output.status.success(), "{}", stderr(&output));
    let printed: serde_json::Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(printed.as_object().unwrap().len(), 2, "{printed}");
    assert_eq!(printed["id"].as_str().unwrap().len(), 32);
    let uri = printed["totp_uri"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/Speak%20Up:cat.contact%40fife.scot?secret="),
        "{uri}"
    );
    assert!(!stderr(&output).contains("a long enough password"));

    // The same address again is refused; a bad role or a short password is a usage error.
    let again = speakup_with_stdin(&database, &args, "a long enough password\n");
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
    let mut bad_role = args;
    bad_role[9] = "boss";
    let output = speakup_with_stdin(&database, &bad_role, "a long enough password\n");
    assert_eq!(output.status.code(), Some(2));
    let output = speakup_with_stdin(
        &database,
        &[
            "user",
            "add",
            "--org",
            "nhs-fife",
            "--email",
            "d@fife.scot",
            "--name",
            "D",
            "--role",
            "investigator",
            "--password-stdin",
        ],
        "short\n",
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("at least 12 characters"));
    // Only contacts can take new concerns.
    let output = speakup_with_stdin(
        &database,
        &[
            "user",
            "add",
            "--org",
            "nhs-fife",
            "--email",
            "e@fife.scot",
            "--name",
            "E",
            "--role",
            "investigator",
            "--intake",
            "--password-stdin",
        ],
        "a long enough password\n",
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
}

#[test]
fn a_duplicate_slug_is_refused_with_a_reason() {
    let database = TestDatabase::create();
    let args = ["org", "add", "--slug", "nhs-fife", "--name", "NHS Fife"];
    assert!(speakup(&database, &args).status.success());
    let again = speakup(&database, &args);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn bad_settings_are_one_line_and_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 4] = [
        (
            &["--database-url", "mysql://x/y", "org", "list"],
            "not supported",
        ),
        (
            &["--data-dir", "/proc/speakup-no", "org", "list"],
            "not writable",
        ),
        (
            &[
                "--database-url",
                "postgres://postgres@127.0.0.1:1/none",
                "org",
                "list",
            ],
            "cannot connect to PostgreSQL",
        ),
        (&["serve", "--bind", "not-an-address"], "bind address"),
    ];
    for (args, expected) in cases {
        let output = Command::new(env!("CARGO_BIN_EXE_speakup"))
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        let text = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {text}");
        assert!(text.contains(expected), "{args:?}: {text}");
        assert_eq!(text.trim_end().lines().count(), 1, "{args:?}: {text}");
        assert!(!text.contains("panicked"), "{text}");
    }
}

#[test]
fn backup_writes_a_consistent_copy_or_explains_pg_dump() {
    let database = TestDatabase::create();
    assert!(
        speakup(
            &database,
            &[
                "org",
                "add",
                "--slug",
                "nhs-tayside",
                "--name",
                "NHS Tayside"
            ]
        )
        .status
        .success()
    );
    let destination = database.dir.path().join("copy.db");
    let output = speakup(&database, &["backup", destination.to_str().unwrap()]);
    if database.is_postgres() {
        assert!(!output.status.success());
        assert!(stderr(&output).contains("pg_dump"), "{}", stderr(&output));
        assert!(
            stderr(&output).contains("attachment directory"),
            "{}",
            stderr(&output)
        );
        return;
    }
    assert!(output.status.success(), "{}", stderr(&output));
    let answer: serde_json::Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(answer["attachment_files"], 0);
    assert!(
        answer["attachments"]
            .as_str()
            .unwrap()
            .ends_with("copy.db.attachments")
    );
    let listed = Command::new(env!("CARGO_BIN_EXE_speakup"))
        .args(["org", "list", "--database-url"])
        .arg(format!("sqlite://{}", destination.display()))
        .output()
        .unwrap();
    assert!(
        stdout(&listed).contains("nhs-tayside"),
        "{}",
        stderr(&listed)
    );
    // A second backup to the same file must not overwrite it.
    let again = speakup(&database, &["backup", destination.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(stderr(&again).contains("already exists"));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn http_get(port: u16, path: &str, user_agent: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: {user_agent}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    Some(answer)
}

#[test]
fn serve_answers_health_and_stops_gracefully_on_sigterm() {
    let database = TestDatabase::create();
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_speakup"))
        .args([
            "serve",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--database-url",
        ])
        .arg(database.cli_url())
        .current_dir(database.dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let canary = "UA-CANARY-7f3a9c";
    let deadline = Instant::now() + Duration::from_secs(30);
    let answer = loop {
        if let Some(answer) = http_get(port, "/healthz", canary) {
            break answer;
        }
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "server did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit:?}");
    let mut logs = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    let mut printed = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut printed)
        .unwrap();
    assert!(logs.contains("route=\"/healthz\""), "{logs}");
    assert!(
        !logs.contains(canary),
        "the user agent must never be logged: {logs}"
    );
    for line in logs.lines().filter(|line| line.contains("route=")) {
        assert!(
            !line.contains("127.0.0.1"),
            "no client address in request logs: {line}"
        );
    }
    assert!(
        logs.contains("graceful shutdown") || logs.contains("stopped"),
        "{logs}"
    );
}
