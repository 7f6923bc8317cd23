#!/usr/bin/env python3
"""Attachment upload benchmark: one large file end to end. Python 3.11 standard library only.

Usage (from the repository root, after `cargo build --release`):

    python3 load/upload.py                 # 100 MiB, 3 runs
    python3 load/upload.py --mib 50 --runs 5

What it does:

1. Makes a fresh temporary data directory (SQLite, attachments under it) and, with the release
   binary's CLI, one organisation and one intake contact.
2. Starts `target/release/speakup serve` on a free loopback port with the per-file limit raised
   to fit the file (`SPEAKUP_MAX_ATTACHMENT_MIB`, `SPEAKUP_MAX_CASE_ATTACHMENTS_MIB`) and the
   upload rate limit lifted; nothing else changes.
3. Raises one concern through the API and opens its mailbox.
4. Each run: `POST /api/v1/mailbox/attachments` with a multipart body of `--mib` MiB of random
   bytes, written to the socket in 1 MiB pieces as fast as the server reads them. Throughput is
   file bytes over the time from the first byte sent to the `201` answer (stripping, sealing,
   writing and fsync included). A sampler thread reads the server's `VmRSS` every 20 ms; the
   report gives the RSS just before the upload, the highest sample during it, and the growth.
5. Downloads the file again and checks its SHA-256 against what was sent (byte-identical).

Targets (printed PASS/FAIL): >= 100 MB/s, RSS growth <= 16 MiB during the upload.
Exit status: 0 when every upload and download succeeded, 1 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadtest import Connection, Server, proc_status  # noqa: E402

BOUNDARY = "----speakup-upload-benchmark"
PIECE = 1024 * 1024


def upload(port: int, token: str, size: int, seed: bytes) -> tuple[int, bytes, float, str]:
    """Streams a multipart upload; returns (status, body, seconds, sha256 of the file)."""
    head = (
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; "
        f"filename=\"evidence.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    connection = Connection("127.0.0.1", port)
    connection.connect()
    assert connection.sock is not None
    request = (
        f"POST /api/v1/mailbox/attachments HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {len(head) + size + len(tail)}\r\n\r\n"
    ).encode()
    digest = hashlib.sha256()
    # A keyed stream of pseudo-random pieces: incompressible, cheap to make, reproducible.
    pieces = []
    for i in range(4):
        pieces.append(hashlib.shake_256(seed + bytes([i])).digest(PIECE))
    started = time.perf_counter()
    connection.sock.sendall(request + head)
    sent = 0
    index = 0
    while sent < size:
        piece = pieces[index % len(pieces)][: size - sent]
        connection.sock.sendall(piece)
        digest.update(piece)
        sent += len(piece)
        index += 1
    connection.sock.sendall(tail)
    status, body = connection._read_response("POST")
    elapsed = time.perf_counter() - started
    connection.close()
    return status, body, elapsed, digest.hexdigest()


def download_digest(port: int, token: str, attachment_id: str) -> tuple[int, str, int]:
    connection = Connection("127.0.0.1", port)
    status, body = connection.request(
        "GET", f"/api/v1/mailbox/attachments/{attachment_id}",
        headers={"Authorization": f"Bearer {token}"},
    )
    connection.close()
    return status, hashlib.sha256(body).hexdigest(), len(body)


class RssSampler(threading.Thread):
    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kib = 0
        self.running = True

    def run(self) -> None:
        while self.running:
            try:
                self.peak_kib = max(self.peak_kib, proc_status(self.pid)["VmRSS"])
            except (OSError, KeyError):
                pass
            time.sleep(0.02)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--mib", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--binary", type=Path, default=Path("target/release/speakup"))
    parser.add_argument("--tmp-dir", type=Path, default=None)
    args = parser.parse_args()
    binary = args.binary
    if os.environ.get("CARGO_TARGET_DIR") and args.binary == Path("target/release/speakup"):
        binary = Path(os.environ["CARGO_TARGET_DIR"]) / "release" / "speakup"
    if not binary.exists():
        print(f"{binary} not found: run `cargo build --release` first", file=sys.stderr)
        return 1
    size = args.mib * 1024 * 1024
    with tempfile.TemporaryDirectory(dir=args.tmp_dir) as tmp:
        data_dir = Path(tmp)
        server = Server(binary.resolve(), data_dir, "warn", {
            "SPEAKUP_MAX_ATTACHMENT_MIB": str(args.mib + 1),
            "SPEAKUP_MAX_CASE_ATTACHMENTS_MIB": str((args.mib + 1) * (args.runs + 1)),
            "SPEAKUP_ATTACHMENT_UPLOADS_PER_HOUR": "10000",
        })
        server.cli("org", "add", "--slug", "upload-test", "--name", "Upload Test Board",
                   "--services", "nhs")
        server.cli("user", "add", "--org", "upload-test", "--email", "intake@upload.example",
                   "--name", "Intake Contact", "--role", "contact", "--intake",
                   "--password-stdin", stdin=secrets.token_urlsafe(18) + "\n")
        server.start()
        failures = 0
        results = []
        try:
            api = Connection("127.0.0.1", server.port)
            status, body = api.request("POST", "/api/v1/concerns", json.dumps({
                "organisation": "upload-test", "service": "nhs", "anonymity": "anonymous",
                "concern": "Upload benchmark concern.",
            }).encode())
            assert status == 201, body
            case_key = json.loads(body)["case_key"]
            status, body = api.request("POST", "/api/v1/mailbox/session",
                                       json.dumps({"case_key": case_key}).encode())
            assert status == 200, body
            token = json.loads(body)["token"]
            api.close()
            for run in range(args.runs):
                before = proc_status(server.pid)["VmRSS"]
                sampler = RssSampler(server.pid)
                sampler.peak_kib = before
                sampler.start()
                status, body, seconds, sent_digest = upload(
                    server.port, token, size, secrets.token_bytes(16))
                sampler.running = False
                sampler.join()
                if status != 201:
                    print(f"run {run + 1}: upload answered {status}: {body[:300]!r}")
                    failures += 1
                    continue
                attachment_id = json.loads(body)["id"]
                d_status, got_digest, got_len = download_digest(server.port, token,
                                                                attachment_id)
                identical = d_status == 200 and got_digest == sent_digest and got_len == size
                if not identical:
                    failures += 1
                result = {
                    "run": run + 1,
                    "mib": args.mib,
                    "seconds": round(seconds, 3),
                    "mb_per_s": round(size / seconds / 1e6, 1),
                    "rss_before_mib": round(before / 1024, 1),
                    "rss_peak_mib": round(sampler.peak_kib / 1024, 1),
                    "rss_growth_mib": round((sampler.peak_kib - before) / 1024, 1),
                    "download_identical": identical,
                }
                results.append(result)
                print(json.dumps(result))
            hwm = proc_status(server.pid).get("VmHWM", 0)
        finally:
            server.stop()
    if results:
        best = max(r["mb_per_s"] for r in results)
        median = sorted(r["mb_per_s"] for r in results)[len(results) // 2]
        growth = max(r["rss_growth_mib"] for r in results)
        print(f"throughput: median {median} MB/s, best {best} MB/s "
              f"[{'PASS' if median >= 100 else 'FAIL'} >= 100 MB/s]")
        print(f"RSS growth during upload: at most {growth} MiB "
              f"[{'PASS' if growth <= 16 else 'FAIL'} <= 16 MiB]; VmHWM {round(hwm / 1024, 1)} MiB")
    return 1 if failures or not results else 0


if __name__ == "__main__":
    sys.exit(main())
