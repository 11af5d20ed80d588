"""Strict checks of a value against a shape of botocore's service models (test-only).

`violations(service, shape, value)` walks the shape the way the service reads a JSON (REST-JSON)
body and lists every way `value` breaks it: a missing required member, an unknown key, a wrong type,
a union with other than exactly one member set, and the traits botocore's own ParamValidator leaves
to the service: `pattern` (matched whole, the strictest reading), `min`/`max` (string length, list and
map size, number range, decoded blob size) and `enum`. Wire forms: a blob is base64 text, a timestamp
an ISO 8601 string (or epoch seconds where the shape says so), a document shape any JSON value.
`null` is a violation: the services neither send nor take it.

Used by the Bedrock fake (tests/fakes/bedrock.py) on every request the gateway makes and every reply
the fake sends, so the fake cannot drift into agreeing with the gateway's mistakes.
"""

from __future__ import annotations

import base64
import binascii
import functools
import math
import re
from datetime import datetime

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape

# What a shape's timestamps look like on the wire when the shape does not say (JSON protocols).
_DEFAULT_TIMESTAMP = "unixTimestamp"


@functools.cache
def model(service: str) -> ServiceModel:
    return botocore.session.get_session().get_service_model(service)


def operation(service: str, name: str) -> OperationModel:
    return model(service).operation_model(name)


@functools.cache
def _pattern(text: str) -> re.Pattern:
    return re.compile(text)


def violations(service: str, shape: str | Shape, value: object, where: str = "") -> list[str]:
    """Every way `value` breaks `shape` of `service` (a shape name or a botocore Shape); [] if none."""
    found: list[str] = []
    _walk(model(service).shape_for(shape) if isinstance(shape, str) else shape, value, where or "$", found)
    return found


def check(service: str, shape: str | Shape, value: object, what: str) -> None:
    """Raise AssertionError listing the violations, if any."""
    found = violations(service, shape, value, what)
    if found:
        raise AssertionError(f"{what} does not match botocore's {service} model:\n  " + "\n  ".join(found))


def error_codes(service: str, operation_name: str) -> dict[str, int]:
    """The errors an operation declares: code -> the `httpStatusCode` botocore gives it."""
    return {shape.name: shape.metadata["error"]["httpStatusCode"]
            for shape in operation(service, operation_name).error_shapes}


def exception_statuses(service: str) -> dict[str, int]:
    """Every exception shape of a service: code -> its declared `httpStatusCode`."""
    service_model = model(service)
    out = {}
    for name in service_model.shape_names:
        metadata = service_model.shape_for(name).metadata
        if metadata.get("exception"):
            out[name] = metadata["error"]["httpStatusCode"]
    return out


def request_params(service: str, operation_name: str, *, body: object = None, uri: dict | None = None,
                   query: dict[str, list[str]] | None = None) -> tuple[dict, list[str]]:
    """The input of an operation as a member dict, from the parts of an HTTP request: the JSON
    `body`, the `uri` labels (decoded) and the `query` parameters (name -> values). Query values are
    typed from their shapes; unknown query parameters or labels are violations."""
    shape = operation(service, operation_name).input_shape
    params: dict = {}
    found: list[str] = []
    if shape is None:
        if body not in (None, {}):
            found.append("$: this operation takes no body")
        return params, found
    by_location: dict[tuple[str, str], str] = {}
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        if location in ("uri", "querystring"):
            by_location[(location, member.serialization.get("name", name))] = name
    if body is not None:
        if not isinstance(body, dict):
            found.append("$: the body is not a JSON object")
        else:
            for key, value in body.items():
                if key in shape.members and shape.members[key].serialization.get("location"):
                    found.append(f"$.{key}: belongs in the {shape.members[key].serialization['location']}")
                params[key] = value
    for label, value in (uri or {}).items():
        if ("uri", label) not in by_location:
            found.append(f"uri label {label!r} is not in {shape.name}")
            continue
        params[by_location[("uri", label)]] = value
    for key, values in (query or {}).items():
        name = by_location.get(("querystring", key))
        if name is None:
            found.append(f"query parameter {key!r} is not in {shape.name}")
            continue
        member = shape.members[name]
        if member.type_name == "list":
            params[name] = [_typed(member.member, v, f"?{key}", found) for v in values]
        elif len(values) != 1:
            found.append(f"?{key}: given {len(values)} times")
        else:
            params[name] = _typed(member, values[0], f"?{key}", found)
    return params, found


def _typed(shape: Shape, text: str, where: str, found: list[str]) -> object:
    """A query string value as the type its shape declares."""
    if shape.type_name in ("integer", "long"):
        if re.fullmatch(r"-?\d+", text):
            return int(text)
        found.append(f"{where}: {text!r} is not an integer")
        return text
    if shape.type_name == "boolean":
        if text in ("true", "false"):
            return text == "true"
        found.append(f"{where}: {text!r} is not true or false")
        return text
    if shape.type_name in ("float", "double"):
        try:
            return float(text)
        except ValueError:
            found.append(f"{where}: {text!r} is not a number")
            return text
    return text  # strings; timestamps stay text, checked by _walk in the shape's wire format


def _walk(shape: Shape, value: object, where: str, found: list[str]) -> None:
    metadata = shape.metadata
    if metadata.get("document"):
        if not _is_json(value):
            found.append(f"{where}: not a JSON value")
        return
    if value is None:
        found.append(f"{where}: null")
        return
    kind = shape.type_name
    checker = _CHECKS.get(kind)
    if checker is None:
        found.append(f"{where}: shape type {kind!r} is not known to this validator")
        return
    checker(shape, value, where, found)


def _structure(shape: Shape, value: object, where: str, found: list[str]) -> None:
    if not isinstance(value, dict):
        found.append(f"{where}: {type(value).__name__}, not an object ({shape.name})")
        return
    members = shape.members
    for key in value:
        if key not in members:
            found.append(f"{where}.{key}: not a member of {shape.name}")
    for name in shape.required_members:
        if name not in value:
            found.append(f"{where}.{name}: required by {shape.name}, missing")
    if shape.metadata.get("union"):
        present = [key for key in value if key in members]
        if len(present) != 1:
            found.append(f"{where}: union {shape.name} needs exactly one member, has {present or 'none'}")
    for key, item in value.items():
        if key in members:
            _walk(members[key], item, f"{where}.{key}", found)


def _list(shape: Shape, value: object, where: str, found: list[str]) -> None:
    if not isinstance(value, list):
        found.append(f"{where}: {type(value).__name__}, not a list ({shape.name})")
        return
    _size(shape, len(value), "items", where, found)
    for index, item in enumerate(value):
        _walk(shape.member, item, f"{where}[{index}]", found)


def _map(shape: Shape, value: object, where: str, found: list[str]) -> None:
    if not isinstance(value, dict):
        found.append(f"{where}: {type(value).__name__}, not an object ({shape.name})")
        return
    _size(shape, len(value), "entries", where, found)
    for key, item in value.items():
        _walk(shape.key, key, f"{where} key {key!r}", found)
        _walk(shape.value, item, f"{where}[{key!r}]", found)


def _string(shape: Shape, value: object, where: str, found: list[str]) -> None:
    if not isinstance(value, str):
        found.append(f"{where}: {type(value).__name__}, not a string ({shape.name})")
        return
    if shape.enum and value not in shape.enum:
        found.append(f"{where}: {value!r} is not one of {shape.name} {list(shape.enum)}")
    pattern = shape.metadata.get("pattern")
    if pattern is not None and not _pattern(pattern).fullmatch(value):
        found.append(f"{where}: {value[:80]!r} does not match {shape.name} pattern {pattern}")
    _size(shape, len(value), "characters", where, found)


def _integer(shape: Shape, value: object, where: str, found: list[str]) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        found.append(f"{where}: {value!r} is not an integer ({shape.name})")
        return
    _range(shape, value, where, found)


def _float(shape: Shape, value: object, where: str, found: list[str]) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        found.append(f"{where}: {value!r} is not a number ({shape.name})")
        return
    _range(shape, value, where, found)


def _boolean(shape: Shape, value: object, where: str, found: list[str]) -> None:
    if not isinstance(value, bool):
        found.append(f"{where}: {value!r} is not a boolean ({shape.name})")


def _blob(shape: Shape, value: object, where: str, found: list[str]) -> None:
    if not isinstance(value, str):
        found.append(f"{where}: {type(value).__name__}, not base64 text ({shape.name})")
        return
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        found.append(f"{where}: not base64 ({shape.name})")
        return
    _size(shape, len(data), "bytes", where, found)


def _timestamp(shape: Shape, value: object, where: str, found: list[str]) -> None:
    wire = shape.serialization.get("timestampFormat") or _DEFAULT_TIMESTAMP
    if wire == "unixTimestamp":
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            found.append(f"{where}: {value!r} is not epoch seconds ({shape.name})")
        return
    if not isinstance(value, str):
        found.append(f"{where}: {value!r} is not a {wire} timestamp ({shape.name})")
        return
    try:
        if wire == "iso8601":
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        else:  # rfc822
            datetime.strptime(value, "%a, %d %b %Y %H:%M:%S GMT")
    except ValueError:
        found.append(f"{where}: {value!r} is not a {wire} timestamp ({shape.name})")


def _size(shape: Shape, size: int, unit: str, where: str, found: list[str]) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and size < low:
        found.append(f"{where}: {size} {unit}, {shape.name} needs at least {low}")
    if high is not None and size > high:
        found.append(f"{where}: {size} {unit}, {shape.name} takes at most {high}")


def _range(shape: Shape, value: float, where: str, found: list[str]) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and value < low:
        found.append(f"{where}: {value} is below {shape.name}'s minimum {low}")
    if high is not None and value > high:
        found.append(f"{where}: {value} is above {shape.name}'s maximum {high}")


def _is_json(value: object) -> bool:
    if value is None or isinstance(value, (str, bool, int)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_is_json(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _is_json(item) for key, item in value.items())
    return False


_CHECKS = {
    "structure": _structure, "list": _list, "map": _map, "string": _string, "integer": _integer,
    "long": _integer, "float": _float, "double": _float, "boolean": _boolean, "blob": _blob,
    "timestamp": _timestamp,
}
