"""Client-side checks of every documented constraint, run before anything is sent.

Each check raises :class:`ValidationError` naming the argument, the rule and the
value (phone numbers masked, codes shown by length only). The client's own settings
(:func:`check_credentials`, :func:`check_base_url`) raise :class:`ItnioError` instead:
they are configuration, not arguments of a call, and never show a secret.
"""

from __future__ import annotations

import enum
import ipaddress
import os
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import httpx

from ._exceptions import ItnioError, ValidationError
from ._models import Channel, ChannelCut, FlowStep, FlowTrigger, PeriodUnit, SendLimit
from ._redact import mask_phone

__all__ = [
    "check_app_id",
    "check_base_url",
    "check_choice",
    "check_credentials",
    "check_int",
    "check_name",
    "check_str",
    "check_text",
    "encodable",
    "insecure_http_opt_in",
    "int_id",
    "is_positive_number",
    "path_id",
    "request_method",
    "request_path",
]

E = TypeVar("E", bound=enum.Enum)

LIMIT_MAX = 10_000_000_000
#: The largest integer id the API can hold (a signed 64-bit integer, Java's long).
INT64_MAX = 2**63 - 1
SEND_CHANNELS = frozenset({Channel.SMS, Channel.CALL, Channel.SNA})
FLOW_CHANNELS = frozenset({Channel.SMS, Channel.CALL})


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_str(argument: str, value: object, lo: int, hi: int, *, shown: str | None = None) -> str:
    """A string of ``lo``–``hi`` characters."""
    if not isinstance(value, str):
        raise ValidationError(argument, "a string", shown or type(value).__name__)
    if not lo <= len(value) <= hi:
        rule = f"at most {hi} characters" if lo == 0 else f"between {lo} and {hi} characters"
        raise ValidationError(argument, rule, shown or f"{_show(value)} ({len(value)} characters)")
    return value


def check_name(argument: str, value: object) -> str:
    """A name: 4–32 characters."""
    return check_str(argument, value, 4, 32)


def check_app_id(argument: str, value: object) -> str:
    """An app id: 4–32 characters, not all blank."""
    text = check_str(argument, value, 4, 32)
    if not text.strip():
        raise ValidationError(argument, "a non-blank id of 4 to 32 characters", _show(value))
    return text


def check_text(argument: str, value: object) -> str:
    """A non-empty string (for fields whose format the API does not document)."""
    if not isinstance(value, str):
        raise ValidationError(argument, "a string", type(value).__name__)
    if not value.strip():
        raise ValidationError(argument, "a non-empty string", _show(value))
    return value


def is_positive_number(value: object) -> bool:
    """Whether ``value`` is an ``int`` or ``float`` above 0 and finite (not a ``bool``)."""
    return (
        not isinstance(value, bool) and isinstance(value, (int, float)) and 0 < value < float("inf")
    )


def check_int(argument: str, value: object, lo: int, hi: int) -> int:
    """An integer in ``lo``–``hi`` (booleans are not integers here)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(argument, f"an integer between {lo} and {hi}", _show(value))
    if not lo <= value <= hi:
        raise ValidationError(argument, f"between {lo} and {hi}", _show(value))
    return value


def check_choice(argument: str, value: object, cls: type[E], allowed: Iterable[E]) -> E:
    """A member of ``allowed`` given as the enum or its raw value.

    Integer enums take an ``int`` or canonical integer text (``"4"``), never a boolean
    or a float (``True == 1`` and ``1.0 == 1`` would otherwise pick a member).
    """
    allowed = tuple(allowed)
    names = ", ".join(repr(a.value) for a in allowed)
    if isinstance(value, bool) or not isinstance(value, (cls, int, str)):
        raise ValidationError(argument, f"one of {names}", _show(value))
    try:
        member = cls(value)
    except (ValueError, TypeError):
        raise ValidationError(argument, f"one of {names}", _show(value)) from None
    if member not in allowed:
        raise ValidationError(argument, f"one of {names}", _show(value))
    return member


#: Path segments that URL normalisation removes ("." ) or climbs out of (".."):
#: ``records.get("..")`` would otherwise send ``GET /otp/verification``.
_DOT_SEGMENTS = frozenset({".", ".."})
#: The longest id accepted (the API's ids are 20-digit strings; this leaves room).
MAX_ID_LENGTH = 128


def encodable(argument: str, text: str) -> str:
    """``text`` if it can be sent (UTF-8): a lone surrogate cannot."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(
            argument, "text without lone surrogates (valid Unicode)", "<unencodable text>"
        ) from None
    return text


def path_id(argument: str, value: object) -> str:
    """An id for a URL path: non-empty ``int | str``, percent-encoded.

    Every character but ``A-Z a-z 0-9 - . _ ~`` is percent-encoded (``/`` and ``%``
    too), so the only ids URL normalisation could still change are ``.`` and ``..``;
    they are refused. An ``int`` must be a non-negative signed 64-bit integer.
    """
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValidationError(argument, "an int or a non-empty string", _show(value))
    if isinstance(value, int) and not 0 <= value <= INT64_MAX:
        raise ValidationError(argument, f"an integer id between 0 and {INT64_MAX}", _show(value))
    text = encodable(argument, str(value))
    if not text.strip():
        raise ValidationError(argument, "a non-empty id", _show(value))
    if len(text) > MAX_ID_LENGTH:
        raise ValidationError(argument, f"at most {MAX_ID_LENGTH} characters", f"{len(text)}")
    if text in _DOT_SEGMENTS:
        raise ValidationError(argument, "an id other than '.' or '..'", _show(value))
    return quote(text, safe="")


def int_id(argument: str, value: object) -> int:
    """An id sent as a JSON integer: a non-negative ``int`` or a string of ASCII digits.

    At most :data:`INT64_MAX` (the API's ids are signed 64-bit integers).
    """
    rule = "a non-negative integer id (or a string of digits)"
    if isinstance(value, bool):
        raise ValidationError(argument, rule, _show(value))
    if isinstance(value, int):
        if value < 0:
            raise ValidationError(argument, rule, _show(value))
        number = value
    elif isinstance(value, str):
        text = value.strip()
        # isascii: "²" and "١٢" pass str.isdigit() but are not ids.
        if not (text.isascii() and text.isdigit()):
            raise ValidationError(argument, rule, _show(value))
        significant = text.lstrip("0")
        # Length first: int() of thousands of digits is slow, and refused past 4300.
        number = INT64_MAX + 1 if len(significant) > 19 else int(significant or "0")
    else:
        raise ValidationError(argument, rule, _show(value))
    if number > INT64_MAX:
        raise ValidationError(argument, f"at most {INT64_MAX}", _show(value))
    return number


def verification_id(argument: str, value: object) -> str:
    """A verificationId: a non-empty string (ints are turned into their digits)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValidationError(argument, "a non-empty string", _show(value))
    text = encodable(argument, str(value))
    if not text.strip():
        raise ValidationError(argument, "a non-empty string", _show(value))
    if len(text) > MAX_ID_LENGTH:
        raise ValidationError(argument, f"at most {MAX_ID_LENGTH} characters", f"{len(text)}")
    return text


_PHONE_SEPARATORS = frozenset(" -.")
_PHONE_FORMAT = "a phone number: digits with an optional leading '+' or '00'"
_PHONE_RULES = {
    "char": f"{_PHONE_FORMAT}, and only spaces, '-', '.' or parentheses between digits",
    "plus": "a phone number with '+' only as its first character",
    "separator": "a phone number with a single space, '-' or '.' only between digits",
    "paren": "a phone number with parentheses only around digits after the country code",
    "zero": "a phone number starting with its country code (which never starts with 0)",
    "length": "10 to 14 digits (country code and number)",
}


def phone(argument: str, value: object) -> str:
    """A destination number as people write it, sent as the 10–14 digits the API wants.

    Accepted: ASCII digits, optionally after a leading ``+`` or ``00`` (the
    international prefix, dropped), with single spaces, dashes or dots and
    parentheses around digit groups *between* digits — ``"+14155550100"``,
    ``"86 135 1234 5678"``, ``"+1 (415) 555-0100"``, ``"0086-135.1234.5678"``.
    What is sent is the digits alone: country code and number, 10–14 of them, not
    starting with ``0`` (no country code does).

    Refused: anything else — letters, non-ASCII digits, a ``+`` anywhere but first,
    ``++``, ``+00``, a separator at the start or end or two in a row (``"1--2"``),
    empty, nested or unbalanced parentheses, a ``(`` before the country code (that is
    a national number, ``"(415) 555-0100"``), surrounding whitespace. The message
    shows at most the last four characters of the number.
    """
    if not isinstance(value, str):
        raise ValidationError(argument, "a string of 10 to 14 digits", type(value).__name__)
    problem = _phone_problem(value)
    if problem is None:
        digits = "".join(ch for ch in value if "0" <= ch <= "9")
        if not value.startswith("+") and digits.startswith("00"):
            digits = digits[2:]  # the international prefix, as "+"
        if digits.startswith("0"):
            problem = "zero"
        elif not 10 <= len(digits) <= 14:
            raise ValidationError(
                argument, _PHONE_RULES["length"], f"{_masked(value)} ({len(digits)} digits)"
            )
        else:
            return digits
    raise ValidationError(
        argument, _PHONE_RULES[problem], f"{_masked(value)} ({len(value)} characters)"
    )


def _phone_problem(text: str) -> str | None:
    """What makes ``text`` no phone number (a key of ``_PHONE_RULES``), or ``None``."""
    # A scanner, not a regex: nested quantifiers over digit runs backtrack exponentially.
    previous = "start"  # start | plus | digit | separator | open | close
    in_parentheses = False
    for index, ch in enumerate(text):
        if "0" <= ch <= "9":
            previous = "digit"
        elif ch == "+":
            if index != 0:
                return "plus"
            previous = "plus"
        elif ch in _PHONE_SEPARATORS:
            if previous not in ("digit", "close"):
                return "separator"
            previous = "separator"
        elif ch == "(":
            # First is a national number's area code ("(415) 555-0100"): no country code.
            if in_parentheses or previous in ("start", "close"):
                return "paren"
            in_parentheses, previous = True, "open"
        elif ch == ")":
            if not in_parentheses or previous != "digit":
                return "paren"
            in_parentheses, previous = False, "close"
        else:
            return "char"
    if in_parentheses:
        return "paren"
    return "separator" if previous == "separator" else None


def _masked(value: str) -> str:
    """A number shown by its last four characters (long inputs are cut, not echoed)."""
    tail = value[-24:]
    return repr(("..." if len(value) > 24 else "") + mask_phone(tail))


#: Full-width digits (U+FF10–U+FF19, what an East Asian input method types) → ASCII.
_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def code(argument: str, value: object, lo: int, hi: int) -> str:
    """An OTP code as people paste or type it, sent as ``lo``–``hi`` printable ASCII
    characters; never shown.

    Whitespace around the code is dropped (``"482913 "``, ``"\t482913\n"``) and
    full-width digits are read as ASCII digits (``"４８２９１３"`` → ``"482913"``),
    before the length is checked. Refused: a blank code, whitespace inside it
    (``"482 913"``), any other non-ASCII character (full-width letters, other
    scripts' digits) and control characters; the message says which, by position in
    the code without its surrounding whitespace, never the code itself.
    """
    if not isinstance(value, str):
        raise ValidationError(
            argument, f"a string of {lo} to {hi} characters", type(value).__name__
        )
    if value and value.isspace():
        raise ValidationError(argument, "non-blank", f"a blank code of {len(value)} characters")
    text = value.strip().translate(_FULL_WIDTH_DIGITS)
    size = len(text)
    for index, ch in enumerate(text):
        if ch.isspace():
            what = "whitespace"
        elif not ch.isascii():
            what = "a non-ASCII character"
        elif not ch.isprintable():
            what = "a control character"
        else:
            continue
        raise ValidationError(
            argument,
            "printable ASCII without whitespace",
            f"a code of {size} characters with {what} at position {index}",
        )
    if not lo <= size <= hi:
        raise ValidationError(
            argument, f"between {lo} and {hi} characters", f"a code of {size} characters"
        )
    return text


def lookup_order_id(argument: str, value: object) -> str:
    """An order id to look a record up by: 1–64 characters, not all blank."""
    text = check_str(argument, value, 1, 64)
    if not text.strip():
        raise ValidationError(argument, "a non-blank order id of 1 to 64 characters", _show(value))
    return text


def template_text(argument: str, value: object) -> str:
    """Template text: 1–256 characters containing ``##code##``."""
    text = check_str(argument, value, 1, 256)
    if "##code##" not in text:
        raise ValidationError(argument, "text containing the placeholder '##code##'", _show(text))
    return text


def send_limit(argument: str, value: object) -> dict[str, Any]:
    """A :class:`SendLimit`, encoded for the wire (nulls when disabled)."""
    if not isinstance(value, SendLimit):
        raise ValidationError(argument, "a SendLimit", _show(value))
    if not isinstance(value.enabled, bool):
        raise ValidationError(f"{argument}.enabled", "a boolean", _show(value.enabled))
    if not value.enabled:
        return {"enabled": False, "unit": None, "period": None, "limit": None}
    for name in ("unit", "period", "limit"):
        if getattr(value, name) is None:
            raise ValidationError(f"{argument}.{name}", "set when the limit is enabled", "None")
    unit = check_choice(f"{argument}.unit", value.unit, PeriodUnit, list(PeriodUnit))
    return {
        "enabled": True,
        "unit": unit.value,
        "period": check_int(f"{argument}.period", value.period, 1, 90),
        "limit": check_int(f"{argument}.limit", value.limit, 1, LIMIT_MAX),
    }


def flow_steps(argument: str, value: object) -> list[dict[str, Any]]:
    """A non-empty sequence of :class:`FlowStep`, encoded for the wire."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise ValidationError(argument, "a sequence of FlowStep", _show(value))
    if not value:
        raise ValidationError(argument, "at least one step", "[]")
    encoded = []
    for i, step in enumerate(value):
        where = f"{argument}[{i}]"
        if not isinstance(step, FlowStep):
            raise ValidationError(where, "a FlowStep", _show(step))
        encoded.append(
            {
                "waitingTime": check_int(f"{where}.waiting_time", step.waiting_time, 30, 120),
                "status": check_choice(
                    f"{where}.status", step.status, FlowTrigger, list(FlowTrigger)
                ).value,
                "channel": check_choice(
                    f"{where}.channel", step.channel, Channel, FLOW_CHANNELS
                ).value,
                "channelCut": check_choice(
                    f"{where}.channel_cut", step.channel_cut, ChannelCut, list(ChannelCut)
                ).value,
            }
        )
    return encoded


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


def epoch_millis(argument: str, value: object) -> str:
    """A time as an epoch-milliseconds string (from an aware ``datetime``, int or digits)."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValidationError(argument, "a timezone-aware datetime", _show(value))
        # Integer arithmetic: no float rounding of the milliseconds.
        millis = (value - _EPOCH) // _MILLISECOND
        if millis < 0:
            raise ValidationError(argument, "a time after 1970-01-01", _show(value))
        return str(millis)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return value
    raise ValidationError(
        argument, "a datetime or epoch milliseconds (int or digits)", _show(value)
    )


def iso_time(argument: str, value: object) -> str:
    """An ISO-8601 time with an offset (from an aware ``datetime`` or a string)."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValidationError(argument, "a timezone-aware datetime", _show(value))
        return value.isoformat(timespec="seconds")
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return value
    raise ValidationError(argument, "an ISO-8601 time with an offset", _show(value))


def numeric_string(
    argument: str,
    value: object,
    *,
    lo: Decimal | None = None,
    hi: Decimal | None = None,
    places: int | None = None,
    integer: bool = False,
) -> str:
    """A number (``int``, ``Decimal`` or numeric ``str``) sent as a string."""
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, str, Decimal)):
        raise ValidationError(argument, f"{kind} (int, Decimal or str)", _show(value))
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValidationError(argument, kind, _show(value)) from None
    if not number.is_finite():
        raise ValidationError(argument, f"a finite {kind.split()[1]}", _show(value))
    if integer and number != number.to_integral_value():
        raise ValidationError(argument, kind, _show(value))
    if lo is not None and number < lo:
        rule = f"at least {lo}" if hi is None else f"between {lo} and {hi}"
        raise ValidationError(argument, rule, _show(value))
    if hi is not None and number > hi:
        rule = f"at most {hi}" if lo is None else f"between {lo} and {hi}"
        raise ValidationError(argument, rule, _show(value))
    exponent = number.as_tuple().exponent
    if places is not None and isinstance(exponent, int) and -exponent > places:
        raise ValidationError(argument, f"a number with at most {places} decimals", _show(value))
    if integer:
        number = number.to_integral_value()
    digits, exponent = len(number.as_tuple().digits), number.as_tuple().exponent
    assert isinstance(exponent, int)  # finite, checked above
    if max(digits + exponent, 1) + max(-exponent, 0) > _PLAIN_MAX:
        # "1E+999999999" would be sent as a billion zeros.
        raise ValidationError(argument, f"{kind} of at most {_PLAIN_MAX} digits", _show(value))
    text = str(value).strip()
    if (_PLAIN_INTEGER if integer else _PLAIN_NUMBER).fullmatch(text):
        return text
    # "1E+1", "١٢", "460.0" for an integer, "-0": send the plain ASCII form instead.
    # format(), never int(): int() would drop the fraction of "1E-1".
    return format(abs(number) if number == 0 else number, "f")


#: Digits a number may have when written out plainly (the API's numbers are far shorter).
_PLAIN_MAX = 64
_PLAIN_INTEGER = re.compile(r"[0-9]+")
_PLAIN_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?")


# -- client configuration (ItnioError, not ValidationError: not an argument of a call) --


def check_credentials(api_key: object, api_secret: object) -> tuple[str, str]:
    """Check the API key and secret before they sign anything; return them unchanged.

    Both must be non-empty printable ASCII without whitespace anywhere: a secret read
    from a file with its trailing newline would otherwise sign every request wrongly
    and surface only as ``-1`` from the server. ``None`` (missing) is the caller's
    concern.

    Raises:
        ItnioError: naming ``api_key`` or ``api_secret`` and what is wrong with it
            ("has a trailing newline", "contains a non-ASCII character at position 3",
            ...; positions count from 0). Neither value is ever shown, not even the key.
    """
    for name, value in (("api_key", api_key), ("api_secret", api_secret)):
        problem = _credential_problem(value)
        if problem is not None:
            raise ItnioError(
                f"{name} {problem}: API credentials are printable ASCII without spaces "
                "or line breaks (copy them again from the ITNIO console, Home → Developers)"
            )
    assert isinstance(api_key, str)
    assert isinstance(api_secret, str)
    return api_key, api_secret


def _credential_problem(value: object) -> str | None:
    """What is wrong with a key or secret, in words that never quote it; ``None`` if fine."""
    if not isinstance(value, str):
        return f"must be a string, not {type(value).__name__}"
    if not value:
        return "is empty"
    if value.isspace():
        return "is blank"
    if value.endswith(("\n", "\r")):
        return "has a trailing newline"
    if value[-1].isspace():
        return "has trailing whitespace"
    if value[0].isspace():
        return "has leading whitespace"
    for index, ch in enumerate(value):
        if ch.isspace():
            return f"contains whitespace at position {index}"
        if not ch.isascii():
            return f"contains a non-ASCII character at position {index}"
        if not ch.isprintable():
            return f"contains a control character at position {index}"
    return None


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_HOST_NAME = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?")


def check_base_url(url: object, *, allow_insecure_http: bool) -> str:
    """Check the API base URL and return it without surrounding whitespace or trailing ``/``.

    It must be an ``http``/``https`` URL with a host and no user name or password, no
    query and no fragment; scheme and host are lower-cased
    (``"HTTPS://API.EXAMPLE.COM/otp/"`` → ``"https://api.example.com/otp"``). Plain
    ``http://`` is allowed to loopback hosts only (``localhost``, ``127.0.0.0/8``,
    ``::1``) unless ``allow_insecure_http=True``: the ``Api-Key`` and a ``Sign`` that
    can be replayed while its ``Timestamp`` is fresh would travel in clear text.

    Raises:
        ItnioError: saying what is wrong; a password in the URL is never shown.
    """
    if not isinstance(url, (str, httpx.URL)):
        raise ItnioError(f"base_url must be a string, not {type(url).__name__}")
    text = str(url).strip()
    shown = _shown_url(text)
    if not text:
        raise ItnioError("base_url is empty")
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        raise ItnioError(f"base_url {shown} contains whitespace or a control character")
    try:
        parts = urlsplit(text)
        port = parts.port  # reading it checks the port: digits, at most 65535
    except ValueError:
        raise ItnioError(f"base_url {shown} is not a valid URL") from None
    if port == 0:
        raise ItnioError(f"base_url {shown} is not a valid URL")
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not _SCHEME.match(text):
        raise ItnioError(f"base_url {shown} must start with https:// (or http://)")
    if "@" in parts.netloc:
        raise ItnioError(
            f"base_url {shown} must not contain a user name or password: "
            "requests are authenticated by the Api-Key and Sign headers"
        )
    if "?" in text or "#" in text:
        part = "query ('?...')" if "?" in text else "fragment ('#...')"
        raise ItnioError(f"base_url {shown} must not have a {part}: API paths are appended to it")
    host = (parts.hostname or "").lower()
    if not host or not _valid_host(host, parts.netloc):
        raise ItnioError(f"base_url {shown} has no valid host")
    if scheme == "http" and not allow_insecure_http and not _is_loopback(host):
        raise ItnioError(
            f"base_url {shown} uses plain http:// to a host that is not loopback: the API "
            "key and a replayable Sign would travel in clear text. Use https://, or if "
            "this network is trusted pass allow_insecure_http=True, set "
            "ITNIO_ALLOW_INSECURE_HTTP=1 or give itnio --allow-insecure-http"
        )
    checked = f"{scheme}://{parts.netloc.lower()}{parts.path.rstrip('/')}"
    try:
        httpx.URL(checked)
    except httpx.InvalidURL:
        raise ItnioError(f"base_url {shown} is not a valid URL") from None
    return checked


#: ``ITNIO_ALLOW_INSECURE_HTTP`` values that opt in (case-insensitive).
_OPT_IN = frozenset({"1", "true", "yes"})


def insecure_http_opt_in(allow_insecure_http: bool | None) -> bool:
    """The plain-``http://`` opt-in: the argument when given, else
    ``ITNIO_ALLOW_INSECURE_HTTP`` (``1``, ``true`` or ``yes``; unset or empty is off).

    Raises:
        ItnioError: the variable holds anything else (a typo must not pass unnoticed).
    """
    if allow_insecure_http is not None:
        return allow_insecure_http
    text = os.environ.get("ITNIO_ALLOW_INSECURE_HTTP", "").strip()
    if not text:
        return False
    if text.lower() in _OPT_IN:
        return True
    raise ItnioError(
        f"ITNIO_ALLOW_INSECURE_HTTP must be 1, true or yes to allow plain http:// to a "
        f"host that is not loopback (or unset or empty not to), got {_show(text)}"
    )


def _shown_url(text: str) -> str:
    """``text`` for a message, everything before an ``@`` (a user and password) masked."""
    if "@" in text:
        scheme = _SCHEME.match(text)
        text = (scheme.group() if scheme else "") + "***@" + text.rsplit("@", 1)[1]
    return _show(text)


def _valid_host(host: str, netloc: str) -> bool:
    """An IPv6 literal in brackets, or a host name (international names as IDNA)."""
    if netloc.rsplit("@", 1)[-1].startswith("["):
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return False
        return True
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return False
    return _HOST_NAME.fullmatch(host) is not None


def _is_loopback(host: str) -> bool:
    """``localhost``, ``127.0.0.0/8`` or ``::1`` (also as ``::ffff:127.x.y.z``)."""
    if host in ("localhost", "localhost."):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


#: What an API path given to ``client.request`` may hold: printable ASCII, no space,
#: query or fragment (ids are percent-encoded by the caller).
_API_PATH = re.compile(r"/[!$&'()*+,\-./0-9:;=@A-Z_a-z~%]*")


def request_method(argument: str, value: object, allowed: Iterable[str]) -> str:
    """An HTTP method among ``allowed`` (any case), upper-cased."""
    names = ", ".join(allowed)
    if not isinstance(value, str) or value.upper() not in set(allowed):
        raise ValidationError(argument, f"one of {names}", _show(value))
    return value.upper()


def request_path(argument: str, value: object) -> str:
    """An API path for ``client.request``: ``/`` then printable ASCII without spaces,
    query, fragment or ``.``/``..`` segments, at most 2,048 characters."""
    rule = "an API path: '/' then printable ASCII, no spaces, '?', '#' or dot segments"
    if not isinstance(value, str) or len(value) > 2048 or not _API_PATH.fullmatch(value):
        raise ValidationError(argument, rule, _show(value))
    if any(segment in _DOT_SEGMENTS for segment in value.split("/")):
        raise ValidationError(argument, rule, _show(value))
    return value
