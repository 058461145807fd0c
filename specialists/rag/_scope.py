"""Whether the answer a sentence shows is said of the asked case, not of a neighbour.

- **The asked clause.** In "Renew items online, by phone at 555-0142, or at any service
  desk", the number belongs to renewing by phone; the desk is a later alternative. A
  sentence's clauses (split at commas, semicolons, colons and brackets) carry their
  words forward ("If a child under 8 is found alone, …, and will call the police within
  30 minutes"), and a leading phrase modifies the clause after it ("Every November,
  each food item …"); but a clause joined by "and", "or", "but" or "nor" starts another
  alternative or statement, which does not reach back. A subject word said only after
  such a join that follows every clause showing an answer is said of something else.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from trifecta.specialists.rag._text import Passage, lemmas, plain_words

__all__ = ["clauses", "later_word"]

_CLAUSE = re.compile(r"[;:](?!\d)|,(?!\d)|[()]")


def clauses(sentence: str) -> list[str]:
    """The clauses of `sentence`: split at commas, semicolons, colons and brackets (not
    inside numbers such as "9:00" or "1,000"), empty ones dropped."""
    return [part for part in _CLAUSE.split(sentence) if part.strip()]


def later_word(passage: Passage, shows: Callable[[str], bool], words: Iterable[str]) -> str | None:
    """The first of `words` (lemmas the sentence says itself) that the sentence says only
    after a coordinated clause ("…, or at any service desk") that follows every clause
    that `shows` an answer, or None. Words of the passage's headings are said of every
    clause. When no single clause shows an answer (it spans clauses), nothing is said
    to be later."""
    parts = clauses(passage.text)
    answers = [i for i, part in enumerate(parts) if shows(part)]
    if not answers:
        return None
    joins = [i for i, part in enumerate(parts) if i > max(answers) and _COORDINATED.match(part)]
    if not joins:
        return None
    said = [set(lemmas(plain_words(part))) for part in parts]
    around = set(lemmas(" ".join(plain_words(h) for h in passage.headings)))
    for word in (w for w in words if w not in around):
        where = [i for i, found in enumerate(said) if word in found]
        if where and min(where) >= joins[0]:
            return word
    return None


_COORDINATED = re.compile(r"\s*(?:and|or|but|nor)\b", re.IGNORECASE)
