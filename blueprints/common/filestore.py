"""The gateway's own file store, for files a provider cannot hold or give back.

Anthropic batches take no file input and Gemini never returns an uploaded file's bytes, so the
gateway keeps those files itself. This is the only state it holds.

Layout (same for both backends), under the root (`DEEPINTSHIELD_FILE_STORE`):

    <namespace>/<owner>/<key>.jsonl   the bytes, exactly as the client sent them
    <namespace>/<owner>/<key>.json    metadata: {"filename", "purpose", "bytes", "created_at", ...}

`namespace` is the provider; `owner` is `auth.owner()`, a keyed hash of the key the client
presented (never the key), keyed with `DEEPINTSHIELD_OWNER_SECRET` or else with a secret generated
once and kept at `<root>/.owner-secret` (created if absent, so every worker and instance agrees).
`store()` is bound to the caller, so an object stored with one key is
invisible to every other key: get, open, delete and list only ever see the caller's own folder, and
anything else is a 404. Generated keys sort newest first (inverted millisecond clock, then random
hex), so a listing in key order is `order=desc` and `after=<key>` is a plain start-after. A local
directory works across the gunicorn workers of one machine (writes land by atomic rename);
`s3://bucket/prefix` serves several instances.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import secrets
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app

from blueprints.common import auth, aws
from blueprints.common.streams import RELAY_CHUNK, ChunkReader, FileBody
from errors import NotFound

_MAX_MS = 16**12 - 1
_KEY = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
SECRET_NAME = ".owner-secret"
TEMP_PREFIX = ".upload-"
# A temporary file older than this was left by a worker that died mid-write (an upload that slow
# is cut off long before).
STALE_TEMP_SECONDS = 6 * 3600


@dataclass
class StoredFile:
    key: str
    filename: str
    purpose: str
    bytes: int
    created_at: int
    extra: dict = field(default_factory=dict)

    def meta(self) -> dict:
        return {"filename": self.filename, "purpose": self.purpose, "bytes": self.bytes,
                "created_at": self.created_at, **self.extra}

    @classmethod
    def from_meta(cls, key: str, meta: dict) -> StoredFile:
        meta = dict(meta)
        return cls(key, meta.pop("filename"), meta.pop("purpose"), int(meta.pop("bytes")),
                   int(meta.pop("created_at")), meta)


def new_key(now_ms: int | None = None) -> str:
    """A fresh key that sorts before every older one."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    return f"{_MAX_MS - now_ms:012x}{secrets.token_hex(6)}"


def _check_key(key: str) -> str:
    if not _KEY.fullmatch(key):
        raise NotFound(f"No such file: {key!r}.")
    return key


class LocalStore:
    def __init__(self, root: str) -> None:
        self.root = Path(root)
        self._swept: set[Path] = set()

    @functools.cached_property
    def secret(self) -> bytes:
        """The generated owner secret, created on first use; a concurrent creator's wins."""
        path = self.root / SECRET_NAME
        if not path.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", dir=self.root, prefix=".secret-", delete=False) as tmp:
                tmp.write(secrets.token_hex(32))
            try:
                os.link(tmp.name, path)  # fails if another worker made it first
            except FileExistsError:
                pass
            finally:
                os.unlink(tmp.name)
        return path.read_bytes().strip()

    def _dir(self, namespace: str) -> Path:
        path = self.root / namespace
        path.mkdir(parents=True, exist_ok=True)
        return path

    def put(self, namespace: str, key: str, chunks: Iterable[bytes], filename: str, purpose: str,
            extra: dict | None = None) -> StoredFile:
        folder = self._dir(namespace)
        self._sweep(folder)
        size = 0
        with tempfile.NamedTemporaryFile(dir=folder, prefix=TEMP_PREFIX, delete=False) as tmp:
            try:
                for chunk in chunks:
                    tmp.write(chunk)
                    size += len(chunk)
                tmp.flush()
                os.fsync(tmp.fileno())  # the bytes are on disk before the name says the file exists
            except BaseException:
                tmp.close()
                os.unlink(tmp.name)
                raise
        os.replace(tmp.name, folder / f"{_check_key(key)}.jsonl")
        stored = StoredFile(key, filename, purpose, size, int(time.time()), dict(extra or {}))
        self._write_meta(folder, key, stored.meta())
        return stored

    def _write_meta(self, folder: Path, key: str, meta: dict) -> None:
        with tempfile.NamedTemporaryFile("w", dir=folder, prefix=TEMP_PREFIX, delete=False) as tmp:
            json.dump(meta, tmp)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp.name, folder / f"{key}.json")
        _fsync_dir(folder)  # the renames themselves survive a crash

    def _sweep(self, folder: Path) -> None:
        """Remove temporary files a killed worker left behind (once per folder and process)."""
        if folder in self._swept:
            return
        self._swept.add(folder)
        cutoff = time.time() - STALE_TEMP_SECONDS
        for path in folder.glob(TEMP_PREFIX + "*"):
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()

    def probe(self) -> None:
        """Write, read back and remove a small file (readiness); raises what went wrong."""
        self.root.mkdir(parents=True, exist_ok=True)
        data = secrets.token_bytes(16)
        with tempfile.NamedTemporaryFile(dir=self.root, prefix=".probe-") as tmp:
            tmp.write(data)
            tmp.flush()
            if Path(tmp.name).read_bytes() != data:
                raise OSError(f"{self.root} gave back other bytes than were written")

    def get(self, namespace: str, key: str) -> StoredFile:
        path = self.root / namespace / f"{_check_key(key)}.json"
        try:
            return StoredFile.from_meta(key, json.loads(path.read_text()))
        except FileNotFoundError:
            raise NotFound(f"No such file: {key!r}.") from None

    def open(self, namespace: str, key: str) -> Iterator[bytes]:
        self.get(namespace, key)
        try:
            handle = open(self.root / namespace / f"{key}.jsonl", "rb")  # noqa: SIM115 FileBody closes it
        except FileNotFoundError:
            raise NotFound(f"The stored copy of {key!r} is gone.") from None
        return FileBody(handle)

    def read_range(self, namespace: str, key: str, start: int, end: int) -> bytes:
        """Bytes `start` to `end` (exclusive) of a stored file (a gateway-run batch's share of its input)."""
        try:
            with open(self.root / namespace / f"{_check_key(key)}.jsonl", "rb") as handle:
                handle.seek(start)
                return handle.read(end - start)
        except FileNotFoundError:
            raise NotFound(f"The stored copy of {key!r} is gone.") from None

    def list(self, namespace: str, after: str | None, limit: int) -> tuple[list[StoredFile], bool]:
        folder = self.root / namespace
        if not folder.is_dir():
            return [], False
        keys = sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json") and not p.name.startswith("."))
        if after:
            keys = [k for k in keys if k > after]
        page = []
        for key in keys[: limit + 1]:
            try:
                page.append(self.get(namespace, key))
            except NotFound:  # deleted meanwhile by another worker
                continue
        return page[:limit], len(page) > limit

    def delete(self, namespace: str, key: str) -> bool:
        folder = self.root / namespace
        try:
            (folder / f"{_check_key(key)}.json").unlink()
        except FileNotFoundError:
            return False
        (folder / f"{key}.jsonl").unlink(missing_ok=True)
        return True


class S3Store:
    def __init__(self, url: str) -> None:
        bucket, _, prefix = url[len("s3://"):].partition("/")
        self.bucket, self.prefix = bucket, prefix.strip("/")

    def _key(self, namespace: str, key: str, suffix: str) -> str:
        return "/".join(p for p in (self.prefix, namespace, f"{_check_key(key)}{suffix}") if p)

    @property
    def s3(self):
        return aws.client("s3", provider="filestore")

    @functools.cached_property
    def secret(self) -> bytes:
        """The generated owner secret, created on first use (a conditional put: the first writer wins)."""
        key = "/".join(p for p in (self.prefix, SECRET_NAME) if p)
        try:
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=secrets.token_hex(32).encode(), IfNoneMatch="*")
        except aws.ClientError as error:
            if error.response.get("Error", {}).get("Code") not in ("PreconditionFailed", "ConditionalRequestConflict"):
                raise aws.aws_error(error, "file store") from error
        body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"]
        with body:
            return body.read().strip()

    def put(self, namespace: str, key: str, chunks: Iterable[bytes], filename: str, purpose: str,
            extra: dict | None = None) -> StoredFile:
        reader = ChunkReader(chunks)
        try:
            self.s3.upload_fileobj(reader, self.bucket, self._key(namespace, key, ".jsonl"), Config=aws.UPLOAD)
        except Exception as error:
            if isinstance(error, (aws.ClientError, aws.BotoCoreError)):
                raise aws.aws_error(error, "file store") from error
            raise
        stored = StoredFile(key, filename, purpose, reader.size, int(time.time()), dict(extra or {}))
        self.s3.put_object(Bucket=self.bucket, Key=self._key(namespace, key, ".json"),
                           Body=json.dumps(stored.meta()).encode(), ContentType="application/json")
        return stored

    def probe(self) -> None:
        """Write, read back and remove a small object (readiness); raises what went wrong."""
        key = "/".join(p for p in (self.prefix, f".probe-{secrets.token_hex(8)}") if p)
        data = secrets.token_bytes(16)
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=data)
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"]
            with body:
                if body.read() != data:
                    raise OSError(f"s3://{self.bucket}/{key} gave back other bytes than were written")
        finally:
            self.s3.delete_object(Bucket=self.bucket, Key=key)

    def get(self, namespace: str, key: str) -> StoredFile:
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=self._key(namespace, key, ".json"))["Body"]
        except aws.ClientError as error:
            if aws.AWS_STATUS.get(error.response["Error"]["Code"]) == 404:
                raise NotFound(f"No such file: {key!r}.") from None
            raise aws.aws_error(error, "file store") from error
        with body:
            return StoredFile.from_meta(key, json.loads(body.read()))

    def open(self, namespace: str, key: str) -> Iterator[bytes]:
        self.get(namespace, key)
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=self._key(namespace, key, ".jsonl"))["Body"]
        except aws.ClientError as error:
            if aws.AWS_STATUS.get(error.response["Error"]["Code"]) == 404:
                raise NotFound(f"The stored copy of {key!r} is gone.") from None
            raise aws.aws_error(error, "file store") from error
        return _read(body)

    def read_range(self, namespace: str, key: str, start: int, end: int) -> bytes:
        if end <= start:
            return b""
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=self._key(namespace, key, ".jsonl"),
                                      Range=f"bytes={start}-{end - 1}")["Body"]
        except aws.ClientError as error:
            if aws.AWS_STATUS.get(error.response["Error"]["Code"]) == 404:
                raise NotFound(f"The stored copy of {key!r} is gone.") from None
            raise aws.aws_error(error, "file store") from error
        with body:
            return body.read()

    def list(self, namespace: str, after: str | None, limit: int) -> tuple[list[StoredFile], bool]:
        prefix = "/".join(p for p in (self.prefix, namespace) if p) + "/"
        kwargs = {"Bucket": self.bucket, "Prefix": prefix}
        if after:
            kwargs["StartAfter"] = prefix + f"{_check_key(after)}.jsonl"
        page: list[StoredFile] = []
        for listing in self.s3.get_paginator("list_objects_v2").paginate(**kwargs):
            for item in listing.get("Contents", []):
                name = item["Key"][len(prefix):]
                if not name.endswith(".json"):
                    continue
                try:
                    page.append(self.get(namespace, name[:-5]))
                except NotFound:
                    continue
                if len(page) > limit:
                    return page[:limit], True
        return page, False

    def delete(self, namespace: str, key: str) -> bool:
        try:
            self.get(namespace, key)
        except NotFound:
            return False
        self.s3.delete_object(Bucket=self.bucket, Key=self._key(namespace, key, ".json"))
        self.s3.delete_object(Bucket=self.bucket, Key=self._key(namespace, key, ".jsonl"))
        return True


def _fsync_dir(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _read(handle) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(RELAY_CHUNK):
            yield chunk


@functools.cache
def _store_for(location: str) -> LocalStore | S3Store:
    return S3Store(location) if location.startswith("s3://") else LocalStore(location)


class OwnedStore:
    """A store seen by one owner: every namespace is that owner's folder inside it."""

    def __init__(self, backend: LocalStore | S3Store, owner: str) -> None:
        self.backend, self.owner = backend, owner

    def _ns(self, namespace: str) -> str:
        return f"{namespace}/{self.owner}"

    def put(self, namespace: str, key: str, chunks: Iterable[bytes], filename: str, purpose: str,
            extra: dict | None = None) -> StoredFile:
        return self.backend.put(self._ns(namespace), key, chunks, filename, purpose, extra)

    def get(self, namespace: str, key: str) -> StoredFile:
        return self.backend.get(self._ns(namespace), key)

    def open(self, namespace: str, key: str) -> Iterator[bytes]:
        return self.backend.open(self._ns(namespace), key)

    def read_range(self, namespace: str, key: str, start: int, end: int) -> bytes:
        return self.backend.read_range(self._ns(namespace), key, start, end)

    def list(self, namespace: str, after: str | None, limit: int) -> tuple[list[StoredFile], bool]:
        return self.backend.list(self._ns(namespace), after, limit)

    def delete(self, namespace: str, key: str) -> bool:
        return self.backend.delete(self._ns(namespace), key)


def backend() -> LocalStore | S3Store:
    """The configured store itself, for checks that concern no owner (readiness)."""
    return _store_for(current_app.config["FILE_STORE"])


def store() -> OwnedStore:
    """The file store configured for this app, as the calling client's own (401 without a key)."""
    configured = backend()
    secret = current_app.config.get("OWNER_SECRET") or ""
    return OwnedStore(configured, auth.owner(secret.encode() if secret else configured.secret))
