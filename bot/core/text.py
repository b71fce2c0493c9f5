"""The one text normalizer: how every part of paperbot turns text into comparable words.

- `fold`: lower case, compatibility forms and accents folded ("Schrödinger" -> "schrodinger").
- `split_words` / `folded_words`: every run of letters and digits, each cut to MAX_WORD_CHARS.
- `fold_plural`: a small plural folding ("transformers" -> "transformer", "studies" -> "study",
  "analyses" -> "analysis"; "news" and "bias" stay), used wherever two texts must agree on a word:
  alert and digest matching, the topic tagger.
- `plural_folded_words`: folded words, plural-folded: the words standing queries are matched on.
- `strip_suffix`: a cruder, more aggressive suffix strip ("learning" -> "learn", "models" ->
  "model"), only for telling which field of a search hit a term matched in (FTS5 itself stems
  with Porter, so "learned" can match "learning"). It is not `fold_plural`: "learning" stays
  "learning" there, and matching must not start treating "learner" and "learned" as one word.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "MAX_WORD_CHARS", "fold", "split_words", "folded_words", "fold_plural", "plural_folded_words",
    "strip_suffix",
]

MAX_WORD_CHARS = 40

_ALNUM = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """Lower case, compatibility forms and accents folded ("Schrödinger" -> "schrodinger")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def split_words(folded: str) -> list[str]:
    """The words of already folded text: every run of letters and digits, each at most 40 chars."""
    return [word[:MAX_WORD_CHARS] for word in _ALNUM.findall(folded)]


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


def plural_folded_words(text: str) -> list[str]:
    """Folded words, plural-folded: "Diffusion Transformers" -> ["diffusion", "transformer"]."""
    return [fold_plural(word) for word in folded_words(text)]


_SUFFIXES = ("ational", "ations", "ation", "ings", "ing", "ies", "ers", "er", "es", "ed", "s")


def strip_suffix(word: str) -> str:
    """A crude suffix strip, only to say which field a term matched in (FTS5 uses Porter)."""
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word
