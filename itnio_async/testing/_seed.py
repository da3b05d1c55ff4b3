"""A small, realistic data set for demos, the CLI's ``--sandbox`` mode and tests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from ._fake import FakeItnio

__all__ = ["SeedData", "seed"]


@attrs.frozen(kw_only=True)
class SeedData:
    """The ids :func:`seed` created.

    ``verification_ids[i]``, ``order_ids[i]``, ``numbers[i]`` and ``codes[i]`` describe
    the same verification.

    Attributes:
        app_id: the app ``demo-shop``.
        template_ids: ``login-sms`` (6 digits) and ``voice-login`` (8 letters/digits).
        flow_id: the flow ``sms-then-call``.
        verification_ids: one per verification, in creation order.
        order_ids: the orderId of each verification.
        numbers: the receiving number of each verification.
        codes: the code delivered for each verification (the first one was already
            matched: verifying it again answers ``ALREADY_USED``; the others verify).
        verified_ids: the verifications whose code was matched.
    """

    app_id: str
    template_ids: tuple[int, ...]
    flow_id: int
    verification_ids: tuple[str, ...]
    order_ids: tuple[str, ...]
    numbers: tuple[str, ...]
    codes: tuple[str, ...]
    verified_ids: tuple[str, ...]

    @property
    def template_id(self) -> int:
        """The first template (``login-sms``)."""
        return self.template_ids[0]

    @property
    def order_id(self) -> str:
        """The first orderId (a verified one)."""
        return self.order_ids[0]

    def as_dict(self) -> dict[str, Any]:
        """The ids as JSON-ready data (lists instead of tuples)."""
        return {
            field.name: list(value) if isinstance(value, tuple) else value
            for field in attrs.fields(type(self))
            for value in (getattr(self, field.name),)
        }


def seed(fake: FakeItnio) -> SeedData:
    """Fill ``fake`` with a small data set and return its ids.

    Creates, without any HTTP request (nothing appears in ``fake.requests``):

    * app ``demo-shop`` (codes valid 5 minutes; at most 10 000 sends a day, 20 per
      number an hour);
    * templates ``login-sms`` (numeric, 6 digits, sender ``DemoShop``) and
      ``voice-login`` (alphanumeric, 8 characters, for calls);
    * flow ``sms-then-call`` (if a code is not verified within 60 s, call);
    * four verifications, each with an orderId:

      ========== ============== ======= =========================================
      orderId    number         channel state
      ========== ============== ======= =========================================
      order-1001 8613512345678  sms     verified (matched 0), used the flow
      order-1002 91856321412    sms     a wrong code was tried (matched 2)
      order-1003 14155550123    call    sent with a caller code, not verified (-1)
      order-1004 447700900123   sna     not verified (-1)
      ========== ============== ======= =========================================

    On a fresh fake the ids of templates (455, 456) and of the flow (90, the id the
    vendor's PHP sample of flow.update uses) are always the same; the app id and the
    verification ids depend on the fake's random seed and clock. Call it once per
    fake: the names are unique, a second call fails with ``RuntimeError``.

    Args:
        fake: the fake to fill (``FakeItnio.seed()`` calls this with itself).

    Returns:
        The ids of what was created, and the codes of the verifications.

    Raises:
        RuntimeError: ``fake`` was seeded already (or holds an app, template or flow
            of the same name).
    """
    service = fake._service
    app = service.invoke(
        "POST",
        "/app/add",
        {
            "name": "demo-shop",
            "codeExpiry": 5,
            "periodTotalSendLimit": {"enabled": True, "unit": 1, "period": 1, "limit": 10_000},
            "periodPhoneSendLimit": {"enabled": True, "unit": 2, "period": 1, "limit": 20},
        },
    )
    app_id: str = app["appId"]
    sms = service.invoke(
        "POST",
        "/template/add",
        {
            "appId": app_id,
            "name": "login-sms",
            "text": "Your Demo Shop code is ##code##. It expires in 5 minutes.",
            "codeType": 1,
            "codeLength": 6,
            "senderId": "DemoShop",
        },
    )
    voice = service.invoke(
        "POST",
        "/template/add",
        {
            "appId": app_id,
            "name": "voice-login",
            "text": "Your verification code is ##code##",
            "codeType": 3,
            "codeLength": 8,
            "speechRate": 40,
            "language": "EN",
            "maxDuration": 59,
            "repeatCnt": 2,
        },
    )
    flow = service.invoke(
        "POST",
        "/flow/add",
        {
            "name": "sms-then-call",
            "flow": [{"waitingTime": 60, "status": 2, "channel": "call", "channelCut": 0}],
        },
    )
    sends: list[tuple[str, str, dict[str, Any]]] = [
        (
            "/verification/send",
            "8613512345678",
            {"templateId": sms["templateId"], "flowId": flow["flowId"], "channel": "sms"},
        ),
        ("/verification/send", "91856321412", {"templateId": sms["templateId"]}),
        (
            "/verification/sendRule",
            "14155550123",
            {"templateId": voice["templateId"], "code": "482913", "channel": "call"},
        ),
        ("/verification/send", "447700900123", {"templateId": sms["templateId"], "channel": "sna"}),
    ]
    ids: list[str] = []
    orders: list[str] = []
    for number, (path, to, extra) in enumerate(sends, start=1001):
        order_id = f"order-{number}"
        body = {"appId": app_id, "to": to, "orderId": order_id, **extra}
        sent = service.invoke("POST", path, body)
        ids.append(sent["verificationId"])
        orders.append(order_id)
    wrong = "0000000" if fake.last_code("91856321412") != "0000000" else "1111111"
    service.invoke("POST", "/verification/verify", {"verificationId": ids[1], "code": wrong})
    service.invoke(
        "POST",
        "/verification/verify",
        {"verificationId": ids[0], "code": fake.last_code("8613512345678")},
    )
    return SeedData(
        app_id=app_id,
        template_ids=(sms["templateId"], voice["templateId"]),
        flow_id=flow["flowId"],
        verification_ids=tuple(ids),
        order_ids=tuple(orders),
        numbers=tuple(to for _, to, _ in sends),
        codes=tuple(fake.last_code(to) for _, to, _ in sends),
        verified_ids=(ids[0],),
    )
