"""Strict validation against a provider SDK's own types (test-only), shared by the SDK contracts.

Stainless-generated SDKs (`openai`, `anthropic`) describe requests as TypedDicts and replies as
pydantic models that allow unknown keys. Here both are made strict: every TypedDict of the SDK's
`types` package refuses unknown keys, and a validated reply model with an unknown key is a failure.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Iterator
from types import ModuleType

import pydantic
from typing_extensions import is_typeddict


@functools.cache
def strict_typeddicts(package: ModuleType) -> None:
    """Make every TypedDict in `package` refuse unknown keys (pydantic reads `__pydantic_config__`)."""
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, type) and is_typeddict(value) and value.__module__ == module.__name__:
                value.__pydantic_config__ = pydantic.ConfigDict(extra="forbid", arbitrary_types_allowed=True)


@functools.cache
def _adapter(type_: object) -> pydantic.TypeAdapter:
    return pydantic.TypeAdapter(type_)


def _drained(value: object, path: str = "") -> Iterator[tuple[str, object]]:
    """Walk a validated value, consuming lazy iterables (pydantic validates them as they are read)
    and yielding `(path, model)` for every pydantic model met."""
    if isinstance(value, pydantic.BaseModel):
        yield path, value
        for name in type(value).model_fields:
            yield from _drained(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _drained(item, f"{path}.{key}")
    elif isinstance(value, (list, tuple)) or (hasattr(value, "__next__") and not isinstance(value, (str, bytes))):
        for index, item in enumerate(value):
            yield from _drained(item, f"{path}[{index}]")


def strict(package: ModuleType, type_: object, value: object, what: str) -> object:
    """Validate `value` as `type_` of the SDK whose types are `package`; any unknown key (also on a
    reply model) or invalid value fails with an AssertionError naming where."""
    strict_typeddicts(package)
    try:
        validated = _adapter(type_).validate_python(value)
        models = list(_drained(validated))
    except pydantic.ValidationError as error:
        sdk = package.__name__.split(".")[0]
        raise AssertionError(f"{what} does not match the {sdk} SDK types:\n{error}") from None
    for path, model in models:
        extra = model.__pydantic_extra__
        if extra:
            raise AssertionError(f"{what}{path}: keys {sorted(extra)} are not in {type(model).__name__}")
    return validated
