"""``trail verify``: a credential file checked offline, against pinned issuer keys."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.credential.vc.contexts import ensure_assets, runtime_loader
from services.credential.vc.keys import trust_list_from_did_document
from services.credential.vc.schemas import runtime_schemas
from services.credential.vc.verify import VerificationReport, verify_credential

DEFAULT_TRUST_LIST = Path(".cache/trust-list.json")


def read_trust_list(path: Path | None) -> dict[str, list[str]]:
    """Pinned issuers from a file: ``{issuer: [Multikey, …]}`` or an issuer's DID document."""
    if path is None:
        if not DEFAULT_TRUST_LIST.exists():
            return {}
        path = DEFAULT_TRUST_LIST
    data: Any = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict) and "verificationMethod" in data:
        return {k: list(v) for k, v in trust_list_from_did_document(data).items()}
    if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
        raise ValueError(f"{path}: expected {{issuer: [Multikey, …]}} or a DID document")
    return {str(k): [str(x) for x in v] for k, v in data.items()}


def verify_file(path: Path, trust_list: Path | None, trusted_only: bool) -> VerificationReport:
    """Verify the credential in ``path``; nothing is fetched from the network (the status
    list cannot be, so its check reports ``unknown``)."""
    text = path.read_text(encoding="utf-8").strip()
    document: dict[str, Any] | str = text if not text.startswith("{") else json.loads(text)
    cache = ensure_assets()
    return verify_credential(
        document,
        loader=runtime_loader(cache),
        schemas=runtime_schemas(cache),
        trust_list=read_trust_list(trust_list),
        now=datetime.now(UTC),
        status_source=None,
        trusted_only=trusted_only,
    )
