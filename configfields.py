"""The kinds of value a setting can hold, as marshmallow fields that read one environment variable.

Each kind parses the variable's text and says, when it cannot, what it got and what it expected:
`'lots' is not a size; expected bytes or a number with a unit like 512MB` (config.py puts the
variable's name in front). `form` is the short name of the kind in the README's table.

Sizes: plain bytes, or a number with a unit: kB/KB, MB, GB, TB are powers of 1000 and KiB, MiB, GiB,
TiB powers of 1024 (units in any case, so `512mb` is 512 MB = 512,000,000 bytes). Durations: seconds,
or a number with `ms`, `s`, `m` or `h`.

No Flask here: gunicorn's master loads settings before any app exists.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import re
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from marshmallow import ValidationError, fields, missing

KiB, MiB, GiB, TiB = 1 << 10, 1 << 20, 1 << 30, 1 << 40
SIZE_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
              "kib": KiB, "mib": MiB, "gib": GiB, "tib": TiB}
TIME_UNITS = {"ms": Decimal("0.001"), "s": Decimal(1), "m": Decimal(60), "h": Decimal(3600)}
_NUMBER_AND_UNIT = re.compile(r"(\d+(?:\.\d+)?)\s*([A-Za-z]*)")


class Invalid(ValueError):
    """A value's problem in words (a bare ValueError, Python's own included, says only "not a <kind>")."""


class Setting(fields.Field):
    """One environment variable: its name is the field's `data_key`, its config key the attribute name.

    `default` is used when the variable is unset or empty; a setting where empty means something else
    passes `empty=` (the value an empty variable gives). `shown` replaces the default in the README
    when the value itself would mislead (a derived default); `secret` keeps the value out of messages.
    """

    form = "text"
    noun = "text"
    expected = "text"

    def __init__(self, env: str, default: Any, meaning: str, *, validate: Iterable = (), shown: str | None = None,
                 secret: bool = False, empty: Any = missing) -> None:
        if isinstance(default, (list, tuple)):  # a fresh list per load: app.config values are not shared
            default = _copies(default)
        super().__init__(data_key=env, load_default=default, validate=list(validate),
                         metadata={"meaning": meaning, "shown": shown, "secret": secret})
        self.empty = _copies(empty) if isinstance(empty, (list, tuple)) else empty

    def deserialize(self, value: Any, attr: str | None = None, data: Any = None, **kwargs) -> Any:
        if isinstance(value, str) and not value.strip():
            if self.empty is not missing:
                return self.empty() if callable(self.empty) else self.empty
            value = missing  # empty counts as unset (`VAR=` in a compose file or a unit)
        return super().deserialize(value, attr, data, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs) -> Any:
        text = str(value).strip()
        try:
            return self.parse(text)
        except ValueError as error:
            raise ValidationError(self.problem(text, _reason(error))) from None

    @classmethod
    def parse(cls, text: str) -> Any:
        """The value `text` stands for; ValueError (Invalid to give a reason) if it is not one."""
        return text

    @classmethod
    def problem(cls, text: str, reason: str = "", expected: str | None = None) -> str:
        """`'lots' is not a size; expected ...`, with the reason in brackets when there is one."""
        return f"{text!r} is not {cls.noun}{f' ({reason})' if reason else ''}; expected {expected or cls.expected}"

    def describe(self) -> str:
        """The accepted form, for the README: the kind, then its bounds."""
        bounds = [v.describe() for v in self.validators if isinstance(v, Bounds)]
        return " ".join([self.form, *bounds])

    def show(self, value: Any) -> str:
        """A value as the README shows it."""
        return str(value)


class Text(Setting):
    pass


class Integer(Setting):
    form, noun, expected = "integer", "an integer", "a whole number like 100"

    @classmethod
    def parse(cls, text: str) -> int:
        return int(text)


class Size(Setting):
    form, noun = "size", "a size"
    expected = "bytes or a number with a unit like 512MB"

    @classmethod
    def parse(cls, text: str) -> int:
        match = _NUMBER_AND_UNIT.fullmatch(text)
        if not match or match[2].lower() not in (*SIZE_UNITS, ""):
            raise ValueError
        size = Decimal(match[1]) * SIZE_UNITS[match[2].lower() or "b"]
        if size != size.to_integral_value():
            raise Invalid("not a whole number of bytes")
        return int(size)

    def show(self, value: Any) -> str:
        for unit, name in ((GiB, "GiB"), (MiB, "MiB"), (KiB, "KiB")):
            if value and value % unit == 0:
                return f"{value // unit}{name}"
        return str(value)


class Rate(Size):
    """Bytes a second, written as a size (`1KiB`: 1024 bytes a second)."""

    form = "size per second"


class Seconds(Setting):
    form, noun = "seconds", "a duration"
    expected = "seconds, or a number with ms, s, m or h like 30s or 5m"

    @classmethod
    def parse(cls, text: str) -> float:
        match = _NUMBER_AND_UNIT.fullmatch(text)
        if not match or match[2].lower() not in (*TIME_UNITS, ""):
            raise ValueError
        return float(Decimal(match[1]) * TIME_UNITS[match[2].lower() or "s"])

    def show(self, value: Any) -> str:
        return _number(value)


class WholeSeconds(Seconds):
    """A duration gunicorn takes as an integer."""

    noun, expected = "whole seconds", "whole seconds like 30, 30s or 5m"

    @classmethod
    def parse(cls, text: str) -> int:
        seconds = Seconds.parse(text)
        if seconds != int(seconds):
            raise ValueError
        return int(seconds)


class Flag(Setting):
    form, noun, expected = "on/off", "on or off", "1, true, yes, on or 0, false, no, off"
    _WORDS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}

    @classmethod
    def parse(cls, text: str) -> bool:
        if text.lower() not in cls._WORDS:
            raise ValueError
        return cls._WORDS[text.lower()]

    def show(self, value: Any) -> str:
        return "on" if value else "off"


class Choice(Setting):
    """One of a few words (`choices=`)."""

    noun = "one of the choices"

    def __init__(self, env: str, default: str, meaning: str, *, choices: Iterable[str], **kwargs) -> None:
        super().__init__(env, default, meaning, **kwargs)
        self.choices = tuple(choices)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs) -> str:
        text = str(value).strip()
        if text.lower() not in self.choices:
            raise ValidationError(f"{text!r} is not {self.noun}; expected {', '.join(self.choices)}")
        return text.lower()

    def describe(self) -> str:
        return " / ".join(f"`{choice}`" for choice in self.choices)


class Url(Setting):
    form, noun = "http(s) URL", "a URL"
    expected = "an http:// or https:// URL like https://api.example.com/v1"

    @classmethod
    def parse(cls, text: str) -> str:
        parts = urlsplit(text)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError
        _ = parts.port  # ValueError for a port that is not one
        if any(c.isspace() for c in text):
            raise ValueError
        return text.rstrip("/")


class WebhookSecret(Setting):
    """A Standard Webhooks signing secret, as OpenAI's SDK reads one: `whsec_` and base64 of its bytes."""

    form, noun = "webhook secret", "a webhook secret"
    expected = "whsec_ followed by the base64 of 24 to 64 random bytes"

    @classmethod
    def parse(cls, text: str) -> str:
        if not text.startswith("whsec_"):
            raise Invalid("no whsec_ prefix")
        try:
            raw = base64.b64decode(text[len("whsec_"):], validate=True)
        except ValueError:
            raise Invalid("not base64") from None
        if not 24 <= len(raw) <= 64:
            raise Invalid(f"{len(raw)} bytes")
        return text


class Origin(Setting):
    form, noun = "origin", "an origin"
    expected = "scheme://host[:port] like https://app.example.com"

    @classmethod
    def parse(cls, text: str) -> str:
        url = Url.parse(text)
        parts = urlsplit(url)
        if parts.path or parts.username or parts.password:
            raise ValueError
        return f"{parts.scheme}://{parts.netloc}".lower()  # browsers send origins in lower case


class Address(Setting):
    """A gunicorn bind address."""

    form, noun = "address", "an address"
    expected = "HOST:PORT like 127.0.0.1:8080, [::1]:8080 or unix:/path/to.sock"
    _HOST_PORT = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})")

    @classmethod
    def parse(cls, text: str) -> str:
        if (text.startswith("unix:") and len(text) > len("unix:")) or re.fullmatch(r"fd://\d+", text):
            return text
        match = cls._HOST_PORT.fullmatch(text)
        if not match or not 1 <= int(match[2]) <= 65535:
            raise ValueError
        return text


class Bucket(Setting):
    form, noun = "S3 bucket", "an S3 bucket name"
    expected = "3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit"
    _NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")

    @classmethod
    def parse(cls, text: str) -> str:
        if not cls._NAME.fullmatch(text) or ".." in text or _is_ip(text):
            raise ValueError
        return text


class Region(Setting):
    form, noun, expected = "AWS region", "an AWS region", "a region name like us-east-1"
    _NAME = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")

    @classmethod
    def parse(cls, text: str) -> str:
        if not cls._NAME.fullmatch(text):
            raise ValueError
        return text


class RoleArn(Setting):
    form, noun = "IAM role ARN", "an IAM role ARN"
    expected = "arn:aws:iam::<12-digit account>:role/<name>"
    _ARN = re.compile(r"arn:aws(-[a-z]+)*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")

    @classmethod
    def parse(cls, text: str) -> str:
        if not cls._ARN.fullmatch(text):
            raise ValueError
        return text


class Date(Setting):
    form, noun, expected = "YYYY-MM-DD", "a date", "a date like 2023-06-01"

    @classmethod
    def parse(cls, text: str) -> str:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError
        datetime.date.fromisoformat(text)
        return text


class MimeType(Setting):
    form, noun, expected = "MIME type", "a MIME type", "a type like application/jsonl"
    _TYPE = re.compile(r"[\w.+-]+(/[\w.+-]+)?")

    @classmethod
    def parse(cls, text: str) -> str:
        if not cls._TYPE.fullmatch(text):
            raise ValueError
        return text


class FileStore(Setting):
    form, noun = "directory or s3://bucket/prefix", "a file store"
    expected = "a local directory or s3://bucket/prefix"

    @classmethod
    def parse(cls, text: str) -> str:
        if "://" not in text:
            return text  # a directory: startup checks that it can be written (config.check)
        scheme, _, rest = text.partition("://")
        if scheme.lower() != "s3":
            raise Invalid("only s3:// locations are stores; anything else is a local directory")
        bucket, _, prefix = rest.partition("/")
        try:
            Bucket.parse(bucket)
        except ValueError:
            raise Invalid(f"{bucket!r} is not an S3 bucket name") from None
        segments = prefix.strip("/").split("/") if prefix.strip("/") else []
        if any(segment in ("", ".", "..") for segment in segments):
            raise Invalid("the prefix has an empty, '.' or '..' segment")
        return f"s3://{rest}"


class CommaList(Setting):
    """Comma-separated items of one kind (`of=`): each item is parsed, and named when it is bad."""

    def __init__(self, env: str, default: Any, meaning: str, *, of: type[Setting] = Text, **kwargs) -> None:
        super().__init__(env, default, meaning, **kwargs)
        self.of = of

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs) -> list:
        items = []
        for item in str(value).split(","):
            if not item.strip():
                continue
            try:
                items.append(self.of.parse(item.strip()))
            except ValueError as error:
                raise ValidationError(self.of.problem(item.strip(), _reason(error),
                                                      f"a comma list, each {self.of.expected}")) from None
        return items

    def describe(self) -> str:
        return f"comma list of {self.of.form}s" if self.of is not Text else "comma list"

    def show(self, value: Any) -> str:
        return ",".join(value)


class Bounds:
    """A marshmallow validator for a number's range, that the README can describe."""

    def __init__(self, low: float | None = None, high: float | None = None, *, above: bool = False) -> None:
        self.low, self.high, self.above = low, high, above

    def __call__(self, value: float) -> None:
        too_low = self.low is not None and (value <= self.low if self.above else value < self.low)
        too_high = self.high is not None and value > self.high
        if too_low or too_high:
            raise ValidationError(f"{_number(value)} is out of range; expected {self.describe()}")

    def describe(self) -> str:
        if self.high is None:
            return f"{'>' if self.above else '≥'} {_number(self.low)}"
        return f"{_number(self.low)}–{_number(self.high)}"


def at_least(low: float) -> Bounds:
    return Bounds(low)


def above(low: float) -> Bounds:
    return Bounds(low, above=True)


def between(low: float, high: float) -> Bounds:
    return Bounds(low, high)


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _copies(items: Iterable) -> Callable[[], list]:
    items = tuple(items)
    return lambda: list(items)


def _reason(error: ValueError) -> str:
    return str(error) if isinstance(error, Invalid) else ""


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
