"""``client.templates``: message templates (text with ``##code##`` and code settings)."""

from __future__ import annotations

import builtins
from typing import Any

from .. import _validation as v
from .._call import Call, raw_of
from .._models import CodeType, Template
from .._retry import CallKind
from ._base import RawView, Resource, merged, read

__all__ = ["Templates", "TemplatesWithRawResponse"]


def _template_body(*, name: object, text: object, **options: object) -> dict[str, Any]:
    return {
        "name": v.check_name("name", name),
        "text": v.template_text("text", text),
        **_template_options(**options),
    }


def _template_options(
    *,
    code_type: object,
    code_length: object,
    speech_rate: object,
    language: object,
    max_duration: object,
    repeat_cnt: object,
    sender_id: object,
) -> dict[str, Any]:
    """The optional fields of a template body, checked; those left ``None`` are not sent."""
    body: dict[str, Any] = {}
    if code_type is not None:
        body["codeType"] = v.check_choice("code_type", code_type, CodeType, list(CodeType)).value
    if code_length is not None:
        body["codeLength"] = v.check_int("code_length", code_length, 4, 10)
    if speech_rate is not None:
        body["speechRate"] = v.check_int("speech_rate", speech_rate, 0, 100)
    if language is not None:
        # Not checked against the 14 documented codes: the list differs between pages.
        body["language"] = v.check_text("language", language)
    if max_duration is not None:
        body["maxDuration"] = v.check_int("max_duration", max_duration, 5, 599)
    if repeat_cnt is not None:
        body["repeatCnt"] = v.check_int("repeat_cnt", repeat_cnt, 1, 10)
    if sender_id is not None:
        body["senderId"] = v.check_text("sender_id", sender_id)
    return body


class Templates(Resource):
    """Message templates (``/template/...``)."""

    __slots__ = ()

    async def create(
        self,
        *,
        app_id: str,
        name: str,
        text: str,
        code_type: CodeType | int | None = CodeType.NUMERIC,
        code_length: int | None = None,
        speech_rate: int | None = None,
        language: str | None = None,
        max_duration: int | None = None,
        repeat_cnt: int | None = None,
        sender_id: str | None = None,
    ) -> Template:
        """Create a template (``POST /template/add``).

        Args:
            app_id: owning application (4–32 characters).
            name: 4–32 characters, unique.
            text: 1–256 characters containing ``##code##``.
            code_type: character set of generated codes; always sent (``None`` sends
                the documented default, NUMERIC), as the vendor pages disagree on it.
            code_length: 4–10 (server default 4).
            speech_rate: voice speed 0–100 (server default 50).
            language: voice language code such as ``"EN"`` (server default EN).
            max_duration: maximum call length, 5–599 seconds (server default 59).
            repeat_cnt: times the voice message is played, 1–10 (server default 1).
            sender_id: sender id.

        Returns:
            The created :class:`Template`.
        """
        body = {
            "appId": v.check_app_id("app_id", app_id),
            **_template_body(
                name=name,
                text=text,
                code_type=CodeType.NUMERIC if code_type is None else code_type,
                code_length=code_length,
                speech_rate=speech_rate,
                language=language,
                max_duration=max_duration,
                repeat_cnt=repeat_cnt,
                sender_id=sender_id,
            ),
        }
        return await self._port.request(
            self._call("POST", "/template/add", body=body, cast=Template, kind=CallKind.UNSAFE)
        )

    async def update(
        self,
        template_id: int | str,
        *,
        name: str,
        text: str,
        code_type: CodeType | int | None = None,
        code_length: int | None = None,
        speech_rate: int | None = None,
        language: str | None = None,
        max_duration: int | None = None,
        repeat_cnt: int | None = None,
        sender_id: str | None = None,
    ) -> Template:
        """Replace a template's settings (``PUT /template/update/{templateId}``);
        arguments as :meth:`create` (``app_id`` cannot change).

        ``update`` sends only what it is given, and the API documents a default for
        every optional field: one left ``None`` is not sent and is **reset** to its
        default (``code_type`` NUMERIC, ``code_length`` 4, ``speech_rate`` 50,
        ``language`` EN, ``max_duration`` 59, ``repeat_cnt`` 1, no ``sender_id``), not
        kept. To change some settings and keep the others, use :meth:`modify`.

        Args:
            template_id: the template to change (an ``int`` or its digits).
            name: 4–32 characters, unique.
            text: 1–256 characters containing ``##code##``.
            code_type: character set of generated codes; ``None`` is not sent (the
                API then resets it to NUMERIC).
            code_length: 4–10; ``None``: reset to 4.
            speech_rate: voice speed 0–100; ``None``: reset to 50.
            language: voice language code such as ``"EN"``; ``None``: reset to EN.
            max_duration: maximum call length, 5–599 seconds; ``None``: reset to 59.
            repeat_cnt: times the voice message is played, 1–10; ``None``: reset to 1.
            sender_id: sender id; ``None``: none.

        Returns:
            The updated :class:`Template`.

        Raises:
            ValidationError: an argument breaks a documented constraint (nothing is sent).
            NotFoundError: no such template (-24). AlreadyExistsError: the name is taken (-20).
        """
        ids = {"templateId": v.path_id("template_id", template_id)}
        body = _template_body(
            name=name,
            text=text,
            code_type=code_type,
            code_length=code_length,
            speech_rate=speech_rate,
            language=language,
            max_duration=max_duration,
            repeat_cnt=repeat_cnt,
            sender_id=sender_id,
        )
        return await self._port.request(
            self._call(
                "PUT",
                "/template/update/{templateId}",
                ids=ids,
                body=body,
                cast=Template,
                kind=CallKind.SAFE,
            )
        )

    async def modify(
        self,
        template_id: int | str,
        *,
        name: str | None = None,
        text: str | None = None,
        code_type: CodeType | int | None = None,
        code_length: int | None = None,
        speech_rate: int | None = None,
        language: str | None = None,
        max_duration: int | None = None,
        repeat_cnt: int | None = None,
        sender_id: str | None = None,
    ) -> Template:
        """Change some settings of a template and keep the others.

        Reads the template (:meth:`get`), applies the changes given, and sends the
        whole template through :meth:`update` (``PUT /template/update/{templateId}``),
        so a setting not named here keeps its current value instead of being reset
        to its default. An argument left ``None`` is not changed.

        Not atomic: the API has no compare-and-set, so a change someone else makes
        between the read and the write is overwritten by the value read.

        Args:
            template_id: the template id.
            name: the new name (4–32 characters, unique), or ``None`` to keep it.
            text: the new text (1–256 characters with ``##code##``), or ``None``.
            code_type: the new code type, or ``None`` to keep it.
            code_length: the new code length (4–10), or ``None`` to keep it.
            speech_rate: the new voice speed (0–100), or ``None`` to keep it.
            language: the new voice language, or ``None`` to keep it.
            max_duration: the new maximum call length (5–599 s), or ``None``.
            repeat_cnt: the new number of plays (1–10), or ``None`` to keep it.
            sender_id: the new sender id, or ``None`` to keep it.

        Every change is checked as by :meth:`update` before anything is sent.

        Returns:
            The updated :class:`Template` (``with_raw_response``: the answer to the write).

        Raises:
            ValidationError: a change breaks a documented constraint (nothing is sent).
            NotFoundError: no such template (-24). AlreadyExistsError: the name is taken (-20).
        """
        ids = {"templateId": v.path_id("template_id", template_id)}
        if name is not None:
            v.check_name("name", name)
        if text is not None:
            v.template_text("text", text)
        options: dict[str, Any] = {
            "code_type": code_type,
            "code_length": code_length,
            "speech_rate": speech_rate,
            "language": language,
            "max_duration": max_duration,
            "repeat_cnt": repeat_cnt,
            "sender_id": sender_id,
        }
        _template_options(**options)
        current = await read(self._port, _details_call(ids))
        return await self.update(template_id, **merged(current, name=name, text=text, **options))

    async def get(self, template_id: int | str) -> Template:
        """Read one template (``GET /template/details/{templateId}``).

        Args:
            template_id: the template's id (an ``int`` or its digits).

        Returns:
            The :class:`Template`.

        Raises:
            ValidationError: a malformed id (nothing is sent).
            NotFoundError: no such template (-24).
        """
        return await self._port.request(
            _details_call({"templateId": v.path_id("template_id", template_id)})
        )

    async def list(self) -> builtins.list[Template]:
        """All templates of the account (``GET /template/list``; no pagination).

        The API documents an object but returns every template: an object or an
        array is accepted, and a list is always returned.

        Returns:
            Every :class:`Template` (an empty list when there is none).
        """
        return await self._port.request(
            self._call("GET", "/template/list", cast=Template, kind=CallKind.SAFE, many=True)
        )

    @property
    def with_raw_response(self) -> TemplatesWithRawResponse:
        """These methods, returning :class:`RawResponse` (the HTTP answer beside the model)."""
        return TemplatesWithRawResponse(Templates(self._port.raw()))


def _details_call(ids: dict[str, str]) -> Call[Template]:
    """``GET /template/details/{templateId}`` of a checked template id."""
    return Resource._call(
        "GET", "/template/details/{templateId}", ids=ids, cast=Template, kind=CallKind.SAFE
    )


class TemplatesWithRawResponse(RawView):
    """``client.templates`` methods that return :class:`RawResponse`."""

    __slots__ = ()

    @raw_of(Templates.create)
    def create(self) -> None:
        """:meth:`Templates.create`, returning :class:`RawResponse`."""

    @raw_of(Templates.update)
    def update(self) -> None:
        """:meth:`Templates.update`, returning :class:`RawResponse`."""

    @raw_of(Templates.modify)
    def modify(self) -> None:
        """:meth:`Templates.modify`, returning :class:`RawResponse` (of the write)."""

    @raw_of(Templates.get)
    def get(self) -> None:
        """:meth:`Templates.get`, returning :class:`RawResponse`."""

    @raw_of(Templates.list)
    def list(self) -> None:
        """:meth:`Templates.list`, returning :class:`RawResponse`."""
