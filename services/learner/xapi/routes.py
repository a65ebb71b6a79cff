"""The xAPI 2.0 Learning Record Store's HTTP resources (``/xapi/…``) and the centres' set-up
(``/v1/xapi/…``: agent links and the mapping to records).

Authentication is HTTP Basic with a training centre's API key: the username is the key's id
or the centre's id (either, as ``GET /v1/provider`` shows them), the password is the key; the
key needs the ``records:write`` scope. Every request but ``GET /xapi/about`` carries
``X-Experience-API-Version`` (1.0.x or 2.0.x); every answer under ``/xapi`` says
``X-Experience-API-Version: 2.0.0``. Errors are problem+json, with xAPI's status codes.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.problems import Problem
from services.learner.api.deps import (
    ProviderCaller,
    ServicesDep,
    records_writer,
    throttle,
)
from services.learner.submissions import status_of
from services.learner.xapi.attachments import AttachmentError, Part, multipart, parse_multipart
from services.learner.xapi.documents import Address, Documents, last_modified
from services.learner.xapi.links import AgentLink, AgentLinkError, Links
from services.learner.xapi.mapping import Mapping
from services.learner.xapi.statements import Statements, bad_request, read_cursor
from services.learner.xapi.validation import (
    IFI_KEYS,
    SUPPORTED_VERSION,
    agent_key,
    agent_parameter_errors,
    canonical,
    ids_only,
    is_iri,
    is_uuid,
    iso,
    parse_timestamp,
)

VERSION_HEADER = "X-Experience-API-Version"
_ACCEPTED_VERSION = re.compile(r"^[12]\.0(?:\.\d+)?$")

router = APIRouter(prefix="/xapi", tags=["xAPI LRS"])
setup = APIRouter(prefix="/v1/xapi", tags=["xAPI LRS"])


class XapiVersionHeader:
    """ASGI middleware: every answer under ``/xapi`` names the xAPI version it speaks."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/xapi"):
            await self.app(scope, receive, send)
            return

        async def with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-experience-api-version", SUPPORTED_VERSION.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_version)


class Lrs:
    """The LRS's use cases, wired by the composition root."""

    def __init__(self, statements: Statements, documents: Documents, links: Links) -> None:
        self.statements = statements
        self.documents = documents
        self.links = links


def _lrs(request: Request) -> Lrs:
    found: Lrs = request.app.state.lrs
    return found


LrsDep = Annotated[Lrs, Depends(_lrs)]


def _unauthorised(detail: str) -> Problem:
    return Problem(401, "Unauthorised", detail, headers={"WWW-Authenticate": 'Basic realm="xAPI"'})


async def xapi_caller(request: Request, svc: ServicesDep) -> ProviderCaller:
    """The training centre behind HTTP Basic credentials, with a live records:write key; and
    the request's xAPI version, checked."""
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise _unauthorised(
            "Send HTTP Basic credentials: the training centre's id (or the key's id) as the "
            "username and its API key as the password."
        )
    try:
        username, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise _unauthorised("The Basic credentials are not base64 of 'username:password'.") from exc
    found = await svc.providers.authenticate(password) if sep and password else None
    if found is None or username not in (found[0]["_id"], found[1]["key_id"]):
        raise _unauthorised(
            "The credentials are unknown, revoked or do not belong together (the username is "
            "the training centre's id or the key's id, the password the API key)."
        )
    provider, key = found
    throttle(svc, f"provider:{provider['_id']}")
    if "records:write" not in key["scopes"]:
        raise Problem(403, "Forbidden", "This API key lacks the 'records:write' scope.")
    version = request.headers.get(VERSION_HEADER)
    if version is None:
        raise bad_request(f"Send the {VERSION_HEADER} header (2.0.0) with every xAPI request.")
    if not _ACCEPTED_VERSION.fullmatch(version.strip()):
        raise bad_request(f"{VERSION_HEADER} {version!r} is not supported; send 2.0.0.")
    return ProviderCaller(provider, key)


Centre = Annotated[ProviderCaller, Depends(xapi_caller)]


# parameters


def _params(request: Request, allowed: set[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if key not in allowed:
            raise bad_request(f"Unknown parameter {key!r}; this resource takes {sorted(allowed)}.")
        if key in params:
            raise bad_request(f"Parameter {key!r} is given more than once.")
        params[key] = value
    return params


def _agent(text: str | None, name: str = "agent") -> dict[str, Any]:
    if text is None:
        raise bad_request(f"The {name!r} parameter is required.")
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise bad_request(f"The {name!r} parameter is not JSON: {exc}.") from exc
    errors = agent_parameter_errors(value)
    if errors:
        raise bad_request(f"The {name!r} parameter is not an Agent: " + "; ".join(errors))
    found: dict[str, Any] = value
    return found


def _iri_param(params: dict[str, str], name: str, required: bool = True) -> str | None:
    value = params.get(name)
    if value is None:
        if required:
            raise bad_request(f"The {name!r} parameter is required.")
        return None
    if not is_iri(value):
        raise bad_request(f"The {name!r} parameter must be an absolute IRI.")
    return value


def _uuid_param(params: dict[str, str], name: str) -> str | None:
    value = params.get(name)
    if value is not None and not is_uuid(value):
        raise bad_request(f"The {name!r} parameter must be a UUID.")
    return value


def _bool_param(params: dict[str, str], name: str) -> bool:
    value = params.get(name, "false")
    if value not in ("true", "false"):
        raise bad_request(f"The {name!r} parameter must be true or false.")
    return value == "true"


def _time_param(params: dict[str, str], name: str) -> datetime | None:
    if name not in params:
        return None
    parsed = parse_timestamp(params[name])
    if parsed is None:
        raise bad_request(f"The {name!r} parameter must be an ISO 8601 timestamp.")
    return parsed


async def _statements_body(request: Request) -> tuple[Any, dict[str, Part]]:
    """The statements sent, and the attachments' contents when they come as multipart/mixed."""
    content_type = request.headers.get("content-type", "application/json")
    media = content_type.split(";")[0].strip().lower()
    body = await request.body()
    if media == "multipart/mixed":
        try:
            return parse_multipart(content_type, body)
        except AttachmentError as exc:
            raise bad_request(
                f"The multipart/mixed body is not as xAPI 2.0 sends it: {exc}."
            ) from exc
    if media != "application/json":
        raise bad_request(
            f"Send statements as application/json (or multipart/mixed with attachments), not "
            f"{media}."
        )
    try:
        return json.loads(body), {}
    except ValueError as exc:
        raise bad_request(f"The body is not valid JSON: {exc}.") from exc


# about


@router.api_route("/about", methods=["GET", "HEAD"], summary="The LRS's xAPI version (anyone).")
async def about() -> dict[str, Any]:
    """The xAPI versions this LRS speaks; no credentials needed."""
    return {"version": [SUPPORTED_VERSION], "extensions": {}}


# statements

STATEMENT_GET_PARAMS = {
    "statementId",
    "voidedStatementId",
    "agent",
    "verb",
    "activity",
    "registration",
    "related_activities",
    "related_agents",
    "since",
    "until",
    "limit",
    "format",
    "attachments",
    "ascending",
    "cursor",
}


@router.put(
    "/statements",
    status_code=204,
    summary="Store a statement under the statementId given (training centre, records:write).",
)
async def put_statement(request: Request, centre: Centre, lrs: LrsDep) -> Response:
    """204 once stored (or when the same statement is stored already); 409 if the id names
    another statement; 400 for a statement that breaks a rule of xAPI 2.0."""
    params = _params(request, {"statementId"})
    statement_id = _uuid_param(params, "statementId")
    if statement_id is None:
        raise bad_request("PUT needs the statementId parameter (a UUID).")
    body, parts = await _statements_body(request)
    if not isinstance(body, dict):
        raise bad_request("PUT takes one statement (a JSON object).")
    await lrs.statements.store_statements(centre.provider, [body], statement_id, parts)
    return Response(status_code=204)


@router.post(
    "/statements",
    summary="Store statements: one, or an array of up to 1,000 (training centre, records:write).",
)
async def post_statements(request: Request, centre: Centre, lrs: LrsDep) -> list[str]:
    """The ids of the statements, in order; all are stored or none. Statements the centre's
    mapping takes, whose actor it linked, become learning records."""
    _params(request, set())
    body, parts = await _statements_body(request)
    given = body if isinstance(body, list) else [body]
    return await lrs.statements.store_statements(centre.provider, given, None, parts)


def _languages(request: Request) -> list[str]:
    header = request.headers.get("accept-language", "")
    found = []
    for part in header.split(","):
        tag = part.split(";")[0].strip()
        if tag and tag != "*":
            found.append(tag)
    return found


def _shape(statement: Any, how: str, languages: list[str]) -> Any:
    if how == "ids":
        return ids_only(statement)
    if how == "canonical":
        return canonical(statement, languages)
    return statement


@router.api_route(
    "/statements",
    methods=["GET", "HEAD"],
    summary="One statement (statementId, voidedStatementId) or a query "
    "(training centre, records:write).",
)
async def get_statements(request: Request, centre: Centre, lrs: LrsDep) -> Response:
    """Filters: agent, verb, activity, registration, related_activities, related_agents,
    since, until, limit, ascending; format ids, exact or canonical. Voided statements are
    left out of queries. The `more` link fetches the next page."""
    params = _params(request, STATEMENT_GET_PARAMS)
    how = params.get("format", "exact")
    if how not in ("ids", "exact", "canonical"):
        raise bad_request("The 'format' parameter is ids, exact or canonical.")
    with_attachments = _bool_param(params, "attachments")
    consistent = {"X-Experience-API-Consistent-Through": iso(datetime.now().astimezone())}
    single = {"statementId", "voidedStatementId"} & set(params)
    if single:
        if len(single) > 1 or set(params) - single - {"format", "attachments"}:
            raise bad_request(
                "statementId and voidedStatementId are given alone (with format or "
                "attachments at most)."
            )
        name = single.pop()
        statement_id = _uuid_param(params, name)
        assert statement_id is not None
        statement = await lrs.statements.one(
            centre.provider, statement_id, voided=name == "voidedStatementId"
        )
        headers = {**consistent, "Last-Modified": statement["stored"]}
        shaped = _shape(statement, how, _languages(request))
        if with_attachments:
            return await _with_attachments(centre, lrs, shaped, [statement], headers)
        return JSONResponse(shaped, headers=headers)
    filters: dict[str, Any] = {}
    if "agent" in params:
        key = agent_key(_agent(params["agent"]))
        field = "related_agents" if _bool_param(params, "related_agents") else "agents"
        filters[field] = key
    else:
        _bool_param(params, "related_agents")
    if "verb" in params:
        filters["verb_id"] = _iri_param(params, "verb")
    if "activity" in params:
        field = "related_activities" if _bool_param(params, "related_activities") else "activities"
        filters[field] = _iri_param(params, "activity")
    else:
        _bool_param(params, "related_activities")
    registration = _uuid_param(params, "registration")
    if registration is not None:
        filters["registration"] = registration.lower()
    since, until = _time_param(params, "since"), _time_param(params, "until")
    if since is not None or until is not None:
        filters["stored"] = {
            **({"$gt": since} if since else {}),
            **({"$lte": until} if until else {}),
        }
    try:
        limit = int(params.get("limit", "0"))
    except ValueError as exc:
        raise bad_request("The 'limit' parameter is a whole number (0: the maximum).") from exc
    if limit < 0:
        raise bad_request("The 'limit' parameter cannot be negative.")
    after = read_cursor(params["cursor"]) if "cursor" in params else None
    page = await lrs.statements.query(
        centre.provider, filters, _bool_param(params, "ascending"), limit, after
    )
    languages = _languages(request)
    body: dict[str, Any] = {"statements": [_shape(s, how, languages) for s in page.statements]}
    if page.more is not None:
        kept = {k: v for k, v in params.items() if k != "cursor"}
        kept["cursor"] = page.more
        body["more"] = f"/xapi/statements?{urlencode(kept)}"
    else:
        body["more"] = ""
    headers = dict(consistent)
    if page.last_modified is not None:  # the latest stored of the statements answered
        headers["Last-Modified"] = last_modified(page.last_modified)
    if with_attachments:
        return await _with_attachments(centre, lrs, body, page.statements, headers)
    return JSONResponse(body, headers=headers)


async def _with_attachments(
    centre: ProviderCaller,
    lrs: Lrs,
    answer: Any,
    statements: list[dict[str, Any]],
    headers: dict[str, str],
) -> Response:
    """``attachments=true``: the answer, then each attachment's content the LRS holds."""
    hashes = {
        str(a.get("sha2", "")).lower()
        for s in statements
        for a in s.get("attachments") or []
        if isinstance(a, dict)
    }
    found = await lrs.statements.store.attachments_by_hash(centre.provider["_id"], hashes)
    parts: list[tuple[str, dict[str, str], bytes]] = [
        ("application/json", {}, json.dumps(answer, ensure_ascii=False).encode())
    ]
    parts += [
        (kind, {"Content-Transfer-Encoding": "binary", "X-Experience-API-Hash": sha2}, data)
        for sha2, (kind, data) in sorted(found.items())
    ]
    content, media = multipart(parts)
    return Response(content, media_type=media, headers=headers)


# activities and agents


@router.api_route("/activities", methods=["GET", "HEAD"], summary="An Activity (training centre).")
async def get_activity(request: Request, centre: Centre, lrs: LrsDep) -> dict[str, Any]:
    """The Activity with this id and the canonical definition the centre's statements gave
    it (merged: language maps and extensions key by key, the rest from the newest
    statement); its id alone when no statement defined it."""
    params = _params(request, {"activityId"})
    activity_id = _iri_param(params, "activityId")
    assert activity_id is not None
    return await lrs.statements.activity(centre.provider, activity_id)


@router.api_route("/agents", methods=["GET", "HEAD"], summary="A Person (training centre).")
async def get_person(request: Request, centre: Centre) -> dict[str, Any]:
    """The Person object of an Agent: its identifiers, each as an array."""
    params = _params(request, {"agent"})
    agent = _agent(params.get("agent"))
    person: dict[str, Any] = {"objectType": "Person"}
    if "name" in agent:
        person["name"] = [agent["name"]]
    for key in IFI_KEYS:
        if key in agent:
            person[key] = [agent[key]]
    return person


# documents


def _address(centre: ProviderCaller, request: Request, resource: str, many: bool) -> Address:
    """The document a State, Activity Profile or Agent Profile request names."""
    pid = centre.provider["_id"]
    if resource == "state":
        params = _params(request, {"activityId", "agent", "registration", "stateId", "since"})
        activity = _iri_param(params, "activityId")
        agent = agent_key(_agent(params.get("agent")))
        registration = (_uuid_param(params, "registration") or "").lower()
        doc_id = params.get("stateId")
        scope: tuple[str, ...] = (activity or "", agent or "", registration)
    elif resource == "activity_profile":
        params = _params(request, {"activityId", "profileId", "since"})
        scope = (_iri_param(params, "activityId") or "",)
        doc_id = params.get("profileId")
    else:
        params = _params(request, {"agent", "profileId", "since"})
        scope = (agent_key(_agent(params.get("agent"))) or "",)
        doc_id = params.get("profileId")
    if doc_id is None and not many:
        name = "stateId" if resource == "state" else "profileId"
        raise bad_request(f"The {name!r} parameter is required here.")
    if doc_id is not None and "since" in params:
        raise bad_request("'since' goes only with a request for the ids of many documents.")
    return Address(pid, resource, scope, doc_id or "")


async def _get_document(
    request: Request, centre: ProviderCaller, lrs: Lrs, resource: str
) -> Response:
    address = _address(centre, request, resource, many=True)
    if not address.doc_id:
        since = _time_param(dict(request.query_params), "since")
        return JSONResponse(await lrs.documents.ids(address, since))
    found = await lrs.documents.get(address)
    if found is None:
        raise Problem(404, "Unknown document", "No document is stored under these parameters.")
    return Response(
        found.content,
        media_type=found.content_type,
        headers={"ETag": f'"{found.etag}"', "Last-Modified": last_modified(found.updated)},
    )


async def _write_document(
    request: Request, centre: ProviderCaller, lrs: Lrs, resource: str, merge: bool
) -> Response:
    address = _address(centre, request, resource, many=False)
    await lrs.documents.put(
        address,
        await request.body(),
        request.headers.get("content-type", "application/octet-stream"),
        request.headers.get("if-match"),
        request.headers.get("if-none-match"),
        merge=merge,
    )
    return Response(status_code=204)


async def _delete_document(
    request: Request, centre: ProviderCaller, lrs: Lrs, resource: str
) -> Response:
    address = _address(centre, request, resource, many=resource == "state")
    if not address.doc_id:
        await lrs.documents.delete_all(address)
    else:
        await lrs.documents.delete(address, request.headers.get("if-match"))
    return Response(status_code=204)


_RESOURCES = {
    "/activities/state": ("state", "State documents of an activity and agent"),
    "/activities/profile": ("activity_profile", "Activity Profile documents"),
    "/agents/profile": ("agent_profile", "Agent Profile documents"),
}


def _document_routes(path: str, resource: str, what: str) -> None:
    async def get_document(request: Request, centre: Centre, lrs: LrsDep) -> Response:
        return await _get_document(request, centre, lrs, resource)

    async def put_document(request: Request, centre: Centre, lrs: LrsDep) -> Response:
        return await _write_document(request, centre, lrs, resource, merge=False)

    async def post_document(request: Request, centre: Centre, lrs: LrsDep) -> Response:
        return await _write_document(request, centre, lrs, resource, merge=True)

    async def delete_document(request: Request, centre: Centre, lrs: LrsDep) -> Response:
        return await _delete_document(request, centre, lrs, resource)

    router.add_api_route(
        path,
        get_document,
        methods=["GET", "HEAD"],
        summary=f"{what}: one (with its ETag) or their ids (training centre).",
        name=f"get_{resource}",
    )
    router.add_api_route(
        path,
        put_document,
        methods=["PUT"],
        status_code=204,
        summary=f"{what}: store one (If-Match / If-None-Match; training centre).",
        name=f"put_{resource}",
    )
    router.add_api_route(
        path,
        post_document,
        methods=["POST"],
        status_code=204,
        summary=f"{what}: merge a JSON object into one (training centre).",
        name=f"post_{resource}",
    )
    router.add_api_route(
        path,
        delete_document,
        methods=["DELETE"],
        status_code=204,
        summary=f"{what}: delete one{' or all' if resource == 'state' else ''} (training centre).",
        name=f"delete_{resource}",
    )


for _path, (_resource, _what) in _RESOURCES.items():
    _document_routes(_path, _resource, _what)


# the centre's set-up: agent links and the mapping


class LinkView(BaseModel):
    agent: str
    learner_id: str
    linked_at: datetime


Writer = Annotated[ProviderCaller, Depends(records_writer)]


@setup.put(
    "/agent-links",
    response_model=LinkView,
    summary="Link an agent of the centre's e-learning tool to a learner (records:write).",
    responses={422: {"description": "Not an Agent, or the learner's identity is invalid."}},
)
async def link_agent(link: AgentLink, caller: Writer, lrs: LrsDep) -> LinkView:
    """From now on, statements whose actor is this agent are this learner's (the national ID
    is hashed, never kept); linking the agent again replaces the link."""
    try:
        doc = await lrs.links.link(caller.provider, link)
    except AgentLinkError as exc:
        raise Problem(
            422,
            "Invalid agent",
            f"Link an xAPI Agent with one identifier: {exc}.",
            type_="https://learningtrail.vn/problems/validation",
        ) from exc
    return LinkView(agent=doc["agent"], learner_id=doc["learner_id"], linked_at=doc["linked_at"])


class StatementRecord(BaseModel):
    statement_id: str
    record_id: str
    status: str = Field(description="As GET /v1/records/{record_id} says it.")


@setup.get(
    "/statements/{statement_id}/record",
    response_model=StatementRecord,
    summary="The record a statement made (the centre that sent it; records:write).",
    responses={404: {"description": "It made none; `detail` says why."}},
)
async def record_of_statement(statement_id: str, caller: Writer, lrs: LrsDep) -> StatementRecord:
    """Which learning record a statement became — or why it became none (no mapping, actor
    not linked, no rule takes it, or the record intake refused it)."""
    record, reason = await lrs.statements.record_of(caller.provider, statement_id)
    if record is None:
        raise Problem(404, "No record", f"Statement {statement_id} made no record: {reason}.")
    return StatementRecord(
        statement_id=statement_id, record_id=record["_id"], status=status_of(record)
    )


@setup.put(
    "/mapping",
    response_model=Mapping,
    summary="Set how the centre's statements become records (records:write).",
    responses={422: {"description": "A rule is invalid or names a pathway not allowed."}},
)
async def put_mapping(mapping: Mapping, caller: Writer, lrs: LrsDep) -> Mapping:
    """Replaces the centre's mapping; statements stored from now on follow it."""
    allowed = set(caller.provider.get("pathways", []))
    wrong = sorted({r.pathway.value for r in mapping.rules} - allowed)
    if wrong:
        raise Problem(
            422,
            "Mapping rejected",
            f"This training centre may not record the pathways {wrong} (allowed: "
            f"{sorted(allowed)}); ask the department to extend its registration.",
            type_="https://learningtrail.vn/problems/validation",
        )
    await lrs.links.set_mapping(caller.provider, mapping)
    return mapping


@setup.get(
    "/mapping",
    response_model=Mapping,
    summary="The centre's mapping from statements to records (records:write).",
    responses={404: {"description": "The centre has set no mapping."}},
)
async def get_mapping(caller: Writer, lrs: LrsDep) -> Mapping:
    found = await lrs.links.mapping(caller.provider)
    if found is None:
        raise Problem(
            404, "No mapping", "This centre has set no mapping: PUT /v1/xapi/mapping first."
        )
    return found
