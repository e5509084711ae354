"""Identity sealing and blind indexes."""

from __future__ import annotations

from datetime import date

from services.registry.vault import Identity, Vault


def test_sealed_identity_opens_only_with_its_key() -> None:
    identity = Identity(full_name="Nguyễn Văn An", date_of_birth=date(1990, 1, 1), citizen_id="024090000001")
    vault = Vault("k1")
    sealed = vault.seal(identity)
    assert b"Nguy" not in sealed and b"024090000001" not in sealed
    assert vault.open(sealed) == identity
    try:
        Vault("k2").open(sealed)
    except Exception:
        pass
    else:
        raise AssertionError("another key opened the identity")


def test_match_keys_ignore_diacritics_case_and_spacing_but_not_the_commune() -> None:
    vault = Vault("k")
    born = date(1985, 1, 2)
    assert vault.match_key("Hoàng Thị Bích", born, "07660") == vault.match_key("hoang  thi bich", born, "07660")
    assert vault.match_key("Hoàng Thị Bích", born, "07660") != vault.match_key("Hoàng Thị Bích", born, "07616")
    assert set(vault.name_keys("Đặng Hùng")) <= set(vault.name_keys("đang van hung"))
