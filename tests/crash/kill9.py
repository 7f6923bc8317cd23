#!/usr/bin/env python3
"""Crash consistency: kill -9 the server repeatedly under concurrent writes and check that
every acknowledged write survived.

Usage (from the repository root, after `cargo build`):

    python3 tests/crash/kill9.py                  # SQLite, and PostgreSQL when
                                                  # SPEAKUP_TEST_POSTGRES_URL is set
    python3 tests/crash/kill9.py --rounds 3 --seconds 3 --binary target/release/speakup

Each round starts the server, runs three kinds of writer at once for `--seconds` seconds —
reporters submitting concerns, reporters sending mailbox messages on concerns already
acknowledged, and a handler starting stage 1 on acknowledged concerns — and then sends the
server SIGKILL while requests are in flight. A write counts as acknowledged only when the server
answered it with 2xx (a concern with its case key and reference). After each kill: SQLite's
`PRAGMA integrity_check` (on SQLite), `speakup audit verify`, then a restart and a check that
every write acknowledged so far is there: each concern's mailbox opens with its case key and
shows each acknowledged message, and each case the handler moved shows its stage 1 event.
Requests cut off by the kill are not counted either way (they may or may not have committed).

Exit status 0 when every check passed on every backend; 1 otherwise."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import (Failure, Portal, PostgresDatabase, default_binary,  # noqa: E402
                     event_types, message_texts)


class Ledger:
    """The writes the server acknowledged, shared by the writer threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.concerns: list[dict] = []  # {"case_key", "reference"}
        self.messages: dict[str, list[str]] = {}  # case key -> message bodies
        self.staged: set[str] = set()  # references with an acknowledged stage 1 event
        self.tried_stage: set[str] = set()
        self.tried_message: set[str] = set()
        self.cut_off = 0  # requests left unanswered by the kill (in flight or just after)
        self.failures: list[str] = []  # wrong answers while the server was up

    def counts(self) -> dict:
        return {"concerns": len(self.concerns),
                "messages": sum(len(v) for v in self.messages.values()),
                "stage1_events": len(self.staged)}


def writers(portal: Portal, ledger: Ledger, handler_token: str, stop: threading.Event,
            round_no: int) -> list[threading.Thread]:
    def attempt(work) -> None:
        try:
            work()
        except (OSError, Failure) as error:
            with ledger.lock:
                if isinstance(error, Failure) and not stop.is_set():
                    ledger.failures.append(str(error))
                else:
                    ledger.cut_off += 1

    def submitter(index: int) -> None:
        sequence = 0
        while not stop.is_set():
            text = f"Crash round {round_no}, writer {index}, concern {sequence}: night rota."
            sequence += 1

            def work() -> None:
                concern = portal.submit(text)
                with ledger.lock:
                    ledger.concerns.append(concern)
            attempt(work)

    def messenger() -> None:
        while not stop.is_set():
            with ledger.lock:
                todo = [c for c in ledger.concerns if c["case_key"] not in ledger.tried_message]
            if not todo:
                time.sleep(0.01)
                continue
            concern = todo[0]
            with ledger.lock:
                ledger.tried_message.add(concern["case_key"])
            text = f"More detail for {concern['reference']} (round {round_no})."

            def work() -> None:
                token = portal.mailbox_token(concern["case_key"])
                portal.send_message(token, text)
                with ledger.lock:
                    ledger.messages.setdefault(concern["case_key"], []).append(text)
            attempt(work)

    def handler() -> None:
        while not stop.is_set():
            with ledger.lock:
                todo = [c for c in ledger.concerns if c["reference"] not in ledger.tried_stage]
            if not todo:
                time.sleep(0.01)
                continue
            reference = todo[0]["reference"]
            with ledger.lock:
                ledger.tried_stage.add(reference)

            def work() -> None:
                portal.start_stage1(handler_token, reference)
                with ledger.lock:
                    ledger.staged.add(reference)
            attempt(work)

    threads = [threading.Thread(target=submitter, args=(i,), daemon=True) for i in range(3)]
    threads += [threading.Thread(target=messenger, daemon=True),
                threading.Thread(target=handler, daemon=True)]
    return threads


def check_all(portal: Portal, ledger: Ledger, handler_token: str) -> None:
    with ledger.lock:
        concerns = list(ledger.concerns)
        messages = {k: list(v) for k, v in ledger.messages.items()}
        staged = set(ledger.staged)
    for concern in concerns:
        mailbox = portal.mailbox(concern["case_key"])
        if mailbox.get("reference") != concern["reference"]:
            raise Failure(f"mailbox of {concern['reference']} shows {mailbox.get('reference')}")
        shown = message_texts(mailbox)
        for text in messages.get(concern["case_key"], []):
            if text not in shown:
                raise Failure(f"acknowledged message lost on {concern['reference']}: {text!r}")
    for reference in staged:
        if "stage1" not in event_types(portal.case(handler_token, reference)):
            raise Failure(f"acknowledged stage 1 event lost on {reference}")


def run_backend(name: str, binary: Path, rounds: int, seconds: float,
                postgres_url: str | None) -> dict:
    started = time.monotonic()
    database = PostgresDatabase(postgres_url, "speakup_crash") if postgres_url else None
    with tempfile.TemporaryDirectory(prefix=f"speakup-crash-{name}-") as directory:
        portal = Portal(binary, Path(directory), database.url if database else None)
        try:
            portal.set_up()
            portal.start()
            handler_token = portal.handler_token()
            ledger = Ledger()
            for round_no in range(1, rounds + 1):
                stop = threading.Event()
                threads = writers(portal, ledger, handler_token, stop, round_no)
                for thread in threads:
                    thread.start()
                time.sleep(seconds)
                portal.kill9()  # while the writers are mid-request
                stop.set()
                for thread in threads:
                    thread.join(timeout=60)
                if ledger.failures:
                    raise Failure(f"wrong answers before the kill: {ledger.failures[:3]}")
                if name == "sqlite":
                    portal.integrity_check()
                chain = portal.audit_verify()
                portal.start()
                check_all(portal, ledger, handler_token)
                print(f"  {name} round {round_no}: killed, restarted; {ledger.counts()} "
                      f"acknowledged so far, all present; audit chain intact "
                      f"({chain['entries']} entries); {ledger.cut_off} requests unanswered",
                      flush=True)
            portal.stop()
            if name == "sqlite":
                portal.integrity_check()
            portal.audit_verify()
            if not ledger.concerns or not ledger.messages or not ledger.staged:
                raise Failure(f"too few writes to test anything: {ledger.counts()}")
            return {**ledger.counts(), "seconds": round(time.monotonic() - started, 1)}
        finally:
            portal.stop()
            if database:
                database.drop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0,
                        help="seconds of writes before each kill (default 3)")
    args = parser.parse_args()
    binary = args.binary or default_binary()
    if not binary.is_file():
        parser.error(f"{binary} not found; run `cargo build` first")
    backends = [("sqlite", None)]
    if os.environ.get("SPEAKUP_TEST_POSTGRES_URL"):
        backends.append(("postgres", os.environ["SPEAKUP_TEST_POSTGRES_URL"]))
    failed = False
    for name, url in backends:
        try:
            outcome = run_backend(name, binary, args.rounds, args.seconds, url)
            print(f"{name}: PASS after {args.rounds} kills: {outcome}", flush=True)
        except Failure as error:
            print(f"{name}: FAIL: {error}", file=sys.stderr, flush=True)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
