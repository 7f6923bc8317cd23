"""Schemathesis hooks for the contract suite: which token each operation is sent with, the seeded
identifiers the fuzzer cannot guess, and a tally of the statuses each operation answered.

run.py seeds the accounts, a concern and what hangs off it, then passes what these hooks need
through the environment (never on a command line):

- reporter operations (/mailbox...) get a mailbox token for the seeded concern, signed in afresh
  with its case key whenever the cached one is refused (a fuzzed sign-out may have closed it);
- case operations (/cases...) get the intake contact's session token (the contact holds the
  seeded concern and every case it records), except those of a client that keeps its key
  (/cases/{reference}/sealed...), which get a second intake contact's session signed in with a
  login proof (issue 14);
- GET /reports/kpi gets the executive lead's token, the approvals the whistleblowing champion's
  (the seeded approvals were asked for by the admin, who may not decide their own), the rest of
  /admin... the organisation admin's;
- DELETE /session gets a spare handler's token, so signing out does not end anyone else's.

Seeded identifiers (`before_call`, documented in tests/contract/README.md):

- a schema-valid organisation slug in a body or query is, for three cases in four, replaced by
  the seeded organisation's (a slug names data: no generator can guess one that exists), and
  a schema-valid e-mail address in a grant by the seeded investigator's, and an account id in an
  intake change by a seeded newcomer contact's, in the same way; the other case in four keeps
  the generated value, so unknown ones are still tried;
- a schema-valid submission token is replaced by one derived from the rest of the concern, so
  the fuzzer's reused token values do not turn an unrelated body into a resend;
- the document's sign-in example (ann.intake@nhs.scot with the code 123456) is sent with the
  seeded account's current TOTP code, as an authenticator app would show it (a login proof for
  that address is replaced by the account's real one, derived by run.py), and the document's
  mailbox example case key is replaced with the seeded concern's;
- outside the stateful phase (whose links carry real identifiers), a schema-valid generated
  path identifier is, for three cases in four, replaced by the seeded one: the seeded concern's
  reference for the case operations (the second case's for declaring a conflict, which would
  take the contact off the concern), its files' ids, its first identity request, the seeded grantee for a
  revocation; the fourth case keeps the generated value, so unknown ones still answer 404;
- declaring a conflict of interest in the seeded concern (whose reference Schemathesis also
  reuses from the answers it has seen) is sent for a second, seeded recorded case instead: the
  contact would otherwise lose the case every other operation works on;
- resetting or disabling one of the accounts the suite signs in with (whose id the stateful
  phase takes from GET /admin/users) is sent for a sacrificial account instead, so one fuzzed
  call does not end the tokens every later call depends on.

CONTRACT_STATUS_FILE, when set, collects one line per answer (operation, status) for run.py's
summary of which operations reached a 2xx answer.
"""

import base64
import hashlib
import hmac
import json
import os
import re
import struct
import time
import urllib.parse

import requests
import schemathesis
from schemathesis.core.parameters import ParameterLocation

BASE = os.environ["CONTRACT_BASE_URL"]
SEED = json.loads(os.environ["CONTRACT_SEED"])

# \Z, not $: Python's $ also matches before a final newline, JSON Schema's does not.
SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*\Z")
EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f-\x9f]+@[^@\s\x00-\x1f\x7f-\x9f.]+(\.[^@\s\x00-\x1f\x7f-\x9f.]+)+\Z")

# The examples in docs/openapi.json that run.py seeds an account or a concern for.
EXAMPLE_SIGN_IN = ("ann.intake@nhs.scot", "123456")
EXAMPLE_CASE_KEY = "7K2M-Q9XR-4TPD-8HVN-3WJC-6FBA-2YEG"
EXAMPLE_PROOF_EMAIL = "ann.intake@nhs.scot"

# The operations of a client that keeps its own key (issue 14).
SEALED = r"^/cases/[^/]+/sealed(/|$)"


def _totp(uri):
    """RFC 6238 with the defaults speakup uses: SHA-1, 30 seconds, 6 digits."""
    secret = urllib.parse.parse_qs(urllib.parse.urlparse(uri).query)["secret"][0]
    key = base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
    counter = struct.pack(">Q", int(time.time()) // 30)
    mac = hmac.new(key, counter, hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{code:06d}"


def _mailbox_token() -> str:
    answer = requests.post(f"{BASE}/mailbox/session", json={"case_key": SEED["case_key"]}, timeout=30)
    answer.raise_for_status()
    return answer.json()["token"]


def _three_in_four(value) -> bool:
    """Deterministic in the generated value, so a run is reproducible from its seed."""
    return hashlib.sha256(repr(value).encode()).digest()[0] % 4 != 0


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


@schemathesis.auth(refresh_interval=None, retry_on=[]).apply_to(path_regex=r"^/cases(/|$)").skip_for(
    path_regex=SEALED
)
class Contact(_Bearer):
    def get(self, case, ctx):
        return SEED["tokens"]["contact"]


@schemathesis.auth(refresh_interval=None, retry_on=[]).apply_to(path_regex=SEALED)
class Keeper(_Bearer):
    """The operations for a client that keeps its key get a session signed in with a proof."""

    def get(self, case, ctx):
        return SEED["tokens"]["keeper"]


@schemathesis.auth(refresh_interval=None, retry_on=[]).apply_to(path="/reports/kpi")
class Lead(_Bearer):
    def get(self, case, ctx):
        return SEED["tokens"]["lead"]


@schemathesis.auth(refresh_interval=None, retry_on=[]).apply_to(path_regex=r"^/admin/approvals(/|$)")
class Champion(_Bearer):
    def get(self, case, ctx):
        return SEED["tokens"]["champion"]


@schemathesis.auth(refresh_interval=None, retry_on=[]).apply_to(path_regex=r"^/admin/").skip_for(
    path_regex=r"^/admin/approvals(/|$)"
)
class Admin(_Bearer):
    def get(self, case, ctx):
        return SEED["tokens"]["admin"]


@schemathesis.auth(refresh_interval=None, retry_on=[]).apply_to(path="/session", method="DELETE")
class SpareHandler(_Bearer):
    def get(self, case, ctx):
        return SEED["tokens"]["spare"]


def _seed_organisation(container):
    if isinstance(container, dict):
        value = container.get("organisation")
        if isinstance(value, str) and SLUG.match(value) and _three_in_four(value):
            container["organisation"] = SEED["organisation"]


TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}\Z")


def _fresh_submission_token(body):
    """A submission token is new for each concern (the document says so): a second send with
    it answers with the first one's receipt, whatever else the body says. The generators reuse
    a few token values across unrelated bodies; a valid one is replaced by one derived from the
    rest of the body, so the same body keeps its token (a resend) and another body gets its own."""
    if body is None:
        return
    token = body.get("submission_token")
    if isinstance(token, str) and TOKEN.match(token):
        rest = {name: value for name, value in body.items() if name != "submission_token"}
        digest = hashlib.sha256(json.dumps(rest, sort_keys=True, default=repr).encode()).digest()
        body["submission_token"] = base64.urlsafe_b64encode(digest).decode()[:43]


# Path identifiers of seeded data, by operation (a conflict is declared in the second case: the
# contact would lose the seeded concern). The stateful phase keeps the identifiers its links carry.
_CASE = {"reference": SEED["reference"]}
SEEDED_PATHS = {
    "GET /cases/{reference}": _CASE,
    "POST /cases/{reference}/messages": _CASE,
    "POST /cases/{reference}/notes": _CASE,
    "POST /cases/{reference}/events": _CASE,
    "POST /cases/{reference}/attachments": _CASE,
    "POST /cases/{reference}/grants": _CASE,
    "DELETE /cases/{reference}/grants/{email}": dict(_CASE, email=SEED["grantee"]),
    "GET /cases/{reference}/attachments/{id}": dict(_CASE, id=SEED["case_attachment"]),
    "GET /mailbox/attachments/{id}": {"id": SEED["mailbox_attachment"]},
    "GET /mailbox/sealed/attachments/{id}": {"id": SEED["mailbox_attachment"]},
    "POST /mailbox/identity-requests/{id}": {"id": SEED["identity_request"]},
    "POST /cases/{reference}/conflict": {"reference": SEED["conflict_reference"]},
    "GET /cases/{reference}/sealed": _CASE,
    "POST /cases/{reference}/sealed": _CASE,
    "POST /cases/{reference}/sealed/events/facts": _CASE,
    "POST /cases/{reference}/sealed/events": _CASE,
    "POST /cases/{reference}/sealed/grants/recipient": _CASE,
    "POST /cases/{reference}/sealed/grants": _CASE,
    "POST /cases/{reference}/sealed/attachments": _CASE,
    "GET /cases/{reference}/sealed/attachments/{id}": dict(_CASE, id=SEED["case_attachment"]),
    "POST /cases/{reference}/sealed/recovery-wrap": _CASE,
}

# Grants whose e-mail address is replaced by the seeded grantee's, three times in four.
GRANTS = (
    "POST /cases/{reference}/grants",
    "POST /cases/{reference}/sealed/grants/recipient",
    "POST /cases/{reference}/sealed/grants",
)


def _positive_path(case) -> bool:
    """Path values generated to fit the schema (not ones built to break it)."""
    meta = getattr(case, "meta", None)
    return meta is None or not meta.is_negative_at(ParameterLocation.PATH)


def _stateful(case) -> bool:
    meta = getattr(case, "meta", None)
    return meta is not None and meta.phase.name.value == "stateful"


@schemathesis.hook
def before_call(context, case, **kwargs):
    label = case.operation.label
    body = case.body if isinstance(case.body, dict) else None
    if label in ("POST /concerns", "POST /cases"):
        _seed_organisation(body)
        _fresh_submission_token(body)
        exclude = body.get("exclude") if body is not None else None
        if isinstance(exclude, list) and exclude and _three_in_four(exclude):
            body["exclude"] = []
    elif label == "GET /reports/kpi":
        _seed_organisation(case.query)
    elif label in GRANTS and body is not None:
        user = body.get("user")
        if isinstance(user, str) and EMAIL.match(user) and _three_in_four(user):
            body["user"] = SEED["grantee"]
    elif label == "POST /admin/intake" and body is not None:
        user = body.get("user")
        if isinstance(user, str) and "\x00" not in user and _three_in_four(user):
            body["user"] = SEED["newcomer"]
    elif label == "POST /session" and body is not None:
        if (body.get("email"), body.get("totp")) == EXAMPLE_SIGN_IN:
            body["totp"] = _totp(SEED["example_totp_uri"])
        if body.get("email") == EXAMPLE_PROOF_EMAIL and "login_proof" in body and "password" not in body:
            body["login_proof"] = SEED["example_proof"]
    elif label == "POST /mailbox/session" and body is not None:
        if body.get("case_key") == EXAMPLE_CASE_KEY:
            body["case_key"] = SEED["case_key"]
    if label in SEEDED_PATHS and not _stateful(case) and _positive_path(case):
        parameters = case.path_parameters or {}
        if _three_in_four(parameters):
            parameters.update(SEEDED_PATHS[label])
    if label == "POST /cases/{reference}/conflict":
        parameters = case.path_parameters or {}
        if parameters.get("reference") == SEED["reference"]:
            parameters["reference"] = SEED["conflict_reference"]
    if label in ("POST /admin/users/{id}/reset", "POST /admin/users/{id}/disable"):
        parameters = case.path_parameters or {}
        if parameters.get("id") in SEED["protected"]:
            parameters["id"] = SEED["sacrificial"]


STATUS_FILE = os.environ.get("CONTRACT_STATUS_FILE")


@schemathesis.hook
def after_call(context, case, response):
    if STATUS_FILE:
        with open(STATUS_FILE, "a") as tally:
            tally.write(f"{case.operation.label}\t{response.status_code}\n")
