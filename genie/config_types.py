"""Checking config values against Python type hints (of a dataclass, a constructor, a TypedDict), for one-line errors
that name the key and what it expected, before anything is built from them.

Values are what OmegaConf resolves YAML and overrides to: bool, int, float, str, None, lists and dicts. An int is a
valid float; a list is a valid tuple; a dict with ``_target_`` is taken for any class Hydra could instantiate.
Hints that cannot be judged from such values (type variables, callables) accept everything.
"""

from __future__ import annotations

import collections.abc
import inspect
import os
import types
import typing
from typing import Any, Literal, Union

SCALARS = {bool: "true/false", int: "an int", float: "a number", str: "a string", type(None): "null"}
PLURALS = {bool: "true/false values", int: "ints", float: "numbers", str: "strings"}


def fits(value: Any, hint: Any) -> bool:
    """Whether a config ``value`` is acceptable where ``hint`` is the declared type."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any or isinstance(hint, (typing.TypeVar, typing.ForwardRef, str)):
        return True
    if origin in (Union, types.UnionType):
        return any(fits(value, arg) for arg in args)
    if origin is Literal:
        return any(value == arg and type(value) is type(arg) for arg in args)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint in SCALARS:
        return isinstance(value, hint)
    container = origin or hint
    if container in (list, tuple, collections.abc.Sequence, collections.abc.Iterable):
        if not isinstance(value, (list, tuple)):
            return False
        if container is tuple and args and args[-1] is not Ellipsis:
            return len(value) == len(args) and all(fits(v, a) for v, a in zip(value, args))
        return not args or all(fits(v, args[0]) for v in value)
    if container in (dict, collections.abc.Mapping):
        return isinstance(value, dict) and (not args or all(fits(v, args[1]) for v in value.values()))
    if inspect.isclass(container):
        return (isinstance(value, container) or (isinstance(value, dict) and "_target_" in value)
                or (isinstance(value, str) and issubclass(container, os.PathLike)))
    return True


def describe(hint: Any) -> str:
    """``hint`` in words, e.g. ``a number or null``, ``one of 'last', 'all'``, ``a list of int``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        return " or ".join(dict.fromkeys(describe(arg) for arg in args))
    if origin is Literal:
        return "one of " + ", ".join(repr(arg) for arg in args)
    if hint in SCALARS:
        return SCALARS[hint]
    container = origin or hint
    if container in (list, tuple, collections.abc.Sequence, collections.abc.Iterable):
        return f"a list of {PLURALS.get(args[0]) or describe(args[0])}" if args else "a list"
    if container in (dict, collections.abc.Mapping):
        return f"a mapping to {describe(args[1])}" if args else "a mapping"
    return getattr(container, "__name__", str(container))


def found(value: Any) -> str:
    kind = {dict: "a mapping", list: "a list", str: "a string", bool: "true/false", type(None): "null"}.get(
        type(value), type(value).__name__)
    return f"{value!r} ({kind})" if not isinstance(value, (dict, list)) else kind


def hints_of(obj: Any) -> dict[str, Any]:
    """The type hints of a class's constructor (or of a dataclass / TypedDict), by parameter name; ``{}`` for
    annotations that do not resolve."""
    target = obj.__init__ if inspect.isclass(obj) and not typing.is_typeddict(obj) and not hasattr(
        obj, "__dataclass_fields__") else obj
    try:
        return typing.get_type_hints(target)
    except (NameError, TypeError):
        return {}


def settings_of(obj: Any) -> list[str]:
    """The setting names a class's constructor (or a dataclass / TypedDict) takes."""
    if typing.is_typeddict(obj):
        return list(typing.get_type_hints(obj))
    parameters = inspect.signature(obj).parameters
    return [name for name, p in parameters.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def check_settings(prefix: str, values: dict[str, Any], schema: Any, what: str,
                   ignore: tuple[str, ...] = ("_target_",)) -> list[str]:
    """Problems of ``values`` (the config at ``prefix``) against ``schema``'s settings and types, one line each:
    unknown keys (``what`` names the thing they are not settings of) and values of the wrong type."""
    names, hints = settings_of(schema), hints_of(schema)
    problems = []
    for key, value in values.items():
        if key in ignore:
            continue
        if key not in names:
            listed = f" (its settings: {', '.join(names)})" if len(names) <= 20 else ""
            problems.append(f"{prefix}.{key}: not a setting of {what}{listed}")
        elif key in hints and not fits(value, hints[key]):
            problems.append(f"{prefix}.{key}: expected {describe(hints[key])}, got {found(value)}")
    return problems
