"""docker-compose.yml cannot run here; what can be checked by reading it is checked."""

from __future__ import annotations

from pathlib import Path

import yaml

from services.common.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _env_names() -> set[str]:
    names = {f"LT_{name.upper()}" for name in Settings.model_fields}
    return names | {"MONGODB_URI"}


def test_services_environment_names_match_the_settings_object() -> None:
    known = _env_names()
    for name in ("learner", "credential", "notify", "insights"):
        service = COMPOSE["services"][name]
        env = service["environment"]
        assert set(env) <= known, f"{name}: unknown settings {set(env) - known}"
        assert env["LT_SERVICE"] == name
        assert service["command"] == ["python", "-m", f"services.{name}"]
        required = {f"LT_{n.upper()}" for n, f in Settings.model_fields.items() if f.is_required()}
        assert required <= set(env), f"{name} lacks required settings {required - set(env)}"


def test_services_wait_for_healthy_kafka_and_mongo() -> None:
    for name in ("learner", "credential", "notify", "insights"):
        depends = COMPOSE["services"][name]["depends_on"]
        assert depends == {
            "kafka": {"condition": "service_healthy"},
            "mongo": {"condition": "service_healthy"},
        }
    assert "healthcheck" in COMPOSE["services"]["kafka"]
    assert "--replSet" in COMPOSE["services"]["mongo"]["command"]


def test_the_credential_service_gets_its_key_encryption_key() -> None:
    env = COMPOSE["services"]["credential"]["environment"]
    assert "LT_KEY_ENCRYPTION_KEY" in env and "LT_PUBLIC_BASE_URL" in env


def test_dockerfile_copies_every_package() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in ("contracts", "services", "cli"):
        assert f"COPY {package} ./{package}" in dockerfile
