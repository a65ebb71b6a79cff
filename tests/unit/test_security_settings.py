"""Secrets come only from the environment: no defaults, no files, never printed (no I/O)."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings

from services.common.settings import Settings
from services.notify.settings import DeliverySettings

REQUIRED_SECRETS = {"identity_hmac_key", "token_secret", "admin_token"}


def _secret_fields(model: type[BaseSettings]) -> dict[str, object]:
    return {
        name: info.default
        for name, info in model.model_fields.items()
        if SecretStr in (getattr(info.annotation, "__args__", None) or (info.annotation,))
    }


@pytest.mark.parametrize("model", [Settings, DeliverySettings])
def test_no_secret_has_a_value_built_in_and_none_is_read_from_a_file(
    model: type[BaseSettings],
) -> None:
    secrets = _secret_fields(model)
    assert secrets, "the settings hold secrets"
    for name, default in secrets.items():
        assert default is None or repr(default) == "PydanticUndefined", name
    assert model.model_config.get("env_file") is None
    assert model.model_config.get("secrets_dir") is None


def test_the_service_secrets_must_be_set(monkeypatch: pytest.MonkeyPatch) -> None:
    assert set(_secret_fields(Settings)) >= REQUIRED_SECRETS
    for name in REQUIRED_SECRETS:
        monkeypatch.delenv(f"LT_{name.upper()}", raising=False)
    with pytest.raises(ValidationError) as exc:
        Settings()
    assert {str(e["loc"][0]) for e in exc.value.errors()} == REQUIRED_SECRETS


def test_secrets_are_read_from_the_environment_and_never_printed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LT_IDENTITY_HMAC_KEY", "hmac-value-from-env")
    monkeypatch.setenv("LT_TOKEN_SECRET", "token-value-from-env")
    monkeypatch.setenv("LT_ADMIN_TOKEN", "admin-value-from-env")
    settings = Settings()
    assert settings.token_secret.get_secret_value() == "token-value-from-env"
    shown = repr(settings) + str(settings) + settings.model_dump_json()
    for value in ("hmac-value-from-env", "token-value-from-env", "admin-value-from-env"):
        assert value not in shown
