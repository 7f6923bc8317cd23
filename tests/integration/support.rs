//! `TestApp`: a portal on a fresh database, driven through the real HTTP app.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use speakup::clock::Clock;
use speakup::config::{DatabaseUrl, RawSettings};
use speakup::crypto::PasswordCost;
use speakup::service::Portal;
use speakup::store::Store;
use speakup::web::{self, AppState};
use tempfile::TempDir;
use time::macros::datetime;

pub const POSTGRES_URL_VARIABLE: &str = "SPEAKUP_TEST_POSTGRES_URL";

/// A database that exists for one test and is removed afterwards.
pub struct TestDatabase {
    pub url: DatabaseUrl,
    postgres_admin_url: Option<String>,
    postgres_name: Option<String>,
    pub dir: TempDir,
}

impl TestDatabase {
    pub fn create() -> TestDatabase {
        let dir = tempfile::tempdir().expect("temporary directory");
        match std::env::var(POSTGRES_URL_VARIABLE) {
            Ok(admin_url) if !admin_url.is_empty() => {
                let name = format!("speakup_test_{}", speakup::crypto::random_id());
                let mut admin = PgConnection::establish(&admin_url)
                    .unwrap_or_else(|e| panic!("{POSTGRES_URL_VARIABLE}: cannot connect: {e}"));
                admin
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("create test database");
                TestDatabase {
                    url: DatabaseUrl::Postgres(replace_database_name(&admin_url, &name)),
                    postgres_admin_url: Some(admin_url),
                    postgres_name: Some(name),
                    dir,
                }
            }
            _ => TestDatabase {
                url: DatabaseUrl::Sqlite(dir.path().join("speakup.db")),
                postgres_admin_url: None,
                postgres_name: None,
                dir,
            },
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.url, DatabaseUrl::Postgres(_))
    }

    /// The URL as the CLI takes it.
    pub fn cli_url(&self) -> String {
        match &self.url {
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => url.clone(),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let (Some(admin_url), Some(name)) = (&self.postgres_admin_url, &self.postgres_name)
            && let Ok(mut admin) = PgConnection::establish(admin_url)
        {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

fn replace_database_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let without_db = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{without_db}/{name}?{query}"),
        None => format!("{without_db}/{name}"),
    }
}

/// Where a test app keeps its attachments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attachments {
    /// The default: a directory under the data directory.
    Directory,
    /// A bucket of its own on the loopback S3 server.
    S3,
}

/// A portal on its own database with a clock the test controls.
pub struct TestApp {
    pub state: AppState,
    pub clock: Clock,
    /// The test's own bucket, when attachments are in S3.
    pub bucket: Option<String>,
    // Dropped last, after the pool inside `state` has gone.
    pub database: TestDatabase,
}

/// Monday 2026-11-16, 10:00 UTC: a quiet week with St Andrew's Day (observed Mon 30 Nov) ahead.
pub const START: time::OffsetDateTime = datetime!(2026-11-16 10:00 UTC);

impl TestApp {
    pub fn new() -> TestApp {
        Self::with_settings(|_| {})
    }

    pub fn with_settings(adjust: impl FnOnce(&mut RawSettings)) -> TestApp {
        Self::with_store(Attachments::Directory, adjust)
    }

    pub fn with_store(attachments: Attachments, adjust: impl FnOnce(&mut RawSettings)) -> TestApp {
        let database = TestDatabase::create();
        let mut raw = RawSettings {
            data_dir: database.dir.path().to_path_buf(),
            public_url: "https://speakup.test".to_owned(),
            pool_size: 4,
            ..RawSettings::default()
        };
        let bucket = match attachments {
            Attachments::Directory => None,
            Attachments::S3 => {
                let server = crate::object_store::server();
                let bucket = server.new_bucket();
                raw.attachment_store = format!(
                    "s3://{bucket}/speakup/attachments?endpoint={}&region=us-east-1",
                    server.endpoint()
                );
                raw.s3_access_key_id = crate::object_store::ACCESS_KEY_ID.to_owned();
                raw.s3_secret_access_key = crate::object_store::SECRET_ACCESS_KEY.to_owned();
                Some(bucket)
            }
        };
        adjust(&mut raw);
        let mut settings = raw.validate().expect("valid test settings");
        settings.database = database.url.clone();
        let store = Store::open(&settings.database, settings.pool_size).expect("open test store");
        let clock = Clock::fixed(START);
        let portal = Portal::new(store, clock.clone(), settings)
            .with_password_cost(PasswordCost::INSECURE_FOR_TESTS);
        TestApp {
            state: AppState::new(portal),
            clock,
            bucket,
            database,
        }
    }

    pub fn portal(&self) -> &Portal {
        &self.state.portal
    }

    /// The id of the case with `reference`, which must exist.
    pub fn case_id(&self, reference: &str) -> speakup::ids::CaseId {
        self.portal()
            .store
            .read(|tx| speakup::store::cases::find_by_reference(tx, reference))
            .unwrap()
            .expect("the case exists")
            .id
    }

    /// Runs the `speakup` command line on this app's database.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_speakup"))
            .args(args)
            .args(["--database-url", &self.database.cli_url()])
            .output()
            .expect("run speakup")
    }

    pub async fn service(
        &self,
    ) -> impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    > {
        actix_web::test::init_service(web::app(self.state.clone())).await
    }

    pub fn data_dir(&self) -> &Path {
        self.database.dir.path()
    }

    /// Every stored attachment blob, as a file: the store's own files, or a fresh copy of
    /// the bucket's objects.
    pub fn stored_attachments(&self) -> Vec<PathBuf> {
        match &self.bucket {
            None => files_under(&self.data_dir().join("attachments")),
            Some(bucket) => {
                let copy = self
                    .data_dir()
                    .join(format!("bucket-copy-{}", speakup::crypto::random_id()));
                crate::object_store::server().dump(bucket, &copy)
            }
        }
    }

    /// The `attachment_store` settings as environment variables, for running the binary.
    pub fn store_environment(&self) -> Vec<(&'static str, String)> {
        let settings = &self.portal().settings;
        match &settings.attachment_store {
            speakup::blobs::AttachmentStoreSetting::Directory(_) => Vec::new(),
            speakup::blobs::AttachmentStoreSetting::S3 { location, keys } => vec![
                (
                    "SPEAKUP_ATTACHMENT_STORE",
                    format!(
                        "s3://{}/{}?endpoint={}&region={}",
                        location.bucket, location.prefix, location.endpoint, location.region
                    ),
                ),
                ("SPEAKUP_S3_ACCESS_KEY_ID", keys.access_key_id.clone()),
                (
                    "SPEAKUP_S3_SECRET_ACCESS_KEY",
                    keys.secret_access_key.expose_secret().clone(),
                ),
            ],
        }
    }

    /// Runs SQL on the test database (to simulate what no endpoint does, such as erasure).
    pub fn execute_sql(&self, sql: &str) {
        match &self.database.url {
            DatabaseUrl::Sqlite(path) => {
                let mut connection =
                    diesel::SqliteConnection::establish(&path.display().to_string())
                        .expect("open SQLite");
                connection.batch_execute(sql).expect("run SQL");
            }
            DatabaseUrl::Postgres(url) => {
                let mut connection = PgConnection::establish(url).expect("connect");
                connection.batch_execute(sql).expect("run SQL");
            }
        }
    }
}

/// Every file under `dir`, for "this string is nowhere on disk" checks.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        if let Ok(entries) = std::fs::read_dir(&next) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    pending.push(path);
                } else {
                    files.push(path);
                }
            }
        }
    }
    files
}

#[test]
fn database_names_are_replaced() {
    assert_eq!(
        replace_database_name("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
        "postgres://postgres@127.0.0.1:5432/t1"
    );
    assert_eq!(
        replace_database_name("postgres://u@h/db?sslmode=disable", "t2"),
        "postgres://u@h/t2?sslmode=disable"
    );
    assert_eq!(
        replace_database_name("postgres://h", "t3"),
        "postgres://h/t3"
    );
}

/// A test organisation with its people.
pub struct Staff {
    pub organisation: String,
    pub contacts: Vec<Person>,
    pub investigator: Person,
    pub lead: Person,
    pub admin: Person,
}

pub struct Person {
    pub id: String,
    pub email: String,
    pub name: String,
    pub password: String,
    pub totp_uri: String,
}

impl Person {
    pub fn clone_of(other: &Person) -> Person {
        Person {
            id: other.id.clone(),
            email: other.email.clone(),
            name: other.name.clone(),
            password: other.password.clone(),
            totp_uri: other.totp_uri.clone(),
        }
    }
}

pub const PASSWORD: &str = "a long enough test password";

impl TestApp {
    pub fn add_person(
        &self,
        organisation: &str,
        email: &str,
        name: &str,
        role: speakup::model::Role,
        intake: bool,
    ) -> Person {
        let created = self
            .portal()
            .add_account(
                &speakup::service::accounts::Actor::CommandLine,
                speakup::service::accounts::NewAccount {
                    organisation: organisation.to_owned(),
                    email: email.to_owned(),
                    name: name.to_owned(),
                    job_title: format!("{name}'s job"),
                    role,
                    intake,
                    password: speakup::crypto::Secret::new(PASSWORD.to_owned()),
                },
            )
            .expect("add account");
        Person {
            id: created.user.id.as_str().to_owned(),
            email: created.user.email,
            name: name.to_owned(),
            password: PASSWORD.to_owned(),
            totp_uri: created.totp_uri.expose_secret().clone(),
        }
    }

    /// "NHS Testshire", delivering both kinds of service, with two intake contacts, an
    /// investigator, a lead and an admin.
    pub fn staff(&self) -> Staff {
        use speakup::model::Role;
        use speakup::service::organisations::ServiceSet;
        self.portal()
            .add_organisation(
                "nhs-testshire",
                "NHS Testshire",
                ServiceSet {
                    nhs: true,
                    local_authority: true,
                },
            )
            .expect("add organisation");
        let org = "nhs-testshire";
        Staff {
            organisation: org.to_owned(),
            contacts: vec![
                self.add_person(
                    org,
                    "cora@testshire.scot",
                    "Cora Contact",
                    Role::Contact,
                    true,
                ),
                self.add_person(
                    org,
                    "colm@testshire.scot",
                    "Colm Contact",
                    Role::Contact,
                    true,
                ),
            ],
            investigator: self.add_person(
                org,
                "ivy@testshire.scot",
                "Ivy Investigator",
                Role::Investigator,
                false,
            ),
            lead: self.add_person(org, "lee@testshire.scot", "Lee Lead", Role::Lead, false),
            admin: self.add_person(org, "ada@testshire.scot", "Ada Admin", Role::Admin, false),
        }
    }

    /// Whether `needle` appears anywhere in the stored data: every file of an SQLite database
    /// (main file, WAL, shared memory), or every row of every table in PostgreSQL.
    pub fn database_contains(&self, needle: &str) -> bool {
        match &self.database.url {
            DatabaseUrl::Sqlite(_) => files_under(self.data_dir()).iter().any(|path| {
                let bytes = std::fs::read(path).unwrap_or_default();
                bytes
                    .windows(needle.len())
                    .any(|window| window == needle.as_bytes())
            }),
            DatabaseUrl::Postgres(url) => {
                use diesel::RunQueryDsl;
                #[derive(diesel::QueryableByName)]
                struct Row {
                    #[diesel(sql_type = diesel::sql_types::Text)]
                    text: String,
                }
                let mut connection = PgConnection::establish(url).expect("connect");
                let tables: Vec<Row> = diesel::sql_query(
                    "SELECT tablename AS text FROM pg_tables WHERE schemaname = 'public'",
                )
                .load(&mut connection)
                .expect("list tables");
                // bytea columns print as hex, so look for the needle's hex form as well.
                let hex_needle: String = needle.bytes().map(|b| format!("{b:02x}")).collect();
                tables.iter().any(|table| {
                    let rows: Vec<Row> = diesel::sql_query(format!(
                        "SELECT t::text AS text FROM \"{}\" t",
                        table.text
                    ))
                    .load(&mut connection)
                    .expect("read table");
                    rows.iter()
                        .any(|row| row.text.contains(needle) || row.text.contains(&hex_needle))
                })
            }
        }
    }
}

impl TestApp {
    /// Finishes an enrolment as the person would: a fresh link (as the operator prints it),
    /// then their own password. Returns the person with their new password and TOTP secret.
    pub fn enrol(&self, person: &Person, organisation: &str, password: &str) -> Person {
        let link = self
            .portal()
            .enrolment_link(organisation, &person.email)
            .expect("enrolment link");
        let token = link
            .expose_secret()
            .rsplit('/')
            .next()
            .expect("token in link")
            .to_owned();
        let enrolled = self
            .portal()
            .enrol(&token, &speakup::crypto::Secret::new(password.to_owned()))
            .expect("enrol");
        Person {
            password: password.to_owned(),
            totp_uri: enrolled.totp_uri.expose_secret().clone(),
            ..Person::clone_of(person)
        }
    }
}

/// Working days counted by hand, independently of `procedure`: not a weekend, not in `closed`.
pub fn working(day: time::Date, closed: &[time::Date]) -> bool {
    !matches!(
        day.weekday(),
        time::Weekday::Saturday | time::Weekday::Sunday
    ) && !closed.contains(&day)
}

/// The `n`-th working day counting `from` as day 1 (if it is one), by hand.
pub fn nth_working_day(from: time::Date, n: u32, closed: &[time::Date]) -> time::Date {
    let mut day = from;
    let mut counted = 0;
    loop {
        if working(day, closed) {
            counted += 1;
            if counted == n {
                return day;
            }
        }
        day = day.next_day().expect("a day after");
    }
}

/// Makes sure `python3` can import `module`, installing `package` from PyPI once if it cannot,
/// so that `cargo test` works on a fresh machine (`.ci/run` installs the same beforehand).
pub fn python_module(module: &str, package: &str) {
    static INSTALLING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let importable = || {
        std::process::Command::new("python3")
            .args(["-c", &format!("import {module}")])
            .output()
            .is_ok_and(|output| output.status.success())
    };
    let _one_at_a_time = INSTALLING.lock().unwrap_or_else(|e| e.into_inner());
    if importable() {
        return;
    }
    let pip = |extra: &[&str]| {
        std::process::Command::new("python3")
            .args(["-m", "pip", "install", "--quiet"])
            .args(extra)
            .arg(package)
            .status()
            .is_ok_and(|status| status.success())
    };
    // A distribution's own Python refuses installs outside a virtual environment (PEP 668);
    // then the user's site directory is the place.
    let installed = pip(&[]) || pip(&["--user", "--break-system-packages"]);
    assert!(
        installed && importable(),
        "python3 cannot import {module}, and `python3 -m pip install {package}` failed"
    );
}
