"""Text helpers shared by the summarizers: TeX made readable, sentence splitting that copes with
abbreviations and numbers, compact rewriting ("In this paper, we propose X" -> "Proposes X"),
and length clamping that cuts at a clause or word boundary.

Everything here is pure and deterministic; the offline summarizer runs it on every abstract, so
it is written for speed (precompiled patterns, no per-call allocation of tables).
"""

from __future__ import annotations

import re


def _wordset(text: str) -> frozenset[str]:
    """A frozenset of the whitespace-separated words in `text` (readable word lists)."""
    return frozenset(text.split())


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
_ACCENT_RE = re.compile(r"""\{?\\(["'`^~cvH])\s?\{?([A-Za-z])\}?\}?""")
_HREF_RE = re.compile(r"\\href\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_DROP_RE = re.compile(r"\\(?:cite[tp]?|ref|eqref|label|footnote)\s*\{[^{}]*\}")
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


def _command(match: re.Match[str]) -> str:
    name = match.group(1)
    if name in _OPERATORS:
        return " " + name
    # Unknown macros keep their name ("\frameworkname" -> "frameworkname"): readable, not lost.
    return _SYMBOLS.get(name, name)


def _accent(match: re.Match[str]) -> str:
    table = _ACCENTS.get(match.group(1), {})
    return table.get(match.group(2), match.group(2))


def _math(match: re.Match[str]) -> str:
    return match.group(1)


def clean_tex(text: str) -> str:
    """TeX and arXiv markup made readable: `$k$` -> k, `{\\gamma}` -> γ, `\\%` -> %, accents,
    `\\textbf{x}` -> x, ``quotes'' -> "quotes"; whitespace squeezed. Plain text passes unchanged."""
    if not text:
        return ""
    if "\\" not in text and "$" not in text and "`" not in text and "~" not in text and "{" not in text:
        return _SPACES_RE.sub(" ", text).strip()
    text = _TEX_QUOTES_RE.sub(r'"\1"', text)
    text = _ACCENT_RE.sub(_accent, text)
    text = _HREF_RE.sub(r"\2 (\1)", text)
    text = _DROP_RE.sub("", text)
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
_BOUNDARY_RE = re.compile(r"""([.!?…])(["'”’)\]]*)\s+(?=["'“‘(\[]?[A-Z0-9])""")
_LAST_WORD_RE = re.compile(r"(\S+)$")


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences. A boundary is ., ! or ? followed by space and a capital or a
    digit, except after abbreviations (e.g., i.e., et al., Fig., Eq., vs.) and single-letter
    initials. Decimals (3.5) and versions (v1.2, GPT-3.5) never split: no space follows the dot."""
    text = text.strip()
    if not text:
        return []
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY_RE.finditer(text):
        if match.group(1) == ".":
            head = text[start : match.start()]
            last = _LAST_WORD_RE.search(head)
            word = last.group(1).lower().lstrip("(\"'[") if last else ""
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

_LEAD_RE = re.compile(
    r"^(?:(?:in|within) (?:this|the present|our) (?:paper|work|study|article|survey|review|note|"
    r"letter|report|position paper|tutorial)|here|herein|to this end|to that end|specifically|"
    r"in particular|finally|first(?:ly)?|second(?:ly)?|third(?:ly)?|lastly|additionally|moreover|"
    r"furthermore|further|also|overall|concretely|in summary|in short|in addition|importantly|"
    r"notably|crucially|critically|consequently|therefore|thus|hence|besides|meanwhile|then|next|"
    r"more specifically|more importantly|surprisingly|interestingly|altogether|"
    r"to (?:address|tackle|solve|overcome|bridge|fill|close|remedy|mitigate|alleviate|resolve|"
    r"fix|answer|study|investigate|explore|understand|achieve|this end)[^,]{0,80}|"
    r"to [^,]{1,100}(?=,\s*we\b)|"
    r"(?:building|based|drawing|inspired|motivated|grounded|leveraging|using|by|with|through|"
    r"guided|armed|starting|following|given|under|in light of|on the basis of)\b[^,]{0,90}"
    r"(?=,\s*we\b))\s*,?\s+",
    re.IGNORECASE,
)
_SUBJECT_RE = re.compile(
    r"^(?:we|this (?:paper|work|study|article|survey|review|note|letter|report|tutorial|thesis)|"
    r"the (?:paper|authors?)|our (?:paper|work|study)|the present (?:paper|work|study))\s+"
    r"(?:(?:also|further|then|first|additionally|finally|next|now|subsequently|thus|therefore|"
    r"hence|here|empirically|theoretically|experimentally|formally|systematically|carefully|"
    r"rigorously|mathematically|comprehensively|extensively|explicitly|thoroughly|critically)\s+)*"
    r"(?P<verb>[a-z]+)\b\s*",
    re.IGNORECASE,
)
_EVIDENCE_RE = re.compile(
    r"^(?:(?:our|the|these|such|extensive|comprehensive|empirical|experimental|numerical|"
    r"theoretical|detailed|further|additional|systematic|thorough|large[- ]scale|quantitative|"
    r"qualitative|careful|both)\s+)*"
    r"(?:results?|experiments?|evaluations?|findings|analys[ie]s|studies|simulations|"
    r"experimentation|evidence|observations?|tests?|ablations?|investigations?|benchmarks?|"
    r"comparisons?|assessments?|validation)\b[^.;]{0,120}?\b"
    r"(?:shows?|showed|demonstrates?|demonstrated|reveals?|revealed|indicates?|indicated|"
    r"confirms?|confirmed|verif(?:y|ies)|validates?|suggests?|suggested|establish(?:es)?|"
    r"highlights?|find|finds|prove|proves|imply|implies)\s+that\s+",
    re.IGNORECASE,
)
_OUR_NAMED_RE = re.compile(r"^our (?:proposed |new |novel )", re.IGNORECASE)
_OUR_METHOD_RE = re.compile(
    r"^our (proposed )?(method|approach|framework|model|algorithm|system|technique|pipeline|"
    r"architecture|solution|scheme|design|theory|analysis|tool|benchmark|dataset)\b",
    re.IGNORECASE,
)
_PARTICIPLE_RE = re.compile(r"^(?:able to|the first|\w+ed\b|\w+en\b|built|made|found|shown|seen|run|done)", re.IGNORECASE)
_IN_THIS_PAPER_RE = re.compile(r"(?:,\s*|\s+)in this (?:paper|work|study|article)\b,?\s*", re.IGNORECASE)
# "We show that X" keeps only X; "We show X" becomes "Shows X".
_REPORTING = _wordset(
    "show showed demonstrate demonstrated find found observe observed prove proved argue argued "
    "reveal revealed establish confirm verify note noted conclude hypothesize posit suggest "
    "empirically theoretically illustrate illustrated discover discovered report believe "
    "highlight hope claim"
)
_NOT_VERBS = _wordset(
    "are were have had can could may might will would should must need is was do does did "
    "also not hereby"
)
_IRREGULAR = {"are": "is", "have": "has", "do": "does", "go": "goes", "were": "was"}


def third_person(verb: str) -> str:
    """`propose` -> `proposes`, `study` -> `studies`, `analyze` -> `analyzes`."""
    lower = verb.lower()
    if lower in _IRREGULAR:
        return _IRREGULAR[lower]
    if lower.endswith(("ed", "ing")):
        return lower
    if lower.endswith(("s", "sh", "ch", "x", "z", "o")):
        return lower + "es"
    if lower.endswith("y") and len(lower) > 2 and lower[-2] not in "aeiou":
        return lower[:-1] + "ies"
    return lower + "s"


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _drop_subject(text: str, subject: re.Match[str]) -> str:
    verb = subject.group("verb")
    rest = text[subject.end() :]
    lower = verb.lower()
    if not rest:
        return text
    if not subject.group(0).lower().startswith("we "):
        # "This paper presents X": the verb already agrees; drop only the subject. Anything
        # else ("This survey and guide ...") is not a subject-verb pair: leave it alone.
        if lower.endswith("s") and not lower.endswith(("ss", "us", "is")):
            return f"{verb} {rest}"
        return text
    if lower in _REPORTING and rest.lower().startswith("that "):
        return rest[5:]
    if lower in _NOT_VERBS:
        # "We can X" -> "can X"; "We are able to X" -> "able to X"; "We have shown" -> "shown".
        if lower in ("are", "were", "have", "had") and _PARTICIPLE_RE.match(rest):
            return rest
        return f"{verb} {rest}"
    return f"{third_person(verb)} {rest}"


def compact(sentence: str) -> str:
    """Rewrite a sentence for a bullet or TL;DR: drop discourse openers and the authorial "we".

    "In this paper, we propose X." -> "Proposes X."; "Our experiments show that X." -> "X.";
    "We find that X." -> "X."; "Our method achieves X." -> "The method achieves X."
    """
    text = sentence.strip()
    for _ in range(3):
        new = _LEAD_RE.sub("", text, count=1)
        if new == text:
            break
        text = new
    evidence = _EVIDENCE_RE.match(text)
    subject = None if evidence else _SUBJECT_RE.match(text)
    if evidence and len(text) - evidence.end() > 20:
        text = text[evidence.end() :]
    elif subject:
        text = _drop_subject(text, subject)
    text = _OUR_METHOD_RE.sub(lambda m: f"The {m.group(1) or ''}{m.group(2)}", text)
    text = _OUR_NAMED_RE.sub("", text)
    text = _IN_THIS_PAPER_RE.sub(" ", text)
    return _capitalize(text.strip())


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
