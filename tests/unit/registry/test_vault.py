"""Identity sealing and blind indexes."""

from __future__ import annotations

from datetime import date

import pytest
from cryptography.exceptions import InvalidTag

from services.registry.vault import Identity, Vault


def test_sealed_identity_opens_only_with_its_key() -> None:
    identity = Identity(full_name="Nguyễn Văn An", date_of_birth=date(1990, 1, 1), citizen_id="024090000001")
    vault = Vault("k1")
    sealed = vault.seal(identity)
    assert b"Nguy" not in sealed and b"024090000001" not in sealed
    assert vault.open(sealed) == identity
    with pytest.raises(InvalidTag):  # the tag fails: nothing opened, nothing half-decrypted
        Vault("k2").open(sealed)


def test_match_keys_ignore_diacritics_case_and_spacing_but_not_the_commune() -> None:
    vault = Vault("k")
    born = date(1985, 1, 2)
    assert vault.match_key("Hoàng Thị Bích", born, "07660") == vault.match_key("hoang  thi bich", born, "07660")
    assert vault.match_key("Hoàng Thị Bích", born, "07660") != vault.match_key("Hoàng Thị Bích", born, "07616")
    assert set(vault.name_keys("Đặng Hùng")) <= set(vault.name_keys("đang van hung"))
