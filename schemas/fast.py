"""A fast path for `Schema.load` on the response schemas, compiled from their own field declarations.

Loading a page of twenty batches through marshmallow costs more than the upstream call itself, and
almost every provider reply is already well formed. `fast_loader(schema)` reads the schema's fields
once and returns a loader that checks the same rules (required, allow_none, load_default, the
field type, OneOf/Equal/Range validators, unknown keys excluded) with plain `isinstance` tests.
Anything it does not accept exactly as is, it hands to `schema.load`, which then coerces or raises
the usual `ValidationError`: the fast path can only agree with marshmallow, never overrule it.
Schemas using a feature it does not know (hooks, data_key, other fields or validators) always go
through `schema.load`.
"""

from __future__ import annotations

from collections.abc import Callable

from marshmallow import Schema, fields, missing, validate


class _Slow(Exception):
    """This value needs marshmallow's full load (coercion, or an error to report)."""


_Check = Callable[[object], object]


def _field_check(field: fields.Field) -> _Check | None:
    if type(field) is fields.String:
        kind: _Check | None = _of(str)
    elif type(field) is fields.Integer and field.strict:
        kind = _int
    elif type(field) is fields.Boolean:
        kind = _of(bool)
    elif type(field) is fields.Nested and not field.many and isinstance(field.nested, type):
        kind = _compile(field.nested())
    elif type(field) is fields.List and type(field.inner) is fields.Nested:
        inner = _field_check(field.inner)
        kind = None if inner is None else _list_of(inner)
    elif (type(field) is fields.Dict and type(field.key_field) is fields.String
          and type(field.value_field) is fields.String and not field.key_field.validators
          and not field.value_field.validators):
        kind = _str_dict
    else:
        return None
    if kind is None:
        return None
    checks = [kind]
    for validator in field.validators:
        if type(validator) is validate.OneOf:
            checks.append(_member(frozenset(validator.choices)))
        elif type(validator) is validate.Equal:
            checks.append(_member(frozenset((validator.comparable,))))
        elif type(validator) is validate.Range and validator.min_inclusive and validator.max_inclusive:
            checks.append(_within(validator.min, validator.max))
        else:
            return None
    if len(checks) == 1:
        return kind

    def checked(value: object) -> object:
        out = checks[0](value)
        for check in checks[1:]:
            check(out)
        return out

    return checked


def _of(cls: type) -> _Check:
    def check(value: object) -> object:
        if type(value) is not cls:
            raise _Slow
        return value
    return check


def _int(value: object) -> object:
    if type(value) is not int:  # strict Integer: no bools, floats or strings
        raise _Slow
    return value


def _str_dict(value: object) -> object:
    if type(value) is not dict or not all(type(k) is str and type(v) is str for k, v in value.items()):
        raise _Slow
    return dict(value)


def _list_of(inner: _Check) -> _Check:
    def check(value: object) -> object:
        if type(value) is not list:
            raise _Slow
        return [inner(item) for item in value]
    return check


def _member(allowed: frozenset) -> _Check:
    def check(value: object) -> object:
        if value not in allowed:
            raise _Slow
        return value
    return check


def _within(low: object, high: object) -> _Check:
    def check(value: object) -> object:
        if (low is not None and value < low) or (high is not None and value > high):
            raise _Slow
        return value
    return check


_PLAIN = {fields.String: str, fields.Boolean: bool}


def _plain_type(field: fields.Field) -> type | None:
    """The exact Python type of a plain field (checked inline, no call), or None."""
    if type(field) is fields.Integer and field.strict:
        return int
    return _PLAIN.get(type(field))


def _compile(schema: Schema) -> _Check | None:
    """A check for one schema, or None when the schema uses something the fast path does not know."""
    if any(schema._hooks.values()) or schema.unknown != "exclude":
        return None
    plan = []
    for name, field in schema.load_fields.items():
        check = _field_check(field)
        if check is None or field.data_key not in (None, name) or field.attribute not in (None, name):
            return None
        plain = _plain_type(field) if not field.validators else None
        plan.append((name, plain, check, field.required, field.allow_none, field.load_default))

    def load(value: object) -> dict:
        if type(value) is not dict:
            raise _Slow
        out = {}
        for name, plain, check, required, allow_none, default in plan:
            item = value.get(name, missing)
            if item is missing:
                if required:
                    raise _Slow
                if default is not missing:
                    out[name] = default() if callable(default) else default
            elif item is None:
                if not allow_none:
                    raise _Slow
                out[name] = None
            elif plain is not None:
                if type(item) is not plain:
                    raise _Slow
                out[name] = item
            else:
                out[name] = check(item)
        return out

    return load


def fast_loader(schema: Schema) -> Callable[[object], dict]:
    """`schema.load`, with a fast path for input that is already exactly what the schema loads."""
    compiled = _compile(schema)
    if compiled is None:
        return schema.load

    def load(value: object) -> dict:
        try:
            return compiled(value)
        except _Slow:
            return schema.load(value)

    return load
