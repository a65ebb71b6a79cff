"""The learner service as an OpenID Connect relying party of the national e-ID.

Authorization code flow with PKCE (S256), ``state`` and ``nonce`` (OpenID Connect Core 1.0
§3.1; OAuth 2.0 Security BCP): the ID token comes from the provider's token endpoint over the
back channel, and is accepted only if its signature verifies against the provider's published
JWKS (joserfc, the keys re-read once when an unknown ``kid`` appears), it was issued by the
configured issuer for our client id, it has not expired, and its ``nonce`` is the one this
sign-in sent. A sign-in is tied to the browser that started it by a cookie (its hash is kept
with the flow), so a sign-in started by someone else cannot be completed in a victim's browser.
Each ``state`` is good once and for ten minutes; the provider's ``iss`` in the answer must be
ours (RFC 9207, against mix-ups).

Only :func:`verify_id_token` and :func:`new_flow` hold rules; :class:`OidcProvider` talks HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

FLOW_SECONDS = 600
SIGNING_ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")


class OidcRefused(Exception):
    """The sign-in cannot be accepted; the message says why (for the person and the log)."""


@dataclass(frozen=True)
class Flow:
    """What one sign-in keeps between its start and the provider's answer."""

    state: str
    nonce: str
    code_verifier: str
    browser_secret: str  # in the person's cookie; only its hash is stored

    @property
    def code_challenge(self) -> str:
        digest = hashlib.sha256(self.code_verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def new_flow() -> Flow:
    return Flow(
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        code_verifier=secrets.token_urlsafe(48),  # 64 characters: within RFC 7636's 43-128
        browser_secret=secrets.token_urlsafe(32),
    )


def browser_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def verify_id_token(
    id_token: str,
    keys: dict[str, Any],
    *,
    issuer: str,
    client_id: str,
    nonce: str,
    now: int | None = None,
) -> dict[str, Any]:
    """The claims of an ID token that this sign-in may trust, or :class:`OidcRefused`."""
    try:
        token = jwt.decode(id_token, KeySet.import_key_set(keys), algorithms=SIGNING_ALGORITHMS)  # type: ignore[arg-type]
    except (JoseError, ValueError) as exc:
        raise OidcRefused(f"the ID token's signature does not verify ({exc})") from exc
    claims: dict[str, Any] = dict(token.claims)
    registry = jwt.JWTClaimsRegistry(
        now=now or int(time.time()),
        leeway=60,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(claims)
    except JoseError as exc:
        raise OidcRefused(f"the ID token was refused: {exc}") from exc
    audience = claims["aud"]
    if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != client_id:
        raise OidcRefused("the ID token names other audiences and is not for us (azp)")
    return claims


def key_id(token: str) -> str | None:
    """The ``kid`` an ID token names in its header, if any (to refresh the keys on a miss)."""
    try:
        header = token.split(".")[0]
        kid = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))).get("kid")
    except (ValueError, IndexError):
        return None
    return kid if isinstance(kid, str) else None


class OidcProvider:
    """The configured provider: its discovery document, keys and token endpoint."""

    def __init__(
        self,
        issuer: str,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        scopes: str,
        national_id_claim: str,
    ) -> None:
        self.national_id_claim = national_id_claim
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.scopes = scopes
        self._metadata: dict[str, Any] | None = None
        self._keys: dict[str, Any] | None = None

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            found = await self._get(f"{self.issuer}/.well-known/openid-configuration")
            if str(found.get("issuer", "")).rstrip("/") != self.issuer:
                raise OidcRefused("the provider's discovery document names another issuer")
            self._metadata = found
        return self._metadata

    async def keys(self, kid: str | None = None) -> dict[str, Any]:
        """The provider's JWKS; read again when a token names a key not in it (rotation)."""
        known = {k.get("kid") for k in (self._keys or {}).get("keys", [])}
        if self._keys is None or (kid is not None and kid not in known):
            self._keys = await self._get(str((await self.metadata())["jwks_uri"]))
        return self._keys

    async def authorization_url(self, flow: Flow) -> str:
        endpoint = str((await self.metadata())["authorization_endpoint"])
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": self.redirect_uri,
                "scope": self.scopes,
                "state": flow.state,
                "nonce": flow.nonce,
                "code_challenge": flow.code_challenge,
                "code_challenge_method": "S256",
            }
        )
        return f"{endpoint}?{query}"

    async def id_token_for(self, code: str, code_verifier: str) -> str:
        """Exchange the code (with its PKCE verifier) for the ID token."""
        endpoint = str((await self.metadata())["token_endpoint"])
        try:
            async with httpx.AsyncClient(timeout=10, follow_redirects=False) as http:
                answer = await http.post(
                    endpoint,
                    data={
                        "grant_type": "authorization_code",
                        "code": code,
                        "redirect_uri": self.redirect_uri,
                        "code_verifier": code_verifier,
                    },
                    auth=(self.client_id, self.client_secret),
                )
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"the provider did not answer ({exc})") from exc
        if answer.status_code != 200:
            try:
                error = answer.json().get("error", answer.status_code)
            except ValueError:
                error = answer.status_code
            raise OidcRefused(f"the provider refused the code ({error})")
        id_token = answer.json().get("id_token")
        if not isinstance(id_token, str):
            raise OidcRefused("the provider's answer holds no ID token")
        return id_token

    async def _get(self, url: str) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=10, follow_redirects=False) as http:
                answer = await http.get(url)
            answer.raise_for_status()
            found: dict[str, Any] = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderUnavailable(f"the provider did not answer ({exc})") from exc
        return found


class ProviderUnavailable(Exception):
    """The provider could not be reached (a 503 for the person: try again)."""
