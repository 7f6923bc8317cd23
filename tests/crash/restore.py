#!/usr/bin/env python3
"""Backup and restore, round trip, against the real binary.

Usage (from the repository root, after `cargo build`):

    python3 tests/crash/restore.py        # SQLite; and the PostgreSQL recipe when
                                          # SPEAKUP_TEST_POSTGRES_URL is set and pg_dump and
                                          # pg_restore are on PATH

SQLite: with a server running, submit concerns, mailbox messages and stage 1 events; take
`speakup backup`; change more (new concerns, a message, an event); check that `speakup restore`
is refused while the server runs and without --force; stop the server and restore with --force.
Then SQLite's integrity check passes, `speakup audit verify` passes with the entry count of the
backup, every mailbox from before the backup opens with its case key and shows its messages,
the stage 1 events are there, and every change made after the backup is gone (the later case
keys open nothing).

PostgreSQL: the README's recipe. The same writes on a uniquely named database; `pg_dump
--format=custom`; more changes; `pg_restore --no-owner --exit-on-error` into a second, fresh,
uniquely named database; the server started on it passes the same checks. Both databases are
dropped at the end. `speakup restore` on PostgreSQL is refused with a pointer to pg_restore.

Exit status 0 when every check passed; 1 otherwise."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import (Failure, Portal, PostgresDatabase, default_binary,  # noqa: E402
                     event_types, message_texts)


def before_backup(portal: Portal) -> dict:
    """Three concerns with a message each, stage 1 on the first two."""
    handler = portal.handler_token()
    concerns = [portal.submit(f"Before the backup, concern {i}: the drug register.")
                for i in range(3)]
    for concern in concerns:
        portal.send_message(portal.mailbox_token(concern["case_key"]),
                            f"Kept message for {concern['reference']}.")
    for concern in concerns[:2]:
        portal.start_stage1(handler, concern["reference"])
    return {"handler": handler, "concerns": concerns, "entries": portal.audit_verify()["entries"]}


def after_backup(portal: Portal, state: dict) -> dict:
    """Changes the restore must undo: new concerns, a message, an event."""
    later = [portal.submit(f"After the backup, concern {i}.") for i in range(2)]
    first, third = state["concerns"][0], state["concerns"][2]
    portal.send_message(portal.mailbox_token(first["case_key"]), "Lost message.")
    portal.start_stage1(state["handler"], third["reference"])
    if portal.audit_verify()["entries"] <= state["entries"]:
        raise Failure("the changes after the backup were not audited")
    return {"later": later}


def check_restored(portal: Portal, state: dict, changes: dict) -> None:
    chain = portal.audit_verify()
    if chain["entries"] != state["entries"]:
        raise Failure(f"restored audit log has {chain['entries']} entries, the backup "
                      f"{state['entries']}")
    portal.start()
    # The handler's session from before the backup is in the restored database too.
    handler = state["handler"]
    for concern in state["concerns"]:
        mailbox = portal.mailbox(concern["case_key"])
        texts = message_texts(mailbox)
        if f"Kept message for {concern['reference']}." not in texts:
            raise Failure(f"message from before the backup missing on {concern['reference']}")
        if "Lost message." in texts:
            raise Failure("a message sent after the backup survived the restore")
    for index, concern in enumerate(state["concerns"]):
        staged = "stage1" in event_types(portal.case(handler, concern["reference"]))
        if staged != (index < 2):
            raise Failure(f"{concern['reference']}: stage 1 is {staged} after the restore")
    for concern in changes["later"]:
        status, _ = portal.request("POST", "/api/v1/mailbox/session",
                                   {"case_key": concern["case_key"]})
        if status == 200:
            raise Failure("a concern submitted after the backup survived the restore")
    portal.stop()


def sqlite_round_trip(binary: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="speakup-restore-") as directory:
        data = Path(directory) / "data"
        data.mkdir()
        portal = Portal(binary, data)
        try:
            portal.set_up()
            portal.start()
            state = before_backup(portal)
            backup = Path(directory) / "backup.db"
            portal.cli("backup", str(backup))
            changes = after_backup(portal, state)
            running = portal.cli("restore", "--force", str(backup), ok=False)
            if running.returncode == 0 or "stop it before restoring" not in running.stderr:
                raise Failure(f"restore was not refused while serving: {running.stderr}")
            portal.stop()
            unforced = portal.cli("restore", str(backup), ok=False)
            if unforced.returncode == 0 or "--force" not in unforced.stderr:
                raise Failure(f"restore overwrote without --force: {unforced.stderr}")
            restored = portal.cli_json("restore", "--force", str(backup))
            if restored["audit_entries"] != state["entries"] or not restored["replaced"]:
                raise Failure(f"restore answered {restored}")
            leftovers = [p.name for p in data.iterdir() if p.name.endswith(".restoring")]
            if leftovers:
                raise Failure(f"restore left {leftovers} behind")
            portal.integrity_check()
            check_restored(portal, state, changes)
        finally:
            portal.stop()
    print("sqlite: PASS (backup, changes, restore refused while serving and without --force, "
          "restored: integrity ok, audit chain verifies, mailboxes open, later changes gone)")


def postgres_recipe(binary: Path, admin_url: str) -> None:
    original = PostgresDatabase(admin_url, "speakup_dump")
    fresh = None
    try:
        with tempfile.TemporaryDirectory(prefix="speakup-pgdump-") as directory:
            portal = Portal(binary, Path(directory), original.url)
            try:
                portal.set_up()
                portal.start()
                state = before_backup(portal)
                dump = Path(directory) / "speakup.dump"
                # The README's recipe, word for word.
                subprocess.run(["pg_dump", "--format=custom", f"--file={dump}", original.url],
                               check=True, capture_output=True)
                changes = after_backup(portal, state)
                refused = portal.cli("restore", str(dump), ok=False)
                if refused.returncode == 0 or "pg_restore" not in refused.stderr:
                    raise Failure(f"restore on PostgreSQL did not point at pg_restore: "
                                  f"{refused.stderr}")
                portal.stop()
            finally:
                portal.stop()
            fresh = PostgresDatabase(admin_url, "speakup_restored")
            subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={fresh.url}",
                            str(dump)], check=True, capture_output=True)
            restored = Portal(binary, Path(directory), fresh.url)
            restored.contact = portal.contact
            try:
                check_restored(restored, state, changes)
            finally:
                restored.stop()
    finally:
        original.drop()
        if fresh:
            fresh.drop()
    print("postgres: PASS (pg_dump --format=custom, changes, pg_restore into a fresh database: "
          "audit chain verifies, mailboxes open, later changes gone)")


def main() -> int:
    binary = Path(sys.argv[1]) if len(sys.argv) > 1 else default_binary()
    if not binary.is_file():
        print(f"{binary} not found; run `cargo build` first", file=sys.stderr)
        return 2
    failed = False
    try:
        sqlite_round_trip(binary)
    except (Failure, subprocess.CalledProcessError) as error:
        print(f"sqlite: FAIL: {error}", file=sys.stderr)
        failed = True
    url = os.environ.get("SPEAKUP_TEST_POSTGRES_URL")
    if url and shutil.which("pg_dump") and shutil.which("pg_restore"):
        try:
            postgres_recipe(binary, url)
        except (Failure, subprocess.CalledProcessError) as error:
            detail = getattr(error, "stderr", b"") or b""
            print(f"postgres: FAIL: {error} {detail!r}", file=sys.stderr)
            failed = True
    elif url:
        print("postgres: pg_dump/pg_restore not on PATH; the recipe was not tested")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
