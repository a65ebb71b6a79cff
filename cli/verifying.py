"""``trail verify``: a credential file checked against pinned issuer keys (offline) or the
issuers' DID documents and status lists fetched over HTTPS (``--online``).

Online, status lists are fetched and cached by URL under ``.cache/status-lists/``: a cached
list is used until its ``validUntil`` (or for :data:`STATUS_LIST_TTL` when it has none). A URL
can serve another list than the one cached (a development stack started afresh at the same
address, with new keys and new bits): when a verification that used a cached list finds a
status check failed or unknown, the cached lists are dropped, fetched again and the credential
verified once more, so a verdict never rests on an old copy that fails its proof or is stale.
Offline, the lists given with ``--status-list`` are all there is.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from services.credential.vc.contexts import ensure_assets, runtime_loader
from services.credential.vc.keys import did_web_document_url, trust_list_from_did_document
from services.credential.vc.schemas import runtime_schemas
from services.credential.vc.verify import VerificationReport, verify_credential

DEFAULT_TRUST_LIST = Path(".cache/trust-list.json")
STATUS_LIST_CACHE = Path(".cache/status-lists")
STATUS_LIST_TTL = timedelta(minutes=5)
LOOPBACK = ("127.0.0.1", "localhost", "::1")
FETCH_TIMEOUT = 10.0


def read_trust_list(path: Path | None) -> dict[str, list[str]]:
    """Pinned issuers from a file: ``{issuer: [Multikey, …]}`` or an issuer's DID document
    (only its ``assertionMethod`` keys). An issuer listed with no keys is trusted with the
    keys of its DID document, which only ``--online`` can fetch."""
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


def _http_for_loopback(url: str) -> str:
    """A development stack on this machine serves plain HTTP; every other host is HTTPS."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname in LOOPBACK:
        return urlunsplit(("http", *parts[1:]))
    return url


def _get_json(url: str) -> Mapping[str, Any] | None:
    try:
        response = httpx.get(url, timeout=FETCH_TIMEOUT, follow_redirects=False)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    try:
        data = response.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def resolve_did_web(did: str) -> Mapping[str, Any] | None:
    """The DID document of a ``did:web`` DID, fetched over HTTPS (HTTP on loopback only)."""
    return _get_json(_http_for_loopback(did_web_document_url(did)))


def _cache_file(url: str, cache: Path) -> Path:
    return cache / (hashlib.sha256(url.encode()).hexdigest()[:32] + ".json")


def _fresh(list_credential: Mapping[str, Any], fetched: datetime, now: datetime) -> bool:
    raw = list_credential.get("validUntil")
    if isinstance(raw, str):
        try:
            return datetime.fromisoformat(raw.replace("Z", "+00:00")) > now
        except ValueError:
            return False
    return now - fetched < STATUS_LIST_TTL


class StatusLists:
    """Status list credentials by URL: given files first; online, then a fresh cached copy,
    then the network — a fetched list is cached for the next verification."""

    def __init__(
        self, given: Sequence[Path], online: bool, cache: Path = STATUS_LIST_CACHE
    ) -> None:
        self.online = online
        self.cache = cache
        self.from_cache: set[str] = set()  # URLs answered from the cache so far
        self.bypass: set[str] = set()  # URLs to fetch again, whatever the cache holds
        self.given: dict[str, Mapping[str, Any]] = {}
        for path in given:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or not isinstance(data.get("id"), str):
                raise ValueError(f"{path}: not a status list credential (no id)")
            self.given[data["id"]] = data

    def __call__(self, url: str) -> Mapping[str, Any] | None:
        if url in self.given:
            return self.given[url]
        if not self.online:
            return None
        now = datetime.now(UTC)
        cached_file = _cache_file(url, self.cache)
        if cached_file.exists() and url not in self.bypass:
            try:
                stored = json.loads(cached_file.read_text(encoding="utf-8"))
            except ValueError:
                stored = {}  # a damaged cache file is only a miss
            if stored.get("url") == url:
                cached: Mapping[str, Any] | None = stored["credential"]
                fetched = datetime.fromisoformat(stored["fetched"])
                if cached is not None and _fresh(cached, fetched, now):
                    self.from_cache.add(url)
                    return cached
        found = _get_json(url)
        if found is None:
            return None
        self.cache.mkdir(parents=True, exist_ok=True)
        cached_file.write_text(
            json.dumps({"url": url, "fetched": now.isoformat(), "credential": found}),
            encoding="utf-8",
        )
        return found

    def forget_cached(self) -> set[str]:
        """Drop every list this verification took from the cache, so the next asks the
        network; the URLs dropped."""
        dropped = set(self.from_cache)
        for url in dropped:
            _cache_file(url, self.cache).unlink(missing_ok=True)
        self.bypass |= dropped
        self.from_cache.clear()
        return dropped


def _status_questioned(report: VerificationReport) -> bool:
    return any(c.check == "status" and c.result in ("failed", "unknown") for c in report.checks)


def verify_file(
    path: Path,
    trust_list: Path | None,
    trusted_only: bool,
    online: bool = False,
    status_lists: Sequence[Path] = (),
    cache_dir: Path = STATUS_LIST_CACHE,
) -> VerificationReport:
    """Verify the credential in ``path``. Offline, issuer keys come only from the trust list
    and status lists only from ``status_lists`` or the cache; ``online`` fetches the
    ``did:web`` DID documents and status lists the trust list and cache do not give; a
    status check failed or unknown on a cached list is checked again on a fresh one."""
    text = path.read_text(encoding="utf-8").strip()
    document: dict[str, Any] | str = text if not text.startswith("{") else json.loads(text)
    assets = ensure_assets()
    lists = StatusLists(status_lists, online, cache_dir)
    loader, schemas = runtime_loader(assets), runtime_schemas(assets)
    pinned = read_trust_list(trust_list)

    def run() -> VerificationReport:
        return verify_credential(
            document,
            loader=loader,
            schemas=schemas,
            trust_list=pinned,
            now=datetime.now(UTC),
            status_source=lists,
            trusted_only=trusted_only,
            did_source=resolve_did_web if online else None,
        )

    report = run()
    if online and _status_questioned(report) and lists.forget_cached():
        report = run()  # the cached copy may be an old stack's or stale: ask the URL again
    return report
