"""Plain data on the wire between the grader and a worker: JSON, with arrays as base64.

Only these cross the boundary: None, bool, int, float, str, lists, dicts with str keys, and arrays.
Nothing else is ever encoded or decoded — in particular no pickle — so the grader never runs code that a
student's process sent it. This file is loaded by path inside the worker and must import nothing from
the autograder package.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass

import numpy as np

# dtypes that may cross the boundary; bfloat16 travels as float32 and keeps its name.
DTYPES = {"bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64"}


@dataclass(frozen=True)
class Array:
    """An array that crossed the boundary.

    ``kind`` is ``"tensor"`` (a torch.Tensor in the worker) or ``"ndarray"`` (a numpy array);
    ``dtype`` is the name of its element type (``"float32"``, …); ``values`` holds the numbers.
    """

    values: np.ndarray
    kind: str = "tensor"
    dtype: str = ""
    requires_grad: bool = False

    def __post_init__(self):
        if not self.dtype:
            object.__setattr__(self, "dtype", str(self.values.dtype))

    @property
    def shape(self) -> tuple:
        return tuple(self.values.shape)


def _encode_array(a: Array) -> dict:
    values = np.array(a.values, order="C", copy=True)  # keeps 0-dim arrays 0-dim
    if a.dtype not in DTYPES:
        raise TypeError(f"arrays of dtype {a.dtype} cannot be sent")
    return {
        "__array__": a.kind,
        "dtype": a.dtype,
        "wire_dtype": str(values.dtype),
        "shape": list(values.shape),
        "requires_grad": bool(a.requires_grad),
        "data": base64.b64encode(values.tobytes()).decode("ascii"),
    }


def _decode_array(d: dict) -> Array:
    kind, dtype, wire = d["__array__"], d["dtype"], d["wire_dtype"]
    if kind not in ("tensor", "ndarray") or dtype not in DTYPES or wire not in DTYPES - {"bfloat16"}:
        raise ValueError(f"unexpected array header {kind!r}/{dtype!r}/{wire!r}")
    shape = tuple(int(s) for s in d["shape"])
    values = np.frombuffer(base64.b64decode(d["data"]), dtype=np.dtype(wire))
    if values.size != math.prod(shape):
        raise ValueError(f"array data has {values.size} elements, header says shape {shape}")
    return Array(values.reshape(shape).copy(), kind=kind, dtype=dtype, requires_grad=bool(d["requires_grad"]))


def to_plain(x):
    """Turn a Python value made of the allowed types into JSON-ready data (raises TypeError otherwise)."""
    if x is None or type(x) in (bool, int, str):
        return x
    if type(x) is float:
        return x if math.isfinite(x) else {"__float__": repr(x)}
    if isinstance(x, Array):
        return _encode_array(x)
    if type(x) in (list, tuple):
        return [to_plain(v) for v in x]
    if type(x) is dict:
        if not all(type(k) is str for k in x):
            raise TypeError("dict keys must be str")
        if "__array__" in x or "__float__" in x:
            raise TypeError("reserved key in dict")
        return {k: to_plain(v) for k, v in x.items()}
    raise TypeError(f"values of type {type(x).__name__} cannot be sent")


def from_plain(x):
    """Inverse of :func:`to_plain`: JSON data → Python values and :class:`Array` s."""
    if isinstance(x, list):
        return [from_plain(v) for v in x]
    if isinstance(x, dict):
        if "__array__" in x:
            return _decode_array(x)
        if "__float__" in x:
            return float(x["__float__"])  # inf, -inf or nan
        return {k: from_plain(v) for k, v in x.items()}
    return x


def dumps(message) -> bytes:
    """One message → one line of bytes."""
    return json.dumps(to_plain(message), separators=(",", ":"), sort_keys=True).encode() + b"\n"


def loads(line: bytes):
    """One line of bytes → one message."""
    return from_plain(json.loads(line))
