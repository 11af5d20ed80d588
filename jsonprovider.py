"""Flask's JSON, done by msgspec: request bodies parsed and responses written several times faster."""

from __future__ import annotations

from typing import Any

import msgspec
from flask import Response
from flask.json.provider import JSONProvider

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


class MsgspecProvider(JSONProvider):
    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return _encode(obj).decode()

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return _decode(s)

    def response(self, *args: Any, **kwargs: Any) -> Response:
        obj = self._prepare_response_obj(args, kwargs)
        return self._app.response_class(_encode(obj), mimetype="application/json")
