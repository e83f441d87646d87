"""Schema building blocks shared by every feature (marshmallow, explicit fields only)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from marshmallow import RAISE, Schema, ValidationError, fields, validate


class Args(Schema):
    """Base of every request schema: unknown fields are an error, never ignored."""

    class Meta:
        unknown = RAISE


class Out(Schema):
    """Base of every response schema."""


def Id(**kwargs: Any) -> fields.Integer:  # noqa: N802 (reads like a field class)
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=2**31 - 1), **kwargs)


def Text(max_length: int, **kwargs: Any) -> fields.String:  # noqa: N802
    """A trimmed, non-blank string of at most ``max_length`` characters."""
    validators = [validate.Length(min=1, max=max_length)]
    extra = kwargs.pop("validate", None)
    if extra is not None:
        validators.append(extra)
    return TrimmedString(validate=validators, **kwargs)


class TrimmedString(fields.String):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        result: str = super()._deserialize(value, attr, data, **kwargs).strip()
        return result


class UTCInstant(fields.AwareDateTime):
    """Accepts any offset; always answers in UTC, so the same instant reads the same."""

    def _serialize(
        self, value: Any, attr: str | None, obj: Any, **kwargs: Any
    ) -> str | float | None:
        if value is None:
            return None
        return super()._serialize(value.astimezone(UTC), attr, obj, **kwargs)


def Instant(**kwargs: Any) -> fields.AwareDateTime:  # noqa: N802
    """An RFC 3339 time with its offset; naive times are refused."""
    return UTCInstant(format="iso", **kwargs)


def Flag(**kwargs: Any) -> fields.Boolean:  # noqa: N802
    """A JSON boolean only (no "yes", 1 or "true" strings)."""
    return fields.Boolean(truthy={True}, falsy={False}, **kwargs)


def Whole(minimum: int, maximum: int, **kwargs: Any) -> fields.Integer:  # noqa: N802
    return fields.Integer(strict=True, validate=validate.Range(min=minimum, max=maximum), **kwargs)


def Choice(enum: Any, **kwargs: Any) -> fields.Enum[Any]:  # noqa: N802
    return fields.Enum(enum, by_value=True, **kwargs)


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


def local_time(at: datetime, zone: str) -> str:
    """``at`` in the site's zone, RFC 3339 with that zone's offset."""
    return at.astimezone(ZoneInfo(zone)).isoformat()
