"""Schemathesis hooks for the contract suite: which token each operation is sent with.

run.py seeds the accounts and a concern, then passes what these providers need through the
environment (never on a command line):

- reporter operations (/mailbox...) get a mailbox token, signed in afresh with the seeded
  case key whenever the cached one is refused (a fuzzed sign-out may have closed it);
- case operations (/cases...) get the intake contact's session token;
- /admin... and /reports... get the organisation admin's session token;
- DELETE /session gets a spare handler's token, so signing out does not end the contact's.
"""

import os

import requests
import schemathesis

BASE = os.environ["CONTRACT_BASE_URL"]


def _mailbox_token() -> str:
    answer = requests.post(
        f"{BASE}/mailbox/session",
        json={"case_key": os.environ["CONTRACT_CASE_KEY"]},
        timeout=30,
    )
    answer.raise_for_status()
    return answer.json()["token"]


class _Bearer:
    def set(self, case, data, ctx):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


@schemathesis.auth(refresh_interval=60).apply_to(
    path_regex=r"^/mailbox(/|$)", method=["GET", "POST"]
).skip_for(path="/mailbox/session")
class Reporter(_Bearer):
    def get(self, case, ctx):
        return _mailbox_token()


@schemathesis.auth(refresh_interval=None).apply_to(path="/mailbox/session", method="DELETE")
class ReporterSignOut(_Bearer):
    """Every sign-out closes a mailbox session of its own."""

    def get(self, case, ctx):
        return _mailbox_token()


@schemathesis.auth(refresh_interval=None, retry_on=[]).apply_to(path_regex=r"^/cases(/|$)")
class Contact(_Bearer):
    def get(self, case, ctx):
        return os.environ["CONTRACT_CONTACT_TOKEN"]


@schemathesis.auth(refresh_interval=None, retry_on=[]).apply_to(path_regex=r"^/(admin|reports)/")
class Admin(_Bearer):
    def get(self, case, ctx):
        return os.environ["CONTRACT_ADMIN_TOKEN"]


@schemathesis.auth(refresh_interval=None, retry_on=[]).apply_to(path="/session", method="DELETE")
class SpareHandler(_Bearer):
    def get(self, case, ctx):
        return os.environ["CONTRACT_SPARE_TOKEN"]
