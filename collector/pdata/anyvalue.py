"""Conversions between Python values and OTLP ``AnyValue`` / ``KeyValue``.

Shared by every component that reads or writes OTLP attributes, so the
mapping (bool before int, bytes, nested arrays and maps) is written once.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

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


#: Attribute values that memoized sets may hold: immutable, and equal only
#: when their encodings are equal (floats are not: ``0.0 == -0.0``).
_MEMO_SAFE = frozenset({str, int, bool, bytes})
_MISSING = object()


class AttributeMemo:
    """Attribute sets converted once per batch, not once per data point.

    A metrics batch repeats a few attribute sets across thousands of points;
    converting each ``KeyValue`` in Python was half the cost of an OTLP
    metrics round trip. Serialized sets are keyed by their exact ``KeyValue``
    bytes. Python sets are keyed by their items plus the value types (``1``,
    ``True`` and ``1.0`` are equal keys), and only sets of str, int, bool and
    bytes values are remembered: floats (``-0.0 == 0.0``) and mutable arrays or
    maps are converted every time. Points with the same remembered set share
    its dict: maps are never edited in place (see ``collector.pdata.metrics``).
    """

    __slots__ = ("_decoded", "_tails", "_encoded")

    def __init__(self) -> None:
        self._decoded: dict[tuple[bytes, ...], dict[str, Any]] = {}
        self._tails: dict[bytes, dict[str, Any] | None] = {}
        self._encoded: dict[tuple[Any, ...], tuple[list[bytes], dict[int, bytes]]] = {}

    def decode(self, raw: Any) -> dict[str, Any]:
        """Serialized ``KeyValue`` messages (a repeated bytes field) to a dict, shared when remembered."""
        key = tuple(raw[:])  # a slice of a repeated field is cheaper to take than its iterator
        hit = self._decoded.get(key)
        if hit is not None:
            return hit
        out = {}
        for data in key:
            kv = KeyValue.FromString(data)
            out[kv.key] = from_anyvalue(kv.value)
        if _MEMO_SAFE.issuperset(map(type, out.values())):
            self._decoded[key] = out
        return out

    def decode_tail(self, data: bytes, parse: Callable[[bytes], Any]) -> dict[str, Any] | None:
        """Attributes from serialized fields that ``parse`` reads as a message holding only ``attributes``.

        None when the message has other fields set. Raises what ``parse``
        raises on malformed bytes.
        """
        hit = self._tails.get(data, _MISSING)
        if hit is not _MISSING:
            return hit
        message = parse(data)
        if any(f.name != "attributes" for f, _ in message.ListFields()):
            self._tails[data] = None
            return None
        out = self.decode(message.attributes)
        if _MEMO_SAFE.issuperset(map(type, out.values())):
            self._tails[data] = out
        return out

    def encode(self, attributes: Mapping[str, Any]) -> list[bytes]:
        """The attributes as serialized ``KeyValue`` messages."""
        return self._entry(attributes)[0]

    def encode_field(self, attributes: Mapping[str, Any], number: int) -> bytes:
        """The attributes serialized as repeated field ``number`` of a message: tag, length, KeyValue each."""
        kvs, fields = self._entry(attributes)
        out = fields.get(number)
        if out is None:
            tag = _varint(number << 3 | 2)
            out = fields[number] = b"".join(tag + _varint(len(kv)) + kv for kv in kvs)
        return out

    def _entry(self, attributes: Mapping[str, Any]) -> tuple[list[bytes], dict[int, bytes]]:
        values = attributes.values()
        types = tuple(map(type, values))
        # Flat: keys, values, then their types; equal keys mean equal dicts of equal types.
        key: tuple[Any, ...] | None = (*attributes, *values, *types)
        try:
            hit = self._encoded.get(key)
        except TypeError:  # an unhashable array or map value
            key, hit = None, None
        if hit is not None:
            return hit
        entry: tuple[list[bytes], dict[int, bytes]] = (
            [kv.SerializeToString() for kv in attributes_to_proto(attributes)], {})
        if key is not None and _MEMO_SAFE.issuperset(types):
            self._encoded[key] = entry
        return entry


def _varint(n: int) -> bytes:
    """Protobuf base-128 varint of a non-negative int."""
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)
