"""Plain data in, verdicts out: the only things a kernel may send the grader, and how they are compared.

A *value* is what a check's call returned, converted in the kernel to JSON-able plain data
(``checks.encode``): ``{"type": "none" | "bool" | "int" | "float" | "str"}`` with a ``value``,
``{"type": "tensor" | "ndarray", "kind": "float" | "int" | "bool" | "complex", "shape": [...],
"data": base64 of little-endian float64}`` (complex: real and imaginary parts interleaved), or
``{"type": "list" | "tuple", "items": [...]}``. Nothing else crosses: no pickles, no objects.

``decode`` validates such data strictly (types, sizes, shape against the byte count) and turns it
into plain Python and numpy; ``compare`` runs in the grader's own process, on decoded data only, so
nothing a student patches in their kernel (``torch.allclose``, ``abs``, numpy) takes part.
"""

from __future__ import annotations

import base64
import binascii
import math

import numpy as np

SCALARS = ("none", "bool", "int", "float", "str")
ARRAYS = ("tensor", "ndarray")
KINDS = ("float", "int", "bool", "complex")
MAX_DEPTH = 8
MAX_ELEMENTS = 1_000_000  # per array: far more than any check needs
MAX_STRING = 10_000


class BadValue(ValueError):
    """Data that is not a well-formed value (the student's kernel sent something else)."""


class Array:
    """A decoded tensor or ndarray: ``type``, ``kind``, ``shape`` and a flat float64/complex128 array."""

    def __init__(self, type_: str, kind: str, shape: tuple[int, ...], flat: np.ndarray):
        self.type, self.kind, self.shape, self.flat = type_, kind, shape, flat

    def __repr__(self) -> str:
        return f"{self.type}({self.kind}, shape {self.shape})"


def decode(data, depth: int = 0):
    """Validated plain value: None, bool, int, float, str, ``Array``, list or tuple of those."""
    if depth > MAX_DEPTH:
        raise BadValue("nested too deeply")
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise BadValue("not a value record")
    kind = data["type"]
    if kind in SCALARS:
        value = data.get("value")
        expected = {"none": type(None), "bool": bool, "int": int, "float": (int, float), "str": str}[kind]
        if not isinstance(value, expected) or (kind in ("int", "float") and isinstance(value, bool)):
            raise BadValue(f"a {kind} record holds {type(value).__name__}")
        if kind == "str" and len(value) > MAX_STRING:
            raise BadValue("string too long")
        return float(value) if kind == "float" else value
    if kind in ("list", "tuple"):
        items = data.get("items")
        if not isinstance(items, list) or len(items) > MAX_ELEMENTS:
            raise BadValue(f"a {kind} record without a list of items")
        decoded = [decode(item, depth + 1) for item in items]
        return decoded if kind == "list" else tuple(decoded)
    if kind in ARRAYS:
        element, shape, text = data.get("kind"), data.get("shape"), data.get("data")
        if element not in KINDS:
            raise BadValue(f"unknown element kind {element!r}")
        if (not isinstance(shape, list) or len(shape) > 16
                or not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= MAX_ELEMENTS for n in shape)):
            raise BadValue("bad shape")
        count = math.prod(shape)
        if count > MAX_ELEMENTS or not isinstance(text, str):
            raise BadValue("array too large or without data")
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise BadValue("array data is not base64") from None
        width = 16 if element == "complex" else 8
        if len(raw) != count * width:
            raise BadValue(f"{len(raw)} bytes of data for shape {tuple(shape)}")
        flat = np.frombuffer(raw, dtype="<c16" if element == "complex" else "<f8").copy()
        return Array(kind, element, tuple(shape), flat)
    raise BadValue(f"unknown value type {kind!r}")


def describe(value) -> str:
    """A short name of a decoded value's type, for messages: "a tensor of shape (2, 4)", "a float"."""
    if isinstance(value, Array):
        name = "a tensor" if value.type == "tensor" else "an array"
        return f"{name} of shape {value.shape}" if value.shape else f"a 0-d {value.type}"
    names = {type(None): "None", bool: "a bool", int: "an int", float: "a float", str: "a string",
             list: "a list", tuple: "a tuple"}
    return names.get(type(value), type(value).__name__)


def compare(expected, got, atol: float = 0.0, rtol: float = 0.0) -> str | None:
    """None when ``got`` matches ``expected`` (both decoded), else a one-line reason.

    Types must match (a tensor is not a float), shapes must match, element kinds must match
    (float, int, bool, complex); numbers must satisfy ``|got - expected| <= atol + rtol * |expected|``
    (NaN matches only NaN); strings, bools and None must be equal.
    """
    if isinstance(expected, Array) or isinstance(got, Array):
        if not (isinstance(expected, Array) and isinstance(got, Array)) or expected.type != got.type:
            return f"expected {describe(expected)}, got {describe(got)}"
        if expected.shape != got.shape:
            return f"expected shape {expected.shape}, got {got.shape}"
        if expected.kind != got.kind:
            return f"expected {expected.kind} elements, got {got.kind}"
        return numbers(expected.flat, got.flat, atol, rtol)
    if type(expected) is not type(got):
        return f"expected {describe(expected)}, got {describe(got)}"
    if isinstance(expected, (list, tuple)):
        if len(expected) != len(got):
            return f"expected {len(expected)} items, got {len(got)}"
        for index, (e, g) in enumerate(zip(expected, got)):
            problem = compare(e, g, atol, rtol)
            if problem:
                return f"item {index}: {problem}"
        return None
    if isinstance(expected, float):
        return numbers(np.array([expected]), np.array([got]), atol, rtol, scalar=True)
    if expected != got:
        return f"expected {expected!r}, got {got!r}"[:MAX_STRING]
    return None


def numbers(expected: np.ndarray, got: np.ndarray, atol: float, rtol: float, scalar: bool = False) -> str | None:
    if expected.size == 0:
        return None
    nan_e, nan_g = np.isnan(expected), np.isnan(got)
    if (nan_e != nan_g).any():
        return "NaN where none is expected" if nan_g.any() else "a number where NaN is expected"
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(got - expected)
        same = (got == expected) | nan_e  # equal infinities have a NaN difference
        ok = same | (diff <= atol + rtol * np.abs(expected))
    if ok.all():
        return None
    if scalar:
        return f"expected {expected[0]:.10g}, got {got[0]:.10g}"
    worst = float(np.nanmax(np.where(same, 0.0, diff))) if not same.all() else 0.0
    return f"max abs difference {worst:.3g}"
