"""Tokens of an OpenID Connect issuer, verified with the keys of its JWKS served over real HTTP (issue 17's base)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from shared.runtime.auth import IssuerKeys, Role, TokenCodec
from shared.runtime.errors import Unauthorized
from tests.support.stub_http import StubServer

ISSUER = "http://127.0.0.1/realms/rehab"


class Jwks:
    """A JWKS endpoint on a free local port whose key set a test can change (a key rotation)."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.stub = StubServer(lambda *_: (200, {"keys": self.keys}), "/certs")
        self.uri = self.stub.uri

    def publish(self, key: Any, kid: str, alg: str) -> None:
        jwk = json.loads(jwt.algorithms.get_default_algorithms()[alg].to_jwk(key.public_key()))
        self.keys.append({**jwk, "kid": kid, "alg": alg, "use": "sig"})


@pytest.fixture
def jwks() -> Iterator[Jwks]:
    served = Jwks()
    yield served
    served.stub.close()


def token(key: Any, kid: str, alg: str = "RS256", **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": "rehab", "sub": "u-1", "role": "commune_officer", "unit": "07615"}
    body |= {"iat": now, "exp": now + 300, **claims}
    return jwt.encode(body, key, algorithm=alg, headers={"kid": kid})


RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_an_issuer_token_names_its_role_and_unit_and_an_es256_key_after_a_rotation_too(jwks: Jwks) -> None:
    jwks.publish(RSA, "k1", "RS256")
    keys = IssuerKeys(ISSUER, "rehab", jwks.uri, refresh_cooldown=0)
    codec = TokenCodec("s" * 32, issuer=keys, accept_secret=False)
    who = codec.verify(token(RSA, "k1"))
    assert (who.role, who.unit, who.sub) == (Role.COMMUNE_OFFICER, "07615", "u-1")
    rotated = ec.generate_private_key(ec.SECP256R1())
    jwks.publish(rotated, "k2", "ES256")  # a key id the cache does not know: the JWKS is read again
    assert codec.verify(token(rotated, "k2", "ES256", unit="24", role="province_officer")).unit == "24"


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"iss": "http://127.0.0.1/realms/other"}, "issuer"),
        ({"aud": "account"}, "audience"),
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"unit": "not-a-unit"}, "unit"),
    ],
)
def test_tokens_of_another_realm_audience_or_time_are_refused(jwks: Jwks, claims: dict[str, Any], reason: str) -> None:
    jwks.publish(RSA, "k1", "RS256")
    codec = TokenCodec("s" * 32, issuer=IssuerKeys(ISSUER, "rehab", jwks.uri), accept_secret=False)
    with pytest.raises(Unauthorized):
        codec.verify(token(RSA, "k1", **claims))


def test_a_key_the_jwks_does_not_hold_and_the_shared_secret_are_refused_in_production(jwks: Jwks) -> None:
    jwks.publish(RSA, "k1", "RS256")
    production = TokenCodec("s" * 32, issuer=IssuerKeys(ISSUER, "rehab", jwks.uri), accept_secret=False)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(Unauthorized, match="no key of the issuer"):
        production.verify(token(stranger, "k9"))
    with pytest.raises(Unauthorized, match="Signature verification failed"):
        production.verify(token(stranger, "k1"))  # a known key id, another key: the signature fails
    dev_token = TokenCodec("s" * 32).issue("dev", "commune_officer", "07615")
    with pytest.raises(Unauthorized, match="only tokens of the identity provider"):
        production.verify(dev_token)
    development = TokenCodec("s" * 32, issuer=IssuerKeys(ISSUER, "rehab", jwks.uri))
    assert development.verify(dev_token).sub == "dev"  # `rehab token` still works in development
