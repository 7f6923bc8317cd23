#!/usr/bin/env python3
"""A real SMTP server for the notice tests (aiosmtpd on loopback).

Usage: smtp_sink.py PORT OUTFILE [HANG_AFTER]

Every accepted message is appended to OUTFILE as one JSON line: envelope recipients, subject,
Message-ID, the raw message and its decoded text. With HANG_AFTER, messages after that many are
neither stored nor answered (the DATA handler waits), so a test can kill the server while a
delivery is in flight without racing the reply. Prints "ready" once listening; stops when
standard input closes or on SIGTERM/SIGKILL.
"""
import asyncio
import json
import sys
import threading
import time
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, path, hang_after):
        self.path = path
        self.hang_after = hang_after
        self.stored = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.hang_after is not None and self.stored >= self.hang_after:
                hang = True
            else:
                hang = False
                self.stored += 1
                message = message_from_bytes(envelope.content, policy=policy.default)
                text = message.get_body(preferencelist=("plain",))
                record = {
                    "to": envelope.rcpt_tos,
                    "from": envelope.mail_from,
                    "subject": str(message["Subject"]),
                    "message_id": str(message["Message-ID"]),
                    "raw": envelope.content.decode("utf-8", "replace"),
                    "text": text.get_content() if text is not None else "",
                }
                with open(self.path, "a", encoding="utf-8") as out:
                    out.write(json.dumps(record) + "\n")
                    out.flush()
        if hang:
            await asyncio.sleep(3600)
        return "250 OK"


def main():
    port = int(sys.argv[1])
    path = sys.argv[2]
    hang_after = int(sys.argv[3]) if len(sys.argv) > 3 else None
    controller = Controller(Sink(path, hang_after), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
