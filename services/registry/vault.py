"""Identity at rest: sealed with AES-GCM, searchable only through keyed blind indexes (HMAC-SHA256).

A dump of the registry schema shows neither names nor citizen ids; only this service, holding the key, can
open them, and it does so only for callers whose role and unit allow it. Blind indexes make exact lookups
(citizen id, the name + birth date + commune match, name words) possible without storing the clear text.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from datetime import date
from functools import cache
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import BaseModel, ConfigDict

from shared.vn.units import fold

log = logging.getLogger("rehab.registry.vault")
DEV_KEY = "dev-only-registry-pii-key-change-me"


class Identity(BaseModel):
    """What identifies a person: the only personal data the system holds, and only here."""

    model_config = ConfigDict(frozen=True)

    full_name: str
    date_of_birth: date
    citizen_id: str | None = None
    village: str | None = None


class Vault:
    """Seals and opens identities and computes the blind indexes used to find them."""

    def __init__(self, secret: str | None) -> None:
        if not secret:
            log.warning("REHAB_REGISTRY_PII_KEY is not set: using the development key (never in production)")
            secret = DEV_KEY
        self._secret = secret
        self._aead = AESGCM(_derive(secret, b"rehab-registry-identity-seal"))
        # keyed once: each index copies it (the key's two hash blocks are not recomputed per index, a third of its cost)
        self._index = hmac.new(_derive(secret, b"rehab-registry-blind-index"), digestmod=hashlib.sha256)
        self._files = AESGCM(_derive(secret, b"rehab-registry-import-seal"))

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        """Sent to the service's own worker processes (an import's rows are checked and sealed there) as its key:
        each process derives the vault once, and keeps it."""
        return _vault, (self._secret,)

    def seal(self, identity: Identity) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, identity.model_dump_json().encode(), b"identity-v1")

    def open(self, sealed: bytes) -> Identity:
        clear = self._aead.decrypt(sealed[:12], sealed[12:], b"identity-v1")
        return Identity.model_validate(json.loads(clear))

    def seal_file(self, content: bytes, reference: str) -> bytes:
        """An uploaded list sealed for as long as its import runs, bound to `reference` (its import id)."""
        nonce = os.urandom(12)
        return nonce + self._files.encrypt(nonce, content, b"import-v1:" + reference.encode())

    def open_file(self, sealed: bytes, reference: str) -> bytes:
        """What `seal_file` sealed under `reference` (InvalidTag when it was sealed otherwise)."""
        return self._files.decrypt(sealed[:12], sealed[12:], b"import-v1:" + reference.encode())

    def blind(self, *parts: str) -> str:
        """A keyed, irreversible index of `parts` (same input, same index; nothing to read back)."""
        index = self._index.copy()
        index.update("\x1f".join(parts).encode())
        return index.hexdigest()[:40]

    def citizen_key(self, citizen_id: str | None) -> str | None:
        return self.blind("cccd", citizen_id) if citizen_id else None

    def file_key(self, sha256: str) -> str:
        """An uploaded file's keyed digest: the same file is recognised, a guessed list cannot be checked against it."""
        return self.blind("import-file", sha256)

    def match_key(self, full_name: str, date_of_birth: date, commune_code: str) -> str:
        """Likely-same-person key: folded full name + date of birth + commune."""
        return self.blind("match", fold(full_name), date_of_birth.isoformat(), commune_code)

    def name_keys(self, text: str) -> list[str]:
        """One index per folded word of a name, so a search for 'nguyen van' finds 'Nguyễn Văn An'."""
        return sorted({self.blind("word", word) for word in fold(text).split()})

    def identity_row(self, person_id: str, identity: Identity, commune_code: str) -> dict[str, object]:
        """A person's row of the identity table: the sealed identity and its blind indexes."""
        return {
            "person_id": person_id,
            "sealed": self.seal(identity),
            "citizen_key": self.citizen_key(identity.citizen_id),
            "match_key": self.match_key(identity.full_name, identity.date_of_birth, commune_code),
            "name_keys": self.name_keys(identity.full_name),
        }


@cache
def _vault(secret: str) -> Vault:
    return Vault(secret)


def _derive(secret: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=b"rehab-registry", info=purpose).derive(secret.encode())
