"""Text helpers shared by the summarizers, all pure and deterministic.

- TeX made readable (`clean_tex`) and sentence splitting that copes with abbreviations and
  numbers (`split_sentences`);
- rewriting a sentence the way a reader would: without discourse openers or the authors' "we"
  (`compact`, `impersonal`; `reported` for prose: "The authors propose ..."), without asides and
  hedges (`drop_parentheticals`, `drop_hedges`), standing alone (`resolve_reference` turns "This
  framework" into the method's name from `method_name`), with defined acronyms spelled out
  (`expand_acronyms`);
- shortening only at clause boundaries (`clause_heads`, `shorten`, `compress`): text is never
  cut mid-clause or mid-word and never ends in "…"; what cannot be shortened that way is refused
  (None) so the caller can pick other text;
- `shape_problems`: the rules a TL;DR or key point must keep (also applied to LLM answers);
- `clamp` (cut with an ellipsis) is kept for bounding untrusted text sent to an LLM and as the
  last resort of `clamp_sentences`.

The offline summarizer runs these on every abstract, so patterns are precompiled, cheap literal
checks come before expensive patterns, and the per-sentence rewrite is memoised.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import lru_cache


def _wordset(text: str) -> frozenset[str]:
    """A frozenset of the whitespace-separated words in `text` (readable word lists)."""
    return frozenset(text.split())


# --- searching -----------------------------------------------------------------------------------


def word_start_search(pattern: str) -> Callable[[str], bool]:
    r"""Whether `\b` + `pattern` is found in a text, for a pattern whose every match opens with a
    letter or digit: the same answer, found faster. A pattern that opens with `\b` is tried at
    every position of the text; without it the regex engine skips to where the pattern's first
    letters stand (a few letters, or one word such as "we"), and the boundary (no letter, digit
    or "_" just before, as `\b` means there) is checked at each match found."""
    search = re.compile(pattern).search

    def found(text: str) -> bool:
        match = search(text)
        while match is not None:
            start = match.start()
            before = text[start - 1] if start else " "
            if not (before.isalnum() or before == "_"):
                return True
            match = search(text, start + 1)
        return False

    return found


def any_search(*parts: str) -> Callable[[str], bool]:
    r"""Whether any of the patterns `parts` is found in a text: the same answer as a search of
    their alternation, with each part that opens with `\b` searched by `word_start_search`
    (such a part is one expression, no "|" outside its groups, and its matches open with a
    letter or digit)."""
    searches = tuple(word_start_search(part.removeprefix(r"\b")) if part.startswith(r"\b") else re.compile(part).search
                     for part in parts)

    def found(text: str) -> bool:
        return any(search(text) for search in searches)

    return found


# --- TeX --------------------------------------------------------------------------------------

_SYMBOLS: dict[str, str] = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε",
    "zeta": "ζ", "eta": "η", "theta": "θ", "vartheta": "θ", "iota": "ι", "kappa": "κ",
    "lambda": "λ", "mu": "μ", "nu": "ν", "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ",
    "tau": "τ", "upsilon": "υ", "phi": "φ", "varphi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω",
    "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ", "Pi": "Π", "Sigma": "Σ",
    "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω", "ell": "ℓ", "infty": "∞", "times": "×", "cdot": "·",
    "leq": "≤", "le": "≤", "geq": "≥", "ge": "≥", "neq": "≠", "ne": "≠", "approx": "≈",
    "sim": "~", "simeq": "≃", "propto": "∝", "pm": "±", "mp": "∓", "to": "→", "rightarrow": "→",
    "Rightarrow": "⇒", "leftarrow": "←", "leftrightarrow": "↔", "mapsto": "↦", "in": "∈",
    "notin": "∉", "subset": "⊂", "subseteq": "⊆", "cup": "∪", "cap": "∩", "forall": "∀",
    "exists": "∃", "nabla": "∇", "partial": "∂", "sum": "Σ", "prod": "Π", "int": "∫",
    "sqrt": "√", "ll": "≪", "gg": "≫", "circ": "∘", "otimes": "⊗", "oplus": "⊕", "star": "⋆",
    "dagger": "†", "ldots": "…", "dots": "…", "cdots": "⋯", "log": "log", "exp": "exp",
    "max": "max", "min": "min", "arg": "arg", "sup": "sup", "inf": "inf", "lim": "lim",
    "%": "%", "&": "&", "_": "_", "#": "#", "$": "$", "{": "", "}": "", ",": " ", ";": " ",
    "quad": " ", "qquad": " ", "textendash": "–", "textemdash": "—", "LaTeX": "LaTeX", "TeX": "TeX",
    "hbar": "ℏ", "vert": "|", "lvert": "|", "rvert": "|", "mid": "|", "lVert": "‖", "rVert": "‖",
    "Vert": "‖", "langle": "⟨", "rangle": "⟩", "lfloor": "⌊", "rfloor": "⌋", "lceil": "⌈",
    "rceil": "⌉", "emptyset": "∅", "varnothing": "∅", "setminus": "∖", "neg": "¬", "wedge": "∧",
    "vee": "∨", "perp": "⊥", "top": "⊤", "mathbb": "", "mathcal": "", "mathbf": "", "mathrm": "",
    "mathit": "", "mathsf": "", "mathfrak": "", "mathscr": "", "boldsymbol": "", "bm": "",
    "displaystyle": "", "textstyle": "", "limits": "", "nolimits": "", "!": "",
}
# Operator names typeset upright in TeX: kept as words, with a space so `\partial_E\ln w`
# reads "∂_E ln w", not "∂_Eln w".
_OPERATORS = _wordset("log ln exp sin cos tan det tr lim sup inf max min arg argmax argmin Pr dim ker")
_ACCENTS: dict[str, dict[str, str]] = {
    '"': {"a": "ä", "o": "ö", "u": "ü", "e": "ë", "i": "ï", "A": "Ä", "O": "Ö", "U": "Ü"},
    "'": {"a": "á", "e": "é", "i": "í", "o": "ó", "u": "ú", "c": "ć", "n": "ń", "s": "ś", "z": "ź",
          "E": "É", "A": "Á", "O": "Ó"},
    "`": {"a": "à", "e": "è", "i": "ì", "o": "ò", "u": "ù", "E": "È"},
    "^": {"a": "â", "e": "ê", "i": "î", "o": "ô", "u": "û"},
    "~": {"n": "ñ", "a": "ã", "o": "õ", "N": "Ñ"},
    "c": {"c": "ç", "C": "Ç"},
    "v": {"c": "č", "s": "š", "z": "ž", "r": "ř", "e": "ě", "C": "Č", "S": "Š", "Z": "Ž"},
    "H": {"o": "ő", "u": "ű"},
}
# Commands whose argument is the text to keep: \textbf{x} -> x.
_KEEP_ARG = (
    "textbf|textit|texttt|textrm|textsf|textsc|text|emph|mathrm|mathbf|mathit|mathsf|mathtt|"
    "mathcal|mathbb|mathfrak|mathscr|boldsymbol|bm|operatorname|underline|overline|hat|tilde|"
    "bar|vec|widehat|widetilde|mbox|hbox|url|textnormal|textup|footnotesize|small|large|Large"
)
# Symbol accents (\"o, \'e) take the next letter; letter accents (\c, \v, \H) need a brace or a
# space, so that \cdot, \cite, \vec and \cup are not read as accents.
_ACCENT_RE = re.compile(
    r"""\{?\\(?:(["'`^~])\s?\{?([A-Za-z])|([cvH])(?:\{\s*|\s+)([A-Za-z]))\}?\}?"""
)
_HREF_RE = re.compile(r"\\href\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_DROP_RE = re.compile(r"[ ~]*\\(?:cite[a-z]*|ref|eqref|label|footnote)\s*(?:\[[^\]]*\]\s*)?\{[^{}]*\}")
_KEEP_RE = re.compile(r"\\(?:" + _KEEP_ARG + r")\s*\{([^{}]*)\}")
_FRAC_RE = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_SHORT_FRAC_RE = re.compile(r"\\[dt]?frac\s*([0-9A-Za-z])\s*([0-9A-Za-z])")
_SQRT_RE = re.compile(r"\\sqrt\s*\{([^{}]*)\}")
_SUPSUB_RE = re.compile(r"([\^_])\{([^{}]*)\}")
_MATH_DELIMS_RE = re.compile(r"\\[()\[\]]")
_COMMAND_RE = re.compile(r"\\([A-Za-z]+|[%&_#${},;!])")
_INLINE_MATH_RE = re.compile(r"\$\$?([^$]{1,300}?)\$\$?")
_LEFTRIGHT_RE = re.compile(r"\\(?:left|right|(?:big|Big|bigg|Bigg)[lrm]?)([()\[\]|.]|\\[{}])?")
_TEX_QUOTES_RE = re.compile(r"``(.*?)''")
_TILDE_RE = re.compile(r"(?<=[A-Za-z])~(?=[A-Za-z])")
_SPACES_RE = re.compile(r"\s+")
_PAREN_SPACE_RE = re.compile(r"(?<=[(\[])\s+|\s+(?=[)\]])")


_LOST_TIMES_RE = re.compile(r"(?<=\d)\s?times\b(?=\s+(?:the|faster|slower|more|less|fewer|higher|lower|larger|smaller|speed|acceleration|compression|reduction|improvement|sim|compared|over|than)\b|[,.;)]|\s+\d)")


def _command(match: re.Match[str]) -> str:
    name = match.group(1)
    if name in _OPERATORS:
        return " " + name
    # Unknown macros keep their name ("\frameworkname" -> "frameworkname"): readable, not lost.
    return _SYMBOLS.get(name, name)


def _accent(match: re.Match[str]) -> str:
    accent = match.group(1) or match.group(3)
    letter = match.group(2) or match.group(4)
    return _ACCENTS.get(accent, {}).get(letter, letter)


def _math(match: re.Match[str]) -> str:
    return match.group(1)


def clean_tex(text: str) -> str:
    """TeX and arXiv markup made readable: `$k$` -> k, `{\\gamma}` -> γ, `\\%` -> %, accents,
    `\\textbf{x}` -> x, ``quotes'' -> "quotes"; whitespace squeezed. Plain text passes unchanged."""
    if not text:
        return ""
    # "500\times" that lost its backslash upstream ("500times", "up to 64times").
    if "times" in text:
        text = _LOST_TIMES_RE.sub("×", text)
    if "\\" not in text and "$" not in text and "`" not in text and "~" not in text and "{" not in text:
        return " ".join(text.split())  # the same as _SPACES_RE and strip(), a few times faster
    text = _TEX_QUOTES_RE.sub(r'"\1"', text)
    text = _DROP_RE.sub("", text)
    text = _ACCENT_RE.sub(_accent, text)
    text = _HREF_RE.sub(r"\2 (\1)", text)
    text = _LEFTRIGHT_RE.sub(lambda m: (m.group(1) or "").lstrip("\\"), text)
    for _ in range(3):  # nested \textbf{\emph{x}}
        new = _KEEP_RE.sub(r"\1", text)
        new = _FRAC_RE.sub(r"(\1)/(\2)", new)
        new = _SHORT_FRAC_RE.sub(r"\1/\2", new)
        new = _SQRT_RE.sub(r"√(\1)", new)
        if new == text:
            break
        text = new
    text = _INLINE_MATH_RE.sub(_math, text)
    text = _MATH_DELIMS_RE.sub("", text)
    text = _SUPSUB_RE.sub(lambda m: m.group(1) + m.group(2) if len(m.group(2)) <= 1 else f"{m.group(1)}({m.group(2)})", text)
    text = _COMMAND_RE.sub(_command, text)
    text = _TILDE_RE.sub(" ", text)
    text = text.replace("{", "").replace("}", "")
    text = re.sub(r"\(\s*([A-Za-z0-9α-ω]{1,3})\s*\)/\(\s*([A-Za-z0-9α-ω]{1,3})\s*\)", r"\1/\2", text)
    text = _SPACES_RE.sub(" ", text)
    return _PAREN_SPACE_RE.sub("", text).strip()


# --- sentences --------------------------------------------------------------------------------

# Words that end with a period but rarely end a sentence. "etc." is left out on purpose: it
# often does end one, and the capital letter after it decides.
_ABBREVIATIONS = _wordset(
    """e.g i.e et al al cf vs vs. fig figs eq eqs eqn sec secs tab tbl ch chap vol no nos pp p
    ref refs resp approx ca viz w.r.t wrt a.k.a aka dr prof mr mrs ms st jr sr inc ltd co corp
    u.s u.k e.u min max avg est incl dept univ i.i.d iid fn app appx thm def prop lem cor ex
    ed eds var std jan feb mar apr jun jul aug sep sept oct nov dec mt ft op orig"""
)
# A sentence may also open on an enumeration marker: "... at the same time. (b) Inference ...".
_BOUNDARY_RE = re.compile(r"""([.!?…])(["'”’)\]]*)\s+(?=["'“‘(\[]?[A-Z0-9]|\((?:[a-h]|[ivx]{1,4})\)\s)""")
# The dot first, its three letters after: a pattern that opens with a literal is searched for
# that literal, not tried at every position.
_GLUED_SENTENCE_RE = re.compile(r"\.(?<=[a-z]{3}\.)(?=(?:We|Our|This|These|The|In|It|Finally|However|Moreover)\s)")


def _last_word(head: str) -> str:
    """The last whitespace-free run of `head` if `head` ends with one (as `(\\S+)$` finds it,
    without trying the pattern at every position of a growing head)."""
    if head.endswith("\n"):
        head = head[:-1]  # "$" also matches before a final newline
    if not head or head[-1].isspace():
        return ""
    return head.rsplit(None, 1)[-1]


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences. A boundary is ., ! or ? followed by space and a capital or a
    digit, except after abbreviations (e.g., i.e., et al., Fig., Eq., vs.) and single-letter
    initials. Decimals (3.5) and versions (v1.2, GPT-3.5) never split: no space follows the dot.
    A space lost upstream between two sentences ("of varphi.We offer") is put back."""
    text = _GLUED_SENTENCE_RE.sub(". ", text.strip())
    if not text:
        return []
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY_RE.finditer(text):
        if match.group(1) == ".":
            head = text[start : match.start()]
            word = _last_word(head).lower().lstrip("(\"'[")
            if word in _ABBREVIATIONS or word.rstrip(".") in _ABBREVIATIONS:
                continue
            if len(word) == 1 and word.isalpha():  # an initial: "J. Smith", "Section A. We"
                continue
        end = match.end(2)
        sentence = text[start:end].strip()
        if sentence:
            sentences.append(sentence)
        start = match.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


# --- compact rewriting ------------------------------------------------------------------------

# Openers that say nothing on their own ("In this paper,", "To this end,", "Specifically,"); and
# (_FRAMING_LEAD_RE) any short framing phrase before ", we <verb>" ("Based on this observation,
# we ...").
_LEAD_RE = re.compile(
    r"^(?:(?:in|within) (?:this|the present|our) (?:paper|work|study|article|survey|review|note|"
    r"letter|report|position paper|tutorial)|here|herein|to this end|to that end|specifically|"
    r"in particular|and|but|finally|first(?:ly)?|second(?:ly)?|third(?:ly)?|lastly|additionally|moreover|"
    r"furthermore|further|also|overall|concretely|in summary|in short|in addition|importantly|"
    r"notably|crucially|critically|consequently|therefore|thus|hence|besides|meanwhile|then|next|"
    r"more specifically|more importantly|surprisingly|interestingly|altogether|to be specific|"
    r"to be precise|in this regard|in response|as such|instead(?=,)|in contrast(?=,)|by contrast(?=,)|"
    r"empirically(?=,)|theoretically(?=,)|experimentally(?=,)|practically(?=,)|quantitatively(?=,)|"
    r"qualitatively(?=,)|technically(?=,)|"
    r"to (?:address|tackle|solve|overcome|bridge|fill|close|remedy|mitigate|alleviate|resolve|"
    r"fix|answer|study|investigate|explore|understand|achieve|this end)[^,]{0,80})\s*,?\s+",
    re.IGNORECASE,
)
# The last resort of _LEAD_RE, apart because it is the costly one and needs a "we" to match.
_FRAMING_LEAD_RE = re.compile(
    r"^(?:(?:(?!\bwe\b|\bis that\b)[^,;:()]){1,160}(?=,\s*we\s+[a-z]))\s*,?\s+",
    re.IGNORECASE,
)


def _drop_lead(text: str) -> str:
    """`text` without one opener (the same as one pass of the two patterns as alternatives)."""
    new = _LEAD_RE.sub("", text, count=1)
    if new != text or "we" not in text.lower():
        return new
    return _FRAMING_LEAD_RE.sub("", text, count=1)
# An adverb in -ly, but not the verbs that end so ("apply", "rely", "imply").
_ADVERB_LY = r"(?!(?:ap|sup|re|im|multi|com|re)ply\b|rely\b|fly\b)[a-z]{2,}ly"
_SUBJECT_RE = re.compile(
    r"^(?:we|i|this (?:paper|work|study|article|survey|review|note|letter|report|tutorial|thesis)|"
    r"the (?:paper|authors?)|our (?:paper|work|study)|the present (?:paper|work|study))\s+"
    r"(?:(?:also|further|then|first|additionally|finally|next|now|subsequently|thus|therefore|"
    r"hence|here|herein|hereby|moreover|furthermore|instead|often|again|thereby|" + _ADVERB_LY
    + r")\s+(?:and\s+" + _ADVERB_LY + r"\s+)?)*"
    r"(?P<verb>(?!and\b|or\b|" + _ADVERB_LY + r"\b)[a-z]+)\b\s*",
    re.IGNORECASE,
)
_EVIDENCE_RE = re.compile(
    r"^(?:(?:our|the|these|such|extensive|comprehensive|empirical|experimental|numerical|"
    r"theoretical|detailed|further|additional|systematic|thorough|large[- ]scale|quantitative|"
    r"qualitative|careful|both|main|key|preliminary|initial)\s+)*"
    r"(?:results?|experiments?|evaluations?|findings|analys[ie]s|studies|simulations|"
    r"experimentation|evidence|observations?|tests?|ablations?|investigations?|benchmarks?|"
    r"comparisons?|assessments?|validation|this|these)\b[^.;]{0,120}?\b"
    r"(?:shows?|showed|demonstrates?|demonstrated|reveals?|revealed|indicates?|indicated|"
    r"confirms?|confirmed|verif(?:y|ies)|validates?|suggests?|suggested|establish(?:es)?|"
    r"highlights?|find|finds|prove|proves|imply|implies)\s+that\s+",
    re.IGNORECASE,
)
_OUR_NAMED_RE = re.compile(r"^[Oo]ur (?:proposed |new |novel )(?=[A-Z0-9])")
_ENUMERATION_MARK_RE = re.compile(r"^\(?(?:\d{1,2}|i{1,3}|iv|vi{0,3}|[a-e])\)\s+")
_NOT_ONLY_RE = re.compile(r"\bnot only (.{3,160}?),? but (?:also )?")
# "We address these issues by proposing X" says what the paper does in its gerund: "Proposes X".
_BY_DOING_GERUNDS = {"proposing": "propose", "introducing": "introduce", "developing": "develop",
                     "presenting": "present", "designing": "design", "devising": "devise"}
_ADDRESSED_BY_RE = re.compile(
    r"^(?:address(?:es)?|tackles?|solves?|overcomes?|alleviates?|mitigates?|bridges?|fills?|closes?|"
    r"aims? to (?:address|tackle|solve|overcome|alleviate|mitigate|bridge|fill|close))\s+"
    r"(?:this|these|such|the|both)\s+(?:[\w-]+\s+){0,3}?(?:issues?|problems?|gaps?|challenges?|"
    r"limitations?|shortcomings?|drawbacks?|bottlenecks?|questions?|concerns?)\b"
    r"(?:\s+[\w-]+){0,8}?,?\s+by\s+(?P<gerund>" + "|".join(_BY_DOING_GERUNDS) + r")\s+(?=\S)",
    re.IGNORECASE,
)
_MAIN_RESULT_RE = re.compile(r"^(?:our|the) (?:main|key|central|primary) (?:result|finding|theorem) (?:is|states) that\s+", re.IGNORECASE)
_OUR_METHOD_RE = re.compile(
    r"^our (proposed )?(method|approach|framework|model|algorithm|system|technique|pipeline|"
    r"architecture|solution|scheme|design|theory|analysis|tool|benchmark|dataset)\b",
    re.IGNORECASE,
)
_PARTICIPLE_RE = re.compile(r"^(?:able to|the first|\w+ed\b|\w+en\b|built|made|found|shown|seen|run|done)", re.IGNORECASE)
_IN_THIS_PAPER_RE = re.compile(r"(?:,\s*|\s+)in this (?:paper|work|study|article)\b,?\s*", re.IGNORECASE)
# After "We propose X", a coordinated "and we show" / "and evaluate" shares the dropped subject.
_COORDINATED_WE_RE = re.compile(
    r"(,?\s+(?:and|then|but|while|whereas|thereby)\s+)we\s+(?:also\s+|further\s+|then\s+|"
    r"additionally\s+|finally\s+|empirically\s+|theoretically\s+)?([a-z]+)\b"
)
# An adverb may stand between "and" and the verb: "We revisit X and empirically present Y".
_COORDINATED_VERB_RE = re.compile(
    r"(,?\s+and\s+(?:also\s+|further\s+|then\s+|additionally\s+|finally\s+|empirically\s+|theoretically\s+)?)([a-z]+)\b"
)
# "We show that X" keeps only X; "We show X" becomes "Shows X".
_REPORTING = _wordset(
    "show showed demonstrate demonstrated find found observe observed prove proved argue argued "
    "reveal revealed establish confirm verify note noted conclude hypothesize posit suggest "
    "empirically theoretically illustrate illustrated discover discovered report believe "
    "highlight hope claim"
)
_NOT_VERBS = _wordset(
    "are were have had can could may might will would should must need is was do does did "
    "also not shall cannot"
)
# Verbs authors write after "we", in the base form: a coordinated one ("propose X and show Y")
# is conjugated with the first ("Proposes X and shows Y").
_AUTHOR_VERBS = _wordset(
    "propose introduce present develop design devise build construct create release curate "
    "collect show demonstrate evaluate find analyze analyse study investigate explore provide "
    "conduct apply use train test compare establish prove derive obtain achieve observe identify "
    "discuss extend validate verify formulate perform report argue describe examine measure "
    "quantify offer leverage employ adopt combine incorporate integrate implement benchmark "
    "assess highlight reveal illustrate outline review survey summarize characterize define "
    "model frame consider address tackle solve learn explain annotate open-source make reach "
    "set deliver run carry adapt give put take enable allow improve reduce outperform generalize "
    "scale open publish gain attain uncover discover introduce contribute pretrain fine-tune "
    "distill quantize prune align evaluate unify connect bridge reveal theoretically empirically "
    "justify further also then finally"
)
_IRREGULAR = {"are": "is", "have": "has", "do": "does", "go": "goes", "were": "was"}
# Past forms that do not end in "-ed" ("We took X" -> "Took X", not "Tooks X").
_IRREGULAR_PAST = _wordset(
    "took made built found gave ran began brought chose drew wrote saw sought taught thought held led "
    "kept left met spent won became came did got had knew said went undertook"
)
_AND_AUTHOR_VERB_RE = re.compile(
    r",?\s+and\s+(?:" + "|".join(sorted(v for v in _AUTHOR_VERBS if v not in ("also", "then", "further", "finally", "theoretically", "empirically", "set", "model", "frame"))) + r")\b"
)


# Verbs whose present tense ends in "-ed" ("We proceed to X" -> "Proceeds to X").
_PRESENT_IN_ED = _wordset("proceed exceed succeed need feed seed speed heed embed shed bleed breed")


def third_person(verb: str) -> str:
    """`propose` -> `proposes`, `study` -> `studies`, `analyze` -> `analyzes`."""
    lower = verb.lower()
    if lower in _IRREGULAR:
        return _IRREGULAR[lower]
    past = lower.endswith("ed") and lower not in _PRESENT_IN_ED
    if past or lower.endswith("ing") or lower in _IRREGULAR_PAST:
        return lower
    if lower.endswith("s") and not lower.endswith(("ss", "us", "is")):
        return lower  # already agrees: abstracts do write "We proposes X"
    if lower.endswith(("s", "sh", "ch", "x", "z", "o")):
        return lower + "es"
    if lower.endswith("y") and len(lower) > 2 and lower[-2] not in "aeiou":
        return lower[:-1] + "ies"
    return lower + "s"


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _conjugate_coordinated(rest: str) -> str:
    """`X and show Y` -> `X and shows Y`; `X, and we evaluate Y` -> `X, and evaluates Y`."""

    def with_we(match: re.Match[str]) -> str:
        verb = match.group(2)
        if verb in _NOT_VERBS:
            return f"{match.group(1)}{_IRREGULAR.get(verb, verb)}"
        return f"{match.group(1)}{third_person(verb)}"

    def bare(match: re.Match[str]) -> str:
        verb = match.group(2)
        before = match.string[: match.start()]
        # "to define, try and evaluate X" or "that X can ... and evaluate": not the authors' verb.
        if any(marker in before for marker in (" to ", " that ", " can ", " will ", " may ")):
            return match.group(0)
        if verb in _AUTHOR_VERBS and verb not in ("further", "also", "then", "finally", "theoretically", "empirically"):
            return f"{match.group(1)}{third_person(verb)}"
        return match.group(0)

    rest = " " + rest
    # Each pattern needs its literal "we" / "and": most rests have neither.
    if "we" in rest:
        rest = _COORDINATED_WE_RE.sub(with_we, rest)
    if "and" in rest:
        rest = _COORDINATED_VERB_RE.sub(bare, rest)
        if ", " in rest:
            rest = _conjugate_listed(rest)
    return rest[1:]


_LIST_CLOSE_RE = re.compile(r",?\s+and\s+(?:[a-z]+ly\s+)?([a-z]+)\b")
_LIST_ITEM_RE = re.compile(r",\s+([a-z]+)\b")
# Author verbs read as nouns at the head of a list item ("X, design choices, and Y").
_NOUN_LIKE_VERBS = _wordset(
    "use design study survey review model set frame report benchmark test run release outline scale "
    "open gain offer put take further also then finally theoretically empirically"
)


def _conjugate_listed(rest: str) -> str:
    """The middle items of a list of verb phrases agree with its first and last: "Proposes X,
    analyze Y, and shows Z" -> "Proposes X, analyzes Y, and shows Z". Only where the list is
    closed by "and" with an author verb, and not after "to", "that" or a modal (whose verbs
    stay in the base form: "aims to define X, analyze Y, and evaluate Z")."""
    closes = list(_LIST_CLOSE_RE.finditer(rest))
    if not closes:
        return rest
    closing = closes[-1]
    if closing.group(1) not in _THIRD_PERSON_VERBS:
        return rest  # not a verb phrase, or one left in the base form: so are the items before it

    def agree(match: re.Match[str]) -> str:
        verb = match.group(1)
        before = match.string[: match.start()]
        if verb not in _AUTHOR_VERBS or verb in _NOUN_LIKE_VERBS or any(
                marker in before for marker in (" to ", " that ", " can ", " will ", " may ")):
            return match.group(0)
        return f"{match.group(0)[: -len(verb)]}{third_person(verb)}"

    return _LIST_ITEM_RE.sub(agree, rest[: closing.start()]) + rest[closing.start() :]


def _drop_subject(text: str, subject: re.Match[str]) -> str:
    verb = subject.group("verb")
    rest = text[subject.end() :]
    lower = verb.lower()
    if not rest:
        return text
    if not subject.group(0).lower().startswith(("we ", "i ")):
        # "This paper presents X": the verb already agrees; drop only the subject. Anything
        # else ("This survey and guide ...") is not a subject-verb pair: leave it alone.
        if lower.endswith("s") and not lower.endswith(("ss", "us", "is")):
            return f"{verb} {rest}"
        return text
    if lower in _REPORTING and rest.lower().startswith(("that we are able to ", "that we can ")):
        # "We show that we are able to X" -> "Xs": the showing adds nothing to the claim.
        inner = "We " + rest[len("that we ") :]
        inner_subject = _SUBJECT_RE.match(inner)
        if inner_subject is not None:
            return _drop_subject(inner, inner_subject)
    if lower in _REPORTING and rest.lower().startswith("that "):
        joined = _AND_AUTHOR_VERB_RE.search(rest)
        if not joined:
            # "We show that X" -> "X"; "We find that X and that Y" -> "X and Y".
            return rest[5:].replace(", and that ", ", and ").replace(" and that ", " and ")
        # "We show that X, and develop Y" -> "Shows that X, and develops Y": one subject, two verbs.
        head, verb = joined.group(0).rsplit(" ", 1)
        return f"{third_person(lower)} {rest[: joined.start()]}{head} {third_person(verb)}{rest[joined.end():]}"
    if lower in _NOT_VERBS:
        # "We can X" -> "can X"; "We are able to X" -> "able to X"; "We have shown" -> "shown".
        able = _ABLE_TO_RE.match(rest) if lower in ("are", "were") else None
        if able is not None:
            # "We are able to recover X" -> "Recovers X": the ability is the claim itself.
            adverb, verb = able.group(1) or "", able.group(2)
            return f"{adverb}{third_person(verb)} {_conjugate_coordinated(rest[able.end() :])}"
        if lower in ("are", "were", "have", "had") and _PARTICIPLE_RE.match(rest):
            return _conjugate_coordinated(rest)
        if lower in ("are", "were", "have", "had"):
            # "We are about 8x faster", "we have different best algorithms": the subject is
            # the authors' system or situation, which "Is"/"Has" cannot name: left to refuse.
            return text
        if lower == "do":
            verb = "does"  # "We do not provide X" -> "Does not provide X"
        return f"{verb} {_conjugate_coordinated(rest)}"
    return f"{third_person(verb)} {_conjugate_coordinated(rest)}"


# The authors or their paper as the subject of a verb: "we (also) propose", "this paper presents".
# A look-ahead, so that "In this paper we present" yields both "we" (after "paper") and "present".
_AUTHOR_SUBJECT_RE = re.compile(
    r"(?=\b(?:we|paper|work|study|article|survey|review|thesis|report|letter|note|tutorial|authors)\s+"
    r"(?:(?:also|further|then|first|here|herein|hereby|now|additionally|finally|therefore|thus|hence|"
    r"instead|" + _ADVERB_LY + r")\s+)*([a-z]+)\b)"
)


_ABLE_TO_RE = re.compile(r"(?:also |now |thus |therefore )?able to (?!be\b)(" + _ADVERB_LY + r" )?([a-z][a-z-]*) ")
_FIRST_OR_ABLE_RE = re.compile(r"\bwe (?:are|were) (?:the first|able to)\b", re.IGNORECASE)


def with_the_paper_as_subject(text: str, sentence: str) -> str:
    """`text` with "The paper" as its subject where `compact` dropped the authors from
    `sentence` ("We propose X" -> "Proposes X" -> "The paper proposes X"): a TL;DR read alone
    is a whole sentence, and names what the verb is about. Otherwise `text` unchanged."""
    if text.startswith(("The first ", "Able to ")) and _FIRST_OR_ABLE_RE.search(sentence):
        # "We are the first to X" -> "The first to X" (a bullet) -> "The paper is the first to X".
        return f"The paper is {text[:1].lower()}{text[1:]}"
    first, _, rest = text.partition(" ")
    if not rest or not first.isalpha() or not first[:1].isupper() or not first[1:].islower():
        return text
    verb = first.lower()
    lowered = sentence.lower()
    said = {match.group(1) for match in _AUTHOR_SUBJECT_RE.finditer(lowered)}
    said |= {base for gerund, base in _BY_DOING_GERUNDS.items() if f" by {gerund} " in lowered}
    if verb not in said and verb not in {third_person(word) for word in said}:
        return text
    return f"The paper {verb} {rest}"


def compact(sentence: str) -> str:
    """Rewrite a sentence for a bullet or TL;DR: drop discourse openers and the authorial "we".

    "In this paper, we propose X." -> "Proposes X."; "Our experiments show that X." -> "X.";
    "We find that X." -> "X."; "Our method achieves X." -> "The method achieves X."
    """
    text = sentence.strip()
    if text[:1] == "(" or text[:1].isdigit():
        text = _ENUMERATION_MARK_RE.sub("", text, count=1)
    for _ in range(3):
        new = _drop_lead(text)
        if new == text:
            break
        text = new
    lowered = text.lower()
    if " is that" in lowered or " states that" in lowered:
        text = _MAIN_RESULT_RE.sub("", text, count=1)
    if "not only" in lowered:
        text = _NOT_ONLY_RE.sub(r"\1 and ", text, count=1)
    evidence = _EVIDENCE_RE.match(text)
    subject = None if evidence else _SUBJECT_RE.match(text)
    if evidence and len(text) - evidence.end() > 20:
        text = text[evidence.end() :]
    elif subject:
        text = _drop_subject(text, subject)
    if text[:4].lower() == "our ":
        text = _OUR_METHOD_RE.sub(lambda m: f"The {m.group(1) or ''}{m.group(2)}", text)
        text = _OUR_NAMED_RE.sub("", text)
    if "in this " in text.lower():
        # "While X, in this paper we propose Y" keeps its comma; "We propose, in this paper, Y" none.
        text = _IN_THIS_PAPER_RE.sub(lambda m: ", " if m.group(0)[0] == "," and "," not in m.group(0)[1:] else " ", text)
    if " by " in text:
        addressed = _ADDRESSED_BY_RE.match(text)
        if addressed:
            verb = third_person(_BY_DOING_GERUNDS[addressed.group("gerund").lower()])
            text = f"{verb} {text[addressed.end():]}"
    return _capitalize(text.strip())


# --- first person, dangling references ---------------------------------------------------------

METHOD_NOUNS = (
    "method|approach|framework|model|algorithm|system|technique|pipeline|architecture|scheme|"
    "solution|module|strategy|design|tool|toolkit|library|benchmark|dataset|corpus|metric|loss|"
    "objective|network|mechanism|paradigm|procedure|protocol|agent|estimator|formulation|recipe|"
    "suite|platform|policy|planner|optimizer|regularizer|attack|defense|layer|encoder|decoder|"
    "generator|detector|classifier|kernel|operator|technique|variant|family|simulator|environment|"
    "implementation|extension|generalization|modification|formalism|theory"
)
_FIRST_PERSON_RE = re.compile(r"\b(?:[Ww]e|[Oo]ur|[Oo]urs|[Oo]urselves|us|Us|[Mm]y|I(?= [a-z]))\b")
# The same words without the leading \b, each spelled out: a pattern whose alternatives all open
# with a letter is only tried where one of those letters stands, where one opening with \b is
# tried at every position (half the instructions of _FIRST_PERSON_RE.search, which runs on every
# rewrite); `has_first_person` checks the boundary before a match itself.
_FIRST_PERSON_WORD_RE = re.compile(r"(?:we|We|our|Our|ours|Ours|ourselves|Ourselves|us|Us|my|My|I(?= [a-z]))\b")
_TO_OUR_KNOWLEDGE_RE = re.compile(r"\b[Tt]o (?:the best of )?our (?:best )?(?:knowledge|understanding),?\s*")
_AS_WE_SHOW_RE = re.compile(r"\b[Aa]s we (?:will )?(?:show|demonstrate|find|prove|observe|argue|see)(?: \w+)?,\s*")
_WE_REPORT_THAT_RE = re.compile(
    r"(,\s*|;\s*|\s+(?:and|but|while|whereas)\s+)we (?:also |further |empirically |theoretically )?"
    r"(?:show|demonstrate|find|observe|prove|confirm|verify|argue|note|report|establish|reveal)\s+that\s+"
)
_WE_CALL_RE = re.compile(r"\b(?:that |which )?we (?:call|term|dub|name|refer to as|coin)\b")
_WHAT_WE_CALL_RE = re.compile(r"\bwhat we (?:call|term|dub|name|refer to as|coin)\s+")
_WE_CALL_HINTS = ("we call", "we term", "we dub", "we name", "we refer to as", "we coin")  # what it needs
_US_RE = re.compile(r"\b(allow|enable|help|let)(s|ed|ing)? us(?: to)?\b")
_MAKE_FORMS = {"": "make", "s": "makes", "ed": "made", "ing": "making"}
_OUR_NOUN_RE = re.compile(
    r"\b([Oo]ur)\s+(?:(?:proposed|novel|new|own)\s+)?((?:" + METHOD_NOUNS + r")s?)\b"
)
_OUR_ANY_RE = re.compile(r"\b([Oo]ur)\s+(?=[a-z])")
# "the model (that) we propose outperforms" -> "the model proposed here outperforms"; a main
# clause ("we propose a ...") is left for compact() or rejected.
_WE_PROPOSED_RE = re.compile(
    r"(?<=[a-z] )(?:that |which )?we (propos|introduc|present|develop|design|describ|stud|consider|us|adopt|"
    r"employ|construct|train|obtain|deriv|collect|curat|releas|build)(?:e|es|y|ies)?\b"
    r"(?!\s+(?:a|an|the|to|that|how|what|whether|two|three|several|new|novel|[A-Z0-9]))"
)
_PARTICIPLES = {"propos": "proposed", "introduc": "introduced", "present": "presented",
                "develop": "developed", "design": "designed", "describ": "described",
                "stud": "studied", "consider": "considered", "us": "used", "adopt": "adopted",
                "employ": "employed", "construct": "constructed", "train": "trained",
                "obtain": "obtained", "deriv": "derived", "collect": "collected",
                "curat": "curated", "releas": "released", "build": "built"}


_INNER_WE_RE = re.compile(r"(?<=\S)(\s+)we\b(?=\s+(?:\w+ly\s+)?[a-z])")
_INNER_US_RE = re.compile(r"(?<=[a-z])(\s+)us\b(?=[\s,.;])")


def has_first_person(text: str) -> bool:
    """Whether the text still speaks as the authors: we, our, ours, us (what
    `_FIRST_PERSON_RE.search` finds)."""
    return next(_first_person_words(text), None) is not None


def _first_person_words(text: str) -> Iterator[re.Match[str]]:
    """The matches of _FIRST_PERSON_RE in `text`, found with the cheaper _FIRST_PERSON_WORD_RE."""
    for match in _FIRST_PERSON_WORD_RE.finditer(text):
        # A match inside a word ("thus") is all letters, so no real one can start within it.
        start = match.start()
        if start == 0 or not (text[start - 1].isalnum() or text[start - 1] == "_"):  # \b's word characters
            yield match


def impersonal(text: str, name: str = "") -> str | None:
    """The text without first person, rewritten in the neutral voice of a reader: "to our
    knowledge" goes, "allows us to" -> "makes it possible to", "our framework" -> the method's
    `name` (or "the framework"), "the model we propose" -> "the model proposed here", "our
    results" -> "the results". None when first person remains that has no clean rewrite (the
    caller then picks other text rather than post a garbled sentence)."""
    if not has_first_person(text):
        return text
    if "knowledge" in text or "understanding" in text:  # what _TO_OUR_KNOWLEDGE_RE needs
        text = _TO_OUR_KNOWLEDGE_RE.sub("", text)
    # Each pattern below only runs where its literal words stand (most texts have none of them).
    if "s we " in text:
        text = _AS_WE_SHOW_RE.sub("", text)
    if "that" in text:
        text = _WE_REPORT_THAT_RE.sub(lambda m: m.group(1) if m.group(1).strip() else " ", text)
    if any(map(text.__contains__, _WE_CALL_HINTS)):
        # "the concept of what we call X" -> "the concept of X"; "a model we call X" -> "a model called X".
        text = _WE_CALL_RE.sub("called", _WHAT_WE_CALL_RE.sub("", text))
    if " us" in text:
        text = _US_RE.sub(lambda m: f"{_MAKE_FORMS[m.group(2) or '']} it possible to", text)
    text = _WE_PROPOSED_RE.sub(lambda m: f"{_PARTICIPLES[m.group(1)]} here", text)

    def our_method(match: re.Match[str]) -> str:
        noun = match.group(2)
        if name and not noun.endswith("s"):
            return name
        # Without a name, "our implementation" is the paper's: no earlier sentence is needed.
        return ("The" if match.group(1) == "Our" else "the") + " paper's " + noun

    text = _OUR_NOUN_RE.sub(our_method, text)
    text = _OUR_ANY_RE.sub(lambda m: "The " if m.group(1) == "Our" else "the ", text)
    # A "we" left inside the sentence ("..., and we propose Y", "X: from a scan, we detect Y")
    # is the authors; the plural keeps the verb in agreement.
    text = _INNER_WE_RE.sub(lambda m: m.group(1) + "the authors", text)
    text = _INNER_US_RE.sub(lambda m: m.group(1) + "the authors", text)
    text = _capitalize(" ".join(text.split()))
    return None if has_first_person(text) else text


_PROSE_LEAD_RE = re.compile(
    r"^(?:(?:in|within) (?:this|the present) (?:paper|work|study|article)|here|herein),?\s+(?=we\b)",
    re.IGNORECASE,
)
_PROSE_PRONOUNS = {"we": "they", "We": "They", "our": "their", "Our": "Their", "ours": "theirs",
                   "Ours": "Theirs", "us": "them", "Us": "Them", "ourselves": "themselves",
                   "Ourselves": "Themselves", "I": "the author", "my": "the author's",
                   "My": "The author's"}
_PROSE_WE_START_RE = re.compile(r"^[Ww]e\b")


def reported(sentence: str) -> str:
    """A sentence of the abstract retold in a reader's words for the section paragraphs:
    "In this paper, we propose X" -> "The authors propose X"; later "we"/"our"/"us" become
    "they"/"their"/"them", which keeps every verb in agreement."""
    if not has_first_person(sentence):
        return _capitalize(sentence.strip())
    text = _PROSE_LEAD_RE.sub("", sentence.strip(), count=1)
    if text.startswith("I "):
        verb, _, rest = text[2:].partition(" ")
        text = f"The author {third_person(verb) if verb.isalpha() else verb} {rest}".strip()
    text = _PROSE_WE_START_RE.sub("The authors", text, count=1)
    if "knowledge" in text or "understanding" in text:
        text = _TO_OUR_KNOWLEDGE_RE.sub("", text)
    # What _FIRST_PERSON_RE.sub with the pronouns gives, from the cheaper matches.
    parts: list[str] = []
    end = 0
    for match in _first_person_words(text):
        parts += (text[end : match.start()], _PROSE_PRONOUNS[match.group(0)])
        end = match.end()
    text = "".join(parts) + text[end:]
    return _capitalize(text)


# A sentence that only makes sense after the one before it: "This framework ...", "The
# proposed method ...", "It ...", "To be specific, ...", "These ...".
_DANGLING_RE = re.compile(
    r"^(?:this|these|that|those|such|it(?! (?:is|was|remains|has been) (?:\w+ly )?(?:important|crucial|"
    r"essential|necessary|difficult|hard|possible|impossible|unclear|known(?! to\b)|shown(?! to\b)|natural|common|"
    r"challenging|desirable|well[- ]known|widely|often|generally|believed|argued|hypothesi[sz]ed)\b)|"
    r"its|they|their|them|"
    r"the (?:proposed|resulting|above|aforementioned|latter|former|same|presented)\b|"
    r"the (?:" + METHOD_NOUNS + r")s?\b|"
    r"to be (?:specific|precise)|specifically|more specifically|moreover|however|furthermore|"
    r"additionally|in addition|finally|then|thus|hence|therefore|consequently|in particular|"
    r"besides|meanwhile|instead|also|as a result|to this end|based on (?:this|these)|"
    r"in contrast|on the other hand|nevertheless|nonetheless|for (?:example|instance)|namely|"
    r"that is|i\.e\.|e\.g\.)\b",
    re.IGNORECASE,
)
_CONNECTOR_OPENER_RE = re.compile(
    r"^(?:to be (?:specific|precise)|(?:more )?specifically|moreover|however|furthermore|"
    r"additionally|in addition|finally|then|thus|hence|therefore|consequently|in particular|"
    r"besides|meanwhile|instead|also|as a result|to this end|in contrast|on the other hand|"
    r"nevertheless|nonetheless|namely|that is|importantly|notably|crucially|overall|"
    r"in summary|in conclusion|taken together|altogether|first(?:ly)?|second(?:ly)?|lastly|"
    r"next|further|as such|in practice|in particular|empirically|theoretically|experimentally|"
    r"practically|quantitatively|qualitatively|technically)\s*,\s*",
    re.IGNORECASE,
)
_METHOD_SUBJECT_RE = re.compile(
    r"^(?:this|the|such an?|our|the resulting|the proposed|this proposed|the new|this new|"
    r"the presented|the above)\s+(?:(?:proposed|resulting|novel|new|overall|whole|entire|full|"
    r"presented)\s+)?(?P<noun>(?:(?!(?:the|a|an)\s)[a-z][a-z\-]*\s+){0,2}?(?:" + METHOD_NOUNS + r")s?)\b",
    re.IGNORECASE,
)
# Abstracts call their method "the approach", "the framework" and "the model" in turn.
_GENERIC_METHOD_NOUNS = _wordset(
    "method approach framework technique model system algorithm scheme pipeline architecture "
    "solution strategy implementation formulation"
)
_OWN_DETERMINER_RE = re.compile(
    r"^(?:our|the proposed|this proposed|the resulting|the new|this new|the presented)\s", re.IGNORECASE
)
_IT_SUBJECT_RE = re.compile(
    r"^(?:it|this)\s+(?=(?:also |further |then |now |thus |additionally |still |" + _ADVERB_LY + r" )?[a-z]+s\b)",
    re.IGNORECASE,
)
_ITS_RE = re.compile(r"^its\s+", re.IGNORECASE)
_THIS_EVIDENCE_RE = re.compile(
    r"^(?:these|this|such|the|both)\s+(?:\w+\s+){0,3}?(?:results?|findings?|experiments?|analys[ie]s|"
    r"evaluations?|observations?|studies)\s+(?:\w+\s+){0,6}?(?:shows?|demonstrates?|suggests?|"
    r"indicates?|reveals?|confirms?|highlights?|implies|imply|establish(?:es)?|underscores?)\s+"
    r"(?:that\s+)?",
    re.IGNORECASE,
)


_THIS_CLAIM_RE = re.compile(
    r"^(?:this|these|such|the|both)\s+(?:[a-z\-]+\s+){0,2}?(?:insights?|findings?|results?|"
    r"observations?|analys[ie]s|techniques?|strategies|components?|improvements?|modifications?|"
    r"changes|contributions?|innovations?|designs?|properties|advances|extensions?)\s+"
    r"(?:(?:\w+ly|also|further|together|jointly|collectively|consistently)\s+)?"
    r"(?P<verb>improve|improves|enable|enables|yield|yields|explain|explains|allow|allows|"
    r"provide|provides|reduce|reduces|boost|boosts|lead|leads|outperform|outperforms|achieve|"
    r"achieves|offer|offers|make|makes|help|helps|raise|raises|increase|increases|deliver|"
    r"delivers|establish|establishes|bring|brings|cut|cuts|accelerate|accelerates|bridge|bridges|"
    r"connect|connects|unify|unifies|link|links|extend|extends|generalize|generalizes|complement|"
    r"complements|suggest|suggests|reveal|reveals)\b",
    re.IGNORECASE,
)


_THIS_DOCUMENT_RE = re.compile(
    r"^(?:this|these)\s+(?=(?:paper|work|study|article|survey|review|tutorial|notes|lecture notes|"
    r"chapter|book|thesis|monograph|primer|report|position paper|note|essay|manuscript|"
    r"dissertation|overview|guide|handbook|course)\b)",
    re.IGNORECASE,
)


def starts_dangling(text: str) -> bool:
    """Whether the text opens with a reference to something said before it."""
    return bool(_DANGLING_RE.match(text))


def resolve_reference(text: str, name: str = "", *, after_contribution: int = 0, introduced: str = "") -> str | None:
    """The text made to stand alone: a leading connector ("To be specific,") is dropped, a
    dangling subject ("This framework", "The proposed method", "It") becomes the method's `name`,
    "These results show that X" becomes X. None when it still depends on an earlier sentence.

    `after_contribution` says where the sentence stands: 0 unknown or before the contribution
    sentence, 1 right after it, 2 later. After it, "the framework" is the paper's ("The paper's
    framework"), and so is a thing the contribution sentence (`introduced`) named ("the agent");
    right after it, "This enables X" is the paper's claim ("Enables X")."""
    text = text.strip()
    for _ in range(2):
        stripped = _CONNECTOR_OPENER_RE.sub("", text, count=1)
        if stripped == text:
            break
        text = _capitalize(stripped)
    document = _THIS_DOCUMENT_RE.match(text)
    if document:
        # "These notes are ...", "This survey covers ...": there is one document; say "The".
        text = "The " + text[document.end() :]
    if not _DANGLING_RE.match(text):
        return text
    evidence = _THIS_EVIDENCE_RE.match(text)
    if evidence and len(text) - evidence.end() > 20:
        return resolve_reference(_capitalize(text[evidence.end() :]), name,
                                 after_contribution=after_contribution, introduced=introduced)
    claim = _THIS_CLAIM_RE.match(text)
    if claim and not _METHOD_SUBJECT_RE.match(text):
        # "These insights improve X" is the paper's claim: "Improves X", like "Proposes X".
        return _capitalize(third_person(claim.group("verb")) + text[claim.end("verb") :])
    subject = _METHOD_SUBJECT_RE.match(text)
    if subject:
        noun = subject.group("noun")
        head = noun.split()[-1].lower()
        name_head = name.lower().split()[-1] if name else ""
        same_kind = name_head == head or (head in _GENERIC_METHOD_NOUNS and name_head in _GENERIC_METHOD_NOUNS)
        if name and (name[:1].isupper() or same_kind) and not noun.endswith("s"):
            return _capitalize(name + text[subject.end() :])
        known = head in _GENERIC_METHOD_NOUNS or f" {head}" in introduced.lower()
        if _OWN_DETERMINER_RE.match(text) or (after_contribution and known):
            # A part of the method other than its name ("The proposed training algorithm"): the
            # paper's part, which needs no earlier sentence.
            return f"The paper's {noun}{text[subject.end():]}"
        return None
    it = _IT_SUBJECT_RE.match(text)
    if it and name and not text.lower().startswith("this "):
        return _capitalize(name + text[it.end() - 1 :])
    if it and after_contribution == 1 and text[it.end() :].split(" ", 1)[0].lower() not in _LINKING:
        # "We propose X. This enables Y." -> "Enables Y."; "This is the first X" has no such form.
        return _capitalize(text[it.end() :])
    its = _ITS_RE.match(text)
    if its and name:
        return f"{name}'s {text[its.end():]}"
    return None


# --- compression ---------------------------------------------------------------------------------

_PARENTHETICAL_RE = re.compile(r"\s+\(([^()]*)\)|\s+\[([^\[\]]*)\]")
# ", including A and B, fundamentally function": an inserted example list, told apart from a
# list that goes on (", including A, B, and C") by the verb that follows the closing comma.
_INSERTION_RE = re.compile(
    r",\s+(?:including|such as|e\.g\.,?|i\.e\.,?|especially|particularly|notably|namely)\s+"
    r"[^,;()]{1,80}?,\s+(?=(?:\w+ly\s+)?(?:[a-z]+(?:s|ed)|can|may|could|will|do|remain|function|"
    r"perform|work|act|serve|behave|learn|fail|achieve|exhibit|show|share|suffer|rely|require|"
    r"yield|reduce|improve|outperform)\b)"
)
_INSERTION_WORDS = ("including", "such as", "e.g.", "i.e.", "especially", "particularly", "notably", "namely")
_DASH_ASIDE_RE = re.compile(r"\s+(?:---|—|--|–)\s+[^—–]{1,120}?\s+(?:---|—|--|–)\s+")
_HEDGE_RE = re.compile(  # \b before the look-behinds: the same test, cheaper where it fails
    r"\b(?<!more )(?<!most )(?<!less )(?<!as )(?<!so )(?:(a|an|A|An)\s+)?(?:novel|simple (?:yet|but|and) effective|simple|very|highly|"
    r"significantly|substantially|considerably|remarkably|dramatically|potentially|arguably|"
    r"somewhat|relatively|largely|effectively|successfully|carefully|comprehensive(?:ly)?|"
    r"extensive(?:ly)?|thorough(?:ly)?|rigorous(?:ly)?|fundamentally|essentially|basically|"
    r"surprisingly|interestingly|notably|importantly|indeed|readily)\s+(?=\w)"
)
# Every alternative of _HEDGE_RE contains one of these words: a text with none has no hedge, and
# the substring tests cost a third of the pattern, which is tried at every word.
_HEDGE_HINTS = (
    "novel", "simple", "very", "highly", "significantly", "substantially", "considerably", "remarkably",
    "dramatically", "potentially", "arguably", "somewhat", "relatively", "largely", "effectively",
    "successfully", "carefully", "comprehensive", "extensive", "thorough", "rigorous", "fundamentally",
    "essentially", "basically", "surprisingly", "interestingly", "notably", "importantly", "indeed", "readily",
)
# Clause boundaries where the tail can go and the head still reads as a whole clause.
_TRAILING_CLAUSE_RE = re.compile(
    r"(?:;\s+|,\s+|\s+(?:—|–|--)\s+|:\s+|\s+(?=(?:by|through|via|using|while|without|with|in order to|"
    r"so as to|such as|including|thereby|where|which|whose|that)\s)|\s+(?=and\s)|"
    r"\s+(?=to (?:ease|make|enable|improve|reduce|support|allow|facilitate|help|provide|achieve|"
    r"address|ensure|capture|learn|handle|mitigate|overcome|avoid|prevent|increase|boost|"
    r"accelerate|obtain|identify|evaluate|assess|guide|bridge|produce|generate|build|create|train|"
    r"optimize|solve|tackle|study|investigate|explore|understand|analyze|demonstrate|show|test|"
    r"deliver|offer|present|advance|foster|promote|strengthen|protect|secure|guarantee|maintain|"
    r"preserve|compute|estimate|predict|detect|recognize|classify|extract|align|adapt|transfer|"
    r"scale|speed|simplify|unify|integrate|combine|select|rank|retrieve|answer|reason|plan|control|"
    r"navigate|generalize|compress|explain|interpret|measure|quantify|characterize|model|represent|"
    r"encode|synthesize|render|reconstruct|edit|translate|summarize|defend|enhance|better)\b)|"
    r"\s+(?=(?:on|for|from|in|at|across|over|under|within|among|against|compared to|relative to)\s))"
)
_PREPOSITIONS = _wordset("on for from in at across over under within among against compared relative")
# Verbs whose preposition opens their complement ("depends [on X]"): no head ends on one.
_PREPOSITION_TAKERS = _wordset(
    "depend depends rely relies focus focuses consist consists result results lead leads refer refers "
    "belong belongs differ differs correspond corresponds converge converges amount amounts account "
    "accounts contribute contributes lies lie"
)
# Words whose "to" opens their complement, not a purpose: a head never ends on one of them.
_INFINITIVE_TAKERS = _wordset(
    "learn learns learned learnt aim aims aimed try tries tried need needs needed seek seeks sought "
    "fail fails failed tend tends tended begin begins began continue continues continued manage "
    "manages managed attempt attempts attempted strive strives want wants wanted how able unable "
    "likely unlikely ought choose chooses chose decide decides decided hope hopes hoped designed "
    "intended used tailored trained optimized built"
)
# After a comma, only these words open a clause that can go; anything else ("A, B, and C",
# "with X, Y") is a list, and cutting it would leave half a list.
_CLAUSE_OPENERS = _wordset(
    "which where while whereas thereby thus hence and but yet so enabling allowing making leading "
    "resulting yielding providing achieving outperforming improving demonstrating showing offering "
    "ensuring including such as with without using by through via when although though because "
    "since whose that along especially particularly e.g i.e whereby reducing surpassing matching "
    "requiring eliminating addressing enhancing boosting highlighting revealing suggesting "
    "indicating establishing achieving attaining delivering resolving mitigating alleviating "
    "overcoming capturing"
)
# What may follow "and" for the "and" to join clauses: a verb in the third person, an authors'
# verb, or (after a comma) a gerund; "unlabeled and labeled images" joins adjectives.
_THIRD_PERSON_VERBS = frozenset(third_person(verb) for verb in _AUTHOR_VERBS) | _wordset(
    "achieves outperforms improves reduces yields matches enables allows requires learns captures "
    "supports scales exceeds surpasses remains becomes leads converges generalizes performs runs "
    "uses reaches attains delivers obtains beats sets cuts lowers raises boosts speeds saves "
    "handles works operates needs avoids prevents preserves retains recovers halves doubles "
    "triples accelerates trains predicts detects generates produces"
)
_VERBISH_RE = re.compile(
    r"^(?:" + "|".join(sorted(_AUTHOR_VERBS | _THIRD_PERSON_VERBS | _wordset("can could may might will would should thus"))) + r")$"
)
# The words no head of a sentence ends on (function words, words that need what follows).
TRAILING_STOP = _wordset(
    "a an the of to in on for with by from and or as at into onto via than that which whose "
    "where while is are was were be been its their his her this these those such both each "
    "between among over under across through without within e.g i.e etc including namely "
    "like not but nor so also very more most less only just even still further then thus both "
    "either neither solely mainly mostly simply directly show shows showed shown demonstrate "
    "demonstrates find finds found reveal reveals indicate indicates suggest suggests prove "
    "proves ensure ensures such can could may might will would should must along toward towards "
    "combination compared consistent together associated coupled combined equipped deal cope "
    "dealing par line contrast comparison conjunction accordance agreement respect possible "
    "observe observes observed note notes argue argues believe believes claim claims conclude "
    "concludes confirm confirms verify verifies first demonstrating showing revealing indicating "
    "suggesting confirming"
)
_WORD_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-']*")


def _article(article: str | None, following: str) -> str:
    if not article:
        return ""
    if article.lower() == "the":
        return article + " "
    vowel = following[:1].lower() in "aeiou" and not following.lower().startswith(("uni", "use", "one", "eu"))
    word = "an" if vowel else "a"
    return (word.capitalize() if article[:1].isupper() else word) + " "


_OBJECT_OF_PREPOSITION_RE = re.compile(r"\b(?:in|by|of|from|see|to|with|on|at|as|than|following)$", re.IGNORECASE)


def drop_parentheticals(text: str, keep: tuple[str, ...] = ()) -> str:
    """Text without its parenthetical asides "(...)", "[...]" and dash asides ("— a ... —").
    Brackets glued to a word stay (`O(n^2)`, `f(x)`); so does an aside equal to one of `keep`
    (the method's name, say)."""

    def drop(match: re.Match[str]) -> str:
        inner = match.group(1) if match.group(1) is not None else match.group(2)
        if inner.strip() in keep:
            return match.group(0)
        if match.string[match.end() : match.end() + 1] in ("", ".", ",", ";", ":") and _OBJECT_OF_PREPOSITION_RE.search(
                match.string, 0, match.start()):
            return match.group(0)  # "first raised in (Shannon, 1951).": the aside is the object
        return ""

    if "(" in text or "[" in text:
        for _ in range(3):  # nested asides go from the inside out
            new = _PARENTHETICAL_RE.sub(drop, text)
            if new == text:
                break
            text = new
    if "—" in text or "–" in text or "--" in text:
        text = _DASH_ASIDE_RE.sub(lambda m: ", " if text[m.end() : m.end() + 3] == "we " else " ", text)
    if ", " in text and any(word in text for word in _INSERTION_WORDS):
        text = _INSERTION_RE.sub(" ", text)
    return _tidy(text)


_PURPOSE_FILLER_RE = re.compile(
    r",?\s*(?:in order )?to (?:demonstrate|show|validate|verify|evaluate|prove|highlight|confirm) "
    r"the (?:superiority|effectiveness|efficacy|efficiency|advantages?|benefits?|performance|"
    r"generality|robustness|validity|usefulness|merits?) of (?:our|the|this|these) (?:proposed )?"
    r"(?:\w+(?: \w+)?)(?=[.;]|$|,\s+(?!which|that|where|whose))"
)


# The pattern needs "to <verb>" with one of these verbs (and " of "): most texts have none.
_PURPOSE_HINTS = ("to demonstrate", "to show", "to validate", "to verify", "to evaluate", "to prove", "to highlight",
                  "to confirm")
_ORPHAN_CONJUNCTION = r"\b(an?|An?|the|The)\s+(?:and|yet|but|or|,)\s+(\w)"
_ORPHAN_CONJUNCTION_RE = re.compile(_ORPHAN_CONJUNCTION)
_orphan_conjunction_found = word_start_search(_ORPHAN_CONJUNCTION.removeprefix(r"\b"))  # rare: sub only then


def drop_hedges(text: str) -> str:
    """Text without hedges and filler ("novel", "simple yet effective", "significantly",
    "extensive"), keeping the article in agreement ("a novel approach" -> "an approach")."""

    def drop(match: re.Match[str]) -> str:
        following = text[match.end() : match.end() + 4]
        return _article(match.group(1), following)

    if any(map(text.__contains__, _HEDGE_HINTS)):
        text = _HEDGE_RE.sub(drop, text)
    if " to " in text and " of " in text and any(map(text.__contains__, _PURPOSE_HINTS)):
        text = _PURPOSE_FILLER_RE.sub("", text)
    # "a novel and simple framework" loses both adjectives: "an and framework" -> "a framework".
    if _orphan_conjunction_found(text):
        text = _ORPHAN_CONJUNCTION_RE.sub(lambda m: _article(m.group(1), m.string[m.start(2) : m.start(2) + 4]) + m.group(2), text)
    return _tidy(text)


def _tidy(text: str) -> str:
    text = " ".join(text.split())
    for mark in ",;:.!?":
        text = text.replace(" " + mark, mark)
    return text.replace(",,", ",")


def clause_heads(text: str) -> list[str]:
    """Heads of `text` that end at a clause boundary, longest first, each a readable whole:
    none ends in a function word ("of", "the", "and") or inside brackets, and none stops inside
    a fronted phrase ("By addressing X, Y achieves Z" never becomes "By addressing X.")."""
    return list(_clause_heads(text))


@lru_cache(maxsize=512)  # one sentence is shortened for the TL;DR, a bullet and a joined clause
def _clause_heads(text: str) -> tuple[str, ...]:
    heads: list[tuple[int, int, str]] = []
    main_clause = _main_clause_start(text) if _FRONTED_RE.match(text) else 0
    for match in _TRAILING_CLAUSE_RE.finditer(text):
        if match.start() < main_clause:
            continue
        head = text[: match.start()].rstrip(" ,;:—–-")
        if head.count("(") != head.count(")") or head.count("[") != head.count("]"):
            continue
        if main_clause and len(_WORD_RE.findall(head[main_clause:])) < 3:
            continue  # "Despite X, substantial challenges[, such as Y, persist]": no verb yet
        following = text[match.end() :].split(" ", 2)
        opener = following[0].lower().rstrip(",.") if following else ""
        if match.group(0).startswith(",") and opener not in _CLAUSE_OPENERS and not (
            opener.endswith("ing") and len(opener) > 5
        ):
            continue
        if opener == "and":
            nxt = following[1].lower() if len(following) > 1 else ""
            if nxt == "we":
                nxt = "show"  # ", and we apply it" starts a clause of its own
            if nxt.endswith("ly") and len(following) > 2:
                nxt = following[2].split(" ", 1)[0].lower()
            gerund = match.group(0).startswith(",") and nxt.endswith("ing")
            if not (_VERBISH_RE.match(nxt) or gerund):
                continue  # "A and B" joins nouns; "X and shows Y" joins clauses
        words = _WORD_RE.findall(head)
        last = words[-1].lower() if words else ""
        # A head ending in a function word or an adverb ("while only") is not a whole clause.
        if len(words) < 4 or last in TRAILING_STOP or (last.endswith("ly") and len(last) > 4):
            continue
        punctuated = match.group(0).lstrip().startswith((",", ";", ":", "—", "–", "--"))
        if not punctuated and opener in ("that", "which", "where", "whose") and (" that " in head or " whether " in head):
            continue  # "Hopes that X, as well as Y [that ...]": the "that" clause is still open
        if _opens_condition(head[head.rfind(",") + 1 :]):
            continue  # "The premise is that if X gains Y": the condition has no main clause yet
        segment = head[max(head.rfind(": "), head.rfind("; ")) + 1 :].lstrip()
        if "," not in segment and _SUBORDINATE_OPENER_RE.match(segment):
            continue  # "X reveals gaps: while Y achieves 57.5%": the "while" has no main clause yet
        if not punctuated and opener == "by" and last.endswith("ed"):
            continue  # "introduced by Anthropic": the agent belongs to the participle
        if opener == "to" and last in _INFINITIVE_TAKERS:
            continue  # "they learn [to encode X]": the infinitive is what they learn, not a purpose
        if not punctuated and opener in _PREPOSITIONS:
            # A trailing prepositional phrase ("... on a new collection of ...") goes last, and
            # only from a head long enough to stand without it, never from inside a list.
            if (len(words) < 8 or last.endswith("ed") or last in _PREPOSITION_TAKERS or ", and " in text[match.end() :]
                    or ", or " in text[match.end() :]):
                continue
            rank = 2
        else:
            # A comma, a semicolon or "and <verb>" closes a clause; "where", "with", "by" may
            # close only a modifier.
            rank = 0 if punctuated or opener == "and" else 1
        heads.append((rank, -len(head), head))
    # Cutting at a comma or semicolon drops a clause; cutting before "where" or "with" can drop a
    # restrictive modifier ("areas where ..."); a prepositional phrase comes last. Longest first.
    return tuple(head for _, _, head in sorted(heads))


_FRONTED_RE = re.compile(
    r"^(?:by|through|using|with|to|for|in|on|via|based on|building on|leveraging|after|when|while|"
    r"although|though|despite|unlike|compared|given|under|as|inspired by|motivated by|starting|"
    r"once|if|because|since|from|at|across|beyond|besides)\b",
    re.IGNORECASE,
)


_COMMA_RE = re.compile(r",\s+")


def _main_clause_start(text: str) -> int:
    """Where the main clause of a text that opens with a fronted phrase starts: after the first
    comma that the fronted part does not go on after. "By composing X, by using Y, and invoking
    Z, we create W" has its main clause after the third comma, so no head stops after X or Y."""
    first = text.find(",") + 1
    for comma in _COMMA_RE.finditer(text):
        following = text[comma.end() :].split(" ", 2)
        word = following[0].lower()
        if word in ("and", "or") and len(following) > 1:
            # "..., and invoking Z, we ...": a gerund after "and" goes on with the fronted part.
            word = following[1].lower()
            if word.endswith("ing") and len(word) > 4:
                continue
        if word in ("which", "who", "whose", "where"):
            continue  # "By revisiting X, which lies in Y, we ...": the relative clause is X's
        if _FRONTED_RE.match(word) is None:
            return comma.end()
    return first


_SUBJECT_OPENERS = _wordset(
    "the this these those our its their it they we a an such each both all most many some one two "
    "three several"
)


def _subject_after_fronted(text: str) -> int:
    """Where the main clause of a text opening with a fronted phrase starts: at the first comma
    (from `_main_clause_start`'s on, within 220 characters) that a subject follows (a determiner,
    a pronoun, or a name with its verb), else at `_main_clause_start`'s comma when it is within
    140 characters; 0 when neither. "After training X in a visually-rich, 3D environment with Y,
    the authors probe Z" starts at "the authors", not at "3D environment" (a comma between
    adjectives); "By using X, better performance can be achieved" starts at "better"."""
    start = _main_clause_start(text)  # the position after its ", "
    for comma in _COMMA_RE.finditer(text, max(0, start - 2)):
        if comma.start() > 220:
            break
        words = text[comma.end() :].split(" ", 6)
        if words[0].lower() in _SUBJECT_OPENERS or (not _FRONTED_RE.match(words[0]) and _named_subject(words)):
            return comma.end()
    following = text[start:].lstrip().split(" ", 1)[0].lower()
    if following in ("which", "who", "whose", "where", "that"):
        return 0  # "Based on X ..., which forces Y": a relative clause, no main clause found
    return start if 2 < start <= 142 else 0


_LINKING = _wordset("is are was were has have had can could may might will would should")


def _named_subject(words: list[str]) -> bool:
    """Whether `words` open with a name and its verb ("SGP completes", "Deep Perm-Set Net is"),
    not an item of a list of names ("Stochastic Gradient Descent or ...")."""
    name = 0
    while name < min(4, len(words) - 1) and (words[name][:1].isupper() or words[name][:1].isdigit()):
        name += 1
    if not name or not words[0][:1].isupper():
        return False
    verb = words[name]
    return verb in _LINKING or bool(_VERBISH_RE.match(verb)) or (
        verb.isalpha() and verb.islower() and (verb.endswith("ed") or (verb.endswith("s") and not verb.endswith("ss"))))


_SUBORDINATE_OPENER_RE = re.compile(r"(?:while|whereas|although|though|if|when|whenever|because|since|unless)\s", re.IGNORECASE)
_OPEN_CONDITION_RE = re.compile(r"(?:^|\s)(?:if|unless|whether|although|though|because)\s", re.IGNORECASE)
_CONDITION_WORDS = ("if", "unless", "whether", "though", "because")


def _opens_condition(text: str) -> bool:
    """Whether `text` has a conditional conjunction (`_OPEN_CONDITION_RE`). ASCII text without
    one of the words, lowercased, has none (outside ASCII, IGNORECASE matches more than lower()
    finds: "ı" is an "i" there), and most heads have none."""
    if text.isascii() and not any(map(text.lower().__contains__, _CONDITION_WORDS)):
        return False
    return _OPEN_CONDITION_RE.search(text) is not None


def is_clause_verb(word: str) -> bool:
    """Whether `word` is a verb that starts a clause ("shows", "evaluate"), not a noun."""
    return bool(_VERBISH_RE.match(word.lower()))


def finish(text: str) -> str:
    """Text ending with sentence punctuation (a period is added when there is none). A closing
    parenthesis is not one: "... Incremental Compression (C-DIC)" gets its period, unless the
    parenthesis closes a sentence of its own ("(See the appendix.)")."""
    text = text.strip().rstrip(",;:—–- ")
    if text and (text[-1] not in ".!?\"”)" or (text[-1] == ")" and text[-2:-1] not in (".", "!", "?"))):
        text += "."
    return text


def shorten(text: str, limit: int) -> str | None:
    """The longest head of `text` that ends at a clause boundary and fits in `limit` characters
    with its period ("Proposes X, which does Y" -> "Proposes X."); `text` itself when it fits.
    None when no such head exists: text is never cut mid-clause or mid-word."""
    text = finish(text)
    if len(text) <= limit:
        return text
    for head in clause_heads(text.rstrip(".!?")):
        candidate = finish(_close_list(head, text))
        if len(candidate) <= limit:
            return candidate
    return None


_LIST_VERB_RE = re.compile(r", (?=(?:[a-z]+ly )?([a-z]+s) )")


def _close_list(head: str, text: str) -> str:
    """A head cut before the last item of a list of verb phrases ("achieves X, improves Y, and
    improves Z" -> "achieves X, improves Y") with the list closed by "and" ("achieves X and
    improves Y"): without it the head is a comma splice."""
    if not text[len(head) :].startswith((", and ", " and ")):
        return head
    items = list(_LIST_VERB_RE.finditer(head))
    last = items[-1] if items else None
    if last is None or not _VERBISH_RE.match(last.group(1)) or ", " in head[last.end() :]:
        return head
    return f"{head[: last.start()]} and {head[last.end() :]}"


@lru_cache(maxsize=512)  # the TL;DR and a bullet may be made from the same sentence
def _rewritten(sentence: str, name: str, keep: tuple[str, ...]) -> tuple[str, str | None]:
    """The sentence without asides, openers and hedges, and its first-person-free form (None
    when first person remains)."""
    text = drop_hedges(compact(drop_parentheticals(sentence, keep)))
    spoken = impersonal(text, name)
    return text, (_capitalize(spoken) if spoken is not None else None)


@lru_cache(maxsize=512)  # the summarizer asks for one sentence in several passes; 512 spans one abstract
def compress(sentence: str, limit: int, *, name: str = "", keep: tuple[str, ...] = ()) -> str | None:
    """One sentence rewritten as a reader would: compact (no "In this paper, we"), no first
    person, no parentheticals or hedges, then shortened at clause boundaries to fit `limit`.
    None when it cannot be done without cutting or without leaving first person behind."""
    text, spoken = _rewritten(sentence, name, keep)
    if spoken is not None:
        short = shorten(spoken, limit) if spoken else None
        if short is None and _FRONTED_RE.match(spoken):
            # "Across a variety of datasets, X achieves Y": the fronted phrase can go first.
            start = _subject_after_fronted(spoken)
            if start:
                short = shorten(_capitalize(spoken[start:]), limit)
        return short
    # First person left in a trailing clause ("..., by which we recover X"): a head without it.
    for head in clause_heads(text.rstrip(".!?")):
        candidate = impersonal(head, name)
        if candidate is not None:
            return shorten(_capitalize(candidate), limit)
    return None


def forget_rewrites() -> None:
    """Empty the sentence memos of this module (see `bot.enrich.summarize.offline.forget_memos`)."""
    compress.cache_clear()
    _rewritten.cache_clear()
    _clause_heads.cache_clear()


# A text that opens with one of these and ends with "?" asks rather than tells ("Can we X?");
# "Addresses the question: is X true?" tells.
_QUESTION_OPENERS = _wordset(
    "can could how what why when where which who whom whose is are was were do does did will would "
    "should shall may might has have if"
)


def shape_problems(text: str, limit: int) -> list[str]:
    """What keeps `text` from being a TL;DR or key point: empty, longer than `limit`, cut off
    ("…"), first person, opening with a reference to an earlier sentence, or a question. Empty
    when fine."""
    problems: list[str] = []
    stripped = text.strip()
    if not stripped:
        return ["is empty"]
    if len(stripped) > limit:
        problems.append(f"is {len(stripped)} characters long (at most {limit})")
    if stripped.endswith(("…", "...")):
        problems.append('is cut off (ends with "…")')
    if has_first_person(stripped):
        problems.append('speaks as the authors ("we", "our")')
    if starts_dangling(stripped):
        opener = " ".join(stripped.split()[:2])
        problems.append(f'opens with "{opener}", a reference to an earlier sentence')
    if stripped.endswith("?") and stripped.split(maxsplit=1)[0].lower().rstrip(",") in _QUESTION_OPENERS:
        problems.append("is a question, not a statement of what the paper does")
    return problems


# --- acronyms ----------------------------------------------------------------------------------

_DEFINED_RE = re.compile(r"\(([A-Za-z][A-Za-z0-9\-]{1,9}?)(s?)\)")


def acronym_definitions(text: str) -> dict[str, str]:
    """Acronyms the text defines, with their long form: "Mixed precision training (MPT)" gives
    {"MPT": "Mixed precision training"}. The letters of the acronym must start words of the long
    form, in order (Schwartz and Hearst's rule)."""
    found: dict[str, str] = {}
    for match in _DEFINED_RE.finditer(text):
        short = match.group(1)
        letters = [c.lower() for c in short if c.isalnum()]
        if sum(c.isupper() for c in short) < 2 or short in found:
            continue
        words = text[: match.start()].split()[-(len(letters) + 3) :]
        long_form = " ".join(words).lower()
        i, j = len(letters) - 1, len(long_form) - 1
        while i >= 0:
            while j >= 0 and (long_form[j] != letters[i] or (i == 0 and j > 0 and long_form[j - 1].isalnum())):
                j -= 1
            if j < 0:
                break
            i, j = i - 1, j - 1
        if i >= 0:
            continue
        start = long_form.rfind(" ", 0, j + 1) + 1
        phrase = " ".join(words)[start:].strip(" ,;:")
        if len(short) + 2 < len(phrase) and len(phrase.split()) <= len(letters) + 2:
            # "large language models (LLMs)": the singular "LLM" is "large language model".
            found[short] = phrase[:-1] if match.group(2) and phrase.endswith("s") else phrase
    return found


def expand_acronyms(text: str, definitions: dict[str, str], limit: int, keep: tuple[str, ...] = ()) -> str:
    """`text` with the first use of each acronym the abstract defined spelled out, so a TL;DR
    read alone needs no abstract ("makes MPT easier" -> "makes mixed precision training easier");
    the method's own name (`keep`) stays, and so does everything when it would not fit."""
    for short, long_form in definitions.items():
        if short in keep or short not in text or long_form.lower() in text.lower():
            continue  # (most defined acronyms are not in the text: no pattern built for them)
        found = re.search(rf"(?<![\w(-]){re.escape(short)}(s?)(?![\w-])", text)
        if not found:
            continue
        if found.group(1):
            long_form += "s"
        words = long_form.split()
        # "Mixed precision training" is lowercased inside a sentence; "Low-Rank Adaptation" is a name.
        sentence_case = all(w[:1].islower() for w in words[1:]) and not long_form[:2].isupper()
        spelled = long_form[:1].lower() + long_form[1:] if sentence_case and found.start() > 0 else long_form
        if found.start() == 0:
            spelled = spelled[:1].upper() + spelled[1:]
        candidate = text[: found.start()] + spelled + text[found.end() :]
        if len(candidate) <= limit:
            text = candidate
    return text


# --- the method's name ---------------------------------------------------------------------------

_TITLE_PREFIX_RE = re.compile(r"^\s*([^:]{2,48}?)\s*:\s+\S")
_NAMEY_WORD_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-+.]*$")
_CALLED_RE = re.compile(
    r"\b(?:called|named|dubbed|termed|coined|namely|which we call|referred to as)\s+"
    r"([A-Z][A-Za-z0-9\-+]*(?:\s+[A-Z][A-Za-z0-9\-+]*){0,3}|[a-z][a-z0-9\-]*(?:\s+[a-z0-9\-]+){0,3}?)"
    r"(?=\s*[,.;:()]|\s+(?:that|which|to|for|with|and|in|on|as|is)\b)"
)
_ACRONYM_RE = re.compile(r"\(([A-Za-z][A-Za-z0-9\-+]*[A-Z0-9][A-Za-z0-9\-+]*)\)")
_CONTRIBUTION_OBJECT_RE = re.compile(
    r"\b(?:propose|proposes|introduce|introduces|present|presents|develop|develops|design|"
    r"designs|devise|devises|build|builds|release|releases|describe|describes|offer|offers|"
    r"create|creates|construct|constructs|curate|curates|derive|derives|formulate|formulates|"
    r"establish|establishes|give|gives|provide|provides)\s+(?P<object>[^.;]{3,160})"
)
_NAMED_OBJECT_RE = re.compile(r"^([A-Z][A-Za-z0-9\-+]*[A-Z0-9][A-Za-z0-9\-+]*|[A-Z][a-z]+[A-Z][A-Za-z0-9\-]*)(?=[,:(]|\s+(?:\(|a |an |which|that|to|for))")
_DESCRIPTIVE_RE = re.compile(
    r"^(?:a|an|the)\s+((?:(?!(?:for|to|of|that|which|with|in|on|by)\b)[A-Za-z0-9\-]+\s+){0,4}?"
    r"(?:" + METHOD_NOUNS + r"))\b"
)
_NEW_RE = re.compile(r"(?<=^a )new |(?<=^an )new |(?<=^the )new ")
_NOT_NAMES = _wordset(
    "towards toward beyond rethinking revisiting understanding learning survey review position "
    "introduction benchmarking scaling on when why how what is are do does can the a an"
)


_TOPIC_PREPOSITIONS = _wordset("in for on via with from to under towards")
_CLAIM_VERBS = _wordset("is are was were be can do does meets beats matters needs helps makes")


def _is_name(candidate: str, abstract: str) -> bool:
    words = candidate.split()
    if not 1 <= len(words) <= 4 or not all(_NAMEY_WORD_RE.match(w) for w in words):
        return False
    if words[0].lower() in _NOT_NAMES or any(w.lower() in _CLAIM_VERBS for w in words):
        return False  # "Transformers are SSMs" is a claim, not a name
    if any(w in _TOPIC_PREPOSITIONS for w in words[1:]):
        return False  # "Reward Generalization in RLHF" is a topic, not a name
    # An acronym or a coined word (inner capitals or digits: MoDeGPT, RL-STaR, Graph2Seq) is a
    # name; an ordinary capitalized word only when the abstract uses it mid-sentence (Adam).
    if any(any(c.isupper() for c in w[1:]) or any(c.isdigit() for c in w) for w in words):
        return True
    return len(words) == 1 and f" {candidate}" in abstract and candidate[:1].isupper()


_FIELD_PREPOSITION_RE = re.compile(r"\b(?:for|in|on|from|to|under|via|with|about|towards?)\s+$")


def _names_a_field(obj: str, acronym: re.Match[str]) -> bool:
    """Whether an acronym in the contribution's object names what the method is for, not the
    method: its long form follows a preposition ("a framework for investigating reward
    generalization in reinforcement learning from human feedback (RLHF)")."""
    long_form = acronym_definitions(obj[: acronym.end()]).get(acronym.group(1))
    if not long_form:
        return False
    start = obj.rfind(long_form, 0, acronym.start())
    return start > 0 and bool(_FIELD_PREPOSITION_RE.search(obj[:start]))


def method_name(title: str, abstract: str, contribution: str = "") -> str:
    """What to call the paper's method: a name the contribution sentence gives ("called X",
    "X (ACRONYM)", "we introduce RPC, ..."), else the title's "Name:" prefix, else a description
    from the contribution sentence ("the self-reasoning framework"); "" when there is none."""
    found = _CONTRIBUTION_OBJECT_RE.search(contribution) if contribution else None
    if found:
        obj = found.group("object")
        named = _NAMED_OBJECT_RE.match(obj)
        if named:
            return named.group(1)
        called = _CALLED_RE.search(obj)
        if called and len(called.group(1)) <= 40:
            return called.group(1)
        acronym = _ACRONYM_RE.search(obj)
        if acronym and not _names_a_field(obj, acronym):
            return acronym.group(1)
    prefix = _TITLE_PREFIX_RE.match(title)
    if prefix and _is_name(prefix.group(1).strip(), abstract):
        return prefix.group(1).strip()
    if contribution:
        acronym = _ACRONYM_RE.search(contribution)
        if acronym and found and acronym.start() > found.start() and not _names_a_field(contribution, acronym):
            return acronym.group(1)
    if found:
        described = _DESCRIPTIVE_RE.match(_NEW_RE.sub("", drop_hedges(found.group("object"))))
        # "the self-reasoning framework" names the method; a bare "the framework" does not.
        if described and len(described.group(1).split()) > 1:
            return "the " + described.group(1).strip()
    return ""


# --- clamping ---------------------------------------------------------------------------------

_CLAUSE_BREAKS = ("; ", ", ", " — ", " – ", ": ", " (")


def clamp(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters: at a clause boundary if one falls in the last
    40%, else at a word boundary, marked with an ellipsis. Short text is returned unchanged."""
    text = _SPACES_RE.sub(" ", text).strip()
    if len(text) <= limit:
        return text
    window = text[: limit - 1]
    floor = int(limit * 0.6)
    best = -1
    for mark in _CLAUSE_BREAKS:
        position = window.rfind(mark)
        if position >= floor and position > best:
            best = position
    if best < 0:
        best = window.rfind(" ")
        if best < floor:
            best = limit - 1
    cut = window[:best].rstrip(" ,;:—–(-")
    return cut + "…"


def clamp_sentences(sentences: list[str], limit: int) -> str:
    """Join whole sentences while they fit in `limit`; the first is clamped if it alone is too long."""
    out: list[str] = []
    size = 0
    for sentence in sentences:
        extra = len(sentence) + (1 if out else 0)
        if size + extra > limit:
            if not out:
                return clamp(sentence, limit)
            break
        out.append(sentence)
        size += extra
    return " ".join(out)
