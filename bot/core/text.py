"""The one text normalizer: how every part of paperbot turns text into comparable words.

- `fold`: lower case, compatibility forms and accents folded ("Schrödinger" -> "schrodinger").
- `split_words` / `folded_words`: every run of letters and digits, each cut to MAX_WORD_CHARS;
  `word_starting_at` one of them, found at a position without splitting the rest.
- `fold_plural`: a small plural folding ("transformers" -> "transformer", "studies" -> "study",
  "analyses" -> "analysis"; "news" and "bias" stay), used wherever two texts must agree on a word:
  alert and digest matching, the topic tagger.
- `plural_folded_words`: folded words, plural-folded: the words standing queries are matched on.
- `printable`: control characters (and lone surrogates) as spaces, newlines optionally kept: how
  external text is made inert before it is echoed or printed.
- `strip_suffix`: a cruder, more aggressive suffix strip ("learning" -> "learn", "models" ->
  "model"), only for telling which field of a search hit a term matched in (FTS5 itself stems
  with Porter, so "learned" can match "learning"). It is not `fold_plural`: "learning" stays
  "learning" there, and matching must not start treating "learner" and "learned" as one word.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "MAX_WORD_CHARS", "fold", "split_words", "word_starting_at", "folded_words", "fold_plural",
    "plural_folded_words", "printable", "strip_suffix",
]

MAX_WORD_CHARS = 40

_ALNUM = re.compile(r"[^\W_]+")
# The same runs for ASCII text: for ASCII characters `[^\W_]` is exactly `[A-Za-z0-9]`, and the
# plain class is about 1.6x faster to scan than the Unicode one (nearly every abstract is ASCII).
_ASCII_ALNUM = re.compile(r"[A-Za-z0-9]+")
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")


def printable(text: str, *, keep_newlines: bool = False) -> str:
    """`text` with each character that is not printable (control characters, lone surrogates,
    line separators) replaced by a space; newlines are kept when `keep_newlines`."""
    # Nearly all text is printable already: that is checked in C, not character by character.
    if text.isprintable() or (keep_newlines and text.replace("\n", "").isprintable()):
        return text
    return "".join(ch if ch.isprintable() or (keep_newlines and ch == "\n") else " " for ch in text)


def fold(text: str) -> str:
    """Lower case, compatibility forms and accents folded ("Schrödinger" -> "schrodinger")."""
    # Nearly every title and abstract is ASCII, which NFKD leaves as it is: then lower() is the
    # whole fold. Otherwise only the non-ASCII runs are looked at character by character
    # (combining marks are never ASCII); the order NFKD, drop marks, lower is the original one.
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    if decomposed.isascii():
        return decomposed.lower()
    return _NON_ASCII_RUN.sub(_without_combining_marks, decomposed).lower()


def _without_combining_marks(run: re.Match[str]) -> str:
    return "".join(ch for ch in run.group() if not unicodedata.combining(ch))


def split_words(folded: str) -> list[str]:
    """The words of already folded text: every run of letters and digits, each at most 40 chars."""
    words: list[str] = (_ASCII_ALNUM if folded.isascii() else _ALNUM).findall(folded)
    if words and max(map(len, words)) > MAX_WORD_CHARS:  # rare: cut only when some word is long
        return [word[:MAX_WORD_CHARS] for word in words]
    return words


def word_starting_at(folded: str, start: int) -> str | None:
    """The word of already folded text that starts at `start` (cut to 40 chars, as
    `split_words` has it), or None if no word starts there (inside a word, or not a letter or
    digit): a word found without splitting the whole text."""
    if start > 0 and _ALNUM.match(folded, start - 1):
        return None
    found = _ALNUM.match(folded, start)
    return found.group()[:MAX_WORD_CHARS] if found else None


def folded_words(text: str) -> list[str]:
    """Folded words of some text (every run of letters and digits), each at most 40 chars."""
    return split_words(fold(text))


# Words that end in s but are not plurals, or whose plural the suffix rules below get wrong.
_INVARIANT = frozenset({
    "news", "bias", "series", "species", "analysis", "basis", "thesis", "hypothesis", "synthesis",
    "diagnosis", "axis", "corpus", "status", "focus", "consensus", "lens", "gas", "bus", "virus",
    "physics", "mathematics", "robotics", "linguistics", "statistics", "ethics", "economics",
    "genomics", "graphics", "dynamics", "semantics", "pragmatics", "kinematics", "optics",
    "electronics", "diabetes", "alias", "atlas", "canvas", "chaos", "campus", "bonus", "census",
})
_IRREGULAR = {
    "biases": "bias", "lenses": "lens", "aliases": "alias", "gases": "gas", "buses": "bus",
    "viruses": "virus", "statuses": "status", "focuses": "focus", "indices": "index",
    "matrices": "matrix", "vertices": "vertex", "corpora": "corpus", "criteria": "criterion",
    "phenomena": "phenomenon", "caches": "cache", "niches": "niche", "movies": "movie",
    "cookies": "cookie", "zombies": "zombie", "rookies": "rookie", "selfies": "selfie",
}
# "patches" -> "patch", "boxes" -> "box", "classes" -> "class", "analyses" -> "analysis".
_ES_ENDINGS = ("ches", "shes", "sses", "xes", "zzes")


def fold_plural(word: str) -> str:
    """A small, consistent plural folding for lowercase words ("transformers" -> "transformer",
    "studies" -> "study", "patches" -> "patch", "analyses" -> "analysis"), applied alike to
    paper text, taxonomy phrases and alert queries. Words such as "news", "bias", "series" and
    "analysis" are left alone."""
    if word in _INVARIANT or len(word) <= 3:
        return word
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if word.endswith(("yses", "eses")):
        return word[:-2] + "is"
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(_ES_ENDINGS):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


class _RememberedPlurals(dict[str, str]):
    """word -> fold_plural(word), filled on first use. Paper text repeats the same few thousand
    words: a dict lookup is a C call per word, about a quarter of the cost of an lru_cache's
    (tokenizing a batch of papers for matching does this for every word)."""

    LIMIT = 1 << 17  # about 20 MB of words at most; past it, words are folded without remembering

    def __missing__(self, word: str) -> str:
        folded = fold_plural(word)
        if len(self) < self.LIMIT:
            self[word] = folded
        return folded


_REMEMBERED_PLURALS = _RememberedPlurals()


def plural_folded_words(text: str) -> list[str]:
    """Folded words, plural-folded: "Diffusion Transformers" -> ["diffusion", "transformer"]."""
    return list(map(_REMEMBERED_PLURALS.__getitem__, folded_words(text)))


_SUFFIXES = ("ational", "ations", "ation", "ings", "ing", "ies", "ers", "er", "es", "ed", "s")


def strip_suffix(word: str) -> str:
    """A crude suffix strip, only to say which field a term matched in (FTS5 uses Porter)."""
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word
