"""Identity sealing and blind indexes."""

from __future__ import annotations

import pickle
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


def test_a_vault_sent_to_a_worker_process_seals_and_indexes_as_the_service_does() -> None:
    """An import's rows are checked and sealed in worker processes: the vault they receive is the service's."""
    identity = Identity(full_name="Lò Văn Páo", date_of_birth=date(1992, 3, 4), citizen_id="011092000123")
    vault = Vault("the-service-key")
    there = pickle.loads(pickle.dumps(vault))
    assert there.open(vault.seal(identity)) == identity and vault.open(there.seal(identity)) == identity
    assert there.identity_row("p", identity, "00001")["match_key"] == vault.match_key(
        identity.full_name, identity.date_of_birth, "00001"
    )
    assert there.citizen_key("011092000123") == vault.citizen_key("011092000123")
    with pytest.raises(InvalidTag):
        pickle.loads(pickle.dumps(Vault("another-key"))).open(vault.seal(identity))
