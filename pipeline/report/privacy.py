"""``--pseudonymise``: private handles replaced by stable pseudonyms in every report output.

The rule is the corpus's (corpora/DATASHEET.md, section 8): a handle listed in
``corpora/public_accounts.txt`` or in the actor registry (``configs/actors.toml`` plus
``--actors``) is public and kept; every other handle becomes ``user_`` plus the first 10 hex
digits of HMAC-SHA256(key, lower-cased handle), in actor columns and as ``@handle`` in text.
The default key is the corpus's, so the same account gets the same pseudonym in the corpus, the
bundled sample and reports; set ``TIKTOK_DIPLOMACY_PSEUDONYM_KEY`` for a private key.
Post ids are kept: they still lead to the post and its author on TikTok.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Iterable
from pathlib import Path

from pipeline.config import CONFIG_DIR
from pipeline.report.registry import NO_ACTOR, actor_key

DEFAULT_KEY = "tiktok-diplomacy-corpus-v1"
KEY_ENV = "TIKTOK_DIPLOMACY_PSEUDONYM_KEY"
PUBLIC_ACCOUNTS = CONFIG_DIR.parent / "corpora" / "public_accounts.txt"
_MENTION = re.compile(r"@([A-Za-z0-9_.]{2,30})")


def public_accounts(path: Path = PUBLIC_ACCOUNTS) -> set[str]:
    """Handles in the public-accounts list (one per line, ``#`` comments), canonical form."""
    if not Path(path).is_file():
        return set()
    out = set()
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.add(actor_key(line))
    return out


class Pseudonymiser:
    """Maps private handles to pseudonyms; public handles and ``(no actor)`` pass unchanged."""

    def __init__(self, public: Iterable[str], key: str | None = None) -> None:
        self.public = {actor_key(h) for h in public}
        self.key = (key or os.environ.get(KEY_ENV) or DEFAULT_KEY).encode("utf-8")
        self.replaced: set[str] = set()

    def is_private(self, handle: str) -> bool:
        key = actor_key(handle)
        return key != NO_ACTOR and key not in self.public and not key.startswith("user_")

    def handle(self, handle: str) -> str:
        """The handle to publish: itself when public, else ``user_<10 hex>``."""
        key = actor_key(handle)
        if not self.is_private(key):
            return key
        self.replaced.add(key)
        return "user_" + hmac.new(self.key, key.encode("utf-8"), hashlib.sha256).hexdigest()[:10]

    def text(self, text: str) -> str:
        """``@handle`` mentions of private accounts in free text replaced by their pseudonyms."""
        if not text or "@" not in text:
            return text
        return _MENTION.sub(lambda m: "@" + self.handle(m.group(1)) if self.is_private(m.group(1)) else m.group(0),
                            text)
