"""The xAPI 2.0 Learning Record Store on the real stack (learner service, Kafka, FerretDB).

Each test names the requirement of IEEE 9274.1.1 (xAPI 2.0) it checks: Communication 1.x
(headers, versions), 2.1 (statement resource), 2.2–2.4 (documents), 3.1 (concurrency), and
Data 2.2–2.4 (statement rules), 2.3.2 (voiding).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from joserfc import jws
from joserfc.jwk import RSAKey

from contracts import xapi
from services.learner.store import LearnerStore
from services.learner.xapi.documents import CLAIM_RETENTION, Address
from services.learner.xapi.store import XapiStore
from services.learner.xapi.validation import agent_key
from tests.conftest import Stack, eventually, national_id, new_provider, read_topic
from tests.e2e.test_record_path import trail_of

pytestmark = pytest.mark.stack

VERBS = "http://adlnet.gov/expapi/verbs/"


class Lrs:
    """A training centre's xAPI client."""

    def __init__(self, http: httpx.AsyncClient, stack: Stack, provider: dict[str, Any]) -> None:
        self.http = http
        self.base = f"{stack.endpoints.learner}/xapi"
        self.provider = provider
        self.provider_id: str = provider["provider"]["id"]
        token = base64.b64encode(f"{self.provider_id}:{provider['api_key']}".encode())
        self.headers = {
            "Authorization": f"Basic {token.decode()}",
            "X-Experience-API-Version": "2.0.0",
        }

    async def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        return await self.http.request(
            method, f"{self.base}{path}", headers={**self.headers, **(headers or {})}, **kwargs
        )

    async def post(self, statements: Any) -> httpx.Response:
        return await self.request("POST", "/statements", json=statements)

    async def get(self, **params: Any) -> httpx.Response:
        return await self.request("GET", "/statements", params=params)


@pytest.fixture
async def lrs(http: httpx.AsyncClient, stack: Stack) -> Lrs:
    return Lrs(http, stack, await new_provider(http, stack))


def agent(name: str | None = None) -> dict[str, Any]:
    return {"objectType": "Agent", "mbox": f"mailto:{name or uuid.uuid4().hex}@example.org"}


def statement(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "actor": agent(),
        "verb": {"id": VERBS + "experienced", "display": {"en-US": "experienced"}},
        "object": {"id": f"https://example.org/activities/{uuid.uuid4().hex}"},
    }
    base.update(changes)
    return base


# Communication 1.x: versions, headers, authentication


async def test_about_needs_no_credentials_and_says_2_0(
    http: httpx.AsyncClient, stack: Stack
) -> None:
    response = await http.get(f"{stack.endpoints.learner}/xapi/about")
    assert response.status_code == 200
    assert "2.0.0" in response.json()["version"]
    assert response.headers["X-Experience-API-Version"] == "2.0.0"


async def test_requests_without_version_header_are_refused_with_the_header_answered(
    lrs: Lrs,
) -> None:
    missing = await lrs.request("GET", "/statements", headers={"X-Experience-API-Version": ""})
    assert missing.status_code == 400
    unsupported = await lrs.request(
        "GET", "/statements", headers={"X-Experience-API-Version": "0.95"}
    )
    assert unsupported.status_code == 400
    assert unsupported.headers["content-type"] == "application/problem+json"
    assert "2.0.0" in unsupported.json()["detail"]
    assert unsupported.headers["X-Experience-API-Version"] == "2.0.0"


async def test_basic_auth_takes_the_centre_or_key_id_with_the_key(
    http: httpx.AsyncClient, stack: Stack, lrs: Lrs
) -> None:
    key = lrs.provider["api_key"]
    for username, expected in (
        (lrs.provider_id, 200),
        (lrs.provider["key_id"], 200),
        (str(uuid.uuid4()), 401),
    ):
        token = base64.b64encode(f"{username}:{key}".encode()).decode()
        response = await lrs.request(
            "GET", "/statements", headers={"Authorization": f"Basic {token}"}
        )
        assert response.status_code == expected, (username, response.text)
    response = await http.get(
        f"{lrs.base}/statements", headers={"X-Experience-API-Version": "2.0.0"}
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert response.headers["content-type"] == "application/problem+json"


# Communication 2.1: the statement resource


async def test_post_stores_and_get_returns_the_statement_with_lrs_properties(lrs: Lrs) -> None:
    sent = statement()
    response = await lrs.post(sent)
    assert response.status_code == 200, response.text
    assert response.json() == [sent["id"]]
    got = await lrs.get(statementId=sent["id"])
    assert got.status_code == 200
    stored = got.json()
    assert stored["actor"] == sent["actor"] and stored["object"] == sent["object"]
    assert stored["version"] == "2.0.0"
    assert stored["authority"]["account"]["name"] == lrs.provider_id
    assert datetime.fromisoformat(stored["stored"].replace("Z", "+00:00")) <= datetime.now(UTC)
    assert stored["timestamp"]  # set by the LRS when not given
    assert "X-Experience-API-Consistent-Through" in got.headers


async def test_an_lrs_assigns_an_id_when_none_is_given(lrs: Lrs) -> None:
    sent = statement()
    del sent["id"]
    response = await lrs.post([sent])
    assert response.status_code == 200
    (assigned,) = response.json()
    assert uuid.UUID(assigned)
    assert (await lrs.get(statementId=assigned)).status_code == 200


async def test_put_needs_statement_id_and_conflicts_are_409(lrs: Lrs) -> None:
    sent = statement()
    sid = sent.pop("id")
    assert (await lrs.request("PUT", "/statements", json=sent)).status_code == 400
    put = await lrs.request("PUT", "/statements", params={"statementId": sid}, json=sent)
    assert put.status_code == 204, put.text
    same = await lrs.request("PUT", "/statements", params={"statementId": sid}, json=sent)
    assert same.status_code == 204
    other = {**sent, "verb": {"id": VERBS + "attempted"}}
    conflict = await lrs.request("PUT", "/statements", params={"statementId": sid}, json=other)
    assert conflict.status_code == 409
    assert conflict.headers["content-type"] == "application/problem+json"
    assert (await lrs.post([{**other, "id": sid}])).status_code == 409
    mismatch = await lrs.request(
        "PUT", "/statements", params={"statementId": sid}, json={**sent, "id": str(uuid.uuid4())}
    )
    assert mismatch.status_code == 400


async def test_a_batch_is_stored_whole_or_not_at_all(lrs: Lrs) -> None:
    good = statement()
    bad = statement(verb={"id": "not an iri"})
    response = await lrs.post([good, bad])
    assert response.status_code == 400
    assert "[1]verb.id" in response.json()["detail"]
    assert (await lrs.get(statementId=good["id"])).status_code == 404
    twins = await lrs.post([good, {**good, "verb": {"id": VERBS + "attempted"}}])
    assert twins.status_code == 400


async def test_each_stored_statement_is_an_event_on_its_own_topic(lrs: Lrs, stack: Stack) -> None:
    sent = statement()
    assert (await lrs.post(sent)).status_code == 200
    assert (await lrs.post(sent)).status_code == 200  # the same again: no second event

    async def events() -> list[Any]:
        return [
            r
            for r in await read_topic(stack.kafka, xapi.TOPIC)
            if json.loads(r.value)["statement_id"] == sent["id"]
        ]

    found = await eventually(events, lambda e: len(e) >= 1)
    assert len(found) == 1
    data = json.loads(found[0].value)
    assert found[0].key.decode() == lrs.provider_id
    assert json.loads(data["statement"])["object"] == sent["object"]
    headers = dict(found[0].headers)
    assert headers["ce_type"].decode() == xapi.STATEMENT_STORED


# Data 2.2 and 2.4: statements that must be refused (400)

INVALID: list[tuple[str, dict[str, Any]]] = [
    ("null outside extensions", statement(result={"response": None})),
    ("string for a number", statement(result={"score": {"raw": "5"}})),
    ("string for a boolean", statement(result={"success": "true"})),
    ("bad uuid", statement(id="12345")),
    ("iri without scheme", statement(verb={"id": "example.org/verb"})),
    ("mbox not mailto", statement(actor={"mbox": "someone@example.org"})),
    ("two identifiers", statement(actor={"mbox": "mailto:a@example.org", "openid": "https://a"})),
    ("no identifier", statement(actor={"name": "Nobody"})),
    ("key in wrong case", {**statement(), "Verb": {"id": VERBS + "x"}}),
    ("extra property", {**statement(), "colour": "blue"}),
    ("objectType case", statement(object={"objectType": "activity", "id": "https://a.org/x"})),
    ("language tag", statement(verb={"id": VERBS + "x", "display": {"not a tag!": "x"}})),
    ("scaled above 1", statement(result={"score": {"scaled": 1.5}})),
    ("raw above max", statement(result={"score": {"raw": 11, "min": 0, "max": 10}})),
    ("min above max", statement(result={"score": {"min": 5, "max": 1}})),
    ("duration", statement(result={"duration": "1 hour"})),
    ("timestamp", statement(timestamp="15/03/2025")),
    ("timestamp -00:00", statement(timestamp="2025-03-15T09:00:00-00:00")),
    (
        "revision with an agent object",
        statement(object=agent(), context={"revision": "2"}),
    ),
    (
        "platform with a statement ref",
        statement(
            object={"objectType": "StatementRef", "id": str(uuid.uuid4())},
            context={"platform": "Moodle"},
        ),
    ),
    (
        "substatement with id",
        statement(
            object={
                "objectType": "SubStatement",
                "id": str(uuid.uuid4()),
                "actor": agent(),
                "verb": {"id": VERBS + "x"},
                "object": {"id": "https://a.org/x"},
            }
        ),
    ),
    (
        "nested substatement",
        statement(
            object={
                "objectType": "SubStatement",
                "actor": agent(),
                "verb": {"id": VERBS + "x"},
                "object": {
                    "objectType": "SubStatement",
                    "actor": agent(),
                    "verb": {"id": VERBS + "x"},
                    "object": {"id": "https://a.org/x"},
                },
            }
        ),
    ),
    (
        "group member is a group",
        statement(
            actor={
                "objectType": "Group",
                "member": [{"objectType": "Group", "mbox": "mailto:g@example.org"}],
            }
        ),
    ),
    ("anonymous group without members", statement(actor={"objectType": "Group"})),
    ("registration not uuid", statement(context={"registration": "abc"})),
    (
        "interaction type",
        statement(object={"id": "https://a.org/q", "definition": {"interactionType": "Choice"}}),
    ),
    ("voiding without statement ref", statement(verb={"id": VERBS + "voided"})),
    (
        "attachment without fileUrl",
        statement(
            attachments=[
                {
                    "usageType": "https://a.org/u",
                    "display": {"en": "x"},
                    "contentType": "text/plain",
                    "length": 1,
                    "sha2": "ab",
                }
            ]
        ),
    ),
    ("version", statement(version="3.0.0")),
]


@pytest.mark.parametrize(("why", "bad"), INVALID, ids=[w for w, _ in INVALID])
async def test_statements_breaking_a_rule_are_refused_with_400(
    lrs: Lrs, why: str, bad: dict[str, Any]
) -> None:
    response = await lrs.post(bad)
    assert response.status_code == 400, (why, response.text)
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"]


async def test_nulls_in_extensions_and_single_context_activities_are_accepted(lrs: Lrs) -> None:
    parent = {"id": "https://example.org/course/1"}
    sent = statement(
        context={"contextActivities": {"parent": parent}, "extensions": {"https://a.org/e": None}}
    )
    assert (await lrs.post(sent)).status_code == 200
    stored = (await lrs.get(statementId=sent["id"])).json()
    assert stored["context"]["contextActivities"]["parent"] == [parent]  # an array, always


# voiding (Data 2.3.2, Communication 2.1.4)


async def test_voided_statements_leave_queries_and_voiding_a_voiding_is_refused(
    lrs: Lrs,
) -> None:
    actor = agent()
    target = statement(actor=actor)
    assert (await lrs.post(target)).status_code == 200
    voiding = statement(
        actor=actor,
        verb={"id": VERBS + "voided"},
        object={"objectType": "StatementRef", "id": target["id"]},
    )
    assert (await lrs.post(voiding)).status_code == 200
    assert (await lrs.get(statementId=target["id"])).status_code == 404
    voided = await lrs.get(voidedStatementId=target["id"])
    assert voided.status_code == 200 and voided.json()["id"] == target["id"]
    assert (await lrs.get(voidedStatementId=voiding["id"])).status_code == 404
    found = (await lrs.get(agent=json.dumps(actor))).json()["statements"]
    assert [s["id"] for s in found] == [voiding["id"]]
    again = statement(
        actor=actor,
        verb={"id": VERBS + "voided"},
        object={"objectType": "StatementRef", "id": voiding["id"]},
    )
    assert (await lrs.post(again)).status_code == 400


# queries (Communication 2.1.3)


async def test_query_filters_paging_and_formats(lrs: Lrs) -> None:
    actor, other = agent(), agent()
    course = "https://example.org/course/" + uuid.uuid4().hex
    registration = str(uuid.uuid4())
    first = statement(
        actor=actor,
        verb={"id": VERBS + "completed", "display": {"en-US": "completed", "vi": "đã hoàn thành"}},
        object={"id": course, "definition": {"name": {"en-US": "Course", "vi": "Khoá học"}}},
        context={"registration": registration},
    )
    second = statement(
        actor=actor,
        verb={"id": VERBS + "attempted"},
        object={"id": "https://example.org/lesson/" + uuid.uuid4().hex},
        context={"contextActivities": {"parent": [{"id": course}]}, "instructor": other},
    )
    third = statement(actor=other, verb={"id": VERBS + "completed"}, object={"id": course})
    before = datetime.now(UTC) - timedelta(seconds=1)
    for s in (first, second, third):
        assert (await lrs.post(s)).status_code == 200

    async def ids(**params: Any) -> list[str]:
        response = await lrs.get(**params)
        assert response.status_code == 200, response.text
        return [s["id"] for s in response.json()["statements"]]

    assert await ids(agent=json.dumps(actor)) == [second["id"], first["id"]]  # newest first
    assert await ids(agent=json.dumps(actor), ascending="true") == [first["id"], second["id"]]
    assert await ids(agent=json.dumps(other)) == [third["id"]]
    assert set(await ids(agent=json.dumps(other), related_agents="true")) == {
        second["id"],
        third["id"],
    }
    assert set(await ids(activity=course)) == {first["id"], third["id"]}
    assert set(await ids(activity=course, related_activities="true")) == {
        first["id"],
        second["id"],
        third["id"],
    }
    assert await ids(verb=VERBS + "completed", agent=json.dumps(actor)) == [first["id"]]
    assert await ids(registration=registration) == [first["id"]]
    since = (await lrs.get(statementId=first["id"])).json()["stored"]
    assert first["id"] not in await ids(agent=json.dumps(actor), since=since)
    assert await ids(agent=json.dumps(actor), until=before.isoformat()) == []

    page = (await lrs.get(agent=json.dumps(actor), limit=1, ascending="true")).json()
    assert [s["id"] for s in page["statements"]] == [first["id"]]
    assert page["more"].startswith("/xapi/statements?")
    url = lrs.base.removesuffix("/xapi") + page["more"]
    nxt = (await lrs.http.get(url, headers=lrs.headers)).json()
    assert [s["id"] for s in nxt["statements"]] == [second["id"]]
    assert nxt["more"] == ""

    shown = (await lrs.get(statementId=first["id"], format="ids")).json()
    assert shown["verb"] == {"id": VERBS + "completed"}
    assert shown["object"] == {"id": course}
    canonical = (
        await lrs.request(
            "GET",
            "/statements",
            params={"statementId": first["id"], "format": "canonical"},
            headers={"Accept-Language": "vi"},
        )
    ).json()
    assert canonical["verb"]["display"] == {"vi": "đã hoàn thành"}

    for bad in (
        {"statementId": first["id"], "agent": json.dumps(actor)},
        {"statementId": first["id"], "voidedStatementId": first["id"]},
        {"agent": "{not json"},
        {"verb": "no scheme"},
        {"since": "yesterday"},
        {"format": "full"},
        {"colour": "blue"},
    ):
        assert (await lrs.get(**bad)).status_code == 400, bad


def ref(target: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A statement whose object is a StatementRef to ``target``."""
    return statement(object={"objectType": "StatementRef", "id": target["id"]}, **changes)


async def test_queries_also_answer_statements_targeting_a_match(lrs: Lrs) -> None:
    """Communication 2.1.3, Filter Conditions for StatementRefs: a statement whose object is
    a StatementRef meets every filter but since/until/limit when its target does, at any
    depth; since, until and limit still apply to it; a StatementRef in context does not."""
    ben, andrew, carl = agent(), agent(), agent()
    training = "https://example.org/explosives/" + uuid.uuid4().hex
    registration = str(uuid.uuid4())
    passed = statement(
        actor=ben,
        verb={"id": VERBS + "passed"},
        object={"id": training},
        context={"registration": registration},
    )
    confirmed = ref(passed, actor=andrew, verb={"id": "https://example.org/verbs/confirmed"})
    noted = ref(confirmed, actor=carl, verb={"id": "https://example.org/verbs/noted"})
    unrelated = statement(actor=andrew)
    in_context = statement(
        actor=carl, context={"statement": {"objectType": "StatementRef", "id": passed["id"]}}
    )
    for s in (passed, confirmed, noted, unrelated, in_context):
        assert (await lrs.post(s)).status_code == 200

    async def ids(**params: Any) -> list[str]:
        response = await lrs.get(ascending="true", **params)
        assert response.status_code == 200, response.text
        return [s["id"] for s in response.json()["statements"]]

    chain = [passed["id"], confirmed["id"], noted["id"]]
    assert await ids(agent=json.dumps(ben)) == chain
    assert await ids(activity=training) == chain
    assert await ids(verb=VERBS + "passed") == chain
    assert await ids(registration=registration) == chain
    assert await ids(agent=json.dumps(ben), verb=VERBS + "passed", activity=training) == chain
    assert await ids(agent=json.dumps(andrew)) == [confirmed["id"], noted["id"], unrelated["id"]]
    assert await ids(verb="https://example.org/verbs/noted") == [noted["id"]]
    # the time and sequence filters apply to the targeting statements themselves
    stored = {
        s["id"]: (await lrs.get(statementId=s["id"])).json()["stored"] for s in (passed, confirmed)
    }
    assert await ids(agent=json.dumps(ben), since=stored[passed["id"]]) == chain[1:]
    assert await ids(agent=json.dumps(ben), until=stored[confirmed["id"]]) == chain[:2]
    page = (await lrs.get(agent=json.dumps(ben), ascending="true", limit=2)).json()
    assert [s["id"] for s in page["statements"]] == chain[:2]
    rest = await lrs.http.get(lrs.base.removesuffix("/xapi") + page["more"], headers=lrs.headers)
    assert [s["id"] for s in rest.json()["statements"]] == chain[2:]

    # Voided Statements: the voided one leaves every query, what targets it (the voiding
    # statement included) is still answered
    voiding = ref(passed, actor=agent(), verb={"id": VERBS + "voided"})
    assert (await lrs.post(voiding)).status_code == 200
    assert await ids(agent=json.dumps(ben)) == [*chain[1:], voiding["id"]]
    assert await ids(activity=training) == [*chain[1:], voiding["id"]]
    # a voided targeting statement is not answered, though what targets it still is
    void_confirmed = ref(confirmed, actor=agent(), verb={"id": VERBS + "voided"})
    assert (await lrs.post(void_confirmed)).status_code == 200
    assert await ids(agent=json.dumps(ben)) == [noted["id"], voiding["id"], void_confirmed["id"]]


async def test_a_centre_sees_only_its_own_statements(
    http: httpx.AsyncClient, stack: Stack, lrs: Lrs
) -> None:
    sent = statement()
    assert (await lrs.post(sent)).status_code == 200
    other = Lrs(http, stack, await new_provider(http, stack))
    assert (await other.get(statementId=sent["id"])).status_code == 404
    assert (await other.get(agent=json.dumps(sent["actor"]))).json()["statements"] == []


# documents (Communication 2.2–2.4, concurrency 3.1)

DOCUMENTS = [
    ("/activities/state", {"activityId": "https://example.org/a", "stateId": "bookmark"}),
    ("/activities/profile", {"activityId": "https://example.org/a", "profileId": "p"}),
    ("/agents/profile", {"profileId": "p"}),
]


@pytest.mark.parametrize(("path", "base"), DOCUMENTS, ids=[p for p, _ in DOCUMENTS])
async def test_document_resources_follow_the_concurrency_rules(
    lrs: Lrs, path: str, base: dict[str, str]
) -> None:
    params = {**base}
    if path != "/activities/profile":
        params["agent"] = json.dumps(agent())
    if "activityId" in params:
        params["activityId"] += "/" + uuid.uuid4().hex
    doc = {"name": "first", "page": 1}
    assert (await lrs.request("GET", path, params=params)).status_code == 404
    created = await lrs.request("POST", path, params=params, json=doc)
    assert created.status_code == 204, created.text
    got = await lrs.request("GET", path, params=params)
    assert got.status_code == 200 and got.json() == doc
    etag = got.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"')

    blind = await lrs.request("PUT", path, params=params, json={"name": "blind"})
    assert blind.status_code == 409 and blind.json()["detail"]
    stale = await lrs.request(
        "PUT", path, params=params, json={"name": "stale"}, headers={"If-Match": '"1234"'}
    )
    assert stale.status_code == 412
    exists = await lrs.request(
        "PUT", path, params=params, json={"name": "new"}, headers={"If-None-Match": "*"}
    )
    assert exists.status_code == 412
    assert (await lrs.request("GET", path, params=params)).json() == doc

    stale_post = await lrs.request(
        "POST", path, params=params, json={"more": 1}, headers={"If-Match": '"1234"'}
    )
    assert stale_post.status_code == 412
    merged = await lrs.request(
        "POST", path, params=params, json={"page": 2, "more": True}, headers={"If-Match": etag}
    )
    assert merged.status_code == 204
    assert (await lrs.request("GET", path, params=params)).json() == {
        "name": "first",
        "page": 2,
        "more": True,
    }
    not_json = await lrs.request(
        "POST", path, params=params, content=b"plain", headers={"Content-Type": "text/plain"}
    )
    assert not_json.status_code == 400

    current = (await lrs.request("GET", path, params=params)).headers["ETag"]
    replaced = await lrs.request(
        "PUT", path, params=params, json={"name": "replaced"}, headers={"If-Match": current}
    )
    assert replaced.status_code == 204
    assert (await lrs.request("GET", path, params=params)).json() == {"name": "replaced"}

    many = {k: v for k, v in params.items() if k not in ("stateId", "profileId")}
    listed = await lrs.request("GET", path, params=many)
    assert listed.status_code == 200 and listed.json() == [base.get("stateId", "p")]

    assert (
        await lrs.request("DELETE", path, params=params, headers={"If-Match": '"1234"'})
    ).status_code == 412
    assert (await lrs.request("DELETE", path, params=params)).status_code == 204
    assert (await lrs.request("GET", path, params=params)).status_code == 404


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_last_modified_on_statements(lrs: Lrs) -> None:
    """Communication 2.1.3: Last-Modified is the latest stored of the statements returned."""
    actor = agent()
    first, second = statement(actor=actor), statement(actor=actor)
    for s in (first, second):
        assert (await lrs.post(s)).status_code == 200
    stored = [(await lrs.get(statementId=s["id"])).json()["stored"] for s in (first, second)]
    assert _instant(stored[0]) < _instant(stored[1])
    one = await lrs.get(statementId=first["id"])
    assert _instant(one.headers["Last-Modified"]) == _instant(stored[0])
    newest = await lrs.get(agent=json.dumps(actor), ascending="true")
    assert _instant(newest.headers["Last-Modified"]) == _instant(stored[1])
    oldest = await lrs.get(agent=json.dumps(actor), ascending="true", limit=1)
    assert _instant(oldest.headers["Last-Modified"]) == _instant(stored[0])
    none = await lrs.get(agent=json.dumps(agent()))
    assert none.json()["statements"] == [] and "Last-Modified" not in none.headers


@pytest.mark.parametrize(("path", "base"), DOCUMENTS, ids=[p for p, _ in DOCUMENTS])
async def test_documents_say_when_they_changed_and_lists_take_since(
    lrs: Lrs, path: str, base: dict[str, str]
) -> None:
    """Communication 2.3–2.4 (2.0: 4.1.6.2, .5, .6): a single document GET carries
    Last-Modified; a list of ids with since names only the documents stored or changed
    after it (exclusive); since with a document id is refused."""
    params = {**base}
    if path != "/activities/profile":
        params["agent"] = json.dumps(agent())
    if "activityId" in params:
        params["activityId"] += "/" + uuid.uuid4().hex
    name = "stateId" if "stateId" in base else "profileId"
    many = {k: v for k, v in params.items() if k != name}
    before = datetime.now(UTC) - timedelta(seconds=2)
    old = {**params, name: "old"}
    assert (await lrs.request("PUT", path, params=old, json={"n": 1})).status_code == 204
    got = await lrs.request("GET", path, params=old)
    changed = _instant(got.headers["Last-Modified"])
    assert before < changed <= datetime.now(UTC) + timedelta(seconds=2)
    await asyncio.sleep(0.05)
    new = {**params, name: "new"}
    assert (await lrs.request("PUT", path, params=new, json={"n": 2})).status_code == 204

    async def listed(since: str | None) -> Any:
        response = await lrs.request(
            "GET", path, params={**many, **({"since": since} if since else {})}
        )
        assert response.status_code == 200, response.text
        return sorted(response.json())

    assert await listed(None) == ["new", "old"]
    assert await listed(before.isoformat()) == ["new", "old"]
    assert await listed(got.headers["Last-Modified"]) == ["new"]
    # changing the old document makes it listed again
    etag = got.headers["ETag"]
    assert (
        await lrs.request("PUT", path, params=old, json={"n": 3}, headers={"If-Match": etag})
    ).status_code == 204
    assert await listed(got.headers["Last-Modified"]) == ["new", "old"]
    assert (await lrs.request("GET", path, params={**many, "since": "soon"})).status_code == 400
    with_id = {**old, "since": before.isoformat()}
    assert (await lrs.request("GET", path, params=with_id)).status_code == 400


async def test_non_json_documents_keep_their_content_type(lrs: Lrs) -> None:
    params = {
        "activityId": "https://example.org/a/" + uuid.uuid4().hex,
        "agent": json.dumps(agent()),
        "stateId": "blob",
    }
    put = await lrs.request(
        "PUT",
        "/activities/state",
        params=params,
        content=b"\x00\x01binary",
        headers={"Content-Type": "application/octet-stream"},
    )
    assert put.status_code == 204
    got = await lrs.request("GET", "/activities/state", params=params)
    assert got.content == b"\x00\x01binary"
    assert got.headers["content-type"] == "application/octet-stream"


async def test_activities_and_agents_resources(lrs: Lrs) -> None:
    """Communication 2.5 (Agents: a Person, each property an array) and 2.6 (Activities:
    an Activity even when none is defined; else the canonical definition, here merged from
    the centre's statements)."""
    unknown = "https://example.org/a/" + uuid.uuid4().hex
    activity = await lrs.request("GET", "/activities", params={"activityId": unknown})
    assert activity.status_code == 200
    assert activity.json() == {"objectType": "Activity", "id": unknown}
    course = "https://example.org/course/" + uuid.uuid4().hex
    parent = "https://example.org/programme/" + uuid.uuid4().hex
    ext = "https://example.org/ext/hours"
    first = statement(
        object={
            "id": course,
            "definition": {
                "name": {"en-US": "Welding"},
                "type": "http://adlnet.gov/expapi/activities/course",
                "extensions": {ext: 8},
            },
        },
        context={
            "contextActivities": {
                "parent": {"id": parent, "definition": {"name": {"vi": "Chương trình"}}}
            }
        },
    )
    second = statement(
        object={
            "id": course,
            "definition": {
                "name": {"vi": "Hàn"},
                "description": {"en-US": "Arc welding"},
                "type": "http://adlnet.gov/expapi/activities/lesson",
            },
        }
    )
    assert (await lrs.post(first)).status_code == 200
    assert (await lrs.post(second)).status_code == 200
    got = await lrs.request("GET", "/activities", params={"activityId": course})
    assert got.status_code == 200
    assert got.json() == {
        "objectType": "Activity",
        "id": course,
        "definition": {
            "name": {"en-US": "Welding", "vi": "Hàn"},
            "description": {"en-US": "Arc welding"},
            "type": "http://adlnet.gov/expapi/activities/lesson",
            "extensions": {ext: 8},
        },
    }
    from_context = await lrs.request("GET", "/activities", params={"activityId": parent})
    assert from_context.json()["definition"] == {"name": {"vi": "Chương trình"}}
    for bad in ({}, {"activityId": "no scheme"}, {"activityId": course, "agent": "{}"}):
        assert (await lrs.request("GET", "/activities", params=bad)).status_code == 400, bad

    person = await lrs.request(
        "GET", "/agents", params={"agent": json.dumps({"mbox": "mailto:a@example.org"})}
    )
    assert person.json() == {"objectType": "Person", "mbox": ["mailto:a@example.org"]}
    assert (await lrs.request("GET", "/agents", params={"agent": "{}"})).status_code == 400


# statements into learning records (the centre's mapping and agent links)

COURSE_CODE = "https://learningtrail.vn/xapi/extensions/course-code"
HOURS = "https://learningtrail.vn/xapi/extensions/hours"
MAPPING = {
    "rules": [
        {
            "verbs": [VERBS + "completed", VERBS + "passed"],
            "activity_types": [
                "http://id.tincanapi.com/activitytype/lms/course",
                "http://adlnet.gov/expapi/activities/course",
            ],
            "pathway": "online",
            "kind": "course",
            "code": {"extension": COURSE_CODE},
            "hours": {"extension": HOURS},
            "vqf_level": {"value": 1},
            "require_success": True,
        }
    ]
}


def moodle_completion(user: str, course: int) -> dict[str, Any]:
    """A course completion as Moodle's xAPI log store sends it (logstore_xapi)."""
    site = "https://moodle.gdtx-ninhphuoc.edu.vn"
    return {
        "id": str(uuid.uuid4()),
        "actor": {"name": "Nguyen Thi Huong", "account": {"homePage": site, "name": user}},
        "verb": {"id": VERBS + "completed", "display": {"en": "completed"}},
        "object": {
            "id": f"{site}/course/view.php?id={course}",
            "objectType": "Activity",
            "definition": {
                "type": "http://id.tincanapi.com/activitytype/lms/course",
                "name": {"vi": "Tin học văn phòng cơ bản", "en": "Basic office computing"},
                "extensions": {COURSE_CODE: "THVP-01", HOURS: 45},
            },
        },
        "timestamp": "2025-06-20T16:30:00+07:00",
        "context": {
            "platform": "Moodle",
            "language": "vi",
            "contextActivities": {
                "grouping": [
                    {"id": site, "definition": {"type": "http://id.tincanapi.com/activitytype/lms"}}
                ],
                "category": [
                    {
                        "id": "http://moodle.org",
                        "definition": {"type": "http://id.tincanapi.com/activitytype/source"},
                    }
                ],
            },
            "extensions": {
                "http://lrs.learninglocker.net/define/extensions/info": {
                    "https://moodle.org/": "4.4"
                }
            },
        },
    }


def open_edx_passed(anonymous_id: str) -> dict[str, Any]:
    """A course passed as Open edX's event-routing backends send it (xAPI transformer)."""
    lms = "https://learn.gdtx-ninhphuoc.edu.vn"
    return {
        "id": str(uuid.uuid4()),
        "actor": {"objectType": "Agent", "account": {"homePage": lms, "name": anonymous_id}},
        "verb": {"id": VERBS + "passed", "display": {"en": "passed"}},
        "object": {
            "id": f"{lms}/course/course-v1:GDTX+KNS101+2025",
            "objectType": "Activity",
            "definition": {
                "type": "http://adlnet.gov/expapi/activities/course",
                "name": {"en-US": "Life skills 101"},
                "extensions": {COURSE_CODE: "KNS-101"},
            },
        },
        "result": {"success": True, "score": {"scaled": 0.86}},
        "timestamp": "2025-07-01T02:00:00.123456+00:00",
        "context": {
            "registration": str(uuid.uuid4()),
            "contextActivities": {"parent": [{"id": f"{lms}/course/course-v1:GDTX+KNS101+2025"}]},
            "extensions": {
                "https://w3id.org/xapi/openedx/extension/transformer-version": (
                    "event-routing-backends@9.0.0"
                ),
                "https://w3id.org/xapi/openedx/extensions/session-id": uuid.uuid4().hex,
            },
        },
    }


async def link(lrs: Lrs, stack: Stack, actor: dict[str, Any], nid: str) -> httpx.Response:
    return await lrs.http.put(
        f"{stack.endpoints.learner}/v1/xapi/agent-links",
        json={
            "agent": actor,
            "learner": {
                "national_id": nid,
                "full_name": "Nguyễn Thị Hương",
                "birth_date": "1990-05-14",
                "commune_code": "22735",
            },
        },
        headers={"X-API-Key": lrs.provider["api_key"]},
    )


async def test_moodle_and_open_edx_completions_reach_the_learners_trail(
    lrs: Lrs, stack: Stack
) -> None:
    learner_api = f"{stack.endpoints.learner}/v1/xapi"
    key = {"X-API-Key": lrs.provider["api_key"]}
    wrong = {"rules": [{**MAPPING["rules"][0], "pathway": "in_service"}]}
    assert (
        await lrs.http.put(f"{learner_api}/mapping", json=wrong, headers=key)
    ).status_code == 422
    put = await lrs.http.put(f"{learner_api}/mapping", json=MAPPING, headers=key)
    assert put.status_code == 200, put.text
    assert (await lrs.http.get(f"{learner_api}/mapping", headers=key)).json()["rules"][0][
        "pathway"
    ] == "online"

    nid = national_id()
    moodle = moodle_completion(uuid.uuid4().hex[:8], 7)
    edx = open_edx_passed(str(uuid.uuid4()))
    unlinked = moodle_completion("nobody-" + uuid.uuid4().hex[:6], 8)
    failed = open_edx_passed(str(uuid.uuid4()))
    failed["result"] = {"success": False, "score": {"scaled": 0.2}}
    for actor in (moodle["actor"], edx["actor"], failed["actor"]):
        linked = await link(lrs, stack, actor, nid)
        assert linked.status_code == 200, linked.text
    learner_id = linked.json()["learner_id"]
    assert nid not in linked.text
    assert (await link(lrs, stack, {"name": "no identifier"}, nid)).status_code == 422

    response = await lrs.post([moodle, edx, unlinked, failed])
    assert response.status_code == 200, response.text
    trail = await eventually(
        lambda: trail_of(lrs.http, stack, learner_id), lambda t: t.get("entry_count") == 2
    )
    entries = [e for group in trail["pathways"] for e in group["entries"]]
    assert {g["pathway"] for g in trail["pathways"]} == {"online"}
    by_title = {e["title"]: e for e in entries}
    assert set(by_title) == {"Tin học văn phòng cơ bản", "Life skills 101"}
    assert trail["total_hours"] == 45

    # the unlinked and the failed statements are stored and queryable, and add nothing
    for kept in (unlinked, failed):
        assert (await lrs.get(statementId=kept["id"])).status_code == 200

    async def record_of(sid: str) -> httpx.Response:
        return await lrs.http.get(f"{learner_api}/statements/{sid}/record", headers=key)

    made = await record_of(moodle["id"])
    assert made.status_code == 200 and made.json()["status"] == "accepted"
    record = await lrs.http.get(
        f"{stack.endpoints.learner}/v1/records/{made.json()['record_id']}", headers=key
    )
    assert record.json()["provider_record_ref"] == f"xapi:{moodle['id']}"
    assert record.json()["content"]["code"] == "THVP-01"
    assert "not linked" in (await record_of(unlinked["id"])).json()["detail"]
    assert "success: false" in (await record_of(failed["id"])).json()["detail"]
    # a repeat adds nothing; voiding a statement revokes its record
    assert (await lrs.post([moodle, edx])).status_code == 200
    voiding = statement(
        actor=agent(),
        verb={"id": VERBS + "voided"},
        object={"objectType": "StatementRef", "id": moodle["id"]},
    )
    assert (await lrs.post(voiding)).status_code == 200
    await eventually(
        lambda: trail_of(lrs.http, stack, learner_id), lambda t: t.get("entry_count") == 1
    )


async def test_a_voiding_statement_stored_first_voids_its_target_when_it_comes(lrs: Lrs) -> None:
    target = statement()
    voiding = statement(
        verb={"id": VERBS + "voided"},
        object={"objectType": "StatementRef", "id": target["id"]},
    )
    assert (await lrs.post(voiding)).status_code == 200  # the target is not there: accepted
    assert (await lrs.post(target)).status_code == 200
    assert (await lrs.get(statementId=target["id"])).status_code == 404
    assert (await lrs.get(voidedStatementId=target["id"])).status_code == 200


async def test_more_than_1000_statements_in_one_request_are_refused(lrs: Lrs) -> None:
    response = await lrs.post([statement() for _ in range(1001)])
    assert response.status_code == 413
    assert "1000" in response.json()["detail"]


# attachments and signed statements (Communication 1.5, Data 2.4.11, 2.6)

SIGNATURE = "http://adlnet.gov/expapi/attachments/signature"


def _multipart(statements: Any, parts: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = "xapi-" + uuid.uuid4().hex
    chunks = [
        f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode()
        + json.dumps(statements).encode()
        + b"\r\n"
    ]
    for content_type, data in parts:
        chunks.append(
            (
                f"--{boundary}\r\nContent-Type: {content_type}\r\n"
                "Content-Transfer-Encoding: binary\r\n"
                f"X-Experience-API-Hash: {hashlib.sha256(data).hexdigest()}\r\n\r\n"
            ).encode()
            + data
            + b"\r\n"
        )
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/mixed; boundary={boundary}"


def _attachment(data: bytes, usage: str, content_type: str) -> dict[str, Any]:
    return {
        "usageType": usage,
        "display": {"en-US": "attachment"},
        "contentType": content_type,
        "length": len(data),
        "sha2": hashlib.sha256(data).hexdigest(),
    }


async def _post_multipart(lrs: Lrs, statements: Any, parts: list[tuple[str, bytes]]) -> Any:
    body, media = _multipart(statements, parts)
    return await lrs.request("POST", "/statements", content=body, headers={"Content-Type": media})


async def test_attachments_come_as_parts_and_go_back_with_attachments_true(lrs: Lrs) -> None:
    data = "Chứng nhận hoàn thành".encode()
    sent = statement(
        attachments=[_attachment(data, "https://example.org/certificate", "text/plain")]
    )
    response = await _post_multipart(lrs, sent, [("text/plain", data)])
    assert response.status_code == 200, response.text
    plain = await lrs.get(statementId=sent["id"])
    assert plain.headers["content-type"].startswith("application/json")
    full = await lrs.get(statementId=sent["id"], attachments="true")
    assert full.headers["content-type"].startswith("multipart/mixed")
    assert data in full.content
    assert hashlib.sha256(data).hexdigest().encode() in full.content

    wrong = await _post_multipart(
        lrs, statement(attachments=sent["attachments"]), [("text/plain", b"other")]
    )
    assert wrong.status_code == 400
    stray = await _post_multipart(lrs, statement(), [("text/plain", data)])
    assert stray.status_code == 400


def _signed(
    sent: dict[str, Any], payload: dict[str, Any], signer: Any, certificate_key: Any
) -> tuple[dict[str, Any], bytes]:
    """A JWS (RS256) of ``payload`` by ``signer``, carrying a certificate of ``certificate_key``."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Trung tâm GDNN-GDTX")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(certificate_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(certificate_key, hashes.SHA256())
    )
    x5c = base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()
    pem = signer.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    token = jws.serialize_compact(
        {"alg": "RS256", "x5c": [x5c]}, json.dumps(payload).encode(), RSAKey.import_key(pem)
    ).encode()
    signed = {**sent, "attachments": [_attachment(token, SIGNATURE, "application/octet-stream")]}
    return signed, token


async def test_signed_statements_are_checked(lrs: Lrs) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sent = statement()
    signed, token = _signed(sent, sent, key, key)
    response = await _post_multipart(lrs, signed, [("application/octet-stream", token)])
    assert response.status_code == 200, response.text

    tampered = statement()
    forged = statement()
    for why, (bad, bad_token) in (
        (
            "a payload that is another statement",
            _signed(tampered, {**tampered, "verb": {"id": VERBS + "failed"}}, key, key),
        ),
        ("a signature by another key than the certificate's", _signed(forged, forged, other, key)),
    ):
        refused = await _post_multipart(lrs, bad, [("application/octet-stream", bad_token)])
        assert refused.status_code == 400, (why, refused.text)
        assert "signature" in refused.json()["detail"], why
    not_jws = statement()
    junk = b"not a jws"
    bad = {**not_jws, "attachments": [_attachment(junk, SIGNATURE, "application/octet-stream")]}
    assert (
        await _post_multipart(lrs, bad, [("application/octet-stream", junk)])
    ).status_code == 400


async def test_two_writes_from_the_same_version_never_both_apply(lrs: Lrs) -> None:
    params = {
        "activityId": "https://example.org/a/" + uuid.uuid4().hex,
        "agent": json.dumps(agent()),
        "stateId": "race",
    }
    assert (
        await lrs.request("PUT", "/activities/state", params=params, json={"n": 0})
    ).status_code == 204
    etag = (await lrs.request("GET", "/activities/state", params=params)).headers["ETag"]
    answers = await asyncio.gather(
        *(
            lrs.request(
                "PUT", "/activities/state", params=params, json={"n": n}, headers={"If-Match": etag}
            )
            for n in range(1, 7)
        )
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [204] + [412] * 5, statuses


async def test_old_document_claims_are_forgotten_and_writes_stay_guarded(
    lrs: Lrs, mongo: Any
) -> None:
    """A replaced version's claim (xapi_document_claims) is kept CLAIM_RETENTION, then
    forgotten by the sweep; a stale If-Match is still refused afterwards (by the ETag)."""
    actor = agent()
    activity = "https://example.org/a/" + uuid.uuid4().hex
    params = {"activityId": activity, "agent": json.dumps(actor), "stateId": "claims"}
    put = await lrs.request("PUT", "/activities/state", params=params, json={"n": 0})
    assert put.status_code == 204
    first = (await lrs.request("GET", "/activities/state", params=params)).headers["ETag"]
    replaced = await lrs.request(
        "PUT", "/activities/state", params=params, json={"n": 1}, headers={"If-Match": first}
    )
    assert replaced.status_code == 204
    db = mongo["lt_learner"]
    store = XapiStore(db, LearnerStore(db))
    key = Address(lrs.provider_id, "state", (activity, agent_key(actor) or "", ""), "claims").key
    mine = {"_id": {"$regex": f"^{key}:"}}
    claims = [c async for c in store.document_claims.find(mine)]
    assert len(claims) == 1
    claimed = claims[0]["claimed"]
    assert abs(datetime.now(UTC) - claimed) < timedelta(minutes=5)

    await store.forget_claims(datetime.now(UTC) - CLAIM_RETENTION)
    assert await store.document_claims.count_documents(mine) == 1  # still young: kept
    old = claimed - CLAIM_RETENTION - timedelta(minutes=1)
    await store.document_claims.update_one({"_id": claims[0]["_id"]}, {"$set": {"claimed": old}})
    assert await store.forget_claims(datetime.now(UTC) - CLAIM_RETENTION) >= 1
    assert await store.document_claims.count_documents(mine) == 0

    stale = await lrs.request(
        "PUT", "/activities/state", params=params, json={"n": 2}, headers={"If-Match": first}
    )
    assert stale.status_code == 412
    current = (await lrs.request("GET", "/activities/state", params=params)).headers["ETag"]
    fresh = await lrs.request(
        "PUT", "/activities/state", params=params, json={"n": 3}, headers={"If-Match": current}
    )
    assert fresh.status_code == 204
    assert (await lrs.request("GET", "/activities/state", params=params)).json() == {"n": 3}


async def test_a_query_walks_past_what_other_conditions_and_voiding_leave_out(lrs: Lrs) -> None:
    """A query reads the keys of its most selective filter a page at a time (query keys:
    services/learner/xapi/keys.py) and keeps what meets the other filters and is not voided:
    a match far behind many non-matches is found, and paging by ``more`` answers every match
    once, in order, both ways."""
    actor = agent()
    passed = [statement(actor=actor, verb={"id": VERBS + "passed"}) for _ in range(3)]
    others = [statement(actor=actor) for _ in range(40)]
    assert (await lrs.post(passed[:2])).status_code == 200
    assert (await lrs.post(others[:20])).status_code == 200
    assert (await lrs.post(passed[2:])).status_code == 200
    assert (await lrs.post(others[20:])).status_code == 200
    voided = others[5:35:3]
    voidings = [ref(t, actor=agent(), verb={"id": VERBS + "voided"}) for t in voided]
    for voiding in voidings:
        assert (await lrs.post(voiding)).status_code == 200
    # what an agent query answers: the actor's statements that are not voided, and the
    # voiding statements (they target statements of the actor: Communication 2.1.3)
    answered = [s for s in [*passed, *others, *voidings] if s not in voided]
    stored = [((await lrs.get(statementId=s["id"])).json()["stored"], s["id"]) for s in answered]
    live = sorted(stored)  # stored order, then id: the order queries answer in
    expected = [sid for _, sid in live]

    async def pages(**params: Any) -> list[list[str]]:
        answered = []
        response = (await lrs.get(**params)).json()
        while True:
            answered.append([s["id"] for s in response["statements"]])
            if not response["more"]:
                return answered
            url = lrs.base.removesuffix("/xapi") + response["more"]
            response = (await lrs.http.get(url, headers=lrs.headers)).json()

    newest_passed = await pages(agent=json.dumps(actor), verb=VERBS + "passed", limit=1)
    passed_ids = {s["id"] for s in passed}
    assert newest_passed == [[sid] for sid in expected[::-1] if sid in passed_ids]
    ascending = await pages(agent=json.dumps(actor), ascending="true", limit=4)
    assert [sid for page in ascending for sid in page] == expected
    assert all(len(page) == 4 for page in ascending[:-1])
    descending = await pages(agent=json.dumps(actor), limit=7)
    assert [sid for page in descending for sid in page] == expected[::-1]
    middle = live[10][0]
    after = await pages(agent=json.dumps(actor), since=middle, until=live[-3][0], limit=5)
    assert [sid for page in after for sid in page] == [
        sid for at, sid in live if middle < at <= live[-3][0]
    ][::-1]


async def test_statements_stored_before_query_keys_get_them(lrs: Lrs, mongo: Any) -> None:
    """Statements stored before the query keys existed (here: their keys removed) are not
    found by queries until the keys are written for them, which ``key_old_statements`` does
    (for all of them once, in the background, when the learner service starts)."""
    actor = agent()
    sent = [statement(actor=actor) for _ in range(5)]
    assert (await lrs.post(sent)).status_code == 200
    db = mongo["lt_learner"]
    store = XapiStore(db, LearnerStore(db))
    mine = {"_id": {"$gt": f"{lrs.provider_id}|", "$lt": f"{lrs.provider_id}|~"}}
    keys = [d["_id"] async for d in store.keys.find(mine).sort("_id", 1).limit(1000)]
    assert len(keys) > 5  # (a range sorted by _id: an index search on FerretDB too)
    await store.keys.delete_many({"_id": {"$in": keys}})
    assert (await lrs.get(agent=json.dumps(actor))).json()["statements"] == []
    assert await store.key_old_statements(within=f"{lrs.provider_id}:") == 5
    found = (await lrs.get(agent=json.dumps(actor), ascending="true")).json()["statements"]
    assert sorted(s["id"] for s in found) == sorted(s["id"] for s in sent)
