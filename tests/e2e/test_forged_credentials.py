"""The audit's forgeries against the running system: each gets the documented verdict from
``trail verify`` (exit 1 a check failed, 2 something could not be checked), from
``POST /v1/verify`` (``verdict``) and, for stored credentials, from the verification page."""

from __future__ import annotations

import asyncio
import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from services.common.mongo import Document
from services.credential.sealing import unseal
from services.credential.vc.contexts import ensure_assets, runtime_loader
from services.credential.vc.jsonld import LocalDocumentLoader
from services.credential.vc.keys import KeyRing, did_key, did_web, new_key_ring
from services.credential.vc.proofs import sign, unsecured
from services.credential.vc.statuslist import build_status_list_credential, status_entry
from tests.conftest import Stack
from tests.e2e.test_credentials import cred, learner_with_records, run_cli, verify


async def department_ring(stack: Stack) -> KeyRing:
    """The department's signing keys, as the service keeps them (sealed in its database)."""
    client: AsyncMongoClient[Document] = AsyncMongoClient(stack.mongodb_uri, tz_aware=True)
    try:
        stored = await client["lt_credential"]["issuer_keys"].find_one({"_id": "issuer"})
    finally:
        await client.close()
    assert stored is not None
    return KeyRing.from_dict(unseal(stored["sealed"], stack.secrets["LT_KEY_ENCRYPTION_KEY"]))


def resigned(
    document: dict[str, Any], ring: KeyRing, method: str, loader: LocalDocumentLoader
) -> dict[str, Any]:
    """``document`` with its proof replaced by one of ``ring``'s current key, naming
    ``method`` as the verification method."""
    return sign(unsecured(document), ring.current, method, datetime.now(UTC), loader)


async def cli(tmp_path: Path, name: str, document: Any, *args: str, expect: int) -> None:
    """``trail verify`` exits with ``expect``, and its JSON verdict says the same."""
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    done = await asyncio.to_thread(run_cli, "verify", str(path), *args, "--json")
    assert done.returncode in (0, 1, 2), done.stdout + done.stderr
    verdict = json.loads(done.stdout)["verdict"]
    assert (done.returncode, verdict["exit_code"]) == (expect, expect), (name, verdict["summary"])


async def test_forged_credentials_get_the_documented_verdict_everywhere(
    stack: Stack, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    learner_id, _, _ = await learner_with_records(http, stack, count=2)
    issued = await http.post(
        cred(stack, f"/v1/learners/{learner_id}/credentials"), headers=stack.admin
    )
    assert issued.status_code == 201, issued.text
    clr = issued.json()
    did = clr["issuer"]["id"]
    list_url = clr["credentialStatus"]["statusListCredential"]
    loader = runtime_loader(ensure_assets())
    pinned = tmp_path / "did.json"
    pinned.write_text((await http.get(cred(stack, "/.well-known/did.json"))).text)
    status_list = tmp_path / "status-list.json"
    status_list.write_text((await http.get(list_url)).text)
    offline = ("--trust-list", str(pinned), "--status-list", str(status_list))
    nobody = tmp_path / "nobody.json"
    nobody.write_text("{}")

    # the genuine credential: 0 everywhere; without its status list offline, 2
    genuine = await verify(http, stack, clr, trusted_only="true")
    assert genuine["verdict"]["exit_code"] == 0 and genuine["verdict"]["status"] == "valid"
    await cli(tmp_path, "genuine", clr, *offline, expect=0)
    await cli(tmp_path, "genuine-online", clr, "--trust-list", str(pinned), "--online", expect=0)
    await cli(tmp_path, "genuine-no-list", clr, "--trust-list", str(pinned), expect=2)

    # an attacker's key in the department's did:web fragment
    attacker = new_key_ring(did, datetime.now(UTC))
    fragment = resigned(clr, attacker, attacker.verification_method(), loader)
    report = await verify(http, stack, fragment)
    assert report["verdict"]["exit_code"] == 1
    assert any(c["check"] == "proof" and c["path"] == "$" for c in report["verdict"]["failed"])
    await cli(tmp_path, "fragment", fragment, *offline, expect=1)
    await cli(tmp_path, "fragment-unpinned", fragment, "--trust-list", str(nobody), expect=2)
    online = ("--trust-list", str(nobody), "--online")
    await cli(tmp_path, "fragment-online", fragment, *online, expect=1)

    # a did:key verification method under the department's did:web issuer
    key_method = did_key(attacker.current.public_key)
    under = resigned(clr, attacker, f"{key_method}#{key_method.removeprefix('did:key:')}", loader)
    report = await verify(http, stack, under)
    assert report["verdict"]["exit_code"] == 1
    assert "not controlled by the issuer" in report["verdict"]["summary"]
    await cli(tmp_path, "did-key", under, *offline, expect=1)

    # a CLR from did:web:evil.example, signed with evil's own key
    evil = new_key_ring(did_web("evil.example"), datetime.now(UTC))
    from_evil = copy.deepcopy(clr)
    from_evil["issuer"]["id"] = evil.controller
    del from_evil["credentialStatus"]  # the department's list is not evil's: that would fail
    from_evil = resigned(from_evil, evil, evil.verification_method(), loader)
    report = await verify(http, stack, from_evil)
    assert report["verdict"]["exit_code"] == 2 and report["status"] == "indeterminate"
    strict = await verify(http, stack, from_evil, trusted_only="true")
    assert strict["verdict"]["exit_code"] == 1
    await cli(tmp_path, "evil", from_evil, *offline, expect=2)
    await cli(tmp_path, "evil-strict", from_evil, *offline, "--trusted-only", expect=1)

    # the @context order swapped (CLR and OB contexts): the proof may still hold, the order
    # must not
    swapped = copy.deepcopy(clr)
    contexts = swapped["@context"]
    contexts[1], contexts[2] = contexts[2], contexts[1]
    report = await verify(http, stack, swapped)
    assert report["verdict"]["exit_code"] == 1
    assert {"check": "context", "path": "$"}.items() <= report["verdict"]["failed"][0].items()
    await cli(tmp_path, "swapped", swapped, *offline, expect=1)

    # signed by the department, but its status list cannot be obtained
    ring = await department_ring(stack)
    missing_url = list_url.rsplit("/", 1)[0] + "/999999"
    unreachable = unsecured(clr)
    unreachable["credentialStatus"] = status_entry(missing_url, 7)
    unreachable = sign(
        unreachable, ring.current, ring.verification_method(), datetime.now(UTC), loader
    )
    report = await verify(http, stack, unreachable, trusted_only="true")
    assert report["verdict"]["exit_code"] == 2, report["verdict"]
    assert "cannot be obtained" in report["verdict"]["summary"]
    await cli(tmp_path, "unreachable", unreachable, *offline, expect=2)
    online_pinned = ("--trust-list", str(pinned), "--online")
    await cli(tmp_path, "unreachable-online", unreachable, *online_pinned, expect=2)

    # a status list with a forged proof (an attacker's key in the department's name)
    forged_list = build_status_list_credential(list_url, did, [], datetime.now(UTC))
    forged_list = sign(
        forged_list, attacker.current, attacker.verification_method(), datetime.now(UTC), loader
    )
    forged_file = tmp_path / "forged-list.json"
    forged_file.write_text(json.dumps(forged_list))
    args = ("--trust-list", str(pinned), "--status-list", str(forged_file))
    await cli(tmp_path, "with-forged-list", clr, *args, expect=1)


async def test_the_verification_page_says_the_verdict_in_words(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    learner_id, _, _ = await learner_with_records(http, stack, count=1)
    issued = await http.post(
        cred(stack, f"/v1/learners/{learner_id}/credentials"), headers=stack.admin
    )
    credential_id = issued.json()["id"]
    url = cred(stack, f"/v1/credentials/{credential_id}/verification")
    page = await http.get(url, headers={"Accept": "text/html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'data-exit-code="0"' in page.text and "Chứng nhận hợp lệ" in page.text
    english = await http.get(url, params={"format": "html", "lang": "en"})
    assert 'data-exit-code="0"' in english.text and "Valid credential" in english.text
    as_json = (await http.get(url)).json()
    assert as_json["verdict"] == {**as_json["verdict"], "status": "valid", "exit_code": 0}


async def test_trail_verify_online_fetches_again_a_cached_list_an_older_stack_served(
    stack: Stack, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    """``.cache/status-lists/`` is keyed by URL; a stack started afresh at the same address
    serves other lists (new keys, new bits). A cached copy that fails its proof, or has
    expired, is fetched again rather than trusted (the defect: an old copy gave 'revoked')."""
    from cli.verifying import _cache_file, verify_file

    learner_id, _, _ = await learner_with_records(http, stack, count=1)
    issued = await http.post(
        cred(stack, f"/v1/learners/{learner_id}/credentials"), headers=stack.admin
    )
    clr = issued.json()
    did, entry = clr["issuer"]["id"], clr["credentialStatus"]
    list_url = entry["statusListCredential"]
    pinned = tmp_path / "did.json"
    pinned.write_text((await http.get(cred(stack, "/.well-known/did.json"))).text)
    document = tmp_path / "clr.json"
    document.write_text(json.dumps(clr, ensure_ascii=False), encoding="utf-8")
    loader = runtime_loader(ensure_assets())
    now = datetime.now(UTC)
    older_stack = new_key_ring(did, now)  # the same DID, the keys of a stack since removed
    old_list = build_status_list_credential(
        list_url, did, [int(entry["statusListIndex"])], now, valid_until=now + timedelta(minutes=15)
    )
    old_list = sign(old_list, older_stack.current, older_stack.verification_method(), now, loader)
    expired = build_status_list_credential(
        list_url,
        did,
        [int(entry["statusListIndex"])],
        now - timedelta(hours=1),
        valid_until=now - timedelta(minutes=30),
    )
    genuine_ring = await department_ring(stack)
    expired = sign(expired, genuine_ring.current, genuine_ring.verification_method(), now, loader)
    for name, poisoned in (("older-stack", old_list), ("expired", expired)):
        cache = tmp_path / name
        cache.mkdir()
        cached = _cache_file(list_url, cache)
        cached.write_text(
            json.dumps({"url": list_url, "fetched": now.isoformat(), "credential": poisoned})
        )
        report = await asyncio.to_thread(
            verify_file, document, pinned, True, online=True, cache_dir=cache
        )
        assert report.status == "valid", (name, report.summary())
        kept = json.loads(cached.read_text())["credential"]
        assert kept["proof"]["verificationMethod"] == genuine_ring.verification_method(), name
        assert kept["validUntil"] > now.isoformat(), name
        # the next verification uses the fresh copy from the cache without asking again
        again = await asyncio.to_thread(
            verify_file, document, pinned, True, online=True, cache_dir=cache
        )
        assert again.status == "valid"
