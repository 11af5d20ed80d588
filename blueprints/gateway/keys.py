"""The client key a passthrough-mode job runs with, sealed while it waits in the job store.

In passthrough mode the provider key *is* the client's key, and the worker needs it for hours after
the request that brought it. It is kept only sealed (AES-GCM, with a key derived from the owner
secret every gateway process shares: `DEEPINTSHIELD_OWNER_SECRET` or the file store's), bound to its
job ID, and dropped when the job ends. In gateway-key mode nothing is kept: the worker uses the
gateway's own provider keys.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from typing import TYPE_CHECKING

from flask import current_app

from blueprints.common import filestore

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def _box() -> AESGCM:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # ~6 MB: only for gateway-run batches

    configured = current_app.config.get("OWNER_SECRET") or ""
    secret = configured.encode() if configured else filestore.backend().secret
    return AESGCM(hmac.new(secret, b"deepintshield gateway-run client keys", hashlib.sha256).digest())


def seal(key: str, job_id: str) -> str:
    nonce = os.urandom(12)
    return base64.b64encode(nonce + _box().encrypt(nonce, key.encode(), job_id.encode())).decode()


def unseal(sealed: str, job_id: str) -> str:
    raw = base64.b64decode(sealed)
    return _box().decrypt(raw[:12], raw[12:], job_id.encode()).decode()
