"""client.templates: template.add, template.update, template.details and template.list."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from itnio_async import AsyncItnio, CodeType, Template, ValidationError
from itnio_async._converter import structure

from ..conftest import envelope
from ._wire import READ_STATUSES, assert_status_raises, assert_wire, reply, sent_json

TEXT = "##code## is your verification,expires in 5 minutes! "

#: The constructed template.add example (same shape as the vendor's details example).
TEMPLATE: dict[str, Any] = {
    "templateId": 455,
    "appId": "mRELxtHc",
    "name": "name",
    "text": TEXT,
    "codeType": 1,
    "codeLength": 4,
    "speechRate": 50,
    "language": "EN",
    "maxDuration": 59,
    "repeatCnt": 1,
    "senderId": "senderId",
}

#: The vendor's template.details example (seed 002).
TEMPLATE_DETAILS: dict[str, Any] = {**TEMPLATE, "text": "text"}

FULL_ARGS: dict[str, Any] = {
    "name": "name",
    "text": TEXT,
    "code_type": CodeType.NUMERIC,
    "code_length": 4,
    "speech_rate": 50,
    "language": "EN",
    "max_duration": 59,
    "repeat_cnt": 1,
    "sender_id": "senderId",
}
FULL_BODY: dict[str, Any] = {
    "name": "name",
    "text": TEXT,
    "codeType": 1,
    "codeLength": 4,
    "speechRate": 50,
    "language": "EN",
    "maxDuration": 59,
    "repeatCnt": 1,
    "senderId": "senderId",
}


def assert_example_template(template: Template, text: str) -> None:
    """The documented template example, field by field with types."""
    assert type(template) is Template
    assert template.template_id == 455
    assert type(template.template_id) is int
    assert template.app_id == "mRELxtHc"
    assert template.name == "name"
    assert template.text == text
    assert template.code_type is CodeType.NUMERIC
    assert template.code_length == 4
    assert template.speech_rate == 50
    assert template.language == "EN"
    assert template.max_duration == 59
    assert template.repeat_cnt == 1
    assert template.sender_id == "senderId"
    for value in (template.code_length, template.speech_rate, template.max_duration):
        assert type(value) is int


# -- template.add ------------------------------------------------------------------


async def test_create_sends_documented_example(client: AsyncItnio, router: respx.Router) -> None:
    """templates.create sends the vendor's template.add example to POST /template/add."""
    route = reply(router, TEMPLATE)
    await client.templates.create(app_id="mRELxtHc", **FULL_ARGS)
    assert_wire(route, "POST", "/template/add", {"appId": "mRELxtHc", **FULL_BODY})


async def test_create_always_sends_code_type(client: AsyncItnio, router: respx.Router) -> None:
    """codeType is sent even when not given (default NUMERIC = 1), other Nones are omitted."""
    route = reply(router, TEMPLATE)
    await client.templates.create(app_id="mRELxtHc", name="name", text=TEXT)
    assert_wire(
        route,
        "POST",
        "/template/add",
        {"appId": "mRELxtHc", "name": "name", "text": TEXT, "codeType": 1},
    )
    route.calls.clear()
    await client.templates.create(app_id="mRELxtHc", name="name", text=TEXT, code_type=None)
    assert_wire(
        route,
        "POST",
        "/template/add",
        {"appId": "mRELxtHc", "name": "name", "text": TEXT, "codeType": 1},
    )


@pytest.mark.parametrize(("given", "sent"), [(CodeType.HEX, 4), (3, 3), ("2", 2)])
async def test_create_code_type_as_enum_or_value(
    client: AsyncItnio, router: respx.Router, given: Any, sent: int
) -> None:
    """code_type given as the enum or its value is sent as the JSON integer."""
    route = reply(router, TEMPLATE)
    await client.templates.create(app_id="mRELxtHc", name="name", text=TEXT, code_type=given)
    assert_wire(
        route,
        "POST",
        "/template/add",
        {"appId": "mRELxtHc", "name": "name", "text": TEXT, "codeType": sent},
    )


async def test_create_decodes_example(client: AsyncItnio, router: respx.Router) -> None:
    """The constructed template.add response decodes field by field."""
    reply(router, TEMPLATE)
    template = await client.templates.create(app_id="mRELxtHc", name="name", text=TEXT)
    assert_example_template(template, TEXT)
    assert template == structure(TEMPLATE, Template, strict=True)


@pytest.mark.parametrize("status", [*READ_STATUSES])
async def test_create_error_statuses(client: AsyncItnio, router: respx.Router, status: int) -> None:
    """Each status of the template family raises its documented exception class."""
    await assert_status_raises(
        router,
        status,
        lambda: client.templates.create(app_id="mRELxtHc", name="name", text=TEXT),
    )


# -- template.update ---------------------------------------------------------------


async def test_update_sends_documented_example(client: AsyncItnio, router: respx.Router) -> None:
    """templates.update is PUT /template/update/455 with the vendor's body (no appId)."""
    route = reply(router, TEMPLATE)
    await client.templates.update(455, **{**FULL_ARGS, "text": " " + TEXT})
    assert_wire(route, "PUT", "/template/update/455", {**FULL_BODY, "text": " " + TEXT})


async def test_update_omits_unset_arguments(client: AsyncItnio, router: respx.Router) -> None:
    """Only name and text are sent when nothing else is given."""
    route = reply(router, TEMPLATE)
    await client.templates.update("455", name="name", text=TEXT)
    assert_wire(route, "PUT", "/template/update/455", {"name": "name", "text": TEXT})


async def test_update_percent_encodes_the_path_id(client: AsyncItnio, router: respx.Router) -> None:
    """A string template id is percent-encoded in the path."""
    route = reply(router, TEMPLATE)
    await client.templates.update("a b/c", name="name", text=TEXT)
    assert_wire(route, "PUT", "/template/update/a%20b%2Fc", {"name": "name", "text": TEXT})


async def test_update_decodes_example(client: AsyncItnio, router: respx.Router) -> None:
    """The template.update response decodes into the Template."""
    reply(router, TEMPLATE)
    assert_example_template(await client.templates.update(455, name="name", text=TEXT), TEXT)


@pytest.mark.parametrize("status", [*READ_STATUSES])
async def test_update_error_statuses(client: AsyncItnio, router: respx.Router, status: int) -> None:
    """Each status of the template family raises its documented exception class."""
    await assert_status_raises(
        router, status, lambda: client.templates.update(455, name="name", text=TEXT)
    )


# -- template.details --------------------------------------------------------------


@pytest.mark.parametrize(
    ("template_id", "path"), [(455, "455"), ("455", "455"), ("a b/c", "a%20b%2Fc")]
)
async def test_get_wire(
    client: AsyncItnio, router: respx.Router, template_id: Any, path: str
) -> None:
    """templates.get is GET /template/details/{templateId}, id int | str, no body."""
    route = reply(router, TEMPLATE_DETAILS)
    await client.templates.get(template_id)
    assert_wire(route, "GET", f"/template/details/{path}")


async def test_get_decodes_vendor_example(client: AsyncItnio, router: respx.Router) -> None:
    """The vendor's template.details example decodes field by field (and strictly)."""
    reply(router, TEMPLATE_DETAILS)
    template = await client.templates.get(455)
    assert_example_template(template, "text")
    assert template == structure(TEMPLATE_DETAILS, Template, strict=True)


@pytest.mark.parametrize("status", [*READ_STATUSES])
async def test_get_error_statuses(client: AsyncItnio, router: respx.Router, status: int) -> None:
    """template.details documents 0 -1 -2 -16 -18 -20 -22; each maps to its class."""
    await assert_status_raises(router, status, lambda: client.templates.get(455))


# -- template.list -----------------------------------------------------------------


async def test_list_wire_and_decode_array(client: AsyncItnio, router: respx.Router) -> None:
    """templates.list is GET /template/list with no body; an array decodes to a list."""
    route = reply(router, [TEMPLATE, {**TEMPLATE, "templateId": 456}])
    templates = await client.templates.list()
    assert_wire(route, "GET", "/template/list")
    assert type(templates) is list
    assert [t.template_id for t in templates] == [455, 456]
    assert_example_template(templates[0], TEXT)


async def test_list_wraps_a_single_object(client: AsyncItnio, router: respx.Router) -> None:
    """data documented as a JSONObject: a single object comes back as a one-item list."""
    reply(router, TEMPLATE)
    templates = await client.templates.list()
    assert type(templates) is list
    assert len(templates) == 1
    assert_example_template(templates[0], TEXT)


@pytest.mark.parametrize("body", [envelope(), {**envelope(), "data": None}, envelope([])])
async def test_list_empty_is_an_empty_list(
    client: AsyncItnio, router: respx.Router, body: dict[str, Any]
) -> None:
    """Absent, null or empty data all give []."""
    router.route().mock(return_value=httpx.Response(200, json=body))
    assert await client.templates.list() == []


@pytest.mark.parametrize("status", [*READ_STATUSES])
async def test_list_error_statuses(client: AsyncItnio, router: respx.Router, status: int) -> None:
    """template.list documents 0 -1 -2 -16 -18 -20 -22; each maps to its class."""
    await assert_status_raises(router, status, lambda: client.templates.list())


# -- validation before sending ------------------------------------------------------

PASSING = [
    ("name", "abcd", "name", "abcd"),
    ("name", "x" * 32, "name", "x" * 32),
    ("text", "##code##", "text", "##code##"),
    ("text", "##code##" + "x" * 248, "text", "##code##" + "x" * 248),
    ("code_length", 4, "codeLength", 4),
    ("code_length", 10, "codeLength", 10),
    ("speech_rate", 0, "speechRate", 0),
    ("speech_rate", 100, "speechRate", 100),
    ("max_duration", 5, "maxDuration", 5),
    ("max_duration", 599, "maxDuration", 599),
    ("repeat_cnt", 1, "repeatCnt", 1),
    ("repeat_cnt", 10, "repeatCnt", 10),
    ("language", "IDN", "language", "IDN"),
    ("sender_id", "x" * 100, "senderId", "x" * 100),
]


@pytest.mark.parametrize(("argument", "value", "wire", "sent"), PASSING)
async def test_boundaries_pass(
    client: AsyncItnio, router: respx.Router, argument: str, value: Any, wire: str, sent: Any
) -> None:
    """Values on the documented boundaries are sent unchanged by create and update."""
    route = reply(router, TEMPLATE)
    args: dict[str, Any] = {"name": "name", "text": TEXT, argument: value}
    await client.templates.create(app_id="mRELxtHc", **args)
    body = {"appId": "mRELxtHc", "name": "name", "text": TEXT, "codeType": 1, wire: sent}
    assert_wire(route, "POST", "/template/add", body)
    route.calls.clear()
    await client.templates.update(455, **args)
    body = {"name": "name", "text": TEXT, wire: sent}
    assert_wire(route, "PUT", "/template/update/455", body)


FAILING = [
    ("name", "abc"),
    ("name", "x" * 33),
    ("text", ""),
    ("text", "no placeholder"),
    ("text", "##CODE## upper case"),
    ("text", "##code##" + "x" * 249),
    ("code_type", 0),
    ("code_type", 5),
    ("code_type", True),
    ("code_length", 3),
    ("code_length", 11),
    ("code_length", True),
    ("speech_rate", -1),
    ("speech_rate", 101),
    ("max_duration", 4),
    ("max_duration", 600),
    ("repeat_cnt", 0),
    ("repeat_cnt", 11),
    ("language", ""),
    ("language", 1),
    ("sender_id", ""),
]


@pytest.mark.parametrize(("argument", "value"), FAILING)
async def test_rejected_before_sending(
    client: AsyncItnio, router: respx.Router, argument: str, value: Any
) -> None:
    """Each value just outside a documented range raises ValidationError and sends nothing."""
    reply(router, TEMPLATE)
    args: dict[str, Any] = {"name": "name", "text": TEXT, argument: value}
    with pytest.raises(ValidationError) as info:
        await client.templates.create(app_id="mRELxtHc", **args)
    assert info.value.argument == argument
    with pytest.raises(ValidationError) as info:
        await client.templates.update(455, **args)
    assert info.value.argument == argument
    assert not router.calls


@pytest.mark.parametrize("app_id", ["", "    ", "abc", "x" * 33, 12345])
async def test_create_rejects_bad_app_id(
    client: AsyncItnio, router: respx.Router, app_id: Any
) -> None:
    """templates.create validates app_id as 4–32 characters."""
    reply(router, TEMPLATE)
    with pytest.raises(ValidationError, match="app_id"):
        await client.templates.create(app_id=app_id, name="name", text=TEXT)
    assert not router.calls


@pytest.mark.parametrize("template_id", ["", "  ", None, True, 4.5])
async def test_bad_path_ids_rejected(
    client: AsyncItnio, router: respx.Router, template_id: Any
) -> None:
    """Empty, blank, boolean and non-int/str template ids never reach the wire."""
    reply(router, TEMPLATE)
    with pytest.raises(ValidationError, match="template_id"):
        await client.templates.get(template_id)
    with pytest.raises(ValidationError, match="template_id"):
        await client.templates.update(template_id, name="name", text=TEXT)
    assert not router.calls


# -- modify: read, apply the changes, send it whole ---------------------------------

#: A template whose settings all differ from the documented defaults.
CUSTOM_TEMPLATE: dict[str, Any] = {
    **TEMPLATE,
    "codeType": 4,
    "codeLength": 8,
    "speechRate": 0,
    "language": "DE",
    "maxDuration": 120,
    "repeatCnt": 3,
}


def _modify_routes(router: respx.Router, current: dict[str, Any]) -> tuple[Any, Any]:
    """GET /template/details answers ``current``; PUT /template/update answers it."""
    get = router.get("/template/details/455").mock(
        return_value=httpx.Response(200, json=envelope(current))
    )
    put = router.put("/template/update/455").mock(
        return_value=httpx.Response(200, json=envelope(current))
    )
    return get, put


async def test_modify_reads_then_sends_the_whole_template(
    client: AsyncItnio, router: respx.Router
) -> None:
    """modify(name=...) reads the template and PUTs every current setting (a speech rate
    of 0 included) with the new name; appId is never sent."""
    get, put = _modify_routes(router, CUSTOM_TEMPLATE)
    await client.templates.modify(455, name="renamed")
    assert_wire(get, "GET", "/template/details/455")
    assert_wire(
        put,
        "PUT",
        "/template/update/455",
        {
            "name": "renamed",
            "text": TEXT,
            "codeType": 4,
            "codeLength": 8,
            "speechRate": 0,
            "language": "DE",
            "maxDuration": 120,
            "repeatCnt": 3,
            "senderId": "senderId",
        },
    )
    assert [c.request.method for c in router.calls] == ["GET", "PUT"]


async def test_modify_leaves_unset_fields_unsent(client: AsyncItnio, router: respx.Router) -> None:
    """Fields the template does not have (null or an empty sender id) are not sent."""
    current = {**CUSTOM_TEMPLATE, "senderId": "", "language": None}
    _, put = _modify_routes(router, current)
    await client.templates.modify("455", code_length=6, text="Code ##code##")
    assert sent_json(put) == {
        "name": "name",
        "text": "Code ##code##",
        "codeType": 4,
        "codeLength": 6,
        "speechRate": 0,
        "maxDuration": 120,
        "repeatCnt": 3,
    }


@pytest.mark.parametrize(
    "changes",
    [{"text": "no placeholder"}, {"code_length": 11}, {"code_type": 9}, {"sender_id": ""}],
)
async def test_modify_checks_the_changes_before_reading(
    client: AsyncItnio, router: respx.Router, changes: dict[str, Any]
) -> None:
    """A bad change raises ValidationError before anything is sent (not even the read)."""
    _modify_routes(router, CUSTOM_TEMPLATE)
    with pytest.raises(ValidationError):
        await client.templates.modify(455, **changes)
    assert not router.calls


async def test_modify_with_raw_response_answers_the_write(
    client: AsyncItnio, router: respx.Router
) -> None:
    """with_raw_response.modify returns the PUT's HTTP answer and the updated Template."""
    _modify_routes(router, CUSTOM_TEMPLATE)
    raw = await client.templates.with_raw_response.modify(455, repeat_cnt=2)
    assert raw.http_response.request.method == "PUT"
    assert type(raw.parse()) is Template
