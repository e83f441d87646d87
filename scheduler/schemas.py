"""Schema building blocks shared by every feature (marshmallow, explicit fields only).

Pure module: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate

from scheduler.vocabulary import Complication

# C0 control characters other than tab, line feed and carriage return: no clinic text
# needs them, and PostgreSQL refuses NUL outright.
_CONTROL = frozenset(chr(c) for c in range(32)) - {"\t", "\n", "\r"}


# Lone UTF-16 surrogates ("\ud800" in JSON) decode to text no database can store.
_SURROGATES = re.compile("[\ud800-\udfff]")


def problem_in_text(value: Any) -> str | None:
    """What is wrong with the strings anywhere in ``value`` (keys too), or None."""
    if isinstance(value, str):
        if not _CONTROL.isdisjoint(value):
            return "Control characters are not allowed."
        if _SURROGATES.search(value):
            return "Unpaired surrogates are not allowed (send text as UTF-8)."
        return None
    if isinstance(value, Mapping):
        value = [item for pair in value.items() for item in pair]
    if isinstance(value, list | tuple):
        return next(filter(None, map(problem_in_text, value)), None)
    return None


class Args(Schema):
    """Base of every request schema: unknown fields are an error, never ignored, and
    no string anywhere in the input (body or query) may carry control characters or
    unpaired surrogates."""

    class Meta:
        unknown = RAISE

    @pre_load(pass_collection=True)
    def refuse_bad_text(self, data: Any, many: bool, **kwargs: Any) -> Any:
        items = list(enumerate(data)) if many and isinstance(data, list) else [(None, data)]
        errors: dict[Any, Any] = {}
        for index, item in items:
            if not isinstance(item, Mapping):
                continue  # the schema itself reports a wrong type
            bad = {
                key: [problem]
                for key in item
                if (problem := problem_in_text([key, item[key]])) is not None
            }
            if bad and index is None:
                errors.update(bad)
            elif bad:
                errors[index] = bad
        if errors:
            raise ValidationError(errors)
        return data


class NoArgs(Args):
    """An action that takes nothing: no body, or an empty JSON object. Anything else in a
    body is refused like any other bad input (400 malformed, 413 too big, 422 fields)."""


class Out(Schema):
    """Base of every response schema."""


MAX_ID = 2**31 - 1


def Id(**kwargs: Any) -> fields.Integer:  # noqa: N802 (reads like a field class)
    """A record id in a JSON body: a JSON integer, never a string."""
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_ID), **kwargs)


def QueryId(**kwargs: Any) -> fields.Integer:  # noqa: N802
    """A record id in a query string, where every value arrives as text ("?site_id=3")."""
    return fields.Integer(validate=validate.Range(min=1, max=MAX_ID), **kwargs)


# Characters that show nothing: controls, formats (U+200B, U+FEFF), unassigned and
# noncharacters (U+FFFF), private use, surrogates, separators.
_INVISIBLE = frozenset({"Cc", "Cf", "Cn", "Co", "Cs", "Zs", "Zl", "Zp"})


def visible(value: str) -> None:
    """Refuses text with nothing a reader could see (a name of zero-width spaces)."""
    if all(unicodedata.category(character) in _INVISIBLE for character in value):
        raise ValidationError("Must contain visible characters.")


def Text(max_length: int, **kwargs: Any) -> fields.String:  # noqa: N802
    """A trimmed string of at most ``max_length`` characters, with something visible."""
    validators: list[Callable[[Any], Any]] = [validate.Length(min=1, max=max_length), visible]
    extra = kwargs.pop("validate", None)
    if extra is not None:
        validators.append(extra)
    return TrimmedString(validate=validators, **kwargs)


class TrimmedString(fields.String):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        result: str = super()._deserialize(value, attr, data, **kwargs)
        return result.strip()


class EmailAddress(fields.Email):
    """An e-mail address of at most 254 characters (RFC 5321's path limit)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validate=validate.Length(max=254), **kwargs)


# Instants outside these years are typing mistakes, and near the ends of the calendar
# the conversion to UTC would overflow. Wall-clock bounds, compared before converting.
EARLIEST = datetime(1900, 1, 1)  # noqa: DTZ001
LATEST = datetime(3000, 1, 1)  # noqa: DTZ001


def Day(**kwargs: Any) -> fields.Date:  # noqa: N802
    """A calendar date, YYYY-MM-DD, in the same years as an instant."""
    return fields.Date(
        validate=validate.Range(
            min=EARLIEST.date(),
            max=LATEST.date() - timedelta(days=1),
            error=f"Use a date between {EARLIEST.year} and {LATEST.year - 1}.",
        ),
        **kwargs,
    )


class UTCInstant(fields.AwareDateTime):
    """Accepts any offset; always answers in UTC, so the same instant reads the same."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        result: datetime = super()._deserialize(value, attr, data, **kwargs)
        offset = result.utcoffset() or timedelta()
        if not EARLIEST + offset <= result.replace(tzinfo=None) < LATEST + offset:
            raise ValidationError(f"Use a time between {EARLIEST.year} and {LATEST.year - 1}.")
        return result

    def _serialize(
        self, value: Any, attr: str | None, obj: Any, **kwargs: Any
    ) -> str | float | None:
        if value is None:
            return None
        return super()._serialize(value.astimezone(UTC), attr, obj, **kwargs)


def Instant(**kwargs: Any) -> fields.AwareDateTime:  # noqa: N802
    """An RFC 3339 time with its offset; naive times are refused."""
    return UTCInstant(format="iso", **kwargs)


class StrictBoolean(fields.Boolean):
    """A JSON ``true`` or ``false`` only: no "yes", "true", 1 or 0."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if type(value) is not bool:
            raise self.make_error("invalid")
        return value


def Flag(**kwargs: Any) -> fields.Boolean:  # noqa: N802
    """A JSON boolean only (no "yes", 1 or "true" strings)."""
    return StrictBoolean(**kwargs)


def Whole(minimum: int, maximum: int, **kwargs: Any) -> fields.Integer:  # noqa: N802
    return fields.Integer(strict=True, validate=validate.Range(min=minimum, max=maximum), **kwargs)


def Choice(enum: Any, **kwargs: Any) -> fields.Enum[Any]:  # noqa: N802
    return fields.Enum(enum, by_value=True, **kwargs)


def Levels(**kwargs: Any) -> fields.List[Any]:  # noqa: N802
    """Spinal levels such as "L4-L5" (the services check each against the region)."""
    return fields.List(
        fields.String(validate=validate.Length(min=1, max=8)),
        validate=validate.Length(min=1, max=10),
        **kwargs,
    )


def Complications(**kwargs: Any) -> fields.List[Any]:  # noqa: N802
    return fields.List(
        Choice(Complication), validate=validate.Length(max=len(Complication)), **kwargs
    )


def Phone(**kwargs: Any) -> fields.String:  # noqa: N802
    return TrimmedString(
        validate=validate.Regexp(
            r"\+?[0-9 ()./-]{6,30}\Z", error="Use digits, spaces and + ( ) - . only."
        ),
        **kwargs,
    )


class ZoneName(fields.String):
    """An IANA time zone name such as America/New_York."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        name: str = super()._deserialize(value, attr, data, **kwargs)
        if "/" not in name and name != "UTC":
            raise ValidationError("Use an IANA zone name such as America/New_York.")
        try:
            ZoneInfo(name)
        except (ValueError, KeyError, OSError) as exc:
            raise ValidationError("Unknown time zone.") from exc
        return name


class LocalTime(fields.String):
    """An instant of the object (its ``of`` attribute) in the object's ``timezone``, RFC 3339
    with that zone's offset: what the site's clock reads. Output only."""

    def __init__(self, of: str, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {"description": "In the site's zone"})
        super().__init__(dump_only=True, **kwargs)
        self.of = of

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str:
        return local_time(value, obj.timezone)

    def get_value(self, obj: Any, attr: str, accessor: Any = None, default: Any = None) -> Any:
        return getattr(obj, self.of)


def local_time(at: datetime, zone: str) -> str:
    """``at`` in the site's zone, RFC 3339 with that zone's offset."""
    return at.astimezone(ZoneInfo(zone)).isoformat()
