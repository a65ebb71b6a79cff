"""Statements with attachments, as xAPI 2.0 sends them (Communication 1.5): a
``multipart/mixed`` body whose first part is the statements (``application/json``) and whose
other parts are the attachments' contents, each named by the SHA-256 of its content in
``X-Experience-API-Hash``; and signed statements, whose signature is such an attachment (a
JWS, Data 2.6). No I/O: parsing, the hash rules and the signature check.

A signature is checked as the spec asks an LRS to: it is a JWS in compact serialisation,
signed with RS256, RS384 or RS512; its payload is the statement it signs (compared as
statements are, without their attachments); and when its header carries an ``x5c`` chain, the
signature verifies with the first certificate's key. Without ``x5c`` the LRS cannot know the
signer's key, and only the form and payload are checked.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

from services.learner.xapi.validation import SIGNATURE_USAGE, fingerprint

SIGNATURE_ALGORITHMS = ["RS256", "RS384", "RS512"]
HASH_HEADER = "X-Experience-API-Hash"


class AttachmentError(ValueError):
    """The request's attachments break a rule; the message says which."""


@dataclass(frozen=True)
class Part:
    """An attachment's content as sent."""

    content_type: str
    data: bytes


def _content(part: Any) -> bytes:
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def parse_multipart(content_type: str, body: bytes) -> tuple[Any, dict[str, Part]]:
    """The statements (parsed JSON) and the attachments' contents by SHA-256."""
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    if not message.is_multipart():
        raise AttachmentError("the multipart/mixed body has no parts (is the boundary right?)")
    parts = list(message.iter_parts())
    if not parts:
        raise AttachmentError("the multipart/mixed body has no parts")
    first = parts[0]
    if first.get_content_type() != "application/json":
        raise AttachmentError("the first part must be the statements, as application/json")
    try:
        statements = json.loads(_content(first))
    except ValueError as exc:
        raise AttachmentError(f"the statements part is not valid JSON: {exc}") from exc
    found: dict[str, Part] = {}
    for n, part in enumerate(parts[1:], start=1):
        declared = part.get(HASH_HEADER)
        if not declared:
            raise AttachmentError(f"part {n} has no {HASH_HEADER} header")
        data = _content(part)
        if hashlib.sha256(data).hexdigest() != str(declared).strip().lower():
            raise AttachmentError(f"part {n}'s content does not have the SHA-256 it declares")
        found[str(declared).strip().lower()] = Part(part.get_content_type(), data)
    return statements, found


def attachment_errors(statements: list[dict[str, Any]], parts: dict[str, Part]) -> list[str]:
    """Every attachment without a ``fileUrl`` has its content among the parts; every part is
    some statement's attachment; signatures are well formed and sign their statement."""
    errors: list[str] = []
    used: set[str] = set()
    for n, statement in enumerate(statements):
        prefix = f"[{n}]" if len(statements) > 1 else ""
        for a, attachment in enumerate(statement.get("attachments") or []):
            where = f"{prefix}attachments[{a}]"
            sha2 = str(attachment.get("sha2", "")).lower()
            if sha2 in parts:
                used.add(sha2)
            elif "fileUrl" not in attachment:
                errors.append(
                    f"{where}: has no fileUrl, and the request has no part with its sha2 "
                    "(send it as multipart/mixed with X-Experience-API-Hash)"
                )
                continue
            if attachment.get("usageType") == SIGNATURE_USAGE:
                if attachment.get("contentType") != "application/octet-stream":
                    errors.append(f"{where}.contentType: a signature is application/octet-stream")
                if sha2 not in parts:
                    errors.append(f"{where}: a signature's JWS must be sent as a part")
                    continue
                errors += [f"{where}: {e}" for e in signature_errors(statement, parts[sha2].data)]
    errors += [
        f"the part with SHA-256 {sha2} is no statement's attachment" for sha2 in parts.keys() - used
    ]
    return errors


def _b64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _without_attachments(statement: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in statement.items() if k not in ("attachments", "id")}


def signature_errors(statement: dict[str, Any], token: bytes) -> list[str]:
    """What is wrong with a statement's signature (empty: it signs this statement)."""
    text = token.decode("ascii", errors="replace").strip()
    segments = text.split(".")
    if len(segments) != 3:
        return ["the signature is not a JWS in compact serialisation"]
    try:
        header = json.loads(_b64(segments[0]))
        payload = json.loads(_b64(segments[1]))
    except (ValueError, binascii.Error):
        return ["the signature's header or payload is not base64url-encoded JSON"]
    if not isinstance(header, dict) or header.get("alg") not in SIGNATURE_ALGORITHMS:
        return [f"the signature's alg must be one of {', '.join(SIGNATURE_ALGORITHMS)}"]
    if not isinstance(payload, dict):
        return ["the signature's payload is not a statement"]
    same_id = "id" not in payload or str(payload["id"]).lower() == str(statement.get("id")).lower()
    if not same_id or fingerprint(_without_attachments(payload)) != fingerprint(
        _without_attachments(statement)
    ):
        return ["the signature's payload is not the statement it is attached to"]
    chain = header.get("x5c")
    if chain is None:
        return []
    try:
        certificate = x509.load_der_x509_certificate(base64.b64decode(chain[0]))
        pem = certificate.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        jws.deserialize_compact(text, RSAKey.import_key(pem), registry=_registry())
    except (ValueError, TypeError, IndexError, JoseError):
        return ["the signature does not verify with the key of its x5c certificate"]
    return []


def _registry() -> jws.JWSRegistry:
    """joserfc's checks, with room for an ``x5c`` chain in the header (its default allows
    512 bytes; one certificate is about 1 KB) and for a large statement as the payload."""
    registry = jws.JWSRegistry(algorithms=SIGNATURE_ALGORITHMS)
    registry.max_header_length = 64 * 1024
    registry.max_payload_length = 4 * 1024 * 1024
    return registry


def multipart(parts: list[tuple[str, dict[str, str], bytes]]) -> tuple[bytes, str]:
    """A multipart/mixed body of (content type, headers, content) parts, and its type."""
    boundary = "lt-xapi-" + hashlib.sha256(b"".join(p[2] for p in parts)).hexdigest()[:24]
    chunks: list[bytes] = []
    for content_type, headers, data in parts:
        head = [f"--{boundary}", f"Content-Type: {content_type}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        chunks.append(("\r\n".join(head) + "\r\n\r\n").encode() + data + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f'multipart/mixed; boundary="{boundary}"'
