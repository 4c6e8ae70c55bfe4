#!/usr/bin/env python3
"""A real SMTP server for tolom-notify-smtp's tests (aiosmtpd).

Listens on 127.0.0.1, writes every message it accepts to --dir as
msg-<n>.eml (the raw source) and msg-<n>.json (envelope, decoded headers
and decoded MIME parts, parsed with Python's own `email` package), and
prints "READY <port>" once it accepts connections. It exits when its
standard input closes, so it never outlives the test that started it.

What it answers is read from <dir>/mode before each command, so a test can
change it while the server runs:
  ok                 accept (default)
  451                RCPT TO answered "451 4.3.0 ..." (transient)
  550                RCPT TO answered "550 5.1.1 ..." (permanent)
  stall              after the message data, never answer (nothing saved)
  accept-then-stall  save the message, then never answer

Options: --port N (0 = any free port), --tls none|starttls|implicit with
--cert/--key (PEM), --auth user:password (AUTH PLAIN/LOGIN required).

Needs `pip install aiosmtpd`.
"""

import argparse
import asyncio
import json
import logging
import os
import ssl
import sys
import threading
import warnings
from email import policy
from email.parser import BytesParser

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def main():
    # AUTH over a plain connection is what the tests want; no lecture.
    warnings.filterwarnings("ignore")
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--tls", choices=["none", "starttls", "implicit"], default="none")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--auth")
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)

    def mode():
        try:
            with open(os.path.join(args.dir, "mode")) as f:
                return f.read().strip() or "ok"
        except FileNotFoundError:
            return "ok"

    counter = {"n": 0}

    def save(envelope):
        counter["n"] += 1
        # Unique across restarts of the server on the same directory.
        name = "msg-%d-%d-%d" % (os.getpid(), counter["n"], len(os.listdir(args.dir)))
        raw = envelope.original_content or envelope.content
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        parts = []
        for part in msg.walk():
            if part.is_multipart():
                parts.append({"content_type": part.get_content_type(), "multipart": True})
                continue
            entry = {
                "content_type": part.get_content_type(),
                "charset": part.get_content_charset(),
                "filename": part.get_filename(),
                "transfer_encoding": part.get("Content-Transfer-Encoding"),
            }
            payload = part.get_payload(decode=True) or b""
            entry["size"] = len(payload)
            if part.get_content_maintype() == "text":
                entry["text"] = part.get_content()
            else:
                entry["head"] = payload[:8].decode("latin-1")
            parts.append(entry)
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "subject": str(msg.get("Subject", "")),
            "from": str(msg.get("From", "")),
            "to": str(msg.get("To", "")),
            "message_id": str(msg.get("Message-ID", "")),
            "tolom_message_id": str(msg.get("X-Tolom-Message-Id", "")),
            "content_language": str(msg.get("Content-Language", "")),
            "auto_submitted": str(msg.get("Auto-Submitted", "")),
            "content_type": msg.get_content_type(),
            "defects": [repr(d) for d in msg.defects],
            "parts": parts,
        }
        with open(os.path.join(args.dir, name + ".eml"), "wb") as f:
            f.write(raw)
        tmp = os.path.join(args.dir, name + ".json.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f, ensure_ascii=False)
        os.rename(tmp, os.path.join(args.dir, name + ".json"))

    class Handler:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            m = mode()
            if m == "451":
                return "451 4.3.0 Mailbox temporarily unavailable, try again later"
            if m == "550":
                return "550 5.1.1 No such user here"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            m = mode()
            if m == "stall":
                await asyncio.sleep(3600)
                return "451 4.4.2 Too late"
            save(envelope)
            if m == "accept-then-stall":
                await asyncio.sleep(3600)
            return "250 2.0.0 Message accepted for delivery"

    context = None
    if args.tls != "none":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)

    authenticator = None
    if args.auth:
        user, password = args.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (
                isinstance(auth_data, LoginPassword)
                and auth_data.login.decode() == user
                and auth_data.password.decode() == password
            )
            return AuthResult(success=ok, handled=False, auth_data=None)

    def factory():
        return SMTP(
            Handler(),
            hostname="tolom-test-smtp",
            decode_data=False,
            tls_context=context if args.tls == "starttls" else None,
            require_starttls=args.tls == "starttls",
            authenticator=authenticator,
            auth_required=authenticator is not None,
            auth_require_tls=False,
        )

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(
        loop.create_server(
            factory,
            host="127.0.0.1",
            port=args.port,
            ssl=context if args.tls == "implicit" else None,
        )
    )
    port = server.sockets[0].getsockname()[1]

    def watch_stdin():
        # The test holds our stdin; when it goes away, so do we.
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    print("READY %d" % port, flush=True)
    loop.run_forever()


if __name__ == "__main__":
    main()
