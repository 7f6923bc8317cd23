"""Shared by the crash and restore tests: a speakup server run as a real process on SQLite or
PostgreSQL, its command line, and the writes and checks the tests make. Python 3.11 standard
library only.

The per-client rate limits are lifted through the environment, as in load/loadtest.py: every
request comes from 127.0.0.1, so the production limits would refuse most of them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import os
import secrets
import signal
import socket
import sqlite3
import struct
import subprocess
import time
import urllib.parse
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
ORG = "crash-test-board"
LIFTED_LIMITS = {
    "SPEAKUP_CONCERN_SUBMISSIONS_PER_HOUR": "100000000",
    "SPEAKUP_MAILBOX_SIGN_INS_PER_MINUTE": "10000000",
    "SPEAKUP_HANDLER_SIGN_INS_PER_MINUTE": "10000",
}


def default_binary() -> Path:
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return Path(os.environ.get("SPEAKUP_UNDER_TEST", target / "debug" / "speakup"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def totp(uri: str) -> str:
    """RFC 6238 (SHA-1, 6 digits, 30 s) for the secret in an otpauth:// URI."""
    secret = urllib.parse.parse_qs(urllib.parse.urlparse(uri).query)["secret"][0].upper()
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**6).zfill(6)


class Failure(Exception):
    pass


class PostgresDatabase:
    """A uniquely named database on the server at `admin_url`, dropped by `drop()`."""

    def __init__(self, admin_url: str, prefix: str):
        self.admin_url = admin_url
        self.name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        base = urllib.parse.urlparse(admin_url)
        self.url = urllib.parse.urlunparse(base._replace(path="/" + self.name))
        self.psql("CREATE DATABASE " + self.name)

    def psql(self, sql: str) -> None:
        subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", self.admin_url, "-c", sql],
                       check=True, capture_output=True)

    def drop(self) -> None:
        self.psql(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


class Portal:
    """One data directory (and database) and the server run on it."""

    def __init__(self, binary: Path, data_dir: Path, database_url: str | None = None):
        self.binary = binary
        self.data_dir = data_dir
        self.database_url = database_url
        self.process: subprocess.Popen | None = None
        self.port = 0
        self.contact: dict = {}

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SPEAKUP_")}
        env.update(LIFTED_LIMITS)
        env["SPEAKUP_LOG_LEVEL"] = "warn"
        return env

    def command(self, *args: str) -> list[str]:
        line = [str(self.binary), "--data-dir", str(self.data_dir)]
        if self.database_url:
            line += ["--database-url", self.database_url]
        return line + list(args)

    def cli(self, *args: str, stdin: str | None = None, ok: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(self.command(*args), input=stdin, capture_output=True, text=True,
                                env=self.environment(), cwd=self.data_dir, check=False)
        if ok and result.returncode != 0:
            raise Failure(f"speakup {' '.join(args)} failed: {result.stderr.strip()}")
        return result

    def cli_json(self, *args: str, stdin: str | None = None) -> dict:
        return json.loads(self.cli(*args, stdin=stdin).stdout.strip().splitlines()[-1])

    def set_up(self) -> None:
        self.cli("org", "add", "--slug", ORG, "--name", "Crash Test Board")
        password = secrets.token_urlsafe(18)
        email = "intake@crash.example.scot"
        created = self.cli_json("user", "add", "--org", ORG, "--email", email, "--name",
                                "Ina Intake", "--role", "contact", "--intake",
                                "--password-stdin", stdin=password + "\n")
        self.contact = {"email": email, "password": password, "totp_uri": created["totp_uri"]}

    # -- the server -----------------------------------------------------------------------

    def start(self) -> None:
        self.port = free_port()
        log = open(self.data_dir / "server.log", "ab")
        self.process = subprocess.Popen(
            self.command("serve", "--bind", f"127.0.0.1:{self.port}"),
            stdout=log, stderr=subprocess.STDOUT, env=self.environment(), cwd=self.data_dir)
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise Failure(f"server exited with {self.process.returncode}: "
                              f"{(self.data_dir / 'server.log').read_text()[-2000:]}")
            try:
                if self.request("GET", "/healthz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise Failure("server did not answer /healthz within 60 s")

    def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    # -- HTTP -----------------------------------------------------------------------------

    def request(self, method: str, path: str, body: dict | None = None,
                token: str | None = None) -> tuple[int, object]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            raw = response.read()
        finally:
            connection.close()
        try:
            answer = json.loads(raw) if raw else None
        except ValueError:
            answer = raw.decode("utf-8", "replace")
        return response.status, answer

    def expect(self, status: int, method: str, path: str, body: dict | None = None,
               token: str | None = None) -> object:
        got, answer = self.request(method, path, body, token)
        if got != status:
            raise Failure(f"{method} {path}: HTTP {got} (wanted {status}): {answer}")
        return answer

    # -- the writes the tests make, and their checks ---------------------------------------

    def submit(self, text: str) -> dict:
        """A concern; returns {"case_key", "reference"} (raises unless 201)."""
        answer = self.expect(201, "POST", "/api/v1/concerns", {
            "organisation": ORG, "service": "nhs", "anonymity": "anonymous", "concern": text})
        return {"case_key": answer["case_key"], "reference": answer["reference"]}

    def mailbox_token(self, case_key: str) -> str:
        return self.expect(200, "POST", "/api/v1/mailbox/session", {"case_key": case_key})["token"]

    def send_message(self, token: str, text: str) -> None:
        got, answer = self.request("POST", "/api/v1/mailbox/messages", {"body": text}, token)
        if got not in (200, 201):
            raise Failure(f"message: HTTP {got}: {answer}")

    def handler_token(self) -> str:
        # One TOTP code is accepted once per step: wait for a fresh step when one was used.
        for _ in range(3):
            got, answer = self.request("POST", "/api/v1/session", {
                "email": self.contact["email"], "password": self.contact["password"],
                "totp": totp(self.contact["totp_uri"])})
            if got == 200:
                return answer["token"]
            time.sleep(31 - time.time() % 30)
        raise Failure(f"handler sign-in: HTTP {got}: {answer}")

    def start_stage1(self, token: str, reference: str) -> None:
        self.expect(201, "POST", f"/api/v1/cases/{reference}/events", {"type": "stage1"},
                    token)

    def mailbox(self, case_key: str) -> dict:
        return self.expect(200, "GET", "/api/v1/mailbox", token=self.mailbox_token(case_key))

    def case(self, token: str, reference: str) -> dict:
        return self.expect(200, "GET", f"/api/v1/cases/{reference}", token=token)

    # -- whole-database checks --------------------------------------------------------------

    def audit_verify(self) -> dict:
        result = self.cli("audit", "verify", ok=False)
        if result.returncode != 0:
            raise Failure(f"speakup audit verify: {result.stdout.strip()} {result.stderr.strip()}")
        answer = json.loads(result.stdout.strip().splitlines()[-1])
        if answer.get("intact") is not True:
            raise Failure(f"audit chain broken: {answer}")
        return answer

    def integrity_check(self) -> str:
        """SQLite's integrity check of the data directory's database (server stopped)."""
        database = sqlite3.connect(self.data_dir / "speakup.db")
        try:
            rows = [row[0] for row in database.execute("PRAGMA integrity_check")]
        finally:
            database.close()
        if rows != ["ok"]:
            raise Failure(f"integrity_check: {rows[:5]}")
        return "ok"


def message_texts(mailbox: dict) -> list[str]:
    return [message.get("body", "") for message in mailbox.get("messages", [])]


def event_types(case: dict) -> list[str]:
    return [event.get("type", "") for event in case.get("events", [])]
