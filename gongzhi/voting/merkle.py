"""Merkle trees for the ballot log, as Certificate Transparency builds them (RFC 6962 §2.1, RFC 9162 §2.1).

Pure functions over hex SHA-256 digests, nothing from Django, so that anyone can check a receipt's inclusion proof
or a tree head with this file alone:

    python -m gongzhi.voting.merkle proof.json

where ``proof.json`` is what the receipt page offers to download (the leaf, its index, the signed tree head, the
audit path and the log's public key). It prints whether the leaf is in the tree and the head's signature holds.

- A leaf's hash is SHA-256(0x00 ‖ leaf bytes); an interior node's is SHA-256(0x01 ‖ left ‖ right). The tree over n
  leaves splits at k, the largest power of two below n (RFC 6962's MTH), so a tree is defined for every size and
  one over the first m leaves is a fixed part of every later tree: the log is append-only if each signed head's
  root equals the root recomputed over that many leaves.
- The *frontier* of a tree (its compact range) is the roots of the perfect subtrees its size decomposes into,
  largest first: ``log2(n)`` hashes from which the next root follows when leaves are appended, without reading the
  earlier leaves again. The sealer keeps it on each tree head.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").hexdigest()  # RFC 6962: the hash of an empty list


def leaf_hash(data: bytes) -> str:
    return hashlib.sha256(b"\x00" + data).hexdigest()


def node_hash(left: str, right: str) -> str:
    return hashlib.sha256(b"\x01" + bytes.fromhex(left) + bytes.fromhex(right)).hexdigest()


def _split(n: int) -> int:
    """The largest power of two strictly below n (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[str]) -> str:
    """MTH over leaf hashes (already hashed with `leaf_hash`)."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[0]
    k = _split(n)
    return node_hash(root(leaves[:k]), root(leaves[k:]))


def append(frontier: list[str], size: int, leaf: str) -> list[str]:
    """The frontier after appending one leaf hash to a tree of `size` leaves whose frontier is `frontier`."""
    out = [*frontier, leaf]
    # Each trailing 1-bit of `size` is a perfect subtree that the new leaf completes, merged from the right.
    s = size
    while s & 1:
        right = out.pop()
        out[-1] = node_hash(out[-1], right)
        s >>= 1
    return out


def frontier_root(frontier: Sequence[str]) -> str:
    """The tree's root from its frontier: the subtrees folded from the right, as MTH splits them."""
    if not frontier:
        return EMPTY_ROOT
    r = frontier[-1]
    for h in reversed(frontier[:-1]):
        r = node_hash(h, r)
    return r


def inclusion_path(index: int, leaves: Sequence[str]) -> list[str]:
    """RFC 6962 PATH(m, D[n]): the sibling hashes from the leaf up, for the leaf at `index` in `leaves`."""
    n = len(leaves)
    if not 0 <= index < n:
        raise ValueError("index outside the tree")
    if n == 1:
        return []
    k = _split(n)
    if index < k:
        return [*inclusion_path(index, leaves[:k]), root(leaves[k:])]
    return [*inclusion_path(index - k, leaves[k:]), root(leaves[:k])]


def verify_inclusion(leaf: str, index: int, size: int, path: Sequence[str], expected_root: str) -> bool:
    """RFC 9162 §2.1.3.2: does the audit path prove the leaf at `index` in the tree of `size` with this root?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected_root


def head_bytes(vote_id: int, size: int, root_hash: str, at_iso: str) -> bytes:
    """What a tree head's signature covers."""
    body = {"vote": vote_id, "size": size, "root": root_hash, "at": at_iso}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def verify_head_signature(public_key_hex: str, vote_id: int, size: int, root_hash: str, at_iso: str, sig: str) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex))
        key.verify(bytes.fromhex(sig), head_bytes(vote_id, size, root_hash, at_iso))
    except (InvalidSignature, ValueError):
        return False
    return True


def check_proof(proof: dict) -> list[str]:
    """Check a downloaded receipt proof; an empty list means the leaf is in the signed tree."""
    problems = []
    head = proof["tree_head"]
    leaf = leaf_hash(proof["leaf"].encode())
    if leaf != proof["leaf_hash"]:
        problems.append("the leaf's hash does not match the leaf")
    if not verify_inclusion(leaf, proof["index"], head["size"], proof["path"], head["root"]):
        problems.append("the audit path does not lead to the tree head's root")
    if not verify_head_signature(
        proof["public_key"], proof["vote"], head["size"], head["root"], head["at"], head["signature"]
    ):
        problems.append("the tree head's signature does not verify with the log's public key")
    return problems


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m gongzhi.voting.merkle PROOF.json", file=sys.stderr)
        return 2
    with open(args[0], encoding="utf-8") as f:
        proof = json.load(f)
    problems = check_proof(proof)
    for p in problems:
        print(f"FAIL: {p}")
    if not problems:
        head = proof["tree_head"]
        print(f"OK: entry {proof['index'] + 1} is in vote {proof['vote']}'s ballot log of {head['size']} entries, "
              f"root {head['root'][:16]}…, signed at {head['at']}")  # fmt: skip
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
