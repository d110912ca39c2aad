"""Conversions between Python values and OTLP ``AnyValue`` / ``KeyValue``.

Shared by every component that reads or writes OTLP attributes, so the
mapping (bool before int, bytes, nested arrays and maps) is written once.
"""

from __future__ import annotations

from typing import Any, Mapping

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue


def to_anyvalue(value: Any, out: AnyValue | None = None) -> AnyValue:
    out = AnyValue() if out is None else out
    # bool is a subclass of int: test it first.
    if isinstance(value, bool):
        out.bool_value = value
    elif isinstance(value, int):
        out.int_value = value
    elif isinstance(value, float):
        out.double_value = value
    elif isinstance(value, str):
        out.string_value = value
    elif isinstance(value, (bytes, bytearray)):
        out.bytes_value = bytes(value)
    elif isinstance(value, Mapping):
        out.kvlist_value.SetInParent()  # an empty map is still a map, not null
        kvs = out.kvlist_value.values
        for k, v in value.items():
            kv = kvs.add()
            kv.key = str(k)
            to_anyvalue(v, kv.value)
    elif isinstance(value, (list, tuple)):
        out.array_value.SetInParent()
        arr = out.array_value.values
        for v in value:
            to_anyvalue(v, arr.add())
    elif value is None:
        pass  # an empty AnyValue is OTLP's null
    else:
        out.string_value = str(value)
    return out


def from_anyvalue(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [from_anyvalue(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: from_anyvalue(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, kind)


def attributes_to_proto(attributes: Mapping[str, Any]) -> list[KeyValue]:
    out = []
    for k, v in attributes.items():
        kv = KeyValue(key=k)
        to_anyvalue(v, kv.value)
        out.append(kv)
    return out


def attributes_from_proto(kvs: Any) -> dict[str, Any]:
    return {kv.key: from_anyvalue(kv.value) for kv in kvs}
