"""A compact set of post ids with where each was first seen, for de-duplicating a whole run.

A Python dict ``post_id -> (file, line)`` costs ~190 bytes per post (the id string, a tuple,
two ints and the dict slot), so de-duplicating 1,000,000 posts held ~190 MB that grew with
the input. :class:`SeenIds` holds ~20-45 bytes per post (16 bytes per table slot at a load
of 0.35-0.7) and answers exactly, never by a hash alone:

* An id of ASCII digits in canonical form (no leading zero, below 2**63 - 1: every TikTok post
  id) is stored as its integer value, which *is* the id: two different ids never share a key.
* Any other id is placed by a stable 63-bit hash (:func:`id_hash`, BLAKE2b) and its exact
  UTF-8 text is kept next to its position in a byte arena (12 bytes + its length). Every key
  match is confirmed by comparing the text, so a hash collision only lengthens a probe: it
  never makes a distinct post a duplicate (tests force collisions with a constant hash).

Where the first copy was seen is packed into one int64: the index of its file name in a small
list (file names are stored once) and its line number. A position that does not fit (a line
beyond 2**40, more than 2**23 files, a non-integer line) goes to a small exact dict instead.

The table is split into :data:`PARTS` open-addressing tables (linear probing) by the top bits
of the mixed key, each doubled on its own when 70% full: growing copies one part, never the
whole table, so the extra memory while growing stays at a fraction of a percent of the whole.
Keys are mixed by multiplying with a random odd number drawn per table (multiply-shift
hashing): a file cannot be made of ids that crowd one stretch of the table and make every
insert slow, as it could against a fixed multiplier (Python's dict is protected the same way
by its per-process string hash seed). The layout differs between runs; the answers do not.
"""

from __future__ import annotations

import secrets
import struct
from hashlib import blake2b
from typing import Any

import numpy as np

#: Separately grown parts of the table (by the top 8 bits of the mixed key).
PARTS = 256
_PART_BITS = 8
#: Slots per part at the start (a run of a few posts costs 256 * 16 * 16 bytes = 64 KB).
_START_SLOTS = 16
#: A part is doubled when more than this share of its slots is used (linear probing stays short).
MAX_LOAD = 0.7
_M64 = (1 << 64) - 1
_LINE_BITS = 40
_LINE_MASK = (1 << _LINE_BITS) - 1
_MAX_FILES = 1 << 23
#: Largest numeric id stored as its value (key = value + 1, so 0 can mark an empty slot).
_MAX_NUMERIC = 2**63 - 2
_ARENA_HEAD = struct.Struct("<qI")  # packed position, length of the UTF-8 id that follows


def _room(slots: int) -> int:
    """Entries a part of ``slots`` slots takes before it is doubled (see :data:`MAX_LOAD`)."""
    return int(MAX_LOAD * slots)


def id_hash(pid: str) -> int:
    """A stable 63-bit hash of ``pid`` (BLAKE2b; unlike ``hash()`` the same in every process)."""
    digest = blake2b(pid.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


class SeenIds:
    """Post ids seen so far and the ``(source_file, source_line)`` of each one's first copy."""

    def __init__(self, multiplier: int | None = None) -> None:
        #: odd 64-bit multiplier that mixes keys (random unless given, e.g. by a test)
        self.multiplier = (secrets.randbits(64) if multiplier is None else multiplier) | 1
        self.count = 0
        self._files: list[Any] = []
        self._file_index: dict[Any, int] = {}
        self._arena = bytearray()
        self._odd: dict[str, tuple[Any, int]] = {}  # positions that do not pack into an int64
        self._keys: list[np.ndarray] = []
        self._vals: list[np.ndarray] = []
        self._k: list[memoryview] = []  # item access on a memoryview gives Python ints, ~3x faster than NumPy's
        self._v: list[memoryview] = []
        self._mask = [_START_SLOTS - 1] * PARTS
        self._shift = [64 - _PART_BITS - (_START_SLOTS.bit_length() - 1)] * PARTS  # slot bits below the part bits
        self._room = [_room(_START_SLOTS)] * PARTS  # inserts left before the part is doubled
        for part in range(PARTS):
            self._keys.append(np.zeros(_START_SLOTS, np.int64))
            self._vals.append(np.zeros(_START_SLOTS, np.int64))
            self._k.append(self._keys[part].data)
            self._v.append(self._vals[part].data)

    def __len__(self) -> int:
        return self.count

    @property
    def nbytes(self) -> int:
        """Bytes held by the table and the arena (not counting the small dict of odd positions)."""
        return sum(a.nbytes for a in self._keys) + sum(a.nbytes for a in self._vals) + len(self._arena)

    def first_or_add(self, pid: str, source_file: Any, source_line: int) -> tuple[Any, int] | None:
        """Where ``pid`` was first seen, or ``None`` after recording it as seen at ``source_file``, ``source_line``."""
        if self._odd:
            first = self._odd.get(pid)
            if first is not None:
                return first
        key = 0
        if len(pid) <= 19 and pid.isascii() and pid.isdigit() and (pid[0] != "0" or len(pid) == 1):
            key = int(pid) + 1  # 1 .. 2**63 - 1: the id itself
            if key > _MAX_NUMERIC + 1:
                key = 0
        if not key:
            key = ~id_hash(pid)  # -2**63 .. -1: a hash, confirmed against the stored text
        mixed = (key * self.multiplier) & _M64  # the part from the top bits, the slot from the next ones
        part = mixed >> (64 - _PART_BITS)
        mask = self._mask[part]
        slot = (mixed >> self._shift[part]) & mask
        keys, vals = self._k[part], self._v[part]
        while True:
            found = keys[slot]
            if found == 0:
                break
            if found == key:
                if key > 0:
                    return self._unpack(vals[slot])
                packed, same = self._confirm(vals[slot], pid)
                if same:
                    return self._unpack(packed)
            slot = (slot + 1) & mask
        index = self._file_index.get(source_file)
        if index is not None and type(source_line) is int and 0 <= source_line <= _LINE_MASK:
            packed = (index << _LINE_BITS) | source_line
        else:
            fitted = self._pack(source_file, source_line)
            if fitted is None:
                self._odd[pid] = (source_file, source_line)
                return None
            packed = fitted
        if key < 0:
            raw = pid.encode("utf-8", "surrogatepass")
            offset = len(self._arena)
            self._arena += _ARENA_HEAD.pack(packed, len(raw)) + raw
            packed = offset
        keys[slot] = key
        vals[slot] = packed
        self.count += 1
        self._room[part] -= 1
        if not self._room[part]:
            self._grow(part)
        return None

    def _pack(self, source_file: Any, source_line: Any) -> int | None:
        index = self._file_index.get(source_file)
        if index is None:
            index = len(self._files)
            if index >= _MAX_FILES:
                return None
            self._file_index[source_file] = index
            self._files.append(source_file)
        if type(source_line) is not int or not 0 <= source_line <= _LINE_MASK:
            return None
        return (index << _LINE_BITS) | source_line

    def _unpack(self, packed: int) -> tuple[Any, int]:
        return self._files[packed >> _LINE_BITS], packed & _LINE_MASK

    def _confirm(self, offset: int, pid: str) -> tuple[int, bool]:
        """The packed position stored at ``offset`` of the arena, and whether its id is ``pid``."""
        packed, length = _ARENA_HEAD.unpack_from(self._arena, offset)
        start = offset + _ARENA_HEAD.size
        return packed, self._arena[start:start + length] == pid.encode("utf-8", "surrogatepass")

    def _grow(self, part: int) -> None:
        """Double ``part``: place its entries in a table twice the size, all at once with NumPy.

        Entries sorted by their new first slot go to ``max(home, previous + 1)`` (a running
        maximum), which is where inserting them one by one with linear probing would put
        them; the few pushed past the end wrap around and are placed one by one.
        """
        old_keys, old_vals = self._keys[part], self._vals[part]
        used = old_keys != 0
        keys, vals = old_keys[used], old_vals[used]
        size = 2 * len(old_keys)
        shift = self._shift[part] - 1
        mixed = keys.view(np.uint64) * np.uint64(self.multiplier)  # wraps modulo 2**64, as & _M64 does
        home = ((mixed >> np.uint64(shift)) & np.uint64(size - 1)).astype(np.int64)
        order = np.argsort(home, kind="stable")
        keys, vals, home = keys[order], vals[order], home[order]
        steps = np.arange(len(keys))
        slots = np.maximum.accumulate(home - steps) + steps
        fits = slots < size
        new_keys, new_vals = np.zeros(size, np.int64), np.zeros(size, np.int64)
        new_keys[slots[fits]] = keys[fits]
        new_vals[slots[fits]] = vals[fits]
        self._keys[part], self._vals[part] = new_keys, new_vals
        self._k[part], self._v[part] = new_keys.data, new_vals.data
        self._mask[part], self._shift[part] = size - 1, shift
        self._room[part] = _room(size) - len(keys)
        k, v = self._k[part], self._v[part]
        for key, val, slot in zip(keys[~fits].tolist(), vals[~fits].tolist(), home[~fits].tolist()):
            while k[slot] != 0:
                slot = (slot + 1) & (size - 1)
            k[slot], v[slot] = key, val
