"""Comparisons whose failure messages teach: expected vs got, shape, dtype, first mismatch, tolerance."""

from __future__ import annotations

import numpy as np

from .codec import Array


class Mismatch(AssertionError):
    """A value came back, but it is not the expected one."""


def _kind(x) -> str:
    if isinstance(x, Array):
        return "a torch.Tensor" if x.kind == "tensor" else "a numpy array"
    return {bool: "a bool", int: "an int", float: "a float", str: "a str", list: "a list", dict: "a dict",
            type(None): "None"}.get(type(x), type(x).__name__)


def _fmt(v) -> str:
    return f"{v:.6g}" if isinstance(v, (float, np.floating)) else repr(v.item() if hasattr(v, "item") else v)


def assert_close(got, expected, *, name: str, rtol: float = 1e-5, atol: float = 1e-6,
                 check_dtype: bool = True) -> None:
    """``got`` equals ``expected`` elementwise within ``|got − expected| ≤ atol + rtol·|expected|``.

    Works on arrays (shape, dtype, kind checked first), numbers, and lists/dicts of them.
    """
    if isinstance(expected, Array):
        if not isinstance(got, Array):
            raise Mismatch(f"{name} should return {_kind(expected)} of shape {expected.shape}, got {_kind(got)}")
        if got.kind != expected.kind:
            raise Mismatch(f"{name} should return {_kind(expected)}, got {_kind(got)}")
        if got.shape != expected.shape:
            raise Mismatch(f"{name} has the wrong shape: expected {expected.shape}, got {got.shape}")
        if check_dtype and got.dtype != expected.dtype:
            same = got.values.shape == expected.values.shape and np.array_equal(
                got.values.astype(np.float64), expected.values.astype(np.float64), equal_nan=True)
            raise Mismatch(f"{name} has the wrong dtype: expected {expected.dtype}, got {got.dtype}"
                           + (" — the values are right: only the dtype slipped (check what you create or convert)"
                              if same else ""))
        _close_values(got.values, expected.values, name=name, rtol=rtol, atol=atol)
    elif isinstance(expected, (list, dict)):
        if isinstance(expected, list) and isinstance(got, list):
            _same_items(got, expected, name=name)
        if type(got) is not type(expected) or len(got) != len(expected):
            n = f" of length {len(got)}" if isinstance(got, (list, dict)) else ""
            raise Mismatch(f"{name} should be {_kind(expected)} of length {len(expected)}, got {_kind(got)}{n}")
        if isinstance(expected, dict):
            if set(got) != set(expected):
                raise Mismatch(f"{name} should have keys {sorted(expected)}, got {sorted(got)}")
            for k in expected:
                assert_close(got[k], expected[k], name=f"{name}[{k!r}]", rtol=rtol, atol=atol, check_dtype=check_dtype)
        else:
            for i, (g, e) in enumerate(zip(got, expected)):
                assert_close(g, e, name=f"{name}[{i}]", rtol=rtol, atol=atol, check_dtype=check_dtype)
    elif isinstance(expected, (bool, str)) or expected is None:
        if type(got) is not type(expected) or got != expected:
            raise Mismatch(f"{name}: expected {expected!r}, got {got!r}")
    else:  # int or float
        if type(got) not in (int, float):
            raise Mismatch(f"{name} should be a number, got {_kind(got)}")
        _close_values(np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64),
                      name=name, rtol=rtol, atol=atol)


class _Unplain(Exception):
    pass


def _plain(x):
    """A hashable form of an exact item (str, int, bool, None, or nested lists of them); raises _Unplain for
    anything compared with a tolerance (floats, arrays)."""
    if isinstance(x, (str, int, bool)) or x is None:
        return x
    if isinstance(x, list):
        return tuple(_plain(v) for v in x)
    raise _Unplain


def _show(items: list) -> str:
    shown = ", ".join(repr(list(v) if isinstance(v, tuple) else v) for v in items[:6])
    return f"[{shown}{', …' if len(items) > 6 else ''}] ({len(items)})"


def _same_items(got: list, expected: list, *, name: str) -> None:
    """For lists of plain items (names, strings, ints): name the missing and the unexpected items, or the first
    position where the order differs — not just two lengths."""
    try:
        g, e = [_plain(v) for v in got], [_plain(v) for v in expected]
    except _Unplain:
        return  # numbers with a tolerance, arrays: the elementwise comparison reports them
    if g == e or (len(g) == len(e) and all(isinstance(v, int) and not isinstance(v, bool) for v in g + e)):
        return  # equal, or ints of the same count: the elementwise comparison names the first that differs
    missing = [v for v in e if v not in g]
    extra = [v for v in g if v not in e]
    if missing or extra:
        parts = ([f"missing {_show(missing)}"] if missing else []) + ([f"unexpected {_show(extra)}"] if extra else [])
        raise Mismatch(f"{name}: expected {len(e)} items, got {len(g)}: " + "; ".join(parts))
    if len(g) != len(e):
        raise Mismatch(f"{name}: the same items as expected but {len(g)} of them instead of {len(e)} (repeats)")
    i = next(i for i, (a, b) in enumerate(zip(g, e)) if a != b)
    raise Mismatch(f"{name}: the right items in the wrong order: at index {i} expected {e[i]!r}, got {g[i]!r}")


def _close_values(got: np.ndarray, expected: np.ndarray, *, name: str, rtol: float, atol: float) -> None:
    g, e = got.astype(np.float64), expected.astype(np.float64)
    bad = ~np.isclose(g, e, rtol=rtol, atol=atol, equal_nan=True)
    if not bad.any():
        return
    first = np.argwhere(bad)[0]
    index = tuple(int(i) for i in first)
    at = f" at index {index}" if g.ndim else ""
    where = f"{int(bad.sum())} of {bad.size} values differ; first" if g.ndim else "value differs"
    raise Mismatch(
        f"{name}: {where}{at}: expected {_fmt(e[index] if g.ndim else e)}, got {_fmt(g[index] if g.ndim else g)} "
        f"(tolerance |got − expected| ≤ {atol:g} + {rtol:g}·|expected|)"
    )


def assert_equal(got, expected, *, name: str) -> None:
    """Exact equality (integers, token ids, masks): ``assert_close`` with zero tolerance."""
    assert_close(got, expected, name=name, rtol=0.0, atol=0.0)


def assert_true(condition: bool, message: str) -> None:
    """A property of the student's output that has no reference value (e.g. 'x_hat was not modified')."""
    if not condition:
        raise Mismatch(message)
