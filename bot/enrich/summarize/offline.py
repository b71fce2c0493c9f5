"""The offline summarizer: extractive, deterministic, no network.

From a title and abstract it picks sentences by salience and sorts them into the four parts a
reader wants: the problem, the method, the results and the implications, using the cues authors
write ("we propose", "outperforms", "achieves 12%", "suggests", "enables"...). Key points and
the TL;DR are those sentences rewritten compactly ("Proposes X" rather than "In this paper, we
propose X"); TeX is made readable first. Bump PROMPT_VERSION whenever the output changes, so
cached summaries are remade.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from bot.core.models import Paper, Summary
from bot.enrich.summarize.text import (
    _wordset,
    clamp,
    clamp_sentences,
    clean_tex,
    compact,
    split_sentences,
)
from bot.enrich.taxonomy import tag

PROMPT_VERSION = "offline-1"
"""The offline algorithm's version; part of the summary cache key."""

TLDR_LIMIT = 200
KEY_POINT_LIMIT = 160
SECTION_LIMIT = 600
MIN_KEY_POINTS = 3
MAX_KEY_POINTS = 4

PROBLEM, METHOD, RESULTS, IMPLICATIONS = "problem", "method", "results", "implications"
_ROLES = (PROBLEM, METHOD, RESULTS, IMPLICATIONS)

# Cue patterns, each with a weight. Matched against the lowercased sentence.
_CUES: dict[str, tuple[tuple[re.Pattern[str], float], ...]] = {
    PROBLEM: (
        (re.compile(r"\b(?:however|despite|although|yet|whereas|while existing|nevertheless|"
                    r"nonetheless|unfortunately)\b"), 1.5),
        (re.compile(r"^(?:however|despite|although|though|yet|nevertheless|nonetheless|"
                    r"unfortunately|while|but)\b"), 2.0),
        (re.compile(r"\b(?:recently|in recent years|have been|has been|has become|have become|"
                    r"widely|increasingly|growing)\b"), 0.8),
        (re.compile(r"\b(?:remain(?:s|ed)?|lack(?:s|ing)?|limited|limitations?|challeng\w*|"
                    r"difficult\w*|struggl\w*|bottlenecks?|costly|expensive|unclear|unknown|"
                    r"open (?:question|problem)|gap|suffer\w*|fail(?:s|ed|ure|ures)?|hinder\w*|"
                    r"scarce|impractical|prohibitive|brittle|unstable|issues?|problems?)\b"), 1.0),
        (re.compile(r"\b(?:existing|prior|previous|current|conventional|traditional|standard|"
                    r"recent) (?:methods?|approaches|work|works|models|techniques|systems|studies|"
                    r"literature)\b"), 1.2),
        (re.compile(r"\b(?:is|are|has been|have been|becomes?) (?:crucial|critical|essential|"
                    r"important|key|central|fundamental|widely used|increasingly|a promising|"
                    r"emerged|popular)\b"), 1.0),
        (re.compile(r"\b(?:has|have) (?:emerged|become|shown|achieved|gained|attracted|garnered)\b"), 0.8),
    ),
    METHOD: (
        (re.compile(r"\bwe (?:\w+ly |also |further |then |first |additionally |thus |therefore |"
                    r"hence |here |now |instead )?(?:propose|introduce|present|develop|design|devise|"
                    r"formulate|build|construct|describe|offer|put forward|create|release|curate|"
                    r"collect)\w*\b"), 3.0),
        (re.compile(r"\b(?:this|our|the present) (?:paper|work|study|article|research|survey|review|"
                    r"note|tutorial|thesis) (?:\w+ly )?(?:proposes|introduces|presents|develops|"
                    r"describes|offers|provides|studies|investigates|explores|examines|analy[sz]es|"
                    r"establishes|suggests|aims|reviews|surveys|argues|outlines|summari[sz]es|"
                    r"discusses|considers|builds|designs|formulates|addresses|tackles)\b"), 3.0),
        (re.compile(r"\b(?:by )?propos(?:e|es|ed|ing)\b|\baims? to\b"), 1.2),
        (re.compile(r"\b(?:is|are|was|were) (?:constructed|built|based|derived|designed|trained|"
                    r"formulated|developed|implemented|composed|obtained|parameteri[sz]ed|"
                    r"initiali[sz]ed|modeled|modelled|cast|framed|grounded)\b"), 1.2),
        (re.compile(r"\b(?:we|this paper|this work) (?:study|investigate|explore|analy[sz]e|"
                    r"examine|consider|model|frame|define|derive|leverage|employ|adopt|use|utili[sz]e|"
                    r"train|extend|generali[sz]e|provide|take|focus|characteri[sz]e|formali[sz]e|"
                    r"cast|treat|view|apply|combine|incorporate|integrate|review|survey|summari[sz]e|"
                    r"categori[sz]e|classify|compare|discuss|argue|draw|outline|address|tackle|"
                    r"revisit|rethink|present|introduce|benchmark|assess|evaluate|measure|quantify|"
                    r"identify|decompose|reformulate|connect|unify|bridge|establish)\w*\b"), 2.0),
        (re.compile(r"^(?:here,? |in this \w+,? |to this end,? )?we \w+"), 1.0),
        (re.compile(r"^this (?:paper|work|study|article|survey|review|tutorial|note|report|thesis|"
                    r"position paper|chapter|book|research|manuscript)\b"), 2.5),
        (re.compile(r"\bour (?:main |key |primary )?contributions?\b"), 2.5),
        (re.compile(r"\b(?:our|the proposed|the resulting) (?:method|approach|framework|model|"
                    r"algorithm|system|technique|pipeline|architecture|design|scheme|solution|"
                    r"module|strategy|benchmark|dataset)\b"), 1.2),
        (re.compile(r"\b(?:novel|new|framework|algorithm|architecture|pipeline|mechanism|"
                    r"module|objective|loss|estimator|procedure|paradigm|formulation|"
                    r"(?:dubbed|named|called|termed))\b"), 0.6),
        (re.compile(r"\b(?:based on|by (?:using|leveraging|combining|introducing|exploiting|"
                    r"modeling|treating)|consists? of|comprises?|builds? on|rel(?:y|ies) on|key idea|"
                    r"core idea|to (?:this|that) end)\b"), 0.8),
    ),
    RESULTS: (
        (re.compile(r"\b(?:outperform\w*|surpass\w*|exceed\w*|beat(?:s|ing)?|state[- ]of[- ]the[- ]art|"
                    r"sota|new record|best)\b"), 2.5),
        (re.compile(r"\b(?:achiev\w*|improv\w*|reduc\w*|boost\w*|gains?|accelerat\w*|speed(?:s|ed)?[- ]?ups?|"
                    r"match(?:es|ing)?|competitive|comparable|superior|higher|lower|better|faster|"
                    r"fewer|saves?|recovers?)\b"), 1.2),
        (re.compile(r"(?:\d+(?:\.\d+)?\s?(?:%|×|x\b|times\b|fold\b|points?\b|pp\b)|\bup to\b|"
                    r"\borders? of magnitude\b)"), 2.0),
        (re.compile(r"\b(?:experiments?|experimental|empirical(?:ly)?|evaluations?|results?|"
                    r"benchmarks?|ablations?|simulations?|case stud\w*)\b"), 1.0),
        (re.compile(r"\b(?:we|results|experiments|analysis|evaluations?|findings) (?:show|"
                    r"demonstrate|find|found|reveal|observe|confirm|verify|validate|indicate|"
                    r"prove|establish)\w*\b"), 2.0),
        (re.compile(r"\b(?:shows?|showed|demonstrat\w*|reveal\w*|indicat\w*|confirm\w*|"
                    r"validat\w*|verif\w*|prov(?:e|es|ed|en)|bounds?|guarantee\w*|converge\w*|"
                    r"accuracy|performance|effective(?:ness)?|robust(?:ness)?)\b"), 0.7),
        (re.compile(r"\b\d[\d,.]*\b"), 0.4),
    ),
    IMPLICATIONS: (
        (re.compile(r"\b(?:suggest\w*|enabl\w*|pav\w* the way|implications?|opens? (?:up|new|the "
                    r"door)|shed\w* light|broader|we (?:hope|believe|envision|argue|expect)|"
                    r"underscor\w*|highlight\w*|advanc\w*|facilitat\w*|foundation for|step "
                    r"(?:toward|towards)|lays? the (?:groundwork|foundation))\b"), 2.0),
        (re.compile(r"\b(?:could|may|might|can be (?:used|applied|extended)|potential(?:ly)?|"
                    r"future|promising|insights?|practical|practitioners|real[- ]world|"
                    r"deploy\w*|useful|valuable|inform\w*|guid(?:e|es|ance|ing)|applicab\w*|"
                    r"generali[sz]\w*|directions?|open[- ]source[sd]?|publicly available|"
                    r"code (?:is|and data are) available)\b"), 1.0),
        (re.compile(r"^(?:overall|in summary|taken together|these (?:results|findings)|"
                    r"our (?:results|findings|work)|this (?:work|study|framework|paper))\b"), 1.2),
    ),
}
_PROBLEM_POSITION = 2.5  # bonus for the first sentence being context (unless it starts "We")
_AUTHORIAL_RE = re.compile(
    r"^(?:we|our|this (?:paper|work|study|article|survey|review|tutorial|note|report|thesis|"
    r"research)|in this (?:paper|work|study|article|survey))\b"
)
_IMPLICATION_POSITION = 1.2  # bonus for the last sentence being the wrap-up
_MIN_ROLE_SCORE = 1.0  # below this a sentence has no clear role and falls back to position

_STOPWORDS = _wordset(
    """a an the and or but if of in on at to for from by with without as is are was were be been
    being this that these those it its we our us they their them he she his her which who whom
    whose what when where why how than then there here such so not no nor can could may might
    will would shall should must do does did done have has had having into onto over under
    between among about above below up down out off again further once both each few more most
    other some any all own same only very also just too via per while within across through
    during before after using use used based new novel show shows paper work study approach
    method methods propose proposed results result model models"""
)
_WORD_RE = re.compile(r"[A-Za-z][A-Za-z0-9\-]+")
_URL_RE = re.compile(r"\s*(?:\(|\[)?(?:code|project page|data|models?|demo)?[^.;]{0,40}?https?://\S+", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Sentence:
    index: int
    text: str
    role: str
    role_score: float
    salience: float


def _content_words(text: str) -> list[str]:
    return [w for w in (m.lower() for m in _WORD_RE.findall(text)) if w not in _STOPWORDS and len(w) > 2]


def _role_scores(lowered: str) -> dict[str, float]:
    scores = {}
    for role, cues in _CUES.items():
        total = 0.0
        for pattern, weight in cues:
            if pattern.search(lowered):
                total += weight
        scores[role] = total
    return scores


def _strip_urls(sentence: str) -> str:
    """Drop trailing "Code is available at https://..." noise but keep a sentence that is more."""
    if "http" not in sentence:
        return sentence
    stripped = _URL_RE.sub("", sentence).strip()
    return stripped


def _analyse(title: str, abstract: str) -> list[_Sentence]:
    raw = split_sentences(abstract)
    sentences = [s for s in (_strip_urls(s) for s in raw) if len(s) > 3]
    if not sentences:
        return []
    # Salience: how many of the abstract's (and title's) recurring content words a sentence has.
    frequency: Counter[str] = Counter()
    words_per_sentence = [_content_words(s) for s in sentences]
    for words in words_per_sentence:
        frequency.update(set(words))
    for word in set(_content_words(title)):
        frequency[word] += 2
    count = len(sentences)
    analysed = []
    for index, (text, words) in enumerate(zip(sentences, words_per_sentence, strict=True)):
        lowered = text.lower()
        scores = _role_scores(lowered)
        if index == 0 and not _AUTHORIAL_RE.match(lowered):
            scores[PROBLEM] += _PROBLEM_POSITION
        elif index == count - 1 and count > 2:
            scores[IMPLICATIONS] += _IMPLICATION_POSITION
        # Problem statements come early and results late; a small positional prior breaks ties.
        position = index / max(1, count - 1)
        scores[PROBLEM] -= position * 0.8
        scores[RESULTS] += position * 0.4
        role = max(_ROLES, key=lambda r: (scores[r], -_ROLES.index(r)))
        if scores[role] < _MIN_ROLE_SCORE:
            role = PROBLEM if position < 0.34 else IMPLICATIONS if position > 0.8 else METHOD
        distinct = set(words)
        salience = sum(frequency[w] - 1 for w in distinct) / (len(distinct) ** 0.5 + 1.0)
        analysed.append(_Sentence(index, text, role, scores[role], salience))
    return analysed


def _best(sentences: list[_Sentence], role: str, limit: int, exclude: set[int] | frozenset[int] = frozenset()) -> list[_Sentence]:
    """Up to `limit` sentences of a role, the most salient first."""
    pool = [s for s in sentences if s.role == role and s.index not in exclude]
    pool.sort(key=lambda s: (-(s.salience + s.role_score), s.index))
    return pool[:limit]


def _in_order(sentences: list[_Sentence]) -> list[str]:
    return [s.text for s in sorted(sentences, key=lambda s: s.index)]


def _tldr_sentence(sentences: list[_Sentence]) -> _Sentence | None:
    """The sentence that says what the paper does: a strong method cue, else the most salient
    method sentence, else the most salient statement that is not background or a question."""
    methods = _best(sentences, METHOD, 3)
    strong = [s for s in methods if _CUES[METHOD][0][0].search(s.text.lower()) or _CUES[METHOD][1][0].search(s.text.lower())]
    if strong:
        return min(strong, key=lambda s: s.index)
    if methods:
        return methods[0]
    statements = [s for s in sentences if s.role != PROBLEM and not s.text.endswith("?")]
    pool = statements or [s for s in sentences if not s.text.endswith("?")] or sentences
    if pool:
        return max(pool, key=lambda s: (s.salience, -s.index))
    return None


def _split_clauses(text: str) -> list[str]:
    """Break one long sentence into clause-sized parts (for abstracts too short for 3 bullets)."""
    parts = re.split(r";\s+|,\s+(?:and|while|which|whereas|but)\s+|:\s+", text)
    return [p.strip() for p in parts if len(p.strip()) > 25]


_CONNECTOR_RE = re.compile(
    r"^(?:however|nevertheless|nonetheless|moreover|furthermore|additionally|in addition|also|"
    r"thus|therefore|hence|consequently|besides|meanwhile|instead|then|finally|in contrast|"
    r"on the other hand|as a result|to this end)\s*,\s*",
    re.IGNORECASE,
)


def _decontext(sentence: str) -> str:
    """Drop a leading connector ("However, ...") from a sentence quoted without its neighbour."""
    stripped = _CONNECTOR_RE.sub("", sentence, count=1)
    return stripped[:1].upper() + stripped[1:] if stripped != sentence else sentence


def _finish(text: str) -> str:
    text = text.strip()
    if text and text[-1] not in ".!?…\"”)":
        text += "."
    return text


class OfflineSummarizer:
    """Extractive summaries from title and abstract. Cheap: safe to call for every paper."""

    name = "offline"
    model = ""
    prompt_version = PROMPT_VERSION

    def summarize(self, paper: Paper) -> Summary:
        """Summarize one paper (deterministic: the same input gives the same summary)."""
        return summarize_text(paper.title, paper.abstract, paper.categories)


def summarize_text(title: str, abstract: str, categories: tuple[str, ...] | list[str] = ()) -> Summary:
    """The offline summary of a title and abstract (see the module docstring)."""
    title = clean_tex(title)
    abstract = clean_tex(abstract)
    topics = tag(title, abstract, tuple(categories))
    sentences = _analyse(title, abstract)
    if not sentences:
        tldr = clamp(_finish(title), TLDR_LIMIT) if title else ""
        return Summary(tldr=tldr, key_points=(), topics=topics, summarizer="offline",
                       model="", prompt_version=PROMPT_VERSION)

    main = _tldr_sentence(sentences)
    assert main is not None
    tldr = clamp(_finish(compact(_decontext(main.text))), TLDR_LIMIT)

    # Context for the summary paragraph is the first problem sentence: abstracts open with it.
    problem = sorted((s for s in sentences if s.role == PROBLEM), key=lambda s: s.index)[:1]
    summary_parts = {s.index: s for s in (*problem, main)}
    summary = clamp_sentences([_decontext(text) for text in _in_order(list(summary_parts.values()))], SECTION_LIMIT)

    methods = _best(sentences, METHOD, 3, exclude={main.index})
    if not methods and main.role != PROBLEM:
        # The TL;DR sentence says what was done; it is the methodology when nothing else is.
        methods = [main]
    results = _best(sentences, RESULTS, 3)
    implications = _best(sentences, IMPLICATIONS, 2)

    key_points = _key_points(sentences, main, methods, results, implications, problem)
    return Summary(
        tldr=tldr,
        key_points=key_points,
        summary=summary,
        methodology=clamp_sentences(_in_order(methods), SECTION_LIMIT),
        results=clamp_sentences(_in_order(results), SECTION_LIMIT),
        implications=clamp_sentences(_in_order(implications), SECTION_LIMIT),
        topics=topics,
        summarizer="offline",
        model="",
        prompt_version=PROMPT_VERSION,
    )


def _key_points(
    sentences: list[_Sentence],
    main: _Sentence,
    methods: list[_Sentence],
    results: list[_Sentence],
    implications: list[_Sentence],
    problem: list[_Sentence],
) -> tuple[str, ...]:
    """3-4 compact bullets in reading order: method, results, implication, then fillers."""
    chosen: list[_Sentence] = []
    seen = {main.index}

    def take(pool: list[_Sentence], count: int) -> None:
        for sentence in pool:
            if count <= 0 or len(chosen) >= MAX_KEY_POINTS:
                return
            if sentence.index not in seen:
                chosen.append(sentence)
                seen.add(sentence.index)
                count -= 1

    take(methods, 1)
    take(results, 2)
    take(implications, 1)
    if len(chosen) < MIN_KEY_POINTS:
        take(methods[1:] + results + problem, MIN_KEY_POINTS - len(chosen))
    if len(chosen) < MIN_KEY_POINTS:
        rest = sorted(sentences, key=lambda s: (-s.salience, s.index))
        take(rest, MIN_KEY_POINTS - len(chosen))
    role_rank = {role: i for i, role in enumerate(_ROLES)}
    chosen.sort(key=lambda s: (role_rank[s.role], s.index))
    points = [clamp(_finish(compact(_decontext(s.text))), KEY_POINT_LIMIT) for s in chosen]
    if len(points) < MIN_KEY_POINTS:
        # Too few sentences: use the main one too, then clauses of long ones.
        points.insert(0, clamp(_finish(compact(main.text)), KEY_POINT_LIMIT))
    if len(points) < MIN_KEY_POINTS:
        clauses = [c for s in sorted(sentences, key=lambda s: s.index) for c in _split_clauses(s.text)]
        for clause in clauses:
            point = clamp(_finish(compact(clause)), KEY_POINT_LIMIT)
            if point not in points:
                points.append(point)
            if len(points) >= MIN_KEY_POINTS:
                break
    return tuple(dict.fromkeys(points))[:MAX_KEY_POINTS]
