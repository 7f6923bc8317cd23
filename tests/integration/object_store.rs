//! A real S3-compatible server for the tests: moto on loopback (`tests/support/s3_server.py`,
//! which also checks request signatures as a real object store does). One server serves the
//! whole test binary; each test gets its own bucket. The server exits when this process does
//! (its standard input closes).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock};

pub const ACCESS_KEY_ID: &str = "AKIDSPEAKUPTEST";
pub const SECRET_ACCESS_KEY: &str = "speakup-test-secret-access-key";

pub struct S3Server {
    pub port: u16,
    pipes: Mutex<(ChildStdin, BufReader<ChildStdout>)>,
    _child: Child,
}

/// The shared server, started on first use.
pub fn server() -> &'static S3Server {
    static SERVER: OnceLock<S3Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        crate::support::python_module("moto", "moto[server]");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/s3_server.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(ACCESS_KEY_ID)
            .arg(SECRET_ACCESS_KEY)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 with moto[server]");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut ready = String::new();
        stdout.read_line(&mut ready).unwrap();
        let port = ready
            .trim()
            .strip_prefix("ready ")
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "the S3 server did not start (is moto installed? \
                     `python3 -m pip install 'moto[server]'`): {ready:?}"
                )
            });
        let stdin = child.stdin.take().unwrap();
        S3Server {
            port,
            pipes: Mutex::new((stdin, stdout)),
            _child: child,
        }
    })
}

impl S3Server {
    fn command(&self, line: &str) -> String {
        let mut pipes = self.pipes.lock().unwrap_or_else(|e| e.into_inner());
        writeln!(pipes.0, "{line}").unwrap();
        pipes.0.flush().unwrap();
        let mut answer = String::new();
        pipes.1.read_line(&mut answer).unwrap();
        let answer = answer.trim().to_owned();
        assert!(!answer.starts_with("error"), "{line}: {answer}");
        answer
    }

    /// A new, empty bucket of its own.
    pub fn new_bucket(&self) -> String {
        let name = format!("speakup-test-{}", speakup::crypto::random_id());
        self.command(&format!("bucket {name}"));
        name
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Copies every object of `bucket` to files under `dir` (named by key); returns the files.
    pub fn dump(&self, bucket: &str, dir: &Path) -> Vec<PathBuf> {
        std::fs::create_dir_all(dir).unwrap();
        let count: usize = self
            .command(&format!("dump {bucket} {}", dir.display()))
            .parse()
            .unwrap();
        let files = crate::support::files_under(dir);
        assert_eq!(files.len(), count);
        files
    }

    /// Multipart uploads started in `bucket` and neither completed nor aborted.
    pub fn unfinished_uploads(&self, bucket: &str) -> usize {
        self.command(&format!("uploads {bucket}")).parse().unwrap()
    }
}
