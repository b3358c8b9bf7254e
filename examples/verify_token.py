"""How another service verifies latchkey's access tokens offline, in Python.

    pip install "pyjwt[crypto]"
    python3 examples/verify_token.py http://127.0.0.1:8080 "$ACCESS_TOKEN"

PyJWKClient fetches and caches the JWKS and picks the key by the token's kid; the
algorithm is pinned to EdDSA, never taken from the token.
"""
import sys

import jwt


def verify(issuer: str, token: str) -> dict:
    keys = jwt.PyJWKClient(f"{issuer}/.well-known/jwks.json")
    key = keys.get_signing_key_from_jwt(token)
    return jwt.decode(
        token,
        key.key,
        algorithms=["EdDSA"],
        audience="latchkey",
        issuer=issuer,
        leeway=30,
        options={"require": ["exp", "nbf", "iss", "aud", "sub"]},
    )


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: verify_token.py ISSUER_URL ACCESS_TOKEN")
    claims = verify(sys.argv[1], sys.argv[2])
    print(f"valid: user {claims['username']} ({claims['sub']}), roles {claims['roles']}, expires at {claims['exp']}")
