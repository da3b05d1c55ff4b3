"""``client.flows``: task flows (ordered channel fallbacks)."""

from __future__ import annotations

import builtins
from collections.abc import Sequence

from .. import _validation as v
from .._call import raw_of
from .._models import Flow, FlowStep
from .._retry import CallKind
from ._base import RawView, Resource

__all__ = ["Flows", "FlowsWithRawResponse"]


class Flows(Resource):
    """``client.flows``: task flows, the ordered fallbacks between channels (``/flow/...``).

    A flow is a list of :class:`FlowStep`: after ``waiting_time`` seconds, if the
    trigger (``status``: the send failed, or the code was not verified) holds, the
    code goes out again on the step's ``channel``. Pass a flow's id as ``flow_id``
    to :meth:`Verifications.send`.
    """

    __slots__ = ()

    async def create(self, *, name: str, steps: Sequence[FlowStep]) -> Flow:
        """Create a task flow (``POST /flow/add``; ``steps`` are sent as ``flow``).

        Not retried once the request may have left (a duplicate create fails with -20
        or creates twice).

        Args:
            name: 4–32 characters, unique in the account.
            steps: at least one :class:`FlowStep` (waiting time 30–120 s; channel sms or call).

        Returns:
            The created :class:`Flow`.

        Raises:
            ValidationError: a broken rule (nothing is sent).
            AlreadyExistsError: a flow of that name exists (-20).
            APIError: any other rejection.
            TransportError: the request failed; ``sent`` says whether it may have arrived.
        """
        body = {"name": v.check_name("name", name), "flow": v.flow_steps("steps", steps)}
        return await self._port.request(
            self._call("POST", "/flow/add", body=body, cast=Flow, kind=CallKind.UNSAFE)
        )

    async def update(self, flow_id: int | str, *, name: str, steps: Sequence[FlowStep]) -> Flow:
        """Replace a task flow (``PUT /flow/update/{flowId}``; the whole step list is sent).

        The vendor's page text says POST, its Java and PHP code send PUT; the SDK sends PUT.
        Retried like a read (sending the same whole flow twice is harmless).

        Args:
            flow_id: the flow to replace (``int``, or its digits as a string).
            name: 4–32 characters.
            steps: the new step list, at least one :class:`FlowStep`; it replaces the old one.

        Returns:
            The updated :class:`Flow`.

        Raises:
            ValidationError: a broken rule (nothing is sent).
            NotFoundError: no flow has that id (-24).
            APIError: any other rejection.
        """
        ids = {"flowId": v.path_id("flow_id", flow_id)}
        body = {"name": v.check_name("name", name), "flow": v.flow_steps("steps", steps)}
        return await self._port.request(
            self._call(
                "PUT", "/flow/update/{flowId}", ids=ids, body=body, cast=Flow, kind=CallKind.SAFE
            )
        )

    async def get(self, flow_id: int | str) -> Flow:
        """Read one task flow (``GET /flow/details/{flowId}``).

        Args:
            flow_id: the flow's id (``int``, or a string; percent-encoded in the path).

        Returns:
            The :class:`Flow`.

        Raises:
            NotFoundError: no flow has that id (-24).
        """
        return await self._port.request(
            self._call(
                "GET",
                "/flow/details/{flowId}",
                ids={"flowId": v.path_id("flow_id", flow_id)},
                cast=Flow,
                kind=CallKind.SAFE,
            )
        )

    async def list(self) -> builtins.list[Flow]:
        """All task flows of the account (``GET /flow/list``; no pagination).

        Returns:
            Every :class:`Flow`; an empty list when there are none.
        """
        return await self._port.request(
            self._call("GET", "/flow/list", cast=Flow, kind=CallKind.SAFE, many=True)
        )

    @property
    def with_raw_response(self) -> FlowsWithRawResponse:
        """These methods, returning :class:`RawResponse` (the HTTP answer beside the model)."""
        return FlowsWithRawResponse(Flows(self._port.raw()))


class FlowsWithRawResponse(RawView):
    """``client.flows`` methods that return :class:`RawResponse`."""

    __slots__ = ()

    @raw_of(Flows.create)
    def create(self) -> None:
        """:meth:`Flows.create`, returning :class:`RawResponse`."""

    @raw_of(Flows.update)
    def update(self) -> None:
        """:meth:`Flows.update`, returning :class:`RawResponse`."""

    @raw_of(Flows.get)
    def get(self) -> None:
        """:meth:`Flows.get`, returning :class:`RawResponse`."""

    @raw_of(Flows.list)
    def list(self) -> None:
        """:meth:`Flows.list`, returning :class:`RawResponse`."""
