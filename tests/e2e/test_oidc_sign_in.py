"""Sign-in with the national e-ID's stand-in — the local OpenID provider (panva's oidc-provider,
started by ``trail dev up``) — driven over HTTP as a browser would (no browser yet): the
learner service as relying party, authorization code + PKCE, state, nonce, the ID token
checked against the provider's JWKS."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from cli import localstack
from services.learner.oidc import OidcProvider, OidcRefused, new_flow, verify_id_token
from tests.conftest import Stack, eventually, national_id, new_provider, submission
from tests.e2e.test_record_path import submit


def _learner(stack: Stack, path: str) -> str:
    return f"{stack.endpoints.learner}{path}"


async def through_provider(
    client: httpx.AsyncClient, authorization_url: str, citizen: str, back_to: str
) -> str:
    """Sign in at the provider as ``citizen`` and consent; the URL it sends the browser back
    to (not followed)."""
    url = authorization_url
    for _ in range(12):
        answer = await client.get(url)
        if answer.status_code in (302, 303):
            url = urljoin(url, answer.headers["location"])
            if url.startswith(back_to):
                return url
            continue
        assert answer.status_code == 200, answer.text
        prompt = "login" if 'name="login"' in answer.text else "consent"
        form = {"prompt": prompt, "login": citizen, "password": "-"}
        posted = await client.post(url, data=form if prompt == "login" else {"prompt": prompt})
        assert posted.status_code == 303, posted.text
        url = urljoin(url, posted.headers["location"])
    pytest.fail("the provider never sent the browser back")


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | changes
    return urlunsplit(parts._replace(query=urlencode(query)))


async def sign_in(
    stack: Stack,
    client: httpx.AsyncClient,
    citizen: str,
    tamper: Callable[[str], str] = lambda url: url,
) -> str:
    """Start at the learner service and come back from the provider: the callback URL."""
    started = await client.get(_learner(stack, "/v1/sign-in/oidc"))
    assert started.status_code == 302, started.text
    assert "lt_oidc_flow" in started.headers["set-cookie"]
    assert "httponly" in started.headers["set-cookie"].lower()
    return await through_provider(
        client, tamper(started.headers["location"]), citizen, _learner(stack, "/v1/sign-in")
    )


def browser() -> httpx.AsyncClient:
    return httpx.AsyncClient(follow_redirects=False, timeout=30)


async def test_signing_in_binds_the_national_id_the_provider_asserts(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    centre = await new_provider(http, stack)
    nid = national_id()
    posted = await submit(http, stack, centre["api_key"], submission(nid, f"OIDC-{nid}"))
    owner_id = posted.json()["learner_id"]
    async with browser() as b:
        back = await b.get(await sign_in(stack, b, nid))
    assert back.status_code == 200, back.text
    signed_in = back.json()
    assert signed_in["session"]["learner_id"] == owner_id
    assert (
        signed_in["binding"]["method"] == "oidc" and signed_in["binding"]["learner_id"] == owner_id
    )
    mine = {"Authorization": f"Bearer {signed_in['session']['access_token']}"}
    # the trail is the credential service's projection: it shows the record a moment later
    await eventually(
        lambda: http.get(
            f"{stack.endpoints.credential}/v1/learners/{owner_id}/trail", headers=mine
        ),
        lambda r: r.status_code == 200 and r.json()["entry_count"] == 1,
    )
    # signing in again (another day, another browser) comes back to the same account
    async with browser() as b:
        again = await b.get(await sign_in(stack, b, nid))
    assert again.status_code == 200 and again.json()["account_id"] == signed_in["account_id"]
    listed = await http.get(
        _learner(stack, "/v1/admin/bindings"), params={"learner_id": owner_id}, headers=stack.admin
    )
    assert [b["method"] for b in listed.json()] == ["oidc"]
    # an account opened by someone else with the owner's details reads nothing of it
    stranger = await http.post(
        _learner(stack, "/v1/learners"),
        json={"full_name": "Nguyễn Thị Hương", "birth_date": "1990-05-14"},
    )
    refused = await http.get(
        f"{stack.endpoints.credential}/v1/learners/{owner_id}/trail",
        headers={"Authorization": f"Bearer {stranger.json()['session']['access_token']}"},
    )
    assert refused.status_code == 403


async def test_an_account_bound_by_a_claim_code_adds_the_national_e_id(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    centre = await new_provider(http, stack)
    nid = national_id()
    opened = await http.post(
        _learner(stack, "/v1/learners"),
        json={"full_name": "Nguyễn Thị Hương", "birth_date": "1990-05-14"},
    )
    card = {
        "learner": {"national_id": nid, "full_name": "Nguyễn Thị Hương", "birth_date": "1990-05-14"}
    }
    code = await http.post(
        _learner(stack, "/v1/claim-codes"), json=card, headers={"X-API-Key": centre["api_key"]}
    )
    claimed = await http.post(
        _learner(stack, "/v1/account/claims"),
        json={"code": code.json()["code"]},
        headers={"Authorization": f"Bearer {opened.json()['session']['access_token']}"},
    )
    assert claimed.status_code == 201, claimed.text
    session = {"Authorization": f"Bearer {claimed.json()['access_token']}"}
    async with browser() as b:
        asked = await b.post(_learner(stack, "/v1/account/oidc"), headers=session)
        assert asked.status_code == 200, asked.text
        url = await through_provider(
            b, asked.json()["authorization_url"], nid, _learner(stack, "/v1/sign-in")
        )
        back = await b.get(url)
    assert back.status_code == 200, back.text
    assert back.json()["account_id"] == opened.json()["account_id"]
    account = await http.get(_learner(stack, "/v1/account"), headers=session)
    assert sorted(b["method"] for b in account.json()["bindings"]) == ["claim_code", "oidc"]
    # a different citizen's e-ID cannot be added to this account
    async with browser() as b:
        asked = await b.post(_learner(stack, "/v1/account/oidc"), headers=session)
        url = await through_provider(
            b, asked.json()["authorization_url"], national_id(), _learner(stack, "/v1/sign-in")
        )
        other = await b.get(url)
    assert other.status_code == 409, other.text


async def test_a_replayed_answer_or_code_is_refused(stack: Stack) -> None:
    async with browser() as b:
        url = await sign_in(stack, b, national_id())
        first = await b.get(url)
        assert first.status_code == 200, first.text
        replayed = await b.get(url)
        assert replayed.status_code == 400 and "completed already" in replayed.json()["detail"]
        # the old code under a fresh sign-in of the same browser: the provider refuses it
        fresh = await b.get(_learner(stack, "/v1/sign-in/oidc"))
        state = parse_qs(urlsplit(fresh.headers["location"]).query)["state"][0]
        code = parse_qs(urlsplit(url).query)["code"][0]
        stolen = await b.get(
            _learner(stack, "/v1/sign-in/oidc/callback"), params={"state": state, "code": code}
        )
    assert stolen.status_code == 401, stolen.text
    assert "refused the code" in stolen.json()["detail"]
    assert stolen.headers["content-type"].startswith("application/problem+json")


async def test_a_wrong_nonce_is_refused_and_binds_nothing(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    centre = await new_provider(http, stack)
    nid = national_id()
    posted = await submit(http, stack, centre["api_key"], submission(nid, f"NONCE-{nid}"))
    async with browser() as b:
        url = await sign_in(stack, b, nid, lambda u: _with_query(u, nonce="attacker-nonce"))
        back = await b.get(url)
    assert back.status_code == 401, back.text
    assert "nonce" in back.json()["detail"]
    listed = await http.get(
        _learner(stack, "/v1/admin/bindings"),
        params={"learner_id": posted.json()["learner_id"]},
        headers=stack.admin,
    )
    assert listed.json() == []


async def test_an_answer_brought_to_another_browser_is_refused(stack: Stack) -> None:
    async with browser() as victim_browser, browser() as other:
        url = await sign_in(stack, victim_browser, national_id())
        elsewhere = await other.get(url)
        assert elsewhere.status_code == 400 and "another browser" in elsewhere.json()["detail"]
        unknown = await other.get(_with_query(url, state="made-up"))
        assert unknown.status_code == 400
        # the browser that started it still completes it
        assert (await victim_browser.get(url)).status_code == 200


def _provider(stack: Stack) -> OidcProvider:
    ports = localstack.Ports.from_env()
    return OidcProvider(
        localstack.oidc_issuer(ports),
        localstack.OIDC_CLIENT_ID,
        stack.secrets["LT_OIDC_CLIENT_SECRET"],
        localstack.oidc_redirect_uri(ports),
        "openid profile national_id",
        "national_id",
    )


def _segment(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_a_tampered_or_foreign_id_token_is_refused(stack: Stack) -> None:
    """Real ID tokens of the local provider (this test is the client, with the learner
    service's registration), then altered: the verifier the callback uses refuses each."""
    provider = _provider(stack)
    flow = new_flow()
    nid = national_id()
    async with browser() as b:
        url = await through_provider(
            b, await provider.authorization_url(flow), nid, provider.redirect_uri
        )
    code = parse_qs(urlsplit(url).query)["code"][0]
    genuine = await provider.id_token_for(code, flow.code_verifier)
    keys = await provider.keys()
    expected = {"issuer": provider.issuer, "client_id": provider.client_id, "nonce": flow.nonce}
    assert verify_id_token(genuine, keys, **expected)["national_id"] == nid

    header, payload, signature = genuine.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    another_person = f"{header}.{_segment({**claims, 'national_id': national_id()})}.{signature}"
    stranger_key = RSAKey.generate_key(
        2048,
        parameters={
            "kid": json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]
        },
    )
    forged = jwt.encode({"alg": "RS256", "kid": stranger_key.kid}, claims, stranger_key)
    unsigned = f"{_segment({'alg': 'none', 'typ': 'JWT'})}.{payload}."
    for what, token, changes in [
        ("claims rewritten", another_person, {}),
        ("signed with another key", forged, {}),
        ("not signed", unsigned, {}),
        ("for another client", genuine, {"client_id": "someone-else"}),
        ("from another issuer", genuine, {"issuer": "http://127.0.0.1:1"}),
        ("with another nonce", genuine, {"nonce": "another"}),
    ]:
        with pytest.raises(OidcRefused):
            verify_id_token(token, keys, **{**expected, **changes})
            pytest.fail(f"an ID token {what} was accepted")
    with pytest.raises(OidcRefused, match="exp"):
        verify_id_token(genuine, keys, **expected, now=int(claims["exp"]) + 3600)
