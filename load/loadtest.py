#!/usr/bin/env python3
"""Load test for speakup's JSON API. Python 3.11 standard library only.

Usage (from the repository root, after `cargo build --release`):

    python3 load/loadtest.py                      # 10 s per run, 1 and 32 clients
    python3 load/loadtest.py --duration 5 --clients 1,8,32
    nice python3 load/loadtest.py --soak           # 30 min at 50 requests/s (by hand, not CI)

`--soak` runs only the soak instead of A, B and C: submissions and mailbox sign-ins at a steady
`--soak-rate` for `--soak-minutes`, printing each minute the server's VmRSS and that minute's
request count, errors and p50/p95/p99 latency, and at the end whether RSS stayed within 10 % of
its first value after `--soak-warmup-minutes` (default 5). See load/RESULTS.md, "Soak".

What it does, in order:

1. Makes a fresh temporary data directory (SQLite, on the same file system as the system's
   temporary directory; `--tmp-dir` chooses another) and, with the release binary's own CLI,
   creates one organisation, two intake contacts (`user add --intake`) and ten further contacts
   for the handler sign-in scenario. Their TOTP secrets come from the `totp_uri` the CLI prints.
2. Starts `target/release/speakup serve` on a free port with that data directory. Only for the
   measurement, the per-client rate limits are lifted to their maxima through the environment
   (`SPEAKUP_CONCERN_SUBMISSIONS_PER_HOUR`, `SPEAKUP_MAILBOX_SIGN_INS_PER_MINUTE`,
   `SPEAKUP_HANDLER_SIGN_INS_PER_MINUTE`): every request comes from 127.0.0.1, so the production
   limits would refuse almost all of them. Nothing else is changed: SQLite keeps
   `synchronous=FULL` and WAL, the log level is the default `info` (to a file), and
   `max_concurrent_password_checks` keeps its default of 4.
3. Scenario A, submission: `POST /api/v1/concerns` with a ~500-byte concern, alternating
   anonymous and confidential (with a name and contact), at each client count for `--duration`
   seconds. The case keys returned are kept.
4. Scenario B, mailbox sign-in: `POST /api/v1/mailbox/session` with the case keys from A, at
   each client count for `--duration` seconds.
5. Scenario C, handler sign-in: 10 clients at once, one per contact, each `POST /api/v1/session`
   with email, password and a fresh TOTP code (RFC 6238, SHA-1, 6 digits, 30-second step,
   computed here with hmac/hashlib). A code is accepted once per account per step, so each
   further round (`--handler-rounds`) waits for the next 30-second step. Reports p50/p95 latency
   and the server's memory: `VmRSS` before and after, the highest `VmRSS` sampled during the run
   and `VmHWM` (the kernel's peak resident set for the whole process lifetime).
6. Prints a results table, the targets with PASS/FAIL, and writes everything as JSON to
   `load/results/<UTC timestamp>.json` (git-ignored). Stops the server (SIGTERM).

Each client is a thread with one persistent HTTP/1.1 keep-alive connection, writing raw
requests on a socket and reading responses by Content-Length (no http.client overhead).
Latency is measured per request from just before the request is written to when the whole
response has been read. Only requests started before the deadline count; requests/s is
completed requests over the time until the last of them finished. Before each measured run
there is a short unmeasured warm-up (`--warmup`, default 1 s).

For each run the table also shows CPU use, in percent of one core, of the load client (this
process), of the server, and of everything else on the machine (from /proc/stat), because the
client and the server share the machine's cores: if the client or other work is saturating the
cores, the server's numbers are a lower bound.

Targets (printed PASS/FAIL): submission p50 <= 10 ms and mailbox sign-in p50 <= 10 ms with one
client (with 32 clients and serialised writes, latency is dominated by queueing: at N clients
p50 is roughly N / throughput), and >= 500 submissions/s at 32 clients with zero errors.

For investigating a bottleneck, `--server-env SPEAKUP_KEY=VALUE` passes an extra setting to the
server and `--experiment-sql SQL` runs a statement on the fresh database before the server
starts (e.g. to try an index); both are recorded in the JSON. Measurements meant for comparison
with the targets use neither.

Exit status: 0 if every request succeeded (the targets are reported, not enforced), 1 if any
request failed or the server could not be started, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import random
import resource
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ORG_SLUG = "load-test-board"
HANDLER_CLIENTS = 10

# Only for the measurement: the upper bounds config.rs accepts.
LIFTED_LIMITS = {
    "SPEAKUP_CONCERN_SUBMISSIONS_PER_HOUR": "100000000",
    "SPEAKUP_MAILBOX_SIGN_INS_PER_MINUTE": "10000000",
    "SPEAKUP_HANDLER_SIGN_INS_PER_MINUTE": "10000",
}

TARGET_P50_MS = 10.0
TARGET_SUBMISSIONS_PER_SECOND = 500.0

CLK_TCK = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------------------------
# TOTP (RFC 6238 / RFC 4226), SHA-1, 6 digits, 30-second step.


def totp_secret_from_uri(uri: str) -> bytes:
    query = urllib.parse.parse_qs(urllib.parse.urlparse(uri).query)
    secret = query["secret"][0].upper()
    return base64.b32decode(secret + "=" * (-len(secret) % 8))


def hotp(secret: bytes, counter: int, digits: int = 6) -> str:
    digest = hmac.new(secret, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def totp(secret: bytes, unix_seconds: float, step: int = 30) -> str:
    return hotp(secret, int(unix_seconds) // step)


def check_totp_vector() -> None:
    # RFC 6238 appendix B, SHA-1, T = 59 s: 94287082 (8 digits).
    assert hotp(b"12345678901234567890", 59 // 30, digits=8) == "94287082"


# --------------------------------------------------------------------------------------------
# A minimal HTTP/1.1 keep-alive client on a raw socket.


class HttpError(Exception):
    pass


class Connection:
    def __init__(self, host: str, port: int):
        self.host = host
        self.port = port
        self.sock: socket.socket | None = None
        self.buffer = b""

    def connect(self) -> None:
        self.close()
        self.sock = socket.create_connection((self.host, self.port), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        if self.sock is None:
            self.connect()
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        if body is not None:
            lines.append("Content-Type: application/json")
            lines.append(f"Content-Length: {len(body)}")
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + (body or b"")
        assert self.sock is not None
        self.sock.sendall(raw)
        return self._read_response(method)

    def _fill(self) -> None:
        assert self.sock is not None
        chunk = self.sock.recv(65536)
        if not chunk:
            raise HttpError("connection closed by server")
        self.buffer += chunk

    def _read_response(self, method: str) -> tuple[int, bytes]:
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
            raise HttpError(f"bad status line {lines[0]!r}")
        status = int(parts[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            body = b""
        elif "content-length" in headers:
            length = int(headers["content-length"])
            while len(self.buffer) < length:
                self._fill()
            body, self.buffer = self.buffer[:length], self.buffer[length:]
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = self._read_chunked()
        else:
            raise HttpError("response without a length")
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, body

    def _read_chunked(self) -> bytes:
        body = b""
        while True:
            while b"\r\n" not in self.buffer:
                self._fill()
            size_line, self.buffer = self.buffer.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            while len(self.buffer) < size + 2:
                self._fill()
            body += self.buffer[:size]
            self.buffer = self.buffer[size + 2 :]
            if size == 0:
                return body


# --------------------------------------------------------------------------------------------
# Server process and machine measurements.


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM and friends in KiB."""
    values = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("Vm"):
                name, _, rest = line.partition(":")
                values[name] = int(rest.split()[0])
    return values


def proc_cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    # utime and stime are fields 14 and 15 of the whole line; 12 and 13 after "(comm) state".
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_cpu() -> tuple[float, float]:
    """(busy, total) seconds summed over all cores, from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])  # excludes guest time, already counted in user
    return (total - idle) / CLK_TCK, total / CLK_TCK


def client_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Server:
    def __init__(self, binary: Path, data_dir: Path, log_level: str,
                 extra_env: dict[str, str] | None = None):
        self.binary = binary
        self.data_dir = data_dir
        self.log_level = log_level
        self.extra_env = extra_env or {}
        self.port = 0
        self.process: subprocess.Popen | None = None
        self.log_path = data_dir / "server.log"

    def environment(self) -> dict[str, str]:
        # Stray SPEAKUP_* variables from the caller's shell would change what is measured.
        env = {k: v for k, v in os.environ.items() if not k.startswith("SPEAKUP_")}
        env.update(LIFTED_LIMITS)
        env["SPEAKUP_LOG_LEVEL"] = self.log_level
        env.update(self.extra_env)
        return env

    def cli(self, *args: str, stdin: str | None = None) -> dict:
        result = subprocess.run(
            [str(self.binary), "--data-dir", str(self.data_dir), *args],
            input=stdin, capture_output=True, text=True, env=self.environment(),
            cwd=self.data_dir, check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"speakup {' '.join(args)} failed: {result.stderr.strip()}")
        return json.loads(result.stdout.strip().splitlines()[-1])

    def start(self) -> None:
        self.port = free_port()
        log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [str(self.binary), "--data-dir", str(self.data_dir), "serve",
             "--bind", f"127.0.0.1:{self.port}"],
            stdout=log, stderr=subprocess.STDOUT, env=self.environment(), cwd=self.data_dir,
        )
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}; "
                                   f"see {self.log_path}:\n{self.log_path.read_text()[-2000:]}")
            try:
                connection = Connection("127.0.0.1", self.port)
                status, _ = connection.request("GET", "/healthz")
                connection.close()
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not answer /healthz within 30 s")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


# --------------------------------------------------------------------------------------------
# Running a scenario.


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile."""
    if not sorted_values:
        return None
    rank = max(1, int(-(-fraction * len(sorted_values) // 1)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


class Usage:
    """CPU used by the client, the server and the rest of the machine over an interval."""

    def __init__(self, server_pid: int):
        self.server_pid = server_pid
        self.start = self._sample()

    def _sample(self) -> tuple[float, float, float, float, float]:
        busy, total = machine_cpu()
        return (time.monotonic(), client_cpu_seconds(), proc_cpu_seconds(self.server_pid),
                busy, total)

    def deltas(self) -> list[float]:
        """[wall, client, server, machine busy, machine total] seconds since the start."""
        return [b - a for a, b in zip(self.start, self._sample())]

    def finish(self) -> dict:
        return usage_percentages(self.deltas())


def usage_percentages(deltas: list[float]) -> dict:
    wall, client, server, busy, total = deltas
    return {
        "client_cpu_pct": round(100 * client / wall, 1),
        "server_cpu_pct": round(100 * server / wall, 1),
        "other_cpu_pct": round(max(0.0, 100 * (busy - client - server) / wall), 1),
        "machine_busy_pct": round(100 * busy / total, 1) if total else None,
        "cores": os.cpu_count() or 1,
    }


def summarise(name: str, clients: int, latencies: list[float], errors: int, elapsed: float,
              error_samples: list[str], usage: dict) -> dict:
    ordered = sorted(latencies)
    ms = lambda v: None if v is None else round(v * 1000, 2)  # noqa: E731
    return {
        "scenario": name,
        "clients": clients,
        "requests": len(latencies) + errors,
        "ok": len(latencies),
        "errors": errors,
        "error_samples": error_samples[:5],
        "seconds": round(elapsed, 3),
        "requests_per_second": round(len(latencies) / elapsed, 1) if elapsed > 0 else 0.0,
        "p50_ms": ms(percentile(ordered, 0.50)),
        "p95_ms": ms(percentile(ordered, 0.95)),
        "p99_ms": ms(percentile(ordered, 0.99)),
        "max_ms": ms(ordered[-1] if ordered else None),
        **usage,
    }


def run_timed(name: str, server: Server, clients: int, duration: float, warmup: float,
              make_request, expected_status: int, on_success=None) -> dict:
    """`clients` threads, each on its own keep-alive connection, send requests for `duration`."""
    lock = threading.Lock()
    latencies: list[float] = []
    errors = [0]
    warmup_errors = [0]
    error_samples: list[str] = []
    start_barrier = threading.Barrier(clients + 1)
    phase = {"measure": False, "deadline": 0.0}
    finished_at = [0.0]

    def worker(index: int) -> None:
        connection = Connection("127.0.0.1", server.port)
        mine: list[float] = []
        my_errors = 0
        sequence = 0
        try:
            connection.connect()
        except OSError as error:
            with lock:
                errors[0] += 1
                error_samples.append(f"connect: {error}")
        start_barrier.wait()
        while True:
            now = time.perf_counter()
            if now >= phase["deadline"]:
                break
            measuring = phase["measure"]
            method, path, body = make_request(index, sequence)
            sequence += 1
            began = time.perf_counter()
            try:
                status, answer = connection.request(method, path, body)
                took = time.perf_counter() - began
                ok = status == expected_status
                if not ok:
                    problem = f"HTTP {status}: {answer[:200]!r}"
            except (OSError, HttpError, ValueError) as error:
                took = time.perf_counter() - began
                ok = False
                problem = f"{type(error).__name__}: {error}"
                connection.close()
            if ok and on_success is not None:
                on_success(answer)
            if not measuring:
                if not ok:
                    with lock:
                        warmup_errors[0] += 1
                        if len(error_samples) < 20:
                            error_samples.append(f"(warm-up) {problem}")
                continue
            if ok:
                mine.append(took)
            else:
                my_errors += 1
                with lock:
                    if len(error_samples) < 20:
                        error_samples.append(problem)
        connection.close()
        with lock:
            latencies.extend(mine)
            errors[0] += my_errors
            finished_at[0] = max(finished_at[0], time.perf_counter())

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    # Warm-up (unmeasured), then the measured run; the switch is a flag the workers read.
    phase["deadline"] = float("inf")
    start_barrier.wait()
    time.sleep(warmup)
    usage = Usage(server.pid)
    measured_from = time.perf_counter()
    phase["measure"] = True
    phase["deadline"] = measured_from + duration
    for thread in threads:
        thread.join()
    elapsed = max(finished_at[0], measured_from + duration) - measured_from
    # A failure during the warm-up is still a failed request.
    return summarise(name, clients, latencies, errors[0] + warmup_errors[0], elapsed,
                     error_samples, usage.finish())


# --------------------------------------------------------------------------------------------
# Scenarios.

CONCERN_TEXT = (
    "On the night shift in ward 14 the controlled drugs register was not countersigned for "
    "three nights running, and two doses of morphine recorded as given do not match the stock "
    "count. I raised this with the nurse in charge, who said it would be sorted, but nothing "
    "has changed and the agency staff are not told how the register should be kept. Patients "
    "may be missing pain relief or receiving it twice. I am worried about what happens if this "
    "continues over the holiday period when staffing is at its lowest. "
)


def concern_body(index: int, sequence: int) -> bytes:
    # ~500 bytes of concern; a little variation so no two bodies are identical.
    text = CONCERN_TEXT[:480] + f" (ref {index}-{sequence})"
    body: dict = {"organisation": ORG_SLUG, "service": "nhs", "concern": text}
    if (index + sequence) % 2 == 0:
        body["anonymity"] = "anonymous"
    else:
        body["anonymity"] = "confidential"
        body["identity"] = {"name": f"Staff nurse {index}",
                            "contact": f"nurse{index}.{sequence}@example.scot"}
    return json.dumps(body).encode()


def scenario_submission(server: Server, clients: int, duration: float, warmup: float,
                        case_keys: list[str]) -> dict:
    lock = threading.Lock()

    def make(index: int, sequence: int):
        return "POST", "/api/v1/concerns", concern_body(index, sequence)

    def keep(answer: bytes) -> None:
        key = json.loads(answer)["case_key"]
        with lock:
            case_keys.append(key)

    return run_timed("A submission", server, clients, duration, warmup, make, 201, keep)


def scenario_mailbox(server: Server, clients: int, duration: float, warmup: float,
                     case_keys: list[str]) -> dict:
    keys = list(case_keys)
    random.Random(7).shuffle(keys)
    bodies = [json.dumps({"case_key": key}).encode() for key in keys]

    def make(index: int, sequence: int):
        return "POST", "/api/v1/mailbox/session", bodies[(index * 7919 + sequence) % len(bodies)]

    return run_timed("B mailbox sign-in", server, clients, duration, warmup, make, 200)


def scenario_handler(server: Server, contacts: list[dict], rounds: int) -> dict:
    pid = server.pid
    before = proc_status(pid)
    latencies: list[float] = []
    errors = 0
    error_samples: list[str] = []
    peak_rss = [before.get("VmRSS", 0)]
    sampling = threading.Event()
    sampling.set()

    def sampler() -> None:
        while sampling.is_set():
            try:
                peak_rss[0] = max(peak_rss[0], proc_status(pid).get("VmRSS", 0))
            except OSError:
                return
            time.sleep(0.01)

    sampler_thread = threading.Thread(target=sampler, daemon=True)
    sampler_thread.start()
    # Time and CPU are counted over the sign-ins only, not the waits for a fresh TOTP step.
    totals = [0.0] * 5
    last_step = -1
    for _ in range(rounds):
        # One code per account per 30-second step: wait for a step not used yet, and not about
        # to end (the server accepts one step of skew, but stay clear of the edge anyway).
        while True:
            now = time.time()
            step = int(now) // 30
            if step > last_step and (now % 30) < 25:
                break
            time.sleep(min(0.5, 30 - (now % 30) + 0.05))
        last_step = step
        usage = Usage(pid)
        connections = []
        for _ in contacts:
            connection = Connection("127.0.0.1", server.port)
            connection.connect()
            connections.append(connection)
        barrier = threading.Barrier(len(contacts))
        results: list[tuple[bool, float, str]] = [(False, 0.0, "")] * len(contacts)

        def sign_in(i: int) -> None:
            contact = contacts[i]
            body = json.dumps({"email": contact["email"], "password": contact["password"],
                               "totp": totp(contact["secret"], time.time())}).encode()
            barrier.wait()
            began = time.perf_counter()
            try:
                status, answer = connections[i].request("POST", "/api/v1/session", body)
                took = time.perf_counter() - began
                ok = status == 200 and "token" in json.loads(answer)
                results[i] = (ok, took, "" if ok else f"HTTP {status}: {answer[:200]!r}")
            except (OSError, HttpError, ValueError) as error:
                results[i] = (False, time.perf_counter() - began, f"{type(error).__name__}: {error}")

        threads = [threading.Thread(target=sign_in, args=(i,)) for i in range(len(contacts))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        totals = [a + b for a, b in zip(totals, usage.deltas())]
        for connection in connections:
            connection.close()
        for ok, took, problem in results:
            if ok:
                latencies.append(took)
            else:
                errors += 1
                error_samples.append(problem)
    elapsed = totals[0]
    cpu = usage_percentages(totals)
    time.sleep(0.3)  # let freed Argon2 memory go back before reading RSS after
    sampling.clear()
    sampler_thread.join()
    after = proc_status(pid)
    result = summarise("C handler sign-in", len(contacts), latencies, errors, elapsed,
                       error_samples, cpu)
    result.update({
        "rounds": rounds,
        "max_concurrent_password_checks": int(
            server.extra_env.get("SPEAKUP_MAX_CONCURRENT_PASSWORD_CHECKS", "4")),
        "rss_before_mib": round(before.get("VmRSS", 0) / 1024, 1),
        "rss_peak_sampled_mib": round(peak_rss[0] / 1024, 1),
        "rss_after_mib": round(after.get("VmRSS", 0) / 1024, 1),
        "hwm_before_mib": round(before.get("VmHWM", 0) / 1024, 1),
        "hwm_after_mib": round(after.get("VmHWM", 0) / 1024, 1),
    })
    result.pop("requests_per_second", None)
    return result


# --------------------------------------------------------------------------------------------
# Soak: a steady rate for a long time, memory and latency sampled each minute.


def scenario_soak(server: Server, minutes: float, rate: float, warmup_minutes: float,
                  clients: int) -> dict:
    """Submissions and mailbox sign-ins at `rate` requests/s in total (one in four a sign-in
    with a case key from an earlier submission), paced by a fixed schedule so the rate stays
    steady whatever the latency (a client that falls behind skips the slots it missed instead
    of bursting to catch up, so a slow minute shows as fewer requests). Each minute: VmRSS of the server, request count, errors and
    p50/p95/p99 latency of that minute. Verdict: after `warmup_minutes`, every sample within
    10 % of the first sample after the warm-up."""
    pid = server.pid
    lock = threading.Lock()
    case_keys: list[str] = []
    window: list[float] = []
    window_errors = [0]
    error_samples: list[str] = []
    interval = clients / rate  # each client's own period; clients are offset evenly
    started = time.monotonic()
    deadline = started + minutes * 60

    def worker(index: int) -> None:
        connection = Connection("127.0.0.1", server.port)
        sequence = 0
        due = started + index * interval / clients
        while True:
            due += interval
            now = time.monotonic()
            if due < now - interval:
                due = now  # behind schedule: skip the missed slots rather than burst
            if due >= deadline:
                return
            if due > now:
                time.sleep(due - now)
            with lock:
                key = case_keys[(index * 7919 + sequence) % len(case_keys)] \
                    if case_keys and sequence % 4 == 3 else None
            if key is None:
                method, path, body, expected = ("POST", "/api/v1/concerns",
                                                 concern_body(index, sequence), 201)
            else:
                method, path, body, expected = ("POST", "/api/v1/mailbox/session",
                                                json.dumps({"case_key": key}).encode(), 200)
            sequence += 1
            began = time.perf_counter()
            try:
                status, answer = connection.request(method, path, body)
                problem = "" if status == expected else f"HTTP {status}: {answer[:200]!r}"
            except (OSError, HttpError, ValueError) as error:
                status, answer, problem = 0, b"", f"{type(error).__name__}: {error}"
                connection.close()
            took = time.perf_counter() - began
            with lock:
                if problem:
                    window_errors[0] += 1
                    if len(error_samples) < 20:
                        error_samples.append(problem)
                else:
                    window.append(took)
                    if expected == 201 and len(case_keys) < 5000:
                        case_keys.append(json.loads(answer)["case_key"])

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    samples = []
    ms = lambda v: None if v is None else round(v * 1000, 2)  # noqa: E731
    minute = 0
    usage = Usage(pid)
    while time.monotonic() < deadline - 1:
        minute += 1
        time.sleep(max(0.0, min(started + minute * 60, deadline) - time.monotonic()))
        with lock:
            taken, window[:] = sorted(window), []
            errors, window_errors[0] = window_errors[0], 0
        status = proc_status(pid)
        cpu = usage.finish()
        usage = Usage(pid)
        sample = {
            "minute": minute, "requests": len(taken) + errors, "errors": errors,
            "p50_ms": ms(percentile(taken, 0.50)), "p95_ms": ms(percentile(taken, 0.95)),
            "p99_ms": ms(percentile(taken, 0.99)),
            "rss_mib": round(status.get("VmRSS", 0) / 1024, 1),
            "hwm_mib": round(status.get("VmHWM", 0) / 1024, 1),
            "server_cpu_pct": cpu["server_cpu_pct"],
        }
        samples.append(sample)
        print(f"  minute {minute:>3}: {sample['requests']:>6} requests, {errors} errors, "
              f"p50 {sample['p50_ms']} ms, p95 {sample['p95_ms']} ms, p99 {sample['p99_ms']} ms, "
              f"RSS {sample['rss_mib']} MiB, server CPU {sample['server_cpu_pct']} %", flush=True)
    for thread in threads:
        thread.join()
    after_warmup = [s for s in samples if s["minute"] > warmup_minutes]
    verdict: dict = {"warmup_minutes": warmup_minutes}
    if after_warmup:
        baseline = after_warmup[0]["rss_mib"]
        highest = max(s["rss_mib"] for s in after_warmup)
        lowest = min(s["rss_mib"] for s in after_warmup)
        verdict.update({
            "rss_baseline_mib": baseline, "rss_max_mib": highest, "rss_min_mib": lowest,
            "rss_growth_pct": round(100 * (highest - baseline) / baseline, 1) if baseline else None,
            "rss_flat_within_10_pct": bool(baseline) and highest <= baseline * 1.10
            and lowest >= baseline * 0.90,
        })
    return {"scenario": "soak", "minutes": minutes, "rate_per_second": rate, "clients": clients,
            "samples": samples, "errors": sum(s["errors"] for s in samples),
            "error_samples": error_samples, **verdict}


# --------------------------------------------------------------------------------------------
# Set-up, report, main.


def set_up(server: Server) -> tuple[list[dict], list[str]]:
    server.cli("org", "add", "--slug", ORG_SLUG, "--name", "Load Test Health Board",
               "--services", "nhs")
    intake_ids = []
    contacts = []
    for i in range(2 + HANDLER_CLIENTS):
        intake = i < 2
        email = f"{'intake' if intake else 'contact'}{i}@load.example.scot"
        password = secrets.token_urlsafe(18)
        args = ["user", "add", "--org", ORG_SLUG, "--email", email, "--name", f"Contact {i}",
                "--role", "contact", "--password-stdin"]
        if intake:
            args.insert(-1, "--intake")
        created = server.cli(*args, stdin=password + "\n")
        if intake:
            intake_ids.append(created["id"])
        else:
            contacts.append({"email": email, "password": password,
                             "secret": totp_secret_from_uri(created["totp_uri"])})
    return contacts, intake_ids


def print_table(results: list[dict], handler: dict | None) -> None:
    header = (f"{'scenario':<20}{'clients':>8}{'ok':>8}{'errors':>8}{'req/s':>9}{'p50 ms':>9}"
              f"{'p95 ms':>9}{'p99 ms':>9}{'client%':>9}{'server%':>9}{'other%':>8}")
    print(header)
    print("-" * len(header))
    fmt = lambda v: "-" if v is None else f"{v:.1f}" if isinstance(v, float) else str(v)  # noqa: E731
    for r in results + ([handler] if handler else []):
        print(f"{r['scenario']:<20}{r['clients']:>8}{r['ok']:>8}{r['errors']:>8}"
              f"{fmt(r.get('requests_per_second')):>9}{fmt(r['p50_ms']):>9}{fmt(r['p95_ms']):>9}"
              f"{fmt(r['p99_ms']):>9}{fmt(r['client_cpu_pct']):>9}{fmt(r['server_cpu_pct']):>9}"
              f"{fmt(r['other_cpu_pct']):>8}")
    if handler:
        permits = handler["max_concurrent_password_checks"]
        print(f"\nC memory (max_concurrent_password_checks = {permits}"
              f"{', the default' if permits == 4 else ''}): "
              f"RSS before {handler['rss_before_mib']} MiB, peak sampled "
              f"{handler['rss_peak_sampled_mib']} MiB, after {handler['rss_after_mib']} MiB; "
              f"VmHWM {handler['hwm_before_mib']} -> {handler['hwm_after_mib']} MiB")
    print("(client%/server%/other%: CPU in % of one core over the measured run; "
          f"{os.cpu_count()} cores in total)")


def evaluate_targets(results: list[dict]) -> list[dict]:
    def find(name: str, clients: int) -> dict | None:
        return next((r for r in results if r["scenario"] == name and r["clients"] == clients),
                    None)

    targets = []
    for name, label in (("A submission", "submission"), ("B mailbox sign-in", "mailbox sign-in")):
        r = find(name, 1)
        value = r["p50_ms"] if r else None
        targets.append({
            "target": f"{label} p50 <= {TARGET_P50_MS:g} ms (1 client)",
            "measured": f"{value} ms" if value is not None else "not run",
            "pass": value is not None and value <= TARGET_P50_MS,
        })
    r = find("A submission", 32)
    targets.append({
        "target": f">= {TARGET_SUBMISSIONS_PER_SECOND:g} submissions/s at 32 clients, 0 errors",
        "measured": f"{r['requests_per_second']}/s, {r['errors']} errors" if r else "not run",
        "pass": bool(r) and r["requests_per_second"] >= TARGET_SUBMISSIONS_PER_SECOND
        and r["errors"] == 0,
    })
    return targets


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", type=Path, default=None,
                        help="speakup binary (default: $CARGO_TARGET_DIR or ./target, release)")
    parser.add_argument("--duration", type=float, default=10.0,
                        help="seconds per measured run of A and B (default 10)")
    parser.add_argument("--warmup", type=float, default=1.0,
                        help="unmeasured seconds before each run (default 1)")
    parser.add_argument("--clients", default="1,32",
                        help="comma-separated client counts for A and B (default 1,32)")
    parser.add_argument("--handler-rounds", type=int, default=1,
                        help="rounds of 10 concurrent handler sign-ins, one 30-s step apart")
    parser.add_argument("--scenarios", default="ABC", help="which scenarios to run (default ABC)")
    parser.add_argument("--log-level", default="info",
                        help="server log level (default info, the production default)")
    parser.add_argument("--server-env", action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment for the server, for experiments only (e.g. "
                        "SPEAKUP_POOL_SIZE=1); recorded in the results")
    parser.add_argument("--experiment-sql", action="append", default=[], metavar="SQL",
                        help="run this SQL on the fresh SQLite database before the server "
                        "starts, for experiments only (e.g. trying an index); recorded in the "
                        "results")
    parser.add_argument("--tmp-dir", type=Path, default=None,
                        help="where the temporary data directory goes (default: system temp)")
    parser.add_argument("--keep-data", action="store_true",
                        help="keep the temporary data directory and server log")
    parser.add_argument("--results-dir", type=Path, default=REPO / "load" / "results")
    parser.add_argument("--soak", action="store_true",
                        help="run only the soak: a steady rate for --soak-minutes, RSS and "
                        "latency sampled each minute")
    parser.add_argument("--soak-minutes", type=float, default=30.0,
                        help="length of the soak in minutes (default 30)")
    parser.add_argument("--soak-rate", type=float, default=50.0,
                        help="requests/s during the soak, all clients together (default 50)")
    parser.add_argument("--soak-warmup-minutes", type=float, default=5.0,
                        help="minutes of the soak not judged for RSS growth (default 5)")
    args = parser.parse_args()

    check_totp_vector()
    try:
        client_counts = [int(c) for c in args.clients.split(",") if c.strip()]
    except ValueError:
        parser.error("--clients takes numbers such as 1,32")
    if any(c < 1 for c in client_counts) or args.duration <= 0 or args.handler_rounds < 1:
        parser.error("client counts, --duration and --handler-rounds must be positive")
    extra_env = {}
    for item in args.server_env:
        key, sep, value = item.partition("=")
        if not sep or not key.startswith("SPEAKUP_"):
            parser.error("--server-env takes SPEAKUP_KEY=VALUE")
        extra_env[key] = value
    binary = args.binary or Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")) \
        / "release" / "speakup"
    if not binary.is_file():
        parser.error(f"{binary} not found; run `cargo build --release` first")

    data_dir = Path(tempfile.mkdtemp(prefix="speakup-load-", dir=args.tmp_dir))
    server = Server(binary, data_dir, args.log_level, extra_env)
    results: list[dict] = []
    handler: dict | None = None
    soak: dict | None = None
    failed = False
    started_at = dt.datetime.now(dt.timezone.utc)
    try:
        print(f"data directory {data_dir}; setting up the organisation and "
              f"{2 + HANDLER_CLIENTS} contacts with the CLI ...", flush=True)
        contacts, _ = set_up(server)
        if args.experiment_sql:
            import sqlite3
            database = sqlite3.connect(data_dir / "speakup.db")
            for statement in args.experiment_sql:
                print(f"experiment: {statement}", flush=True)
                database.execute(statement)
            database.commit()
            database.close()
        server.start()
        print(f"server pid {server.pid} on 127.0.0.1:{server.port}; rate limits lifted for "
              f"the measurement only", flush=True)
        case_keys: list[str] = []
        if args.soak:
            print(f"soak: {args.soak_rate:g} requests/s for {args.soak_minutes:g} min, RSS "
                  f"judged after {args.soak_warmup_minutes:g} min ...", flush=True)
            soak = scenario_soak(server, args.soak_minutes, args.soak_rate,
                                 args.soak_warmup_minutes, clients=8)
        elif "A" in args.scenarios or "B" in args.scenarios:
            for clients in client_counts:
                print(f"A submission, {clients} clients, {args.duration:g} s ...", flush=True)
                results.append(scenario_submission(server, clients, args.duration, args.warmup,
                                                   case_keys))
        if "B" in args.scenarios and not args.soak:
            if not case_keys:
                raise RuntimeError("no case keys from scenario A")
            for clients in client_counts:
                print(f"B mailbox sign-in, {clients} clients, {args.duration:g} s "
                      f"({len(case_keys)} case keys) ...", flush=True)
                results.append(scenario_mailbox(server, clients, args.duration, args.warmup,
                                                case_keys))
        if "C" in args.scenarios and not args.soak:
            print(f"C handler sign-in, {HANDLER_CLIENTS} clients at once, "
                  f"{args.handler_rounds} round(s) ...", flush=True)
            handler = scenario_handler(server, contacts, args.handler_rounds)
        final = proc_status(server.pid)
    except Exception as error:  # noqa: BLE001 - report and fail
        print(f"load test failed: {error}", file=sys.stderr)
        failed = True
        final = {}
    finally:
        exit_code = server.stop()

    print()
    if results or handler:
        print_table(results, handler)
    targets = evaluate_targets(results) if results else []
    if targets:
        print("\nTargets:")
        for t in targets:
            print(f"  {'PASS' if t['pass'] else 'FAIL'}  {t['target']}: {t['measured']}")
    errors = sum(r["errors"] for r in results) + (handler["errors"] if handler else 0)
    if soak:
        errors += soak["errors"]
        for sample in soak["error_samples"]:
            print(f"  error in the soak: {sample}")
        if "rss_flat_within_10_pct" in soak:
            print(f"\nSoak: RSS {soak['rss_baseline_mib']} MiB after the warm-up, "
                  f"{soak['rss_min_mib']}-{soak['rss_max_mib']} MiB afterwards "
                  f"({soak['rss_growth_pct']:+} %): "
                  f"{'FLAT within 10 %' if soak['rss_flat_within_10_pct'] else 'NOT FLAT'}")
    for r in results + ([handler] if handler else []):
        for sample in r["error_samples"]:
            print(f"  error in {r['scenario']} ({r['clients']} clients): {sample}")

    report = {
        "started_at": started_at.isoformat(timespec="seconds"),
        "binary": str(binary),
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "client_counts": client_counts,
        "environment": {**LIFTED_LIMITS, "SPEAKUP_LOG_LEVEL": args.log_level, **extra_env},
        "experiment_sql": args.experiment_sql,
        "machine": {"cores": os.cpu_count(), "load_average": os.getloadavg(),
                    "kernel": os.uname().release, "python": sys.version.split()[0],
                    "client_on_same_machine": True},
        "results": results,
        "handler_sign_in": handler,
        "soak": soak,
        "server_final_status_kib": final,
        "server_exit_code": exit_code,
        "targets": targets,
        "total_errors": errors,
    }
    args.results_dir.mkdir(parents=True, exist_ok=True)
    out = args.results_dir / f"{started_at.strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nresults written to {out}")
    if args.keep_data:
        print(f"data directory and server log kept in {data_dir}")
    else:
        shutil.rmtree(data_dir, ignore_errors=True)
    if failed or errors:
        print(f"FAILED: {errors} request(s) failed" if errors else "FAILED", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
