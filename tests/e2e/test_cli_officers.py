"""`trail officers …` as the department uses it, against the running insights service: an
issuance whose answer is lost is retried with the same Idempotency-Key (one credential, and
its token still shown), the credential works and is listed, a revocation ends it, and a label
holding a national ID is refused in a sentence."""

from __future__ import annotations

import json
import uuid

import httpx

from services.insights.units import catalogue
from tests.conftest import Stack
from tests.e2e.test_cli_providers import LosesFirstAnswer, trail


def _figures(stack: Stack, token: str) -> httpx.Response:
    return httpx.get(
        f"{stack.endpoints.insights}/v1/figures",
        params={"period": "2026"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def test_a_lost_answer_issues_one_credential_that_is_listed_used_and_revoked(
    stack: Stack,
) -> None:
    commune = catalogue().commune("22735") or ""
    label = f"Cán bộ thống kê xã Phước Hậu {uuid.uuid4().hex[:6]}"
    relay = LosesFirstAnswer(stack.endpoints.insights)
    try:
        issued = trail(
            "officers",
            "issue",
            "--unit-code",
            commune,
            "--days",
            "7",
            "--label",
            label,
            env={"LT_INSIGHTS_URL": f"http://127.0.0.1:{relay.port}"},
        )
    finally:
        relay.close()
    assert issued.returncode == 0, issued.stdout + issued.stderr
    assert relay.requests == 2  # the first answer was lost; the retry got it again
    shown = issued.stdout.splitlines()
    assert label in shown[0] and "live until" in shown[0] and "(Vietnam time)" in shown[0]
    credential_id = shown[shown.index("credential id (to list or revoke it):") + 1]
    token = shown[-1]  # whole, on a line of its own
    assert _figures(stack, token).status_code == 200

    listed = json.loads(trail("officers", "list", "--json").stdout)
    mine = [c for c in listed if c["label"] == label]
    assert [c["id"] for c in mine] == [credential_id]  # one credential, not two
    assert mine[0]["status"] == "live" and token not in json.dumps(listed)

    revoked = trail("officers", "revoke", credential_id, "--reason", "Cán bộ chuyển công tác")
    assert revoked.returncode == 0, revoked.stdout + revoked.stderr
    assert "revoked" in revoked.stdout and "Cán bộ chuyển công tác" in revoked.stdout
    refused = _figures(stack, token)
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    described = trail("officers", "list").stdout.splitlines()
    assert "revoked" in described[described.index(credential_id) - 1]


def test_a_label_with_a_national_id_and_an_unknown_unit_are_refused_in_a_sentence(
    stack: Stack,
) -> None:
    national_id = trail("officers", "issue", "--unit-code", "56", "--label", "CCCD 056090001234")
    said = national_id.stdout + national_id.stderr
    assert national_id.returncode == 1 and "Traceback" not in said
    assert "422 Invalid label" in " ".join(said.split()), said
    unknown = trail("officers", "issue", "--unit-code", "999999")
    said = " ".join((unknown.stdout + unknown.stderr).split())
    assert unknown.returncode == 1 and "No unit has the code '999999'" in said, said
    missing = trail("officers", "revoke", "no-such-credential", "--reason", "Lộ mã")
    assert missing.returncode == 1 and "404" in missing.stdout + missing.stderr
