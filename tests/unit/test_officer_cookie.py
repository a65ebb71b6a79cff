"""The officer session cookie follows the portal's rule: over https it is ``Secure`` and
``__Host-`` named, ``HttpOnly; SameSite=Lax`` always; forms come from the pages' one origin."""

from __future__ import annotations

from fastapi.responses import Response

from services.common.portal import set_cookie
from services.insights.officers import cookie_name, origins, secure
from services.insights.settings import InsightsSettings


def _settings(url: str) -> InsightsSettings:
    return InsightsSettings(
        identity_hmac_key="k", token_secret="t", admin_token="a", portal_insights_url=url
    )


def test_over_https_the_cookie_is_secure_and_host_prefixed() -> None:
    settings = _settings("https://so-lieu.sgd.khanhhoa.gov.vn/")
    response = Response()
    set_cookie(response, cookie_name(settings), "v", seconds=60, path="/", secure=secure(settings))
    header = response.headers["set-cookie"]
    assert header.startswith("__Host-lt_officer=v;")
    for part in ("HttpOnly", "Secure", "SameSite=lax", "Path=/"):
        assert part in header
    assert origins(settings) == {"https://so-lieu.sgd.khanhhoa.gov.vn"}


def test_on_a_development_machine_over_http_it_is_neither() -> None:
    settings = _settings("http://127.0.0.1:8084")
    assert cookie_name(settings) == "lt_officer" and not secure(settings)
    assert origins(settings) == {"http://127.0.0.1:8084"}
