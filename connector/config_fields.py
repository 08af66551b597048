"""The building blocks of every settings section: secrets by reference, section schemas, and
the field mapping an admin writes for a host's streams.

They live apart from `connector.settings` so that each host's own section
(`connector.hosts.<name>`) can use them without importing the whole settings module.
"""

from __future__ import annotations

import contextvars
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from marshmallow import Schema, ValidationError, post_load, validate, validates_schema
from marshmallow import fields as mf

from adapters.base import STREAMS, StreamMapping
from adapters.mapping import check_mapping

ENV: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar("env")
LENIENT: contextvars.ContextVar[bool] = contextvars.ContextVar("lenient", default=False)
_ENV_REF = re.compile(r"^env:([A-Za-z_][A-Za-z0-9_]*)$")


@dataclass(frozen=True)
class Secret:
    """A secret resolved from the environment. Its repr never shows the value."""

    ref: str
    _value: str = field(repr=False)

    def reveal(self) -> str:
        return self._value

    def __str__(self) -> str:
        return f"<secret {self.ref}>"


class SecretField(mf.Field[Secret | None]):
    """Accepts only `env:NAME` and resolves it; a missing variable is an error naming it."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Secret | None:
        match = _ENV_REF.match(value) if isinstance(value, str) else None
        if match is None:
            raise ValidationError('must be a reference such as "env:NAME", never the secret itself')
        name = match.group(1)
        resolved = ENV.get(os.environ).get(name)
        if not resolved:
            if LENIENT.get():
                return None
            raise ValidationError(f"environment variable {name} is not set")
        return Secret(value, resolved)


class Section(Schema):
    """A settings table loaded into its frozen dataclass `target`."""

    target: type[Any]

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Any:
        return self.target(**data)


class StreamMappingSchema(Schema):
    """`[host.<name>.streams.<stream>]`: where one stream lives and how its fields map.

    Loaded as a partial mapping (only what the admin wrote); the host's section merges it
    over the adapter's default with `merge_mapping()`.
    """

    object = mf.String(validate=validate.Length(1, 255))
    modified_field = mf.String(validate=validate.Length(1, 255))
    mapped = mf.Dict(
        data_key="fields", keys=mf.String(), values=mf.String(validate=validate.Length(0, 255))
    )
    values = mf.Dict(keys=mf.String(), values=mf.Dict(keys=mf.String(), values=mf.String()))


def merge_mapping(default: StreamMapping, written: Mapping[str, Any]) -> StreamMapping:
    """The default mapping with every key the admin wrote replacing the default's.

    `fields` and `values` merge per domain field, so an admin who keeps pairings in their own
    object writes only the fields that differ; an empty string unmaps a default field.
    """
    fields_ = {**default.fields, **written.get("mapped", {})}
    return StreamMapping(
        object=written.get("object", default.object),
        fields={k: v for k, v in fields_.items() if v},
        values={**default.values, **written.get("values", {})},
        modified_field=written.get("modified_field", default.modified_field),
    )


class HostOptionsSection(Section):
    """`[host.<name>]` of a vendor host: its own keys (declared by the subclass), plus the
    streams it syncs and the admin's mapping of each, merged over the adapter's default.

    The loaded settings get `synced_streams` (in `STREAMS` order) and `streams`, the merged
    mapping of every stream (a host reads only the synced ones); every mapping problem is a
    settings error.
    """

    default_streams: ClassVar[Mapping[str, StreamMapping]]

    synced_streams = mf.List(mf.String(validate=validate.OneOf(STREAMS)))
    streams = mf.Dict(
        keys=mf.String(validate=validate.OneOf(STREAMS)), values=mf.Nested(StreamMappingSchema)
    )

    def mapping_problems(self, stream: str, mapping: StreamMapping) -> list[str]:
        """What is wrong with one merged mapping; a host may check more (e.g. SOQL names)."""
        return check_mapping(stream, mapping)

    @validates_schema
    def _mappings_sound(self, data: dict[str, Any], **_: Any) -> None:
        problems = [
            problem
            for stream, mapping in self._merged(data.get("streams", {})).items()
            for problem in self.mapping_problems(stream, mapping)
        ]
        if problems:
            raise ValidationError(problems, "streams")

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Any:
        merged = self._merged(data.pop("streams", {}))
        chosen = set(data.pop("synced_streams", STREAMS))
        synced = tuple(s for s in STREAMS if s in chosen)
        return self.target(**data, synced_streams=synced, streams=merged)

    def _merged(self, written: Mapping[str, Mapping[str, Any]]) -> dict[str, StreamMapping]:
        return {
            stream: merge_mapping(default, written.get(stream, {}))
            for stream, default in self.default_streams.items()
        }
