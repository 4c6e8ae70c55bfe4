#!/usr/bin/env python3
"""Verify a tolom receipt without tolom (docs/security.md, "Receipts").

    python3 verify-receipt.py RECEIPT.json RECEIPT-KEYS.json

RECEIPT.json       the receipt's JSON (the receipt page's "JSON" link, or
                   GET /api/v1/payments/{id}/receipt), as the payer hands it in.
RECEIPT-KEYS.json  the site's public key ring (`tolom --json keys show`, or
                   GET /api/v1/receipts/keys), obtained from the operator once
                   and kept: it is what you trust.

Prints the signed facts and exits 0 when the receipt is genuine; prints why
and exits 1 when it is not. Needs Python 3.8+ and the `cryptography` package
(pip install cryptography).

The steps (each one is in the documentation):
1. Recompute the signed content from the receipt's fields, in the canonical
   form `tolom-receipt/2` — never trust a ready-made text you were given.
2. If the JSON also carries `signed_content`, it must be exactly that text.
3. Find the key whose id is the receipt's `key_id` in the ring.
4. Verify the Ed25519 signature (base64url) over the text's UTF-8 bytes.
5. The key must not have been retired before the receipt's facts: the last
   refund's time, else the payment's, must be earlier than its valid_until.
"""

import base64
import json
import sys
from datetime import datetime, timezone

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

VERSION = "tolom-receipt/2"


def escape(value):
    """Backslash, line feed and carriage return escaped; other control characters as \\xHH."""
    out = []
    for c in value:
        if c == "\\":
            out.append("\\\\")
        elif c == "\n":
            out.append("\\n")
        elif c == "\r":
            out.append("\\r")
        elif ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F:
            out.append("\\x%02x" % ord(c))
        else:
            out.append(c)
    return "".join(out)


def utc(text):
    """An RFC 3339 time as UTC to the second: 2026-11-25T06:30:00Z."""
    if not text:
        return ""
    t = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def amount(money):
    """`{"amount": "885.00", "currency": "KGS"}` -> 885.00 (two decimals for KGS)."""
    whole, _, frac = str(money["amount"]).partition(".")
    return "%s.%s" % (whole, (frac + "00")[:2])


def canonical(r):
    """The signed content, recomputed from the receipt's fields."""
    opt = lambda v: "" if v is None else str(v)
    fields = [
        ("number", r["number"]),
        ("payment", r["payment_id"]),
        ("status", r["status"]),
        ("code", r["code"]),
        ("payer", r["payer"]),
        ("service", r["service"]),
        ("tariff", opt(r.get("tariff"))),
        ("currency", r["total"]["currency"]),
        ("amount", amount(r["amount"])),
        ("fee", amount(r["fee"])),
        ("total", amount(r["total"])),
        ("refunded", amount(r["refunded"])),
        ("paid_at", utc(r["paid_at"])),
        ("refunded_at", utc(r.get("refunded_at"))),
        ("card", opt(r.get("masked_pan"))),
        ("brand", opt(r.get("brand"))),
        ("approval", opt(r.get("auth_code"))),
        ("rrn", opt(r.get("rrn"))),
        ("acquirer", opt(r.get("acquirer"))),
        ("terms", r["terms_edition"]),
        ("operator.ky", r["operator"]["name"]["ky"]),
        ("operator.ru", r["operator"]["name"]["ru"]),
        ("operator.en", r["operator"]["name"]["en"]),
        ("key", r["key_id"]),
    ]
    return "\n".join([VERSION] + ["%s=%s" % (k, escape(v)) for k, v in fields])


def b64url(text):
    text = text.strip()
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify(receipt, ring):
    """The signed facts when genuine; raises ValueError saying why not."""
    content = canonical(receipt)
    given = receipt.get("signed_content")
    if given is not None and given != content:
        raise ValueError("the receipt's fields are not the content it says was signed")
    key = next((k for k in ring["keys"] if k["key_id"] == receipt["key_id"]), None)
    if key is None:
        raise ValueError("key %s is not in the key ring" % receipt["key_id"])
    public = Ed25519PublicKey.from_public_bytes(b64url(key["public_key"]))
    try:
        public.verify(b64url(receipt["signature"]), content.encode("utf-8"))
    except (InvalidSignature, ValueError):
        raise ValueError("the signature does not match: the receipt was altered or forged")
    as_of = utc(receipt.get("refunded_at")) or utc(receipt["paid_at"])
    if key.get("valid_until") and as_of >= utc(key["valid_until"]):
        raise ValueError("key %s was retired before this receipt's facts" % key["key_id"])
    return [line.split("=", 1) for line in content.split("\n")[1:]]


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        receipt = json.load(f)
    with open(argv[2], encoding="utf-8") as f:
        ring = json.load(f)
    try:
        facts = verify(receipt, ring)
    except (ValueError, KeyError, TypeError) as e:
        print("NOT genuine: %s" % e)
        return 1
    print("genuine (%s, key %s)" % (VERSION, receipt["key_id"]))
    for name, value in facts:
        print("  %-12s %s" % (name, value))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
