#!/usr/bin/env python3
"""The API contract suite: Schemathesis, with all its checks, against the real server.

Starts the speakup binary on loopback with a fresh database (SQLite in a temporary directory, or
a fresh PostgreSQL database), seeds it through the real CLI and API (see `seed`: an organisation; an
intake contact, an admin, an executive lead, a whistleblowing champion and a spare handler, each
signed in with password and TOTP; the account the document's sign-in example names; a
confidential concern with two identity requests waiting in its mailbox and a file from each
side; a second intake contact signed in with a login proof (its session holds no key); a case the contact recorded; two intake changes waiting for approval), then runs `st run` on the served OpenAPI
document: examples, coverage, fuzzing and stateful phases (the document's `links`), every check.
Any failure or 5xx fails the run. At the end it prints which operations reached a 2xx answer.

    python3 tests/contract/run.py [--postgres postgres://postgres@127.0.0.1:5432/postgres]
                                  [--binary target/debug/speakup] [--max-examples 25]

Rate limits are lifted for the server it starts (SPEAKUP_*_PER_HOUR / _PER_MINUTE settings at
their upper bounds), so the fuzzer measures the contract, not the limiter; the 429 answers are
still in the document and covered by the integration tests.
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
ORG = "nhs-contractshire"

# The settings the harness lifts: the fuzzer sends thousands of requests from one address.
UNLIMITED = {
    "SPEAKUP_CONCERN_SUBMISSIONS_PER_HOUR": "100000000",
    "SPEAKUP_MAILBOX_SIGN_INS_PER_MINUTE": "10000000",
    "SPEAKUP_HANDLER_SIGN_INS_PER_MINUTE": "10000",
    "SPEAKUP_ATTACHMENT_UPLOADS_PER_HOUR": "10000000",
}


def clean_env(extra=None):
    """The server reads SPEAKUP_* variables as settings: pass none but ours."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("SPEAKUP_")}
    env["SPEAKUP_LOG_LEVEL"] = "warn"
    env.update(extra or {})
    return env


def default_binary():
    metadata = json.loads(
        subprocess.check_output(
            ["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=ROOT
        )
    )
    return str(Path(metadata["target_directory"]) / "debug" / "speakup")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def totp(uri):
    """RFC 6238 with the defaults speakup uses: SHA-1, 30 seconds, 6 digits."""
    secret = urllib.parse.parse_qs(urllib.parse.urlparse(uri).query)["secret"][0]
    key = base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
    counter = struct.pack(">Q", int(time.time()) // 30)
    mac = hmac.new(key, counter, hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{code:06d}"


class Speakup:
    def __init__(self, binary, data_dir, database_url):
        self.binary = binary
        self.base = [binary, "--data-dir", str(data_dir)]
        if database_url:
            self.base += ["--database-url", database_url]
        self.process = None

    def cli(self, *args, stdin=""):
        return subprocess.run(
            [*self.base, *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=clean_env(),
            check=True,
        ).stdout

    def add_user(self, email, name, role, *extra, password=None):
        password = password or f"correct horse {name} battery"
        out = self.cli(
            "user", "add", "--org", ORG, "--email", email, "--name", name, "--role", role,
            "--password-stdin", *extra,
            stdin=f"{password}\n",
        )
        account = json.loads(out.strip().splitlines()[-1])
        account.update(email=email, password=password)
        return account

    def serve(self, port, log):
        self.process = subprocess.Popen(
            [*self.base, "serve", "--bind", f"127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL,
            stderr=log,
            env=clean_env(UNLIMITED),
        )
        origin = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                if requests.get(f"{origin}/healthz", timeout=2).ok:
                    return origin
            except requests.ConnectionError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise SystemExit("speakup did not start")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


def sign_in(api, account):
    """Each account signs in once: a TOTP code is accepted once per 30-second step."""
    answer = requests.post(
        f"{api}/session",
        json={"email": account["email"], "password": account["password"], "totp": totp(account["totp_uri"])},
        timeout=60,
    )
    answer.raise_for_status()
    return answer.json()["token"]


def login_proof(api, account):
    """What a client that keeps its key sends instead of the password: the second half of
    Argon2id(password, salt) with the salt and cost the server gives for the address."""
    from argon2.low_level import Type, hash_secret_raw

    parameters = requests.post(f"{api}/session/parameters", json={"email": account["email"]}, timeout=60)
    parameters.raise_for_status()
    answer = parameters.json()
    derived = hash_secret_raw(
        secret=account["password"].encode(),
        salt=base64.b64decode(answer["salt"]),
        time_cost=answer["cost"]["iterations"],
        memory_cost=answer["cost"]["memory_kib"],
        parallelism=answer["cost"]["parallelism"],
        hash_len=64,
        type=Type.ID,
        version=19,
    )
    return base64.b64encode(derived[32:]).decode()


def proof_sign_in(api, account):
    """A session that holds no key (issue 14): the one the /cases/{reference}/sealed operations use."""
    answer = requests.post(
        f"{api}/session",
        json={"email": account["email"], "login_proof": login_proof(api, account), "totp": totp(account["totp_uri"])},
        timeout=60,
    )
    answer.raise_for_status()
    return answer.json()["token"]


def accounts(speakup):
    """The organisation and its accounts, made through the CLI before the server starts."""
    # A partnership: it offers both services, so neither is refused as one it does not offer.
    speakup.cli("org", "add", "--slug", ORG, "--name", "NHS Contractshire", "--services", "nhs,local_authority")
    add = speakup.add_user
    return {
        "contact": add(
            "cat@contractshire.scot", "Cat Contact", "contact", "--intake", "--job-title", "Confidential contact"
        ),
        # A second intake contact who signs in with a login proof and keeps the key (issue 14).
        "keeper": add(
            "kim@contractshire.scot", "Kim Keeper", "contact", "--intake", "--job-title", "Confidential contact"
        ),
        "admin": add("ada@contractshire.scot", "Ada Admin", "admin"),
        "lead": add("leo@contractshire.scot", "Leo Lead", "lead"),
        "champion": add("cher@contractshire.scot", "Cher Champion", "champion"),
        "spare": add("sam@contractshire.scot", "Sam Spare", "investigator"),
        # The grantee of the document's Grant example, and the account its SignIn example names.
        "grantee": add("ivy.investigator@nhs.scot", "Ivy Investigator", "investigator"),
        "example": add(
            "ann.intake@nhs.scot", "Ann Intake", "investigator", password="correct horse battery staple"
        ),
        # Whom a fuzzed reset or disable of a signed-in account is redirected to (hooks.py).
        "sacrificial": add("vic@contractshire.scot", "Vic Victim", "investigator"),
        # Contacts not yet on the intake list: the admin asks for each, the champion decides.
        "newcomer1": add("nia@contractshire.scot", "Nia Newcomer", "contact"),
        "newcomer2": add("ned@contractshire.scot", "Ned Newcomer", "contact"),
    }


def call(method, url, token=None, **kwargs):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = requests.request(method, url, headers=headers, timeout=60, **kwargs)
    if not answer.ok:
        raise SystemExit(f"seeding failed: {method} {url} answered {answer.status_code} {answer.text}")
    return answer.json() if answer.content else None


def seed(api, people):
    """What the fuzzer cannot make on its own, made through the API as a client would."""
    tokens = {role: sign_in(api, people[role]) for role in ("contact", "admin", "lead", "champion", "spare")}
    tokens["keeper"] = proof_sign_in(api, people["keeper"])
    receipt = call(
        "POST",
        f"{api}/concerns",
        json={
            "organisation": ORG,
            "service": "nhs",
            "anonymity": "confidential",
            "identity": {"name": "Robin Reporter", "contact": "robin@example.org"},
            "concern": "Medicines are left unlocked on ward 3 overnight.",
        },
    )
    reference = call("GET", f"{api}/cases", tokens["contact"])[0]["reference"]
    # A second case, recorded by the contact: the one a conflict of interest is declared in.
    recorded = call(
        "POST",
        f"{api}/cases",
        tokens["contact"],
        json={
            "organisation": ORG,
            "service": "nhs",
            "anonymity": "anonymous",
            "concern": "Told by phone: the night rota is short every weekend.",
            "received_on": time.strftime("%Y-%m-%d", time.gmtime()),
            "channel": "phone",
        },
    )
    # Someone else holds it too: the only holder of a case may not step away from it.
    call(
        "POST",
        f"{api}/cases/{recorded['reference']}/grants",
        tokens["contact"],
        json={"user": people["grantee"]["email"]},
    )
    # Two handlers asked to be told who the reporter is: pending in the mailbox.
    for grantee in ("grantee", "example"):
        call(
            "POST",
            f"{api}/cases/{reference}/grants",
            tokens["contact"],
            json={"user": people[grantee]["email"], "identity": True, "reason": "to interview you"},
        )
    # A file each way, so downloads have something to find.
    case_file = call(
        "POST",
        f"{api}/cases/{reference}/attachments",
        tokens["contact"],
        files={"file": ("rota.txt", b"Night rota, ward 3", "text/plain")},
    )
    mailbox = call("POST", f"{api}/mailbox/session", json={"case_key": receipt["case_key"]})["token"]
    mailbox_file = call(
        "POST",
        f"{api}/mailbox/attachments",
        mailbox,
        files={"file": ("photo.txt", b"Unlocked cabinet", "text/plain")},
    )
    identity_requests = call("GET", f"{api}/mailbox", mailbox)["identity_requests"]
    # Intake changes the admin asked for, waiting for the champion.
    for newcomer in ("newcomer1", "newcomer2"):
        call("POST", f"{api}/admin/intake", tokens["admin"], json={"user": people[newcomer]["id"], "on": True})
    signed_in = {
        people[role]["id"] for role in ("contact", "keeper", "admin", "lead", "champion", "spare", "example")
    }
    return {
        "organisation": ORG,
        "case_key": receipt["case_key"],
        "reference": reference,
        "conflict_reference": recorded["reference"],
        "case_attachment": case_file["id"],
        "mailbox_attachment": mailbox_file["id"],
        "identity_request": identity_requests[0]["id"],
        "tokens": tokens,
        "grantee": people["grantee"]["email"],
        "example_totp_uri": people["example"]["totp_uri"],
        "example_proof": login_proof(api, people["example"]),
        "protected": sorted(signed_in),
        "sacrificial": people["sacrificial"]["id"],
        "newcomer": people["newcomer1"]["id"],
    }


def tally(status_file, operations):
    """Which operations answered 2xx at least once, from the hooks' record."""
    answered = {}
    if status_file.exists():
        for line in status_file.read_text().splitlines():
            label, status = line.rsplit("\t", 1)
            answered.setdefault(label, set()).add(int(status))
    # Schemathesis does not call the document it was loaded from (GET /openapi.json).
    called = [label for label in operations if label in answered]
    reached = sorted(label for label in called if any(200 <= s < 300 for s in answered[label]))
    print(f"operations that answered 2xx: {len(reached)} of {len(called)} called")
    for label in sorted(set(called) - set(reached)):
        print(f"  never 2xx: {label} (answered {sorted(answered[label])})")
    for label in sorted(set(operations) - set(called)):
        print(f"  not called: {label}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", default=os.environ.get("SPEAKUP_UNDER_TEST"))
    parser.add_argument("--postgres", metavar="URL", help="run on a fresh database of this server")
    parser.add_argument("--max-examples", type=int, default=25)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--report-dir", default=None)
    parser.add_argument(
        "--document",
        metavar="PATH",
        help="test this file instead of the served document (to try an edit without rebuilding)",
    )
    args, extra = parser.parse_known_args()
    binary = args.binary or default_binary()
    started = time.monotonic()

    work = Path(tempfile.mkdtemp(prefix="speakup-contract-"))
    database_url = None
    database = None
    if args.postgres:
        database = f"speakup_contract_{uuid.uuid4().hex[:12]}"
        subprocess.run(["psql", "-q", args.postgres, "-c", f"CREATE DATABASE {database}"], check=True)
        database_url = urllib.parse.urlparse(args.postgres)._replace(path=f"/{database}").geturl()
    speakup = Speakup(binary, work / "data", database_url)
    backend = "PostgreSQL" if database else "SQLite"
    log_path = work / "server.log"
    status = 1
    try:
        speakup.cli("migrate")
        with open(log_path, "w") as log:
            people = accounts(speakup)
            origin = speakup.serve(free_port(), log)
            api = f"{origin}/api/v1"
            seeded = seed(api, people)
            status_file = work / "statuses.tsv"
            env = clean_env(
                {
                    "CONTRACT_BASE_URL": api,
                    "CONTRACT_SEED": json.dumps(seeded),
                    "CONTRACT_STATUS_FILE": str(status_file),
                    "SCHEMATHESIS_HOOKS": "hooks",
                    "PYTHONPATH": str(Path(__file__).parent),
                }
            )
            report_dir = args.report_dir or str(work / "report")
            command = [
                "st", "--config-file", str(Path(__file__).parent / "schemathesis.toml"),
                "run", *([str(Path(args.document).resolve()), "--url", api] if args.document else [f"{api}/openapi.json"]),
                "--checks", "all",
                "--max-examples", str(args.max_examples),
                "--workers", "1",
                "--report", "junit",
                "--report-dir", report_dir,
                "--output-truncate", "false",
                *(["--seed", str(args.seed)] if args.seed is not None else []),
                *extra,
            ]
            print(f"contract suite on {backend}: {' '.join(command)}", flush=True)
            status = subprocess.run(command, env=env, cwd=work).returncode
            document = (
                json.loads(Path(args.document).read_text())
                if args.document
                else requests.get(f"{api}/openapi.json", timeout=60).json()
            )
            tally(
                status_file,
                [f"{method.upper()} {path}" for path, item in document["paths"].items() for method in item],
            )
        server_errors = [
            line for line in log_path.read_text().splitlines() if "ERROR" in line and "stream error" not in line
        ]
        if server_errors:
            print(f"the server logged {len(server_errors)} errors:", *server_errors[:20], sep="\n")
            status = status or 1
    finally:
        speakup.stop()
        if database:
            subprocess.run(["psql", "-q", args.postgres, "-c", f"DROP DATABASE IF EXISTS {database}"], check=False)
        if status == 0:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work} (server.log, report/)")
    print(f"contract suite on {backend}: {'passed' if status == 0 else 'FAILED'} in {time.monotonic() - started:.0f} s")
    return status


if __name__ == "__main__":
    sys.exit(main())
