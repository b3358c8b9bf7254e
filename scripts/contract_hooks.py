"""schemathesis hooks for scripts/contract.sh.

Four server rules cannot be written in JSON Schema, so a request generated as valid
("positive") may still break them; these hooks make such requests valid without touching
the invalid ("negative") ones, whose refusal is what the checks verify:
- a password must not be one of the common passwords (src/crypto/common-passwords.txt);
- `password_confirmation`, when sent, equals `password`;
- an avatar's bytes start with the magic of its declared image type;
- an email address is one mail can be sent to (RFC 5322's grammar, which the schema's
  pattern only approximates from above): a positive one outside a plain ASCII subset of
  that grammar is replaced with one inside it.
And the admin whose token drives the run must not delete or demote itself midway.
"""

import hashlib
import os
import pathlib
import re

import schemathesis

ROOT = pathlib.Path(__file__).resolve().parent.parent
COMMON = {line for line in (ROOT / "src/crypto/common-passwords.txt").read_text().splitlines() if line}
MAGIC = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff", "image/gif": b"GIF89a"}
ADMIN_ID = int(os.environ["CONTRACT_ADMIN_ID"])
ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
DELIVERABLE = re.compile(rf"{ATEXT}(?:\.{ATEXT})*@{LABEL}(?:\.{LABEL})*")
ADMIN_PATHS = {"/api/users/{id}", "/api/users/{id}/roles", "/api/users/{id}/sessions"}


def _is_positive(case):
    meta = case.meta
    return meta is not None and meta.generation.mode.is_positive


def _deliverable(address):
    return len(address) <= 254 and DELIVERABLE.fullmatch(address) is not None and len(address.split("@")[0]) <= 64


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    path = case.operation.path
    if path in ADMIN_PATHS and case.path_parameters and case.path_parameters.get("id") == ADMIN_ID:
        case.path_parameters["id"] = 0
    if not _is_positive(case):
        return
    body = case.body
    if isinstance(body, dict):
        for field in ("password", "new_password"):
            value = body.get(field)
            if isinstance(value, str) and value.lower() in COMMON:
                body[field] = ("~" + value)[:256]
        for field in ("email", "new_email"):
            value = body.get(field)
            if isinstance(value, str) and value and not _deliverable(value):
                digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
                body[field] = f"u{digest[:16]}@example.com"
        if path == "/api/signup" and body.get("password_confirmation") is not None:
            body["password_confirmation"] = body.get("password")
    if path == "/api/me/avatar" and isinstance(body, (bytes, bytearray)):
        magic = MAGIC.get((case.media_type or "").split(";")[0].strip().lower())
        if magic is not None and not bytes(body).startswith(magic):
            case.body = magic + bytes(body)
