"""The one cattrs converter: wire JSON ↔ models.

Rules (see the API reference):

* wire names are camelCase of the attribute names, except ``Flow.steps`` ↔ ``flow``;
* times are ISO-8601 strings; a time without an offset is read as UTC+08:00 (the
  offset of every documented example), so every ``datetime`` is timezone-aware;
* money (``pay``, ``rate``, ``cost``) becomes ``Decimal``;
* ``sms`` / ``call`` / ``sna`` are always lists (an object is wrapped, null or absent is ``[]``);
* integers and integer enums take JSON integers or canonical ASCII integer strings
  (:func:`parse_int_text`) only: ``true``/``false`` and floats (even ``2.0``) are
  decode failures, never ``0``/``1`` in disguise;
* unknown fields are ignored and unknown enum values are kept (open enums);
* ``None`` means "absent" for optional fields.

The unstructure side is the one serialiser of models (``Model.to_dict()``,
``Model.to_json()`` and everything the ``itnio`` command prints): wire names, JSON
values only (``Decimal`` as a string, ``datetime`` as ISO 8601, enums as their wire
values), ``None`` kept. A bulk lookup's result becomes ``{"orderId", "ok", "record"}``
or ``{"orderId", "ok", "error": {"type", "status", "message"}}``.

The converter is built on first use (nothing is created at import time) and cached.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import json
import operator
import types
import typing
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from . import _models as m
from ._exceptions import APIError, HTTPStatusError
from ._ints import parse_int_text

__all__ = [
    "camel",
    "dumps",
    "get_converter",
    "model_to_dict",
    "model_to_json",
    "parse_datetime",
    "structure",
    "unstructure",
    "wire_name",
]

T = TypeVar("T")

# Typed loosely: the per-attribute overrides are passed as keyword arguments.
_make_structure: Any = make_dict_structure_fn
_make_unstructure: Any = make_dict_unstructure_fn

#: Offset assumed for wire times that carry none (every documented example is +08:00).
WIRE_TZ = timezone(timedelta(hours=8))
_WIRE_OFFSET = "+08:00"

_RENAMES: dict[tuple[type, str], str] = {(m.Flow, "steps"): "flow"}
_ENUMS: tuple[type[enum.Enum], ...] = (
    m.Channel,
    m.CodeType,
    m.MatchStatus,
    m.FlowTrigger,
    m.ChannelCut,
    m.PeriodUnit,
)
_LIST_FIELDS = (m.SmsAttempt, m.CallAttempt, m.SnaAttempt)
#: Models a ``null`` decodes into as an empty instance (``Record.verifications``).
_EMPTY_WHEN_NULL: tuple[type, ...] = (m.VerificationSummary,)
_MODELS: tuple[type, ...] = (
    m.SendLimit,
    m.App,
    m.Template,
    m.FlowStep,
    m.Flow,
    m.SendResult,
    m.VerifyResult,
    m.VerificationSummary,
    m.SmsAttempt,
    m.CallAttempt,
    m.SnaAttempt,
    m.Record,
)


def camel(name: str) -> str:
    """``code_expiry`` → ``codeExpiry``; ``bill_periodstring`` → ``billPeriodstring``."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def wire_name(cls: type, attribute: str) -> str:
    """The wire (JSON) name of a model's attribute: ``(Flow, "steps")`` → ``"flow"``."""
    return _RENAMES.get((cls, attribute), camel(attribute))


def parse_datetime(value: object, _: object = None) -> datetime | None:
    """Parse a wire time into an aware ``datetime`` (``""`` → ``None``)."""
    if type(value) is str:
        text = value.strip()
        if not text:
            return None
        clock = text[10:]  # after YYYY-MM-DD: the time, and an offset if there is one
        if "+" not in clock and "-" not in clock and not clock.endswith(("Z", "z")):
            # Parsed with the offset put in: several times cheaper than .replace().
            with contextlib.suppress(ValueError):  # a form that takes none (a bare date)
                return datetime.fromisoformat(text + _WIRE_OFFSET)
        parsed = datetime.fromisoformat(text)
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=WIRE_TZ)
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=WIRE_TZ)
    raise TypeError(f"expected an ISO-8601 string, got {type(value).__name__}")


#: Wire texts a converter remembers the parsed value of (see :func:`_remembered`).
_REMEMBERED = 1024


def _remembered(parse: Callable[[Any, Any], T]) -> Callable[[Any, Any], T]:
    """``parse``, remembering what it made of each of the last texts it was given.

    Times and amounts repeat within a record and across records (a call's ringing,
    answer and hang-up times are often one second); the values made are immutable
    (``datetime``, ``Decimal``), so one may be shared. At most ``_REMEMBERED`` texts
    are kept (all forgotten at once when full), per converter.
    """
    made: dict[str, T] = {}

    def remembered(value: Any, kind: Any) -> T:
        if type(value) is str:
            found = made.get(value)
            if found is None:
                if len(made) >= _REMEMBERED:
                    made.clear()
                found = made[value] = parse(value, kind)
            return found
        return parse(value, kind)

    return remembered


def _parse_decimal(value: object, _: type) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise TypeError(f"expected a decimal string, got {type(value).__name__}")
    text = str(value).strip()
    if not text:
        return None
    try:
        result = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(f"not a decimal: {text[:40]!r}") from exc
    if not result.is_finite():
        raise ValueError(f"not a finite decimal: {text[:40]!r}")
    return result


def _parse_int(value: object, _: type = int) -> int:
    # bool is an int subclass and float 2.0 == 2: both would decode silently otherwise.
    if isinstance(value, bool):
        raise TypeError("expected an integer, got a boolean")
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        number = parse_int_text(value)
        if number is None:
            raise ValueError(f"not an integer: {value[:40]!r}")
        return number
    raise TypeError(f"expected an integer, got {type(value).__name__}")


def _parse_str(value: object, _: type) -> str:
    # Ids sometimes arrive as JSON numbers; 20-digit ids stay exact because json ints do.
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"expected a string, got {type(value).__name__}")


def _parse_bool(value: object, _: type) -> bool:
    # The vendor is sloppy with types: 0/1 and "0"/"1"/"true"/"false" are read too.
    if isinstance(value, bool):
        return value
    if type(value) is int and value in (0, 1):
        return value == 1
    if isinstance(value, str) and value in ("0", "1", "true", "false"):
        return value in ("1", "true")
    raise TypeError(f"expected a boolean, got {type(value).__name__}")


def _parse_enum(value: object, cls: type[enum.Enum]) -> enum.Enum:
    members, numeric = _members(cls)
    if type(value) is (int if numeric else str):  # the common case: a known member
        member = members.get(value)
        if member is not None:
            return member
    if numeric:
        # False == 0 and 2.0 == 2 would otherwise find MATCHED / FAILED by hash.
        value = _parse_int(value)
    return cls(value)  # open enums keep unknown values; wrong types raise ValueError


@functools.cache
def _members(cls: type[enum.Enum]) -> tuple[dict[object, enum.Enum], bool]:
    """``cls``'s members by value, and whether its values are integers."""
    return {member.value: member for member in cls}, issubclass(cls, int)


@functools.cache
def get_converter(*, strict: bool = False) -> cattrs.Converter:
    """The converter for all models; ``strict=True`` forbids unknown keys (used by tests)."""
    conv = cattrs.Converter(detailed_validation=False, forbid_extra_keys=strict)
    conv.register_structure_hook(datetime, _remembered(parse_datetime))
    conv.register_unstructure_hook(datetime, lambda v: v.isoformat())
    conv.register_structure_hook(Decimal, _remembered(_parse_decimal))
    conv.register_unstructure_hook(Decimal, str)
    conv.register_structure_hook(int, _parse_int)
    conv.register_structure_hook(str, _parse_str)
    conv.register_structure_hook(bool, _parse_bool)
    for enum_cls in _ENUMS:
        # Per class, so these win over the int/str hooks in cattrs' class dispatch.
        conv.register_structure_hook(enum_cls, _parse_enum)
        conv.register_unstructure_hook(enum_cls, _enum_value)
    for item in _LIST_FIELDS:
        conv.register_structure_hook_func(
            functools.partial(operator.eq, list[item]),  # type: ignore[valid-type]
            _list_hook_for(conv, item),
        )
    # ``X | None`` fields (most of them) get a direct hook: cattrs' generic handling
    # of optionals dispatches on every value and was half of a record's decode time.
    # Registered before the models' hooks are generated, which capture them.
    for base in (int, str, bool, datetime, Decimal, *_ENUMS):
        _register_optional(conv, base)
    for cls in _MODELS:
        overrides: dict[str, Any] = {
            a.name: override(rename=wire_name(cls, a.name)) for a in attrs.fields(cls)
        }
        if strict:  # cattrs' own generated hook: it can refuse unknown keys
            made = _make_structure(cls, conv, _cattrs_forbid_extra_keys=True, **overrides)
            conv.register_structure_hook(cls, _object_only(cls, made))
        else:
            conv.register_structure_hook(cls, _lean_structure(cls, conv))
        conv.register_unstructure_hook(cls, _make_unstructure(cls, conv, **overrides))
        _register_optional(conv, cls)  # models are listed before the models that nest them
    # By predicate: a hook registered for the class would resolve its annotations,
    # and LookupFailed's ItnioError is imported for type checkers only.
    conv.register_unstructure_hook_func(
        functools.partial(operator.is_, m.RecordFound),
        lambda found: {
            "orderId": found.order_id,
            "ok": True,
            "record": conv.unstructure(found.record),
        },
    )
    conv.register_unstructure_hook_func(
        functools.partial(operator.is_, m.LookupFailed),
        lambda failed: {"orderId": failed.order_id, "ok": False, "error": _error(failed.error)},
    )
    return conv


def _error(error: BaseException) -> dict[str, Any]:
    """A failed lookup's error: its class, the API status (if any), a one-line message."""
    status: int | None = None
    message = " ".join(str(error).split())
    if isinstance(error, APIError):
        status = error.status
        message = error.reason or message
    elif isinstance(error, HTTPStatusError):
        status = error.status
    return {"type": type(error).__name__, "status": status, "message": message}


def _register_optional(conv: cattrs.Converter, base: type) -> None:
    hook = conv.get_structure_hook(base)
    if base in (int, str):
        # Most wire values are already exactly the type wanted (a bool is no int here).
        def structure(value: Any, _: Any) -> Any:
            if value is None or type(value) is base:
                return value
            return hook(value, base)

    else:

        def structure(value: Any, _: Any) -> Any:
            return None if value is None else hook(value, base)

    conv.register_structure_hook(base | None, structure)


def _enum_value(member: enum.Enum) -> Any:
    return member.value


def _object_only(cls: type, fn: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    # The generated hooks test keys with ``in``, so a string or list would otherwise
    # decode silently into a model whose optional fields are all None.
    empty_for_null = cls in _EMPTY_WHEN_NULL

    def structure(value: Any, type_: Any) -> Any:
        if value is None and empty_for_null:
            return cls()
        if not isinstance(value, dict):
            raise TypeError(f"expected an object for {cls.__name__}, got {type(value).__name__}")
        return fn(value, type_)

    return structure


def _lean_structure(cls: type, conv: cattrs.Converter) -> Callable[[Any, Any], Any]:
    """A structure hook for ``cls`` generated for speed, with the same rules as cattrs'.

    Each field is read with ``dict.get`` (an absent key is a ``None``; a field whose
    default is not ``None`` is read only when present, as cattrs does) and passed to
    the hook registered for its type (see :func:`_field_value`). The instance is made
    without ``__init__``: its slots are set directly, as the frozen ``__init__`` sets
    them, but without parsing keyword arguments (the models have no validators). A
    ``null`` or a value that is not an object is refused as :func:`_object_only` does.
    """
    names: dict[str, Any] = {
        "__cls": cls,
        "__new": object.__new__,
        "__empty": cls in _EMPTY_WHEN_NULL,
    }
    types = typing.get_type_hints(cls)
    sets: list[str] = []
    for number, field in enumerate(attrs.fields(cls)):
        names[f"__s{number}"] = cls.__dict__[field.name].__set__  # the slot itself
        value = _field_value(conv, names, number, field, types[field.name], cls)
        sets.append(f"    __s{number}(self, {value})\n")
    source = (
        f"def structure_{cls.__name__}(o, _=None):\n"
        "    if type(o) is not dict:\n"
        "        if o is None and __empty:\n"
        "            return __cls()\n"
        "        if not isinstance(o, dict):\n"
        f"            raise TypeError('expected an object for {cls.__name__}, got '"
        " + type(o).__name__)\n"
        "    self = __new(__cls)\n" + "".join(sets) + "    return self\n"
    )
    scope: dict[str, Any] = {}
    exec(compile(source, f"<itnio_async structure {cls.__name__}>", "exec"), names, scope)  # noqa: S102 - code made here from the models' own fields
    made: Callable[[Any, Any], Any] = scope[f"structure_{cls.__name__}"]
    return made


def _field_value(
    conv: cattrs.Converter,
    names: dict[str, Any],
    number: int,
    field: attrs.Attribute[Any],
    field_type: Any,
    cls: type,
) -> str:
    """The expression that reads field ``number`` of ``cls`` from the dict ``o`` (the
    objects it uses go into ``names``).

    ``str | None`` and ``int | None``: a value already of that type is taken as it is,
    without a call; another ``X | None``: ``None`` here, ``X``'s hook for the rest.
    """
    key = wire_name(cls, field.name)
    hook, kind = f"__h{number}", f"__t{number}"
    names[hook], names[kind] = conv.get_structure_hook(field_type), field_type
    default: Any = field.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        names[f"__d{number}"] = default.factory  # a fresh default each time, as attrs makes
        return f"{hook}(o[{key!r}], {kind}) if {key!r} in o else __d{number}()"
    if default is not None and default is not attrs.NOTHING:
        names[f"__d{number}"] = default
        return f"{hook}(o[{key!r}], {kind}) if {key!r} in o else __d{number}"
    if field_type in (str | None, int | None):
        plain = "str" if field_type == str | None else "int"
        return f"v if (v := o.get({key!r})) is None or type(v) is {plain} else {hook}(v, {kind})"
    if _is_optional(field_type):
        base = next(arg for arg in typing.get_args(field_type) if arg is not type(None))
        names[hook], names[kind] = conv.get_structure_hook(base), base
        return f"None if (v := o.get({key!r})) is None else {hook}(v, {kind})"
    return f"{hook}(o.get({key!r}), {kind})"


def _is_optional(field_type: Any) -> bool:
    """Whether ``field_type`` is ``X | None`` for one type ``X``."""
    args = typing.get_args(field_type)
    return (
        len(args) == 2
        and type(None) in args
        and typing.get_origin(field_type)
        in (
            types.UnionType,
            typing.Union,
        )
    )


def _list_hook_for(conv: cattrs.Converter, item: type) -> Callable[[Any, Any], list[Any]]:
    def structure(value: Any, _: Any) -> list[Any]:
        if value is None:
            return []
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, list):
            raise TypeError(f"expected an array or object, got {type(value).__name__}")
        hook = conv.get_structure_hook(item)  # the item's hook, not a dispatch per element
        return [hook(v, item) for v in value]

    return structure


def structure(data: Any, cls: type[T], *, strict: bool = False) -> T:
    """Decode wire data into ``cls`` (a model, or ``list[Model]``)."""
    return get_converter(strict=strict).structure(data, cls)


def unstructure(obj: Any) -> Any:
    """Encode a model (or a list or dict of them) into JSON data with the wire's keys."""
    return get_converter().unstructure(obj)


def dumps(data: Any) -> str:
    """Compact one-line JSON of already unstructured data (UTF-8 text kept as is)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def model_to_dict(model: Any) -> dict[str, Any]:
    """This model as JSON data: the wire's camelCase keys, ``Decimal`` as a string,
    ``datetime`` as ISO 8601, enums as their wire values (integers; ``Channel`` a
    string), ``None`` kept, nested models and lists converted. What the ``itnio``
    command prints for it when piped or with ``--json``."""
    data: dict[str, Any] = unstructure(model)
    return data


def model_to_json(model: Any) -> str:
    """``to_dict()`` as compact one-line JSON text."""
    return dumps(unstructure(model))


# The one serialiser, bound as ``to_dict`` / ``to_json`` onto the models' base class
# (which declares them for type checkers): the models cannot import this module.
setattr(m._Model, "to_dict", model_to_dict)  # noqa: B010
setattr(m._Model, "to_json", model_to_json)  # noqa: B010
