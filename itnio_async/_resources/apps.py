"""``client.apps``: create, update and read verification-code applications."""

from __future__ import annotations

from typing import Any

from .. import _validation as v
from .._call import Call, raw_of
from .._models import App, SendLimit
from .._retry import CallKind
from ._base import RawView, Resource, merged, read

__all__ = ["Apps", "AppsWithRawResponse"]


def _app_body(
    name: object,
    code_expiry: object,
    period_total_send_limit: object,
    period_phone_send_limit: object,
) -> dict[str, Any]:
    return {
        "name": v.check_name("name", name),
        **_app_options(code_expiry, period_total_send_limit, period_phone_send_limit),
    }


def _app_options(
    code_expiry: object, period_total_send_limit: object, period_phone_send_limit: object
) -> dict[str, Any]:
    """The optional fields of an app body, checked; those left ``None`` are not sent."""
    body: dict[str, Any] = {}
    if code_expiry is not None:
        body["codeExpiry"] = v.check_int("code_expiry", code_expiry, 1, 60)
    if period_total_send_limit is not None:
        body["periodTotalSendLimit"] = v.send_limit(
            "period_total_send_limit", period_total_send_limit
        )
    if period_phone_send_limit is not None:
        body["periodPhoneSendLimit"] = v.send_limit(
            "period_phone_send_limit", period_phone_send_limit
        )
    return body


def _path_app_id(value: object) -> object:
    # Ids in paths accept ``int | str``; app ids are strings on the wire.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class Apps(Resource):
    """Verification-code applications (``/app/...``)."""

    __slots__ = ()

    async def create(
        self,
        *,
        name: str,
        code_expiry: int | None = None,
        period_total_send_limit: SendLimit | None = None,
        period_phone_send_limit: SendLimit | None = None,
    ) -> App:
        """Create an application (``POST /app/add``).

        Args:
            name: 4–32 characters, unique in the account.
            code_expiry: minutes a sent code stays valid, 1–60 (server default 5).
            period_total_send_limit: cap on all sends of the app per period.
            period_phone_send_limit: cap on sends to one number per period.

        Returns:
            The created :class:`App`.

        Raises:
            ValidationError: an argument breaks a documented constraint.
            AlreadyExistsError: the name is taken (-20).
        """
        body = _app_body(name, code_expiry, period_total_send_limit, period_phone_send_limit)
        return await self._port.request(
            self._call("POST", "/app/add", body=body, cast=App, kind=CallKind.UNSAFE)
        )

    async def update(
        self,
        app_id: str | int,
        *,
        name: str,
        code_expiry: int | None = None,
        period_total_send_limit: SendLimit | None = None,
        period_phone_send_limit: SendLimit | None = None,
    ) -> App:
        """Replace an application's settings (``PUT /app/update/{appId}``; ``appId`` also
        goes in the body).

        ``update`` sends only what it is given, and the API documents a default for
        every optional field: one left ``None`` is not sent and is **reset** to its
        default (code expiry 5 minutes, send limit off), not kept. To change some
        settings and keep the others, use :meth:`modify`.

        Args:
            app_id: the application id (4–32 characters; an ``int`` is taken as its digits).
            name: 4–32 characters, unique in the account.
            code_expiry: minutes a sent code stays valid, 1–60 (not sent: 5).
            period_total_send_limit: the limit on all sends (see :meth:`create`);
                ``SendLimit(enabled=False)`` switches it off (not sent: off).
            period_phone_send_limit: the limit on sends to one number, likewise.

        Returns:
            The updated :class:`App`.

        Raises:
            ValidationError: an argument breaks a documented constraint (nothing is sent).
            NotFoundError: no such app (-24). AlreadyExistsError: the name is taken (-20).
        """
        app_id = v.check_app_id("app_id", _path_app_id(app_id))
        body = {
            "appId": app_id,
            **_app_body(name, code_expiry, period_total_send_limit, period_phone_send_limit),
        }
        return await self._port.request(
            self._call(
                "PUT",
                "/app/update/{appId}",
                ids={"appId": v.path_id("app_id", app_id)},
                body=body,
                cast=App,
                kind=CallKind.SAFE,
            )
        )

    async def modify(
        self,
        app_id: str | int,
        *,
        name: str | None = None,
        code_expiry: int | None = None,
        period_total_send_limit: SendLimit | None = None,
        period_phone_send_limit: SendLimit | None = None,
    ) -> App:
        """Change some settings of an application and keep the others.

        Reads the app (:meth:`get`), applies the changes given, and sends the whole
        app through :meth:`update` (``PUT /app/update/{appId}``), so a setting not
        named here keeps its current value instead of being reset to its default.
        An argument left ``None`` is not changed.

        Not atomic: the API has no compare-and-set, so a change someone else makes
        between the read and the write is overwritten by the value read.

        Args:
            app_id: the application id (4–32 characters; an ``int`` is taken as its digits).
            name: the new name (4–32 characters), or ``None`` to keep it.
            code_expiry: the new code expiry (1–60 minutes), or ``None`` to keep it.
            period_total_send_limit: the new limit on all sends, or ``None``.
            period_phone_send_limit: the new limit on sends to one number, or ``None``.

        Every change is checked as by :meth:`update` before anything is sent.

        Returns:
            The updated :class:`App` (``with_raw_response``: the answer to the write).

        Raises:
            ValidationError: a change breaks a documented constraint (nothing is sent).
            NotFoundError: no such app (-24). AlreadyExistsError: the name is taken (-20).
        """
        app_id = v.check_app_id("app_id", _path_app_id(app_id))
        if name is not None:
            v.check_name("name", name)
        _app_options(code_expiry, period_total_send_limit, period_phone_send_limit)
        current = await read(self._port, _details_call(app_id))
        return await self.update(
            app_id,
            **merged(
                current,
                name=name,
                code_expiry=code_expiry,
                period_total_send_limit=period_total_send_limit,
                period_phone_send_limit=period_phone_send_limit,
            ),
        )

    async def get(self, app_id: str | int) -> App:
        """Read one application (``GET /app/details/{appId}``).

        Args:
            app_id: the application id (4–32 characters; an ``int`` is taken as its digits).

        Returns:
            The :class:`App`.

        Raises:
            ValidationError: a malformed id (nothing is sent).
            NotFoundError: no such application (-24).
        """
        app_id = v.check_app_id("app_id", _path_app_id(app_id))
        return await self._port.request(_details_call(app_id))

    @property
    def with_raw_response(self) -> AppsWithRawResponse:
        """These methods, returning :class:`RawResponse` (the HTTP answer beside the model)."""
        return AppsWithRawResponse(Apps(self._port.raw()))


def _details_call(app_id: str) -> Call[App]:
    """``GET /app/details/{appId}`` of a checked app id."""
    return Resource._call(
        "GET",
        "/app/details/{appId}",
        ids={"appId": v.path_id("app_id", app_id)},
        cast=App,
        kind=CallKind.SAFE,
    )


class AppsWithRawResponse(RawView):
    """``client.apps`` methods that return :class:`RawResponse`."""

    __slots__ = ()

    @raw_of(Apps.create)
    def create(self) -> None:
        """:meth:`Apps.create`, returning :class:`RawResponse`."""

    @raw_of(Apps.update)
    def update(self) -> None:
        """:meth:`Apps.update`, returning :class:`RawResponse`."""

    @raw_of(Apps.modify)
    def modify(self) -> None:
        """:meth:`Apps.modify`, returning :class:`RawResponse` (of the write)."""

    @raw_of(Apps.get)
    def get(self) -> None:
        """:meth:`Apps.get`, returning :class:`RawResponse`."""
