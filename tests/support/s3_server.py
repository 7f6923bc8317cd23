#!/usr/bin/env python3
"""A real S3-compatible server for the attachment tests: moto's S3 in server mode on loopback.

Usage: s3_server.py ACCESS_KEY_ID SECRET_ACCESS_KEY

moto does not check request signatures, so this server does, like a real object store: a
request signed in its query string (AWS Signature V4, as speakup signs) must carry a valid
signature for the given key pair, or it is refused with 403 SignatureDoesNotMatch; a request
with no signature at all is refused with 403 AccessDenied. (Requests signed in an Authorization
header come only from this script's own boto3 client below and pass.)

Prints "ready PORT" once listening on 127.0.0.1 (a free port), then answers one line per
command read from standard input:
  bucket NAME       creates the bucket                              -> "ok"
  dump NAME DIR     writes every object of the bucket to DIR/KEY    -> the number of objects
  uploads NAME      counts the bucket's unfinished multipart uploads -> the number
Stops when standard input closes.
"""
import hashlib
import hmac
import logging
import os
import sys
import threading
from urllib.parse import quote, unquote

import boto3
from moto.server import create_backend_app
from werkzeug.serving import make_server

REGION = "us-east-1"


def uri_encode(text):
    return quote(text, safe="-_.~")


class CheckSignatures:
    """WSGI middleware: verifies SigV4 query-string signatures before moto sees the request."""

    def __init__(self, app, access_key_id, secret):
        self.app = app
        self.access_key_id = access_key_id
        self.secret = secret

    def __call__(self, environ, start_response):
        if environ.get("HTTP_AUTHORIZATION"):
            return self.app(environ, start_response)
        query = environ.get("QUERY_STRING", "")
        pairs = []
        for part in query.split("&"):
            if part:
                name, _, value = part.partition("=")
                pairs.append((unquote(name), unquote(value)))
        params = dict(pairs)
        if "X-Amz-Signature" not in params:
            return self.refuse(start_response, "AccessDenied", "Anonymous access is refused")
        if not self.valid(environ, pairs, params):
            return self.refuse(
                start_response, "SignatureDoesNotMatch", "The signature does not match"
            )
        return self.app(environ, start_response)

    def valid(self, environ, pairs, params):
        credential = params.get("X-Amz-Credential", "").split("/")
        if len(credential) != 5 or credential[0] != self.access_key_id:
            return False
        _, day, region, service, _ = credential
        amz_date = params.get("X-Amz-Date", "")
        signed_headers = params.get("X-Amz-SignedHeaders", "")
        headers = []
        for name in signed_headers.split(";"):
            key = "HTTP_" + name.upper().replace("-", "_")
            if name == "content-type":
                key = "CONTENT_TYPE"
            headers.append(f"{name}:{environ.get(key, '').strip()}\n")
        canonical_query = "&".join(
            f"{uri_encode(k)}={uri_encode(v)}"
            for k, v in sorted(pairs)
            if k != "X-Amz-Signature"
        )
        path = quote(environ.get("PATH_INFO", "/"), safe="/-_.~")
        canonical = "\n".join(
            [
                environ["REQUEST_METHOD"],
                path,
                canonical_query,
                "".join(headers),
                signed_headers,
                "UNSIGNED-PAYLOAD",
            ]
        )
        scope = f"{day}/{region}/{service}/aws4_request"
        to_sign = "\n".join(
            [
                "AWS4-HMAC-SHA256",
                amz_date,
                scope,
                hashlib.sha256(canonical.encode()).hexdigest(),
            ]
        )
        key = ("AWS4" + self.secret).encode()
        for part in (day, region, service, "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, params["X-Amz-Signature"])

    @staticmethod
    def refuse(start_response, code, message):
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
        ).encode()
        start_response(
            "403 Forbidden",
            [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))],
        )
        return [body]


def main():
    access_key_id, secret = sys.argv[1], sys.argv[2]
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = CheckSignatures(create_backend_app("s3"), access_key_id, secret)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name=REGION,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret,
    )
    print(f"ready {port}", flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        try:
            if words[0] == "bucket":
                client.create_bucket(Bucket=words[1])
                answer = "ok"
            elif words[0] == "dump":
                count = 0
                for page in client.get_paginator("list_objects_v2").paginate(Bucket=words[1]):
                    for item in page.get("Contents", []):
                        target = os.path.join(words[2], item["Key"])
                        os.makedirs(os.path.dirname(target), exist_ok=True)
                        body = client.get_object(Bucket=words[1], Key=item["Key"])["Body"]
                        with open(target, "wb") as out:
                            out.write(body.read())
                        count += 1
                answer = str(count)
            elif words[0] == "uploads":
                listed = client.list_multipart_uploads(Bucket=words[1])
                answer = str(len(listed.get("Uploads", [])))
            else:
                answer = f"error unknown command {words[0]}"
        except Exception as error:  # answered, so the test sees it
            answer = f"error {error}".replace("\n", " ")
        print(answer, flush=True)
    server.shutdown()


if __name__ == "__main__":
    main()
