"""The one text normalizer (bot.core.text): folding, word splitting, the plural folding that
matching and tagging agree on, and the cruder suffix strip that only search explanations use."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from bot.core.text import (
    MAX_WORD_CHARS,
    fold,
    fold_plural,
    folded_words,
    plural_folded_words,
    printable,
    split_words,
    strip_suffix,
)


def test_fold_lowers_and_drops_accents_and_compatibility_forms() -> None:
    assert fold("Schrödinger ÉQUATIONS") == "schrodinger equations"
    assert fold("ﬁne-tuning ①") == "fine-tuning 1"  # ligature and circled digit: compatibility forms
    assert fold("Ångström naïve") == "angstrom naive"


def test_folded_words_are_letter_and_digit_runs_cut_to_40_chars() -> None:
    assert folded_words("GPT-4o: text_to_sql, 3.5 (ok)") == ["gpt", "4o", "text", "to", "sql", "3", "5", "ok"]
    assert folded_words("x" * 100 + " y") == ["x" * MAX_WORD_CHARS, "y"]
    assert folded_words("") == [] and folded_words("-- !! __") == []
    assert split_words("already folded text") == ["already", "folded", "text"]


def test_plural_folded_words_fold_case_accents_and_plurals() -> None:
    assert plural_folded_words("Diffusion Transformers for Schrödinger's Équations") == [
        "diffusion", "transformer", "for", "schrodinger", "s", "equation",
    ]
    assert plural_folded_words("Graph neural networks (GNNs) & policies") == ["graph", "neural", "network", "gnn", "policy"]


def test_fold_plural_folds_plurals_only() -> None:
    cases = {
        "transformers": "transformer", "studies": "study", "policies": "policy", "llms": "llm",
        "ties": "tie",  # too short for the -ies rule, then a plain -s
        "pies": "pie", "gnns": "gnn", "loss": "loss", "corpus": "corpus", "analysis": "analysis",
        "bus": "bus", "gas": "gas", "its": "its", "is": "is", "s": "s", "": "",
        "learning": "learning", "learned": "learned", "learner": "learner", "modeling": "modeling",
    }
    assert {word: fold_plural(word) for word in cases} == cases


def test_strip_suffix_is_cruder_than_fold_plural() -> None:
    cases = {
        "learning": "learn", "learned": "learn", "learner": "learn", "learnings": "learn",
        "models": "model", "studies": "stud", "relational": "rel", "operations": "oper",
        "boxes": "box", "ring": "ring", "bed": "bed", "gas": "gas",
    }
    assert {word: strip_suffix(word) for word in cases} == cases
    # The difference that keeps both: matching must not merge "learner" into "learning".
    assert fold_plural("learner") != fold_plural("learning")
    assert strip_suffix("learner") == strip_suffix("learning")


@given(st.text(max_size=200))
def test_folding_is_idempotent_on_words(text: str) -> None:
    words = folded_words(text)
    assert all(0 < len(word) <= MAX_WORD_CHARS for word in words)
    assert folded_words(" ".join(words)) == words


# --- the fast paths give exactly what the plain definitions give -----------------------------------


def reference_fold(text: str) -> str:
    """`fold` as first written: NFKD, every combining mark dropped, lower case (slow: a Python
    generator over every character)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def reference_folded_words(text: str) -> list[str]:
    return [word[:MAX_WORD_CHARS] for word in re.findall(r"[^\W_]+", reference_fold(text))]


def reference_plural_folded_words(text: str) -> list[str]:
    return [fold_plural(word) for word in reference_folded_words(text)]


# Text like titles and abstracts (ASCII words, digits, punctuation), with accents, combining
# marks, compatibility forms, case-changing letters and other scripts mixed in, and long words.
PIECES = [
    "Diffusion", "transformers", "GPT-4o", "self-supervised", "studies", "LLMs", "x" * 45, " ", "\n",
    ",", "_", "3.5", "é", "É", "e\u0301", "ﬁ", "①", "Å", "ß", "İ", "ǅ", "Ⅻ", "\u0345", "\u0307", "Σ",
    "注意力", "トランス", "😀", "\u200b", "Schrödinger", "naïve", "Ωmega", "ﬃ", "\ufeff", "¼",
]
mixed_text = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=8)), max_size=40).map("".join)


@given(mixed_text)
def test_fold_equals_the_plain_definition(text: str) -> None:
    assert fold(text) == reference_fold(text)


@given(mixed_text)
def test_plural_folded_words_equal_the_plain_definition(text: str) -> None:
    assert plural_folded_words(text) == reference_plural_folded_words(text)
    assert folded_words(text) == reference_folded_words(text)


def test_fold_fast_paths_on_real_abstracts() -> None:
    """Every abstract of the shared corpus (ASCII and not) folds and splits as before."""
    corpus = Path(__file__).resolve().parents[3] / ".." / "shared" / "corpus" / "hf_trending_abstracts.jsonl"
    rows = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = [f"{row['title']}\n{row['abstract']}" for row in rows]
    assert len(texts) > 300 and any(not t.isascii() for t in texts)
    for text in texts:
        assert fold(text) == reference_fold(text)
        assert plural_folded_words(text) == reference_plural_folded_words(text)


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=200))
def test_split_words_ascii_fast_path_equals_the_unicode_pattern(text: str) -> None:
    """ASCII text takes a plain `[A-Za-z0-9]` scan; it must split as `[^\\W_]` does, upper case,
    underscores and every other ASCII character included."""
    assert split_words(text) == [word[:MAX_WORD_CHARS] for word in re.findall(r"[^\W_]+", text)]


def test_split_words_ascii_fast_path_on_every_ascii_character() -> None:
    every = "".join(map(chr, range(128)))
    assert split_words(every) == re.findall(r"[^\W_]+", every) == ["0123456789", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"]


def test_printable_turns_control_characters_into_spaces() -> None:
    assert printable("ok\x1b[2Jclear\x07") == "ok [2Jclear "
    assert printable("line\u2028break\ud800") == "line break "
    assert printable("two\nlines") == "two lines"
    assert printable("two\nlines\x1b", keep_newlines=True) == "two\nlines "
    assert printable("Schrödinger’s “cat”") == "Schrödinger’s “cat”"


@given(st.text())
def test_printable_is_the_character_by_character_rule(text: str) -> None:
    for keep in (False, True):
        expected = "".join(ch if ch.isprintable() or (keep and ch == "\n") else " " for ch in text)
        assert printable(text, keep_newlines=keep) == expected
