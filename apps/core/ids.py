"""Public identifiers: a short type prefix and 24 random base32 characters (``sess_k3j...``)."""

import secrets

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def new_id(prefix: str) -> str:
    """Return ``<prefix>_`` followed by 120 random bits in Crockford-style lowercase base32."""
    # One draw of 120 bits cut into 24 five-bit digits: the same distribution as 24 choices, several
    # times cheaper (ids are made on every write path: runs, events' webhooks, ledger rows).
    bits = secrets.randbits(120)
    return f"{prefix}_" + "".join(_ALPHABET[(bits >> shift) & 31] for shift in range(0, 120, 5))


class PrefixedId:
    """A callable default for a CharField primary key, so migrations can serialise it."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def __call__(self) -> str:
        return new_id(self.prefix)

    def deconstruct(self):
        return ("apps.core.ids.PrefixedId", (self.prefix,), {})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PrefixedId) and other.prefix == self.prefix

    def __hash__(self) -> int:
        return hash(self.prefix)
