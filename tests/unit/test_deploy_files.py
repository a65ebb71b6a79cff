"""docker-compose.yml cannot run here; what can be checked by reading it is checked."""

from __future__ import annotations

from pathlib import Path

import yaml

from services.common.settings import Settings
from services.credential.settings import CredentialSettings
from services.insights.settings import InsightsSettings
from services.learner.settings import LearnerSettings
from services.notify.settings import DeliverySettings, NotifySettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


# each service's one settings object, built from the chassis' Settings
SETTINGS: dict[str, type[Settings]] = {
    "learner": LearnerSettings,
    "credential": CredentialSettings,
    "notify": NotifySettings,
    "insights": InsightsSettings,
}


def _env_names(model: type[Settings]) -> set[str]:
    names = {f"LT_{name.upper()}" for name in model.model_fields if name != "delivery"}
    if model is NotifySettings:  # its delivery section, read from LT_NOTIFY_*
        names |= {f"LT_NOTIFY_{name.upper()}" for name in DeliverySettings.model_fields}
    return names | {"MONGODB_URI"}


def test_services_environment_names_match_the_settings_object() -> None:
    for name, model in SETTINGS.items():
        known = _env_names(model)
        service = COMPOSE["services"][name]
        env = service["environment"]
        assert set(env) <= known, f"{name}: unknown settings {set(env) - known}"
        assert env["LT_SERVICE"] == name
        assert service["command"] == ["python", "-m", f"services.{name}"]
        required = {f"LT_{n.upper()}" for n, f in model.model_fields.items() if f.is_required()}
        assert required <= set(env), f"{name} lacks required settings {required - set(env)}"


def test_every_service_has_one_settings_object_built_from_the_chassis() -> None:
    for name, model in SETTINGS.items():
        assert issubclass(model, Settings) and model is not Settings, name
        main = (ROOT / "services" / name / "__main__.py").read_text()
        assert f'{model.__name__}(service="{name}")' in main, name


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
