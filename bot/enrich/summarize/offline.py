"""The offline summarizer: extractive and compressive, deterministic, no network.

From a title and abstract it gives each sentence a rhetorical ROLE (background, method, result,
implication) with a small classifier: cue phrases read in context (who the subject is, the verb,
numbers, the position in the abstract), then one pass over the abstract that prefers the usual
order background -> method -> results -> implications and lets an elaboration ("To be specific,
...") keep the role of the sentence it elaborates. Then:

- the TL;DR is the sentence that states the contribution ("We propose X", "X introduces ...",
  "The paper presents ..."), chosen among the most contribution-like ones also for how much of
  the title and of the rest of the abstract its rewrite restates, rewritten as a reader would (no "we", no parentheticals, hedges or
  openers; shortened at clause boundaries, never cut; "We propose X" becomes "The paper proposes
  X" where that fits) and, where room allows, joined with the main quantitative result;
- key points are 3-4 such rewrites, one each for the method, the main result with its number and
  the implication where the abstract has them; never background; a dangling "This framework" is
  replaced by the method's name;
- Summary / Methodology / Results / Implications collect the sentences of each role.

Bump PROMPT_VERSION whenever the output changes, so cached summaries are remade.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from math import sqrt

from bot.core.models import Paper, Summary
from bot.enrich.summarize.text import (
    TRAILING_STOP,
    _wordset,
    acronym_definitions,
    any_search,
    clamp_sentences,
    clause_heads,
    clean_tex,
    compress,
    expand_acronyms,
    finish,
    forget_rewrites,
    is_clause_verb,
    method_name,
    reported,
    resolve_reference,
    shape_problems,
    shorten,
    split_sentences,
    third_person,
    with_the_paper_as_subject,
    word_start_search,
)
from bot.enrich.tagger import tag

PROMPT_VERSION = "offline-8"  # 8: rewrites keep their grammar (verb lists agree, "we are able to X" is "Xs", a fronted phrase goes up to its main clause's subject, no head drops what a verb or preposition takes, no bullet opens with "Which"/"And"/"Is"); 7: the authors' verb conjugated right, "addresses this gap by proposing X" is "proposes X", no questions, "the paper is the first to", no head inside a fronted part; 6: "most existing explorations/attempts/..." is background; 5: TL;DR restating title and abstract
"""The offline algorithm's version; part of the summary cache key."""

TLDR_LIMIT = 200
KEY_POINT_LIMIT = 160
SECTION_LIMIT = 600
MIN_KEY_POINTS = 3
MAX_KEY_POINTS = 4

BACKGROUND, METHOD, RESULTS, IMPLICATIONS = "background", "method", "results", "implications"
ROLES = (BACKGROUND, METHOD, RESULTS, IMPLICATIONS)
"""The roles in the order an abstract usually takes them."""


# --- cues ---------------------------------------------------------------------------------------
# Each cue is a phrase pattern (matched on the lowercased sentence) with a weight. A cue is a
# phrase with its context, never a lone word: "result" or "performance" alone say nothing
# ("the retrieval may result in unhelpful responses" is a problem statement, not a result).


@dataclass(frozen=True, slots=True)
class Cue:
    """One piece of evidence for a role."""

    role: str
    pattern: re.Pattern[str]
    weight: float
    authorial: bool | None = None  # True: only in sentences by the authors; False: only in others
    problem: bool = False  # a gap, limitation or failure, not just context
    hints: tuple[str, ...] = ()  # the pattern cannot match a sentence without one of these
    search: Callable[[str], object] | None = None  # a faster equal of pattern.search (see _cue)

    @property
    def matcher(self) -> Callable[[str], object]:
        """What finds the cue in a lowercased sentence: `search` where set, else the pattern's."""
        return self.search or self.pattern.search

    def found_in(self, lowered: str) -> bool:
        """Whether the cue occurs in a lowercased sentence (hints first: substring tests are
        much cheaper than the cue's pattern)."""
        if self.hints and not any(map(lowered.__contains__, self.hints)):
            return False
        return bool(self.matcher(lowered))


def _cue(role: str, pattern: str, weight: float, authorial: bool | None = None, *, problem: bool = False,
         hints: tuple[str, ...] = (), word_start: bool = False) -> Cue:
    r"""A cue; `word_start`: `pattern` is `\b` and a part whose matches open with a letter, searched
    with `word_start_search` (for the cues whose first letters are few, where that is faster)."""
    search = word_start_search(pattern.removeprefix(r"\b")) if word_start else None
    return Cue(role, re.compile(pattern), weight, authorial, problem, hints, search)


_DIGITS = tuple("0123456789")


_SELF = r"(?:we|this (?:paper|work|study|article|thesis|report)|the (?:paper|authors)|here we)"
_ADVERB = r"(?:\w+ly |also |further |then |first |now |additionally |here |instead )?"
_RESULT_NUMBER_PARTS = (
    r"\d(?:[.,]\d+)?\s?(?:%|×|x\b|-fold|fold\b|times\b|points?\b|pp\b|db\b|ms\b|mb\b|gb\b)",
    r"\bup to \d",
    r"\borders? of magnitude",
    r"\bby (?:a factor of |over |more than |nearly |about )?\d",
    r"\b\d+(?:\.\d+)?\s?(?:accuracy|f1|bleu|rouge|auc|map|psnr|ssim|fid|em)\b",
)
_RESULT_NUMBER = "|".join(_RESULT_NUMBER_PARTS)
_number_found = any_search(*_RESULT_NUMBER_PARTS)

CUES: tuple[Cue, ...] = (
    # Background: the field, the trend, the gap; written about others, not by the authors.
    _cue(BACKGROUND, r"^(?:however|despite|although|though|yet|nevertheless|nonetheless|"
         r"unfortunately|but|while|whereas|in contrast|by contrast|unlike)\b", 2.0, authorial=False, problem=True),
    _cue(BACKGROUND, r"\b(?:not (?:yet )?(?:well[- ])?understood|poorly understood|little is known|"
         r"remains? (?:unclear|elusive|open|unexplored|underexplored|limited)|not (?:yet )?(?:clear|"
         r"known)|under-?explored|overlooked)\b", 1.5, authorial=False, problem=True,
         hints=("understood", "little is known", "remain", "not yet", "not clear", "not known", "explored", "overlooked")),
    _cue(BACKGROUND, r"\b(?:has|have) (?:\w+ly )?(?:been|become|emerged|shown|achieved|gained|"
         r"attracted|garnered|seen|made|led|enabled|demonstrated|revolutionized|transformed|"
         r"received|drawn|witnessed|sparked)\b", 1.5, authorial=False,
         hints=("has ", "have "), word_start=True),
    _cue(BACKGROUND, r"\b(?:recent(?:ly)?|in recent years|increasingly|widely|growing|rapid(?:ly)?|"
         r"popular|prevalent|ubiquitous|emerging)\b", 0.8, authorial=False,
         hints=("recent", "increasing", "widely", "growing", "rapid", "popular", "prevalent", "ubiquitous", "emerging")),
    _cue(BACKGROUND, r"\b(?:remain(?:s|ed)?|lack(?:s|ing)?|limited|limitations?|challeng\w+|"
         r"difficult\w*|struggl\w+|bottlenecks?|costly|unclear|unknown|open (?:question|problem)|"
         r"gaps?|suffer\w*|fail(?:s|ed|ures?)?|hinder\w*|scarce|impractical|prohibitive|brittle|"
         r"unreliable|inefficien\w+|insufficient|inadequate|vulnerab\w+|issues?|problems?|"
         r"concerns?|drawbacks?|shortcomings?)\b", 1.0, authorial=False, problem=True,
         hints=("remain", "lack", "limit", "challeng", "difficult", "struggl", "bottleneck", "costly", "unclear", "unknown", "open ", "gap", "suffer", "fail", "hinder", "scarce", "impractical", "prohibitive", "brittle", "unreliable", "inefficien", "insufficient", "inadequate", "vulnerab", "issue", "problem", "concern", "drawback", "shortcoming")),
    _cue(BACKGROUND, r"(?<!over )(?<!than )(?<!outperforms )(?<!outperform )(?<!surpasses )"
         r"\b(?:existing|prior|previous|current|conventional|traditional|standard|most|many) "
         r"(?:\w+ )?(?:methods?|approaches|work|works|models|techniques|systems|studies|"
         r"literature|solutions|research|efforts|benchmarks|frameworks|algorithms|explorations|"
         r"attempts|paradigms|strategies|pipelines|designs|practices|tools)\b", 1.2,
         authorial=False, problem=True,
         hints=("existing", "prior", "previous", "current", "conventional", "traditional", "standard", "most ", "many ")),
    _cue(BACKGROUND, r"\b(?:may|can|could|might|often|tend to|would|will)\s+(?:\w+ly\s+)?"
         r"(?:result in|lead to|cause|hurt|harm|degrade|deteriorate|limit|suffer|fail|struggle|"
         r"compromise|undermine|complicate|impede|hamper)\b", 1.5, authorial=False, problem=True,
         hints=("may ", "can ", "could ", "might ", "often ", "tend to", "would ", "will "), word_start=True),
    _cue(BACKGROUND, r"\b(?:is|are|has become|have become|becomes?|remains?) (?:a |an |the )?"
         r"(?:\w+ly )?(?:crucial|critical|essential|important|key|central|fundamental|vital|major|"
         r"long-standing|promising|widely used|core|cornerstone|prominent|dominant)\b", 1.0,
         authorial=False, word_start=True),
    # Method: what the authors did and how it works.
    _cue(METHOD, rf"\b{_SELF}\s+{_ADVERB}(?:propose|introduce|present|develop|design|devise|"
         r"describe|offer|put forward|create|build|construct|release|curate|collect|contribute|"
         r"formulate|provide)\w*\b", 3.0,
         hints=("we ", "paper", "work", "study", "article", "thesis", "report", "authors"), word_start=True),
    _cue(METHOD, rf"\bwe\s+{_ADVERB}(?:use|leverage|employ|adopt|apply|train|model|combine|"
         r"incorporate|integrate|extend|generali[sz]e|cast|treat|frame|reformulate|decompose|"
         r"parameteri[sz]e|learn|optimi[sz]e|encode|represent|define|derive|construct|study|"
         r"investigate|explore|analy[sz]e|examine|consider|focus|address|tackle|characteri[sz]e|"
         r"formali[sz]e|implement|replace|augment|distill|fine-tune|pre-train|pretrain|benchmark|"
         r"compare|evaluate|assess|conduct|perform|review|survey|categori[sz]e|revisit|identify)\w*\b",
         2.0,
         hints=("we ",), word_start=True),
    _cue(METHOD, r"\b(?:the|our|this|its) (?:proposed |resulting |overall )?(?:method|approach|"
         r"framework|model|algorithm|system|technique|pipeline|architecture|scheme|module|design|"
         r"network|agent)s?\b[^.;]{0,40}?\b(?:consists|comprises|leverages|employs|uses|utili[sz]es|"
         r"combines|integrates|incorporates|builds|relies|learns|encodes|decodes|maps|operates|"
         r"involves|adopts|contains|extracts|generates|predicts|estimates|computes|aggregates|fuses|"
         r"applies|is (?:trained|built|designed|based|composed)|works by|first|then)\b", 2.0,
         hints=("method", "approach", "framework", "model", "algorithm", "system", "technique", "pipeline", "architecture", "scheme", "module", "design", "network", "agent"), word_start=True),
    _cue(METHOD, r"^it\s+(?:\w+ly\s+|also\s+|further\s+|first\s+|then\s+)?(?:integrates|employs|"
         r"uses|utili[sz]es|leverages|combines|consists|comprises|incorporates|builds|relies|learns|"
         r"encodes|decodes|maps|operates|involves|adopts|contains|extracts|generates|predicts|"
         r"computes|fuses|applies|introduces|features|models|represents|treats|casts|trains|"
         r"decomposes|performs|exploits|unifies|couples|augments|replaces|is (?:trained|built|"
         r"designed|based|composed|implemented))\b", 2.0),
    _cue(METHOD, r"\b(?:based on|by (?:using|leveraging|combining|introducing|exploiting|modeling|"
         r"treating|learning|training|applying|incorporating|decomposing|casting)|consists? of|"
         r"comprises?|builds? (?:up)?on|rel(?:y|ies) on|key idea|core idea|main idea|"
         r"(?:is|are) (?:constructed|built|designed|trained|formulated|implemented|"
         r"parameteri[sz]ed|modeled|composed|learned|computed|optimi[sz]ed|conditioned))\b", 1.0),
    _cue(METHOD, r"\b(?:framework|algorithm|architecture|pipeline|mechanism|module|objective|"
         r"loss function|estimator|procedure|paradigm|formulation|encoder|decoder|dataset|"
         r"benchmark)\b", 0.5,
         hints=("framework", "algorithm", "architecture", "pipeline", "mechanism", "module", "objective", "loss function", "estimator", "procedure", "paradigm", "formulation", "encoder", "decoder", "dataset", "benchmark")),
    _cue(METHOD, r"\bour (?:main |key |primary )?contributions?\b", 2.0,
         hints=("contribution",), word_start=True),
    # Results: what was found, measured or proved.
    _cue(RESULTS, r"\b(?:experiments?|results?|evaluations?|analys[ie]s|ablations?|simulations?|"
         r"studies|tests|benchmarking|evidence|findings|comparisons)\b[^.;]{0,100}?\b(?:show|shows|"
         r"showed|shown|demonstrate\w*|reveal\w*|indicate\w*|confirm\w*|verif\w+|validate\w*|"
         r"suggest\w*|highlight\w*|establish\w*)\b", 3.0,
         hints=("show", "demonstrat", "reveal", "indicat", "confirm", "verif", "validat", "suggest", "highlight", "establish")),
    _cue(RESULTS, r"\b(?:analysis|analyses|study|theory|experiments?|evaluation|investigation) "
         r"(?:\w+ )?(?:discovers?|finds?|uncovers?|identifies|identify|exposes?)\b", 3.0,
         hints=("discover", "find", "uncover", "identif", "expose")),
    _cue(RESULTS, r"(?:\band|,) (?:we )?(?:also )?(?:find|finds|show|shows|demonstrate|demonstrates|"
         r"observe|observes|prove|proves|reveal|reveals) that\b", 2.0,
         hints=(" that",)),
    _cue(RESULTS, r"\b(?:leading|leads|led) to (?:\w+ )?(?:improvements?|gains?|speed-?ups?|"
         r"reductions?|better|higher|lower|faster)\b", 1.5,
         hints=("lead", "led "), word_start=True),
    _cue(RESULTS, rf"\bwe\s+{_ADVERB}(?:show|find|found|demonstrate|observe|prove|verify|"
         r"confirm|report|achieve|obtain|establish|reveal|discover|uncover|quantify|attain)\w*\b",
         2.5,
         hints=("we ",), word_start=True),
    _cue(RESULTS, r"\b(?:outperform\w*|surpass\w*|exceed\w*|beat(?:s|ing)?|state[- ]of[- ]the[- ]art|"
         r"sota|new record|best (?:performance|results?|accuracy)|better than|superior (?:to|"
         r"performance)|on par with|comparable (?:to|with|performance)|competitive (?:with|"
         r"performance|results))\b", 2.0,
         hints=("outperform", "surpass", "exceed", "beat", "state-of", "state of", "sota", "record", "best", "better than", "superior", "on par", "comparable", "competitive")),
    Cue(RESULTS, re.compile(_RESULT_NUMBER), 2.0, hints=(*_DIGITS, "magnitude"), search=_number_found),
    _cue(RESULTS, r"^(?:it|the (?:proposed |resulting |new )?(?:method|approach|framework|model|"
         r"algorithm|system|implementation|technique|pipeline|architecture|agent|network))\s+"
         r"(?:\w+ly\s+|also\s+|further\s+|can\s+|still\s+)*(?:achieves|outperforms|improves|reduces|"
         r"attains|yields|matches|sets|delivers|obtains|surpasses|exceeds|beats|boosts|accelerates|"
         r"scales|generali[sz]es|performs|recovers|converges|retains|preserves|enables)\b", 2.5),
    _cue(RESULTS, r"\b(?:main|key|central|primary|first|second) (?:results?|findings?|theorem)s? "
         r"(?:is|are|shows?|states?|establish\w*)\b", 3.0,
         hints=("result", "finding", "theorem"), word_start=True),
    _cue(RESULTS, r"\b(?:improv\w*|reduc\w*|boost\w*|increas\w*|decreas\w*|accelerat\w*|"
         r"speed\w* up|cuts?|lowers?|raises?|gains?|saves?)\b[^.;]{0,60}?\b(?:by|over|from|"
         r"relative to|compared (?:to|with))\b", 1.2,
         hints=("improv", "reduc", "boost", "increas", "decreas", "accelerat", "speed", "cut", "lower", "raise", "gain", "save")),
    _cue(RESULTS, r"\b(?:achiev\w*|attain\w*|yield\w*|deliver\w*|obtain\w*|reach\w*|"
         r"sets? a new|match\w*|exhibit\w*|generali[sz]\w+ (?:well|to))\b", 1.0,
         hints=("achiev", "attain", "yield", "deliver", "obtain", "reach", "set a new", "sets a new", "match", "exhibit", "generaliz", "generalis")),
    _cue(RESULTS, r"\b(?:prove|proves|proved|derive|derives|establish|establishes|show|shows|provide|"
         r"provides|obtain|obtains|give|gives)\b"
         r"[^.;]{0,80}?\b(?:bounds?|guarantees?|convergence|converges?|rates?|complexity|"
         r"optimal(?:ity)?|regret|consisten\w+|identifiab\w+|equivalen\w+)\b", 2.0,
         hints=("bound", "guarantee", "converge", "rate", "complexity", "optimal", "regret", "consisten", "identifiab", "equivalen")),
    # Implications: why it matters, what it enables, what follows.
    _cue(IMPLICATIONS, r"^(?:overall|in summary|in conclusion|taken together|altogether|"
         r"collectively|in short|to conclude|in sum|ultimately)\b", 3.0),
    _cue(IMPLICATIONS, r"\bwe (?:hope|believe|envision|expect|anticipate|advocate|call for|"
         r"encourage|conclude)\b", 2.5,
         hints=("we ",), word_start=True),
    _cue(IMPLICATIONS, r"\b(?:pav\w+ the way|opens? (?:up )?(?:new )?(?:avenues|directions|"
         r"possibilities|the door|opportunities)|sheds? (?:new )?light|implications?|"
         r"(?:a|an|first|important|promising|key|crucial) steps? (?:toward|towards)|"
         r"lays? (?:the |a )?(?:groundwork|foundation)|foundation for|future (?:work|research|"
         r"directions|studies)|broader (?:impact|applicability|adoption|use)|real[- ]world "
         r"(?:applications?|deployment|impact|settings|use)|practical (?:applications?|"
         r"implications|use|value|deployment|guidance|tool)|practitioners|insights? (?:into|for|on)|"
         r"underscor\w+|highlight\w* the (?:need|importance|potential|value|promise)|"
         r"call\w* for|inform\w* the design|guid\w+ (?:the |future )|advanc\w+ (?:the|our) "
         r"understanding|offers? (?:a|new) (?:perspective|path|way)|towards? (?:more )?(?:safe|"
         r"trustworthy|reliable|robust|general|efficient|scalable)|accessib\w+ to|democrati[sz]\w+)\b",
         2.0,
         hints=("pav", "open", "shed", "implication", "step", "groundwork", "foundation", "future", "broader", "real-world", "real world", "practical", "practitioner", "insight", "underscor", "highlight", "call", "inform", "guid", "advanc", "offer", "toward", "accessib", "democrati")),
    _cue(IMPLICATIONS, r"\b(?:could|may|might|can) (?:potentially )?(?:be (?:used|applied|"
         r"extended|adopted|leveraged|deployed|useful|valuable|beneficial|integrated)|enable|help|"
         r"benefit|facilitate|serve|inform|inspire|guide|support|accelerate)\b", 1.5,
         hints=("could ", "may ", "might ", "can "), word_start=True),
    _cue(IMPLICATIONS, r"^(?:this|our|the|these) (?:work|study|paper|framework|approach|method|"
         r"analysis|findings|results|insights)\b[^.;]{0,60}?\b(?:provides?|offers?|opens?|"
         r"advances?|represents?|establish\w*|contribut\w+|demonstrates? the (?:potential|"
         r"feasibility|promise|value)|enables?|paves?|suggests?|highlights?|underscores?|marks?|"
         r"bridges?|points?|facilitates?|motivates?|informs?|supports?|benefits?|calls?|invites?|"
         r"has (?:important |broad )?implications)\b", 1.5),
    _cue(IMPLICATIONS, r"\bmotivat\w+ (?:a|the|further|future|new)\b", 1.5,
         hints=("motivat",), word_start=True),
    _cue(IMPLICATIONS, r"\badvanc\w+ [^.;]{0,40}?\btowards?\b|\b(?:for|in) (?:\w+ ){0,3}?"
         r"(?:applications?|deployment|practice|industry|healthcare|accessibility)\b", 0.8,
         hints=("advanc", "application", "deployment", "practice", "industry", "healthcare", "accessibility")),
    _cue(IMPLICATIONS, r"\b(?:suggest\w*|indicat\w+|impl(?:y|ies)) that\b", 1.2,
         hints=(" that",), word_start=True),
)

# The background cues that make a sentence a problem statement (a gap, a limitation, a failure).
_PROBLEM_CUES = tuple(cue for cue in CUES if cue.problem)
_AUTHORIAL_RE = re.compile(
    r"(?:^|,\s|;\s|\bhere,?\s|\bthat\s)(?:we|our)\b|^(?:this|the present|in this) (?:paper|work|study|"
    r"article|survey|thesis)\b|^the authors\b"
)
_ASIDE_RE = re.compile(
    r"(?:https?://|github\.com|\b(?:code|data|dataset|datasets|models?|weights|checkpoints|"
    r"implementation|demo|project page|benchmark)(?: and \w+)? (?:is|are|will be|has been|have been)"
    r" (?:publicly |freely |openly )?(?:available|released|open[- ]sourced|accessible)\b)",
    re.IGNORECASE,
)
# Openers that make a sentence an elaboration of the one before it: it keeps that role.
_ELABORATION_RE = re.compile(
    r"^(?:to be (?:specific|precise)|(?:more )?specifically|in particular|for (?:example|instance)|"
    r"namely|that is|i\.e\.|e\.g\.|concretely|in detail|particularly|especially)\b"
)
_CONTINUATION_RE = re.compile(r"^(?:moreover|furthermore|additionally|in addition|also|besides|similarly|likewise)\b")

# How plausible each move from one sentence's role to the next is. Abstracts move forward
# (background -> method -> results -> implications); results and method interleave; going back
# to background after the contribution is rare.
_TRANSITIONS: dict[tuple[str, str], float] = {
    (BACKGROUND, BACKGROUND): 0.4, (BACKGROUND, METHOD): 0.0, (BACKGROUND, RESULTS): -0.5,
    (BACKGROUND, IMPLICATIONS): -1.0,
    (METHOD, BACKGROUND): -1.5, (METHOD, METHOD): 0.4, (METHOD, RESULTS): 0.0,
    (METHOD, IMPLICATIONS): -0.2,
    (RESULTS, BACKGROUND): -2.5, (RESULTS, METHOD): -0.3, (RESULTS, RESULTS): 0.4,
    (RESULTS, IMPLICATIONS): 0.0,
    (IMPLICATIONS, BACKGROUND): -2.5, (IMPLICATIONS, METHOD): -1.5, (IMPLICATIONS, RESULTS): -0.8,
    (IMPLICATIONS, IMPLICATIONS): 0.4,
}
# Per role, the moves into it from each previous role, in ROLES order (read once per sentence).
_ARRIVALS: dict[str, tuple[tuple[str, float], ...]] = {
    role: tuple((previous, _TRANSITIONS[(previous, role)]) for previous in ROLES) for role in ROLES
}
_ELABORATION_BONUS = 2.5  # "To be specific, ..." keeps the previous sentence's role
_CONTINUATION_BONUS = 0.8  # "Moreover, ..." usually does too


# --- contribution -------------------------------------------------------------------------------

_CONTRIBUTION_PARTS = (
    rf"\b{_SELF}\s+{_ADVERB}(?:propose|introduce|present|develop|design|devise|describe|put forward|"
    r"create|build|construct|release|curate|contribute|formulate|offer)\w*\b",
    rf"\b{_SELF}\s+{_ADVERB}provides? (?:a|an|the first|the|new|two|three)\b",
    r"^it (?:\w+ly )?(?:introduces|presents|proposes|is an? |offers|provides an? )"
    r"|^(?:this|these) (?:paper|work|survey|review|tutorial|notes|lecture notes|chapter|book|"
    r"thesis|monograph|primer|report|article|overview|guide|handbook) (?:is|are|provides?|presents?|"
    r"covers?|introduces?|offers?|reviews?|surveys?|summari[sz]es?|describes?|accompan\w+|"
    r"serves? as|aims? to)\b",
)
_contribution_found = any_search(*_CONTRIBUTION_PARTS)
_CONTRIBUTIONS_LIST_RE = re.compile(r"\bour (?:main |key |primary )?contributions? (?:is|are|include)\b")
_FINDING_RE = re.compile(
    rf"^(?:{_SELF}|our (?:results|analysis|findings|experiments))\s+{_ADVERB}(?:show|find|"
    r"demonstrate|prove|establish|reveal|identify|uncover|discover|argue|observe)\w*\b"
)
_STUDY_PATTERN = (
    rf"\b{_SELF}\s+{_ADVERB}(?:stud|investigat|explor|analy[sz]|examin|consider|address|tackl|"
    r"conduct|aim|focus|revisit|rethink|review|survey|provid|evaluat|characteri[sz]|formali[sz]|"
    r"model|frame|define|extend|generali[sz]|apply|use|leverag|employ|adopt|train|benchmark)\w*\b"
)
_study_found = any_search(_STUDY_PATTERN)
# "Finally, ..." or "we also ...": a secondary contribution (two patterns, so that the opener is
# only tried at the start and the "we" only where the sentence has one).
_SECONDARY_RE = re.compile(
    r"^(?:finally|in addition|additionally|moreover|furthermore|also|lastly|besides|then|next|"
    r"second(?:ly)?|third(?:ly)?)\b"
)
_SECONDARY_WE_RE = re.compile(r"\bwe (?:also|further|additionally|finally|then)\b")
_SECONDARY_WE_HINTS = ("we also", "we further", "we additionally", "we finally", "we then")  # what it needs
_FRAMING_RE = re.compile(
    r"\b(?:consider|address|study|tackle|introduce|formulate|define) (?:the|this|these|a) "
    r"(?:\w+ ){0,2}?(?:problem|question|task|setting|issue|challenge)s?\b"
)
_FRAME_RE = re.compile(
    r"^(?:(?:to|for|in order to|with|by|after|when|once|unlike|building on|based on|using|given|"
    r"inspired by|motivated by)\b(?:[^,;()]|\([^()]*\)){0,100},\s*|(?:specifically|concretely|moreover|furthermore|"
    r"additionally|in addition|finally|then|to this end|as a result|thus|hence)\s*,?\s*)"
)


def _subject_view(lowered: str, name: str, acronyms: tuple[str, ...]) -> str:
    """The sentence as the cues read it: a framing opener ("To support deployment, ...") is
    dropped and the method's name as subject becomes "it" ("ZIA utilizes" -> "it utilizes";
    "Zero-Input AI (ZIA) introduces" -> "it introduces")."""
    core = _FRAME_RE.sub("", lowered, count=1)
    for subject in (name, *acronyms):
        if not subject:
            continue
        if core.startswith(subject) and (len(core) == len(subject) or not core[len(subject)].isalnum()):
            return "it" + core[len(subject) :]
        defined = core.find(f"({subject})")
        after = core[defined + len(subject) + 2 :] if defined > 0 else ""
        # "Zero-Input AI (ZIA) introduces ...": the name defined as the subject, a verb after it
        # (not "This paper introduces Modular Decomposition (MoDeGPT), a ...").
        if 0 < defined <= 60 and "," not in core[:defined] and re.match(r"^ (?:\w+ly )?[a-z]+s\b", after) \
                and not re.match(r"^(?:we|this|these|our|the paper|in this|here)\b", core):
            return "it" + after
    return core if core != lowered and core.startswith(("we ", "our ", "this ", "the ")) else lowered


@dataclass(frozen=True, slots=True)
class _Sentence:
    index: int
    text: str
    lowered: str
    role: str
    evidence: dict[str, float]
    salience: float
    contribution: float
    aside: bool
    traits: dict[str, float]
    quantitative: bool  # states a number with a unit of improvement (12.5%, 3x, 2 points)


_ANY_DIGIT_RE = re.compile(r"\d")


def _states_number(lowered: str) -> bool:
    """Whether a lowercased text states a number with a unit (`_RESULT_NUMBER`). Every part of
    the pattern needs a digit or "magnitude": most sentences have neither, and these two checks
    cost a tenth of the pattern."""
    if "magnitude" not in lowered and _ANY_DIGIT_RE.search(lowered) is None:
        return False
    return _number_found(lowered)
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


@lru_cache(maxsize=1024)  # a TL;DR is compared with every candidate bullet
def _content_words(text: str) -> list[str]:
    # ASCII text is lowercased once, not word by word (the same words: case maps A-Z to a-z only).
    words = _WORD_RE.findall(text.lower()) if text.isascii() else [m.lower() for m in _WORD_RE.findall(text)]
    return [w for w in words if len(w) > 2 and w not in _STOPWORDS]


# The cues that apply to a sentence by the authors and to one by others, as (role, weight,
# hints, search) rows: role_evidence runs for every sentence of every abstract, and a flat row
# costs less to read than a Cue's attributes and method.
_CUE_ROWS: dict[bool, tuple[tuple[str, float, tuple[str, ...], Callable[[str], object]], ...]] = {
    authorial: tuple((cue.role, cue.weight, cue.hints, cue.matcher) for cue in CUES
                     if cue.authorial is None or cue.authorial == authorial)
    for authorial in (False, True)
}


def role_evidence(lowered: str, *, authorial: bool) -> dict[str, float]:
    """The summed weight of the cues of each role found in one lowercased sentence (the same
    answer as asking each cue's `found_in`)."""
    scores = dict.fromkeys(ROLES, 0.0)
    contains = lowered.__contains__
    for role, weight, hints, search in _CUE_ROWS[authorial]:
        if hints and not any(map(contains, hints)):
            continue
        if search(lowered):
            scores[role] += weight
    return scores


def _position_prior(index: int, count: int) -> dict[str, float]:
    """Abstracts open with background and close with results or a wrap-up."""
    position = index / max(1, count - 1)
    return {
        BACKGROUND: 1.0 - 2.0 * position + (0.8 if index == 0 else 0.0),
        METHOD: 0.3,
        RESULTS: 0.8 * position,
        IMPLICATIONS: (1.0 if index == count - 1 and count > 2 else 0.0) + 0.3 * position - 0.3,
    }


def classify_roles(lowered: list[str], evidence: list[dict[str, float]], contribution: int | None,
                   authorial: list[bool] | None = None) -> list[str]:
    """The most plausible sequence of roles: each sentence's evidence plus its position prior,
    plus how plausible the move from the previous sentence's role is (Viterbi over 4 roles).
    The contribution sentence is a method sentence by definition."""
    count = len(lowered)
    if not count:
        return []
    emissions: list[dict[str, float]] = []
    for index, scores in enumerate(evidence):
        prior = _position_prior(index, count)
        if authorial and authorial[index]:
            prior[BACKGROUND] = min(prior[BACKGROUND], 0.0)  # "We explore X" opens, but is no background
        emission = {role: scores[role] + prior[role] for role in ROLES}
        if index == contribution:
            emission = {role: (0.0 if role == METHOD else -100.0) for role in ROLES}
        emissions.append(emission)
    best: list[dict[str, float]] = [emissions[0]]
    back: list[dict[str, str]] = [{}]
    for index in range(1, count):
        bonus = (_ELABORATION_BONUS if _ELABORATION_RE.match(lowered[index])
                 else _CONTINUATION_BONUS if _CONTINUATION_RE.match(lowered[index]) else 0.0)
        scores_here: dict[str, float] = {}
        pointers: dict[str, str] = {}
        before = best[-1]
        for role in ROLES:
            # The best previous role (the first of equals, in ROLES order) and its score.
            top_role, top = "", float("-inf")
            for previous, move in _ARRIVALS[role]:
                value = before[previous] + move + (bonus if previous == role else 0.0)
                if value > top:
                    top_role, top = previous, value
            scores_here[role] = top + emissions[index][role]
            pointers[role] = top_role
        best.append(scores_here)
        back.append(pointers)
    role = max(ROLES, key=lambda r: best[-1][r])
    roles = [role]
    for index in range(count - 1, 0, -1):
        role = back[index][role]
        roles.append(role)
    roles.reverse()
    return roles


# How much each trait of a sentence says "this is what the paper contributes" (the TL;DR).
# Set by hand, then checked against the SciTLDR-A dev split in two halves (weights fitted on one
# half score within a point of that on the other half; see bench/bench_summarize.py).
CONTRIBUTION_WEIGHTS: dict[str, float] = {
    "states_contribution": 3.0,  # "we propose / introduce / present ...", "This paper presents"
    "lists_contributions": 1.5,  # "Our contributions are ..."
    "states_finding": 0.75,  # "We show that ...", "We find ..."
    "describes_study": 1.2,  # "We study / investigate / analyze ..."
    "by_the_authors": 1.75,  # any "we" / "our" as a subject
    "secondary": -0.6,  # "Finally, we ...", "We also ..."
    "framing": -0.8,  # "We consider the problem of ..."
    "title_overlap": 2.25,  # share of the title's words it uses
    "salience": 0.35,  # how many of the abstract's recurring words it uses (0-3)
    "position": -1.25,  # 0 for the first sentence, 1 for the last
    "short": -0.5,  # fewer than 8 words
    "long": 0.5,  # more than 45 words
    "quantitative": 0.25,  # states a number with a unit
}


def _contribution_traits(lowered: str, index: int, count: int, title_words: set[str],
                         words: set[str], salience: float, by_authors: bool) -> dict[str, float]:
    """The traits weighed by CONTRIBUTION_WEIGHTS, for one sentence (`by_authors`: what
    `_by_the_authors` says of it, which the caller needs too)."""
    length = len(lowered.split())
    # All four need the authors, the paper or the method as the subject: skip them otherwise.
    authorish = lowered.startswith(("it ", "this ", "these ", "our ", "the paper", "the authors")) or any(
        word in lowered for word in ("we ", "paper", " work", "study", "our "))
    contribution = authorish and _contribution_found(lowered)
    listed = authorish and not contribution and "contribution" in lowered and bool(_CONTRIBUTIONS_LIST_RE.search(lowered))
    finding = authorish and not (contribution or listed) and bool(_FINDING_RE.search(lowered))
    study = authorish and not (contribution or listed or finding) and _study_found(lowered)
    return {
        "states_contribution": float(contribution),
        "lists_contributions": float(listed),
        "states_finding": float(finding),
        "describes_study": float(study),
        "by_the_authors": float(by_authors),
        "secondary": float(bool(_SECONDARY_RE.match(lowered)) or (any(map(lowered.__contains__, _SECONDARY_WE_HINTS)) and bool(_SECONDARY_WE_RE.search(lowered)))),
        "framing": float(any(map(lowered.__contains__, _FRAMING_HINTS)) and bool(_FRAMING_RE.search(lowered))),
        "title_overlap": len(title_words & words) / (len(title_words) + 1) if title_words else 0.0,
        "salience": salience,
        "position": index / max(1, count - 1),
        "short": float(length < 8),
        "long": float(length > 45),
        "quantitative": float(any(map(lowered.__contains__, _DIGITS)) and _number_found(lowered)),
    }


_FRAMING_HINTS = ("problem", "question", "task", "setting", "issue", "challenge")
_ASIDE_HINTS = ("http", "github", "available", "released", "open-sourced", "open sourced", "accessible")


def _by_the_authors(lowered: str) -> bool:
    """Whether the authors (or the method, as "it") are the subject of the sentence."""
    if lowered.startswith(("it ", "this ", "the present ", "in this ", "the authors")):
        return lowered.startswith("it ") or bool(_AUTHORIAL_RE.search(lowered))
    return ("we" in lowered or "our" in lowered) and bool(_AUTHORIAL_RE.search(lowered))


def _contribution_score(traits: dict[str, float]) -> float:
    """How plainly a sentence states what the paper contributes (the TL;DR candidate)."""
    return sum(CONTRIBUTION_WEIGHTS[name] * value for name, value in traits.items())


def _analyse(title: str, abstract: str) -> tuple[list[_Sentence], str]:
    """The abstract's sentences with roles, salience and contribution scores; the method name."""
    sentences = [s for s in split_sentences(abstract) if len(s) > 3]
    if not sentences:
        return [], ""
    lowered = [s.lower() for s in sentences]
    asides = [len(s) < 220 and any(map(low.__contains__, _ASIDE_HINTS)) and bool(_ASIDE_RE.search(s))
              for s, low in zip(sentences, lowered, strict=True)]
    words_per_sentence = [_content_words(s) for s in sentences]
    frequency: Counter[str] = Counter()
    for words in words_per_sentence:
        frequency.update(set(words))
    title_words = set(_content_words(title))
    for word in title_words:
        frequency[word] += 2
    saliences = []
    for words in words_per_sentence:
        distinct = set(words)
        saliences.append(sum(frequency[w] - 1 for w in distinct) / (len(distinct) ** 0.5 + 1.0))
    top = max(saliences) or 1.0
    count = len(sentences)
    # The title's "Name:" prefix names the method before the contribution sentence is known.
    provisional = method_name(title, abstract)
    views = [_subject_view(low, provisional.lower(), ()) for low in lowered]
    by_authors = [_by_the_authors(view) for view in views]
    traits = [
        _contribution_traits(views[i], i, count, title_words, set(words_per_sentence[i]), 3.0 * saliences[i] / top,
                             by_authors[i])
        for i in range(count)
    ]
    contributions = [-100.0 if asides[i] else _contribution_score(traits[i]) for i in range(count)]
    main = max(range(count), key=lambda i: (contributions[i], -i))
    name = method_name(title, abstract, sentences[main])
    # Sentences about the method ("ZIA employs ...", "It achieves ...") count as the authors'.
    authorial = by_authors
    if name.lower() != provisional.lower():
        renamed = [_subject_view(low, name.lower(), (provisional.lower(),)) for low in lowered]
        authorial = [known if new == old else _by_the_authors(new)
                     for new, old, known in zip(renamed, views, by_authors, strict=True)]
        views = renamed
    evidence = [role_evidence(view, authorial=by_authors) for view, by_authors in zip(views, authorial, strict=True)]
    kept = [i for i in range(count) if not asides[i]]
    roles_kept = classify_roles([views[i] for i in kept], [evidence[i] for i in kept],
                                kept.index(main) if main in kept else None, [authorial[i] for i in kept])
    roles = dict(zip(kept, roles_kept, strict=True))
    analysed = [
        _Sentence(i, sentences[i], views[i], roles.get(i, METHOD), evidence[i], saliences[i],
                  contributions[i], asides[i], traits[i], _states_number(views[i]))
        for i in range(count)
    ]
    return analysed, name


# --- writing ------------------------------------------------------------------------------------


def _overlap(a: str, b: str) -> float:
    wa, wb = set(_content_words(a)), set(_content_words(b))
    return len(wa & wb) / max(1, min(len(wa), len(wb)))


@lru_cache(maxsize=1024)  # several passes ask for the same bullet
def _point(sentence: str, limit: int, name: str, after_contribution: int = 0, introduced: str = "",
           *, min_words: int = 4) -> str | None:
    """A sentence rewritten as a bullet that stands alone, or None when it cannot be."""
    text = compress(sentence, limit, name=name, keep=(name,) if name else ())
    if text is None:
        return None
    text = resolve_reference(text, name, after_contribution=after_contribution, introduced=introduced)
    if text is None:
        return None
    text = shorten(text, limit)
    if text is None or shape_problems(text, limit) or len(text.split()) < min_words:
        return None
    return text


_JOIN_ROOM = 120  # a TL;DR this short has room for the main quantitative result


def _result_clause(sentence: _Sentence, room: int, name: str) -> str | None:
    """The main result as a clause to join to the TL;DR ("it cuts memory by 2x")."""
    clause = _point(sentence.text, room, name)
    if clause is None or not _states_number(clause.lower()):
        return None
    if name and clause.startswith(name + " "):
        clause = "it " + clause[len(name) + 1 :]
    elif not clause[:2].isupper() and not re.match(r"^[A-Z][a-z]*[A-Z0-9]", clause):
        clause = clause[:1].lower() + clause[1:]
    return clause


def _tldr(sentences: list[_Sentence], name: str, title: str) -> tuple[str, _Sentence | None]:
    """The TL;DR and the sentence it comes from (see the module docstring): of the six most
    contribution-like sentences that can be rewritten as one, the one whose rewrite also best
    restates the title and the rest of the abstract (see `_restatement`)."""
    # `best` is a lower bound of the best score so far: a candidate more than the largest bonus
    # below it cannot win, and neither can any after it (they come by contribution). The bonus is
    # only computed once a second candidate is in reach: most abstracts never need it.
    best = float("-inf")
    first: tuple[_Sentence, str] | None = None
    scored: list[tuple[float, int, _Sentence]] = []
    title_words: set[str] = set()
    abstract_words: Counter[str] = Counter()
    abstract_norm = 0.0
    for sentence in tldr_candidates(sentences)[:6]:
        if sentence.contribution + _MAX_RESTATEMENT < best:
            break
        if first is not None and not scored:
            # A second candidate in reach: the first one's bonus now decides, and may put this
            # one out of reach before it is rewritten.
            title_words = set(_content_words(title))
            abstract_words = Counter(word for s in sentences for word in _content_words(s.text))
            abstract_norm = float(sum(count * count for count in abstract_words.values()))
            lead, lead_point = first
            lead_score = lead.contribution + _restatement(lead_point, lead.text, title_words, abstract_words, abstract_norm)
            scored.append((-lead_score, lead.index, lead))
            best = max(best, lead_score)
            if sentence.contribution + _MAX_RESTATEMENT < best:
                break
        point = _point(sentence.text, TLDR_LIMIT, name)
        if point is None or len(point.split()) < 5:  # "Makes four key contributions." says nothing
            continue
        if first is None:
            first, best = (sentence, point), sentence.contribution
            continue
        score = sentence.contribution + _restatement(point, sentence.text, title_words, abstract_words, abstract_norm)
        scored.append((-score, sentence.index, sentence))
        best = max(best, score)
    choices = scored or ([(0.0, first[0].index, first[0])] if first else [])
    if choices:
        sentence = min(choices)[2]
        text = tldr_from(sentence, sentences, name)
        if text is not None:
            return text, sentence
    fallback = shorten(title_as_one_sentence(title), TLDR_LIMIT) if title else None
    return fallback or finish(" ".join(title.split()[:20])), None


# How much a TL;DR candidate gains from restating the title (the share of the title's content
# words its rewrite uses) and the rest of the abstract (the cosine of its rewrite's content words
# with those of the other sentences): SciTLDR targets restate both. Fitted on the even half of
# the SciTLDR-A dev split (a grid over 0-4 for each): ROUGE-1 +0.66 there, +0.26 on the odd half;
# over 8 random half-splits, fitted on one half, +0.37 on the other (sd 0.21, never negative).
TITLE_RECALL_WEIGHT = 2.0
CENTROID_WEIGHT = 2.0
_MAX_RESTATEMENT = TITLE_RECALL_WEIGHT + CENTROID_WEIGHT  # both shares are at most 1


def _restatement(point: str, sentence: str, title_words: set[str], abstract_words: Counter[str],
                 abstract_norm: float) -> float:
    """The bonus of one rewritten candidate for how much of the title and the rest of the
    abstract it restates (see TITLE_RECALL_WEIGHT). `abstract_norm` is the sum of the squared
    word counts of the whole abstract; the rest's counts are the abstract's minus the sentence's,
    computed here without building a Counter for it (this runs for six candidates per abstract)."""
    words = Counter(_content_words(point))
    if not words:
        return 0.0
    own = Counter(_content_words(sentence))
    rest_norm = abstract_norm
    for word, count in own.items():
        total = abstract_words[word]
        rest_norm -= total * total - max(0, total - count) ** 2
    dot = sum(count * max(0, abstract_words[word] - own[word]) for word, count in words.items())
    title_recall = len(title_words & words.keys()) / len(title_words) if title_words else 0.0
    norms = sqrt(sum(c * c for c in words.values())) * sqrt(rest_norm) if rest_norm > 0 else 0.0
    return TITLE_RECALL_WEIGHT * title_recall + CENTROID_WEIGHT * (dot / norms if norms else 0.0)


def tldr_candidates(sentences: list[_Sentence]) -> list[_Sentence]:
    """The sentences that may become the TL;DR, most contribution-like first."""
    # Background is never the contribution, unless the abstract has nothing else.
    pool = [s for s in sentences if not s.aside and s.role != BACKGROUND] or [s for s in sentences if not s.aside]
    return sorted(pool, key=lambda s: (-s.contribution, s.index))


def tldr_from(sentence: _Sentence, sentences: list[_Sentence], name: str) -> str | None:
    """The TL;DR made from one sentence of the abstract, or None when it cannot make one."""
    text = _point(sentence.text, TLDR_LIMIT, name)
    if text is None or len(text.split()) < 5:  # "Makes four key contributions." says nothing
        return None
    if len(text) <= _JOIN_ROOM:
        results = sorted((s for s in sentences if s.role == RESULTS and s.quantitative and s.index != sentence.index),
                         key=lambda s: (-s.evidence[RESULTS], s.index))
        for result in results[:2]:
            clause = _result_clause(result, TLDR_LIMIT - len(text) - 1, name)
            if clause and _overlap(clause, text) < 0.6:
                text = f"{text[:-1]}; {clause}"
                break
    abstract = " ".join(s.text for s in sentences)
    text = expand_acronyms(text, acronym_definitions(abstract), TLDR_LIMIT, keep=(name,))
    # "The paper proposes X" rather than "Proposes X": a whole sentence (and on SciTLDR-A dev
    # ROUGE-1 +0.7 on both halves); left as "Proposes X" where it would not fit.
    subject = with_the_paper_as_subject(text, sentence.text)
    return subject if len(subject) <= TLDR_LIMIT else text


def title_as_one_sentence(title: str) -> str:
    """A title read as one sentence, for a TL;DR that falls back to it: a title of several
    sentences ("Patience is all you need! An agentic system ...") has its breaks joined with a
    colon, since a TL;DR is one sentence."""
    parts = split_sentences(title)
    if len(parts) <= 1:
        return title
    return ": ".join(part.rstrip(".!?") if i < len(parts) - 1 else part for i, part in enumerate(parts))


def _pick(pool: list[_Sentence], name: str, taken: list[str], used: set[int], role: str,
          main: _Sentence | None) -> tuple[str, _Sentence] | None:
    for sentence in pool:
        if sentence.index in used:
            continue
        for point in _point_options(sentence, _name_for(sentence, name, main), role, _place(sentence, main)):
            if all(_overlap(point, other) < 0.7 for other in taken):
                return point, sentence
    return None


# A relative or participial clause that says something about the method on its own: told with
# the method as subject it is a bullet ("X, which outperforms Y" -> "<name> outperforms Y").
_PROMOTABLE_RE = re.compile(
    r",\s+(?:which|and)\s+(?:can\s+|also\s+|further\s+|thereby\s+|then\s+)?(?=(?:\w+ly\s+)?[a-z]+s?\b)"
    r"|,\s+whose\s+(?=[a-z])"
    r"|,\s+(?=[a-z]+ing\b)"
)
# A participle clause of the paper's sentence, told as the paper's claim ("..., covering X" ->
# "Covers X"): the verbs whose participles abstracts use.
_PARTICIPLE_VERBS = _wordset(
    """achieve outperform improve reduce surpass yield attain match boost deliver enable allow
    leverage use combine require cover provide make include introduce propose offer show
    demonstrate reveal highlight suggest establish capture address bridge span range focus explore
    examine analyze identify generate produce extend support feature comprise contain integrate
    incorporate learn train predict model represent encode exploit lead open pave eliminate
    remove avoid ensure preserve maintain retain lower speed accelerate scale generalize explain
    formalize characterize measure evaluate benchmark compare discuss review survey summarize
    organize categorize outline present describe detail"""
)


def _ing(verb: str) -> str:
    return verb[:-1] + "ing" if verb.endswith("e") and not verb.endswith("ee") else verb + "ing"


_GERUND_TO_VERB = {_ing(verb): third_person(verb) for verb in _PARTICIPLE_VERBS}
_GERUND_TO_VERB.update({"unifying": "unifies", "mapping": "maps", "modelling": "models", "cutting": "cuts",
                        "shedding": "sheds", "spanning": "spans", "quantifying": "quantifies"})
_NOT_PREDICATES = _wordset("is are was were has have can could may might will would should")
_ARTICLES = _wordset("a an the this these that those its their")
_BASE_VERBS = _wordset(
    "achieve outperform improve reduce surpass match yield attain boost deliver enable allow "
    "leverage use combine require learn capture provide offer support generalize scale exceed"
)


def _promoted_clauses(text: str, name: str) -> list[str]:
    """The method-describing clauses of a sentence, each retold with the method as subject."""
    clauses: list[str] = []
    for match in _PROMOTABLE_RE.finditer(text):
        tail = text[match.end() :]
        first, _, rest = tail.partition(" ")
        if not rest:
            continue
        if match.group(0).rstrip().endswith("whose"):
            if name:
                clauses.append(f"{name}'s {first} {rest}")
            continue
        after_and = match.group(0).lstrip(", ").startswith("and")
        if first in _GERUND_TO_VERB:
            verb = _GERUND_TO_VERB[first]
        elif first in _ARTICLES or (after_and and first in _NOT_PREDICATES):
            continue  # "X, and a Y" continues a list, not a clause
        elif first.endswith("ly"):
            # "..., effectively removing X" -> "<name> effectively removes X"; an adverb before a
            # gerund this cannot conjugate would leave "Effectively removing X.": no bullet.
            second, _, after = rest.partition(" ")
            if second in _GERUND_TO_VERB and after:
                verb, rest = f"{first} {_GERUND_TO_VERB[second]}", after
            elif second.endswith("ing"):
                continue
            else:
                verb = first
        elif first in _NOT_PREDICATES:
            if not name:
                continue  # "X, which is helpful for Y" without a name would be "Is helpful for Y"
            verb = first
        elif first.endswith(("s", "ed")) or first in _BASE_VERBS:
            verb = first if first.endswith(("s", "ed")) else third_person(first)
        else:
            continue
        # Without a name the subject is the paper, as in "Proposes X": "Provides Y".
        subject = f"{name[:1].upper()}{name[1:]} {verb}" if name else f"{verb[:1].upper()}{verb[1:]}"
        clauses.append(f"{subject} {rest}")
    return clauses


def _name_for(sentence: _Sentence, name: str, main: _Sentence | None) -> str:
    """The method's name where "This framework" can mean it: from the contribution sentence on
    (before it, "this framework" is somebody else's)."""
    return name if main is None or sentence.index >= main.index else ""


def _place(sentence: _Sentence, main: _Sentence | None) -> int:
    """Where a sentence stands from the contribution sentence (see `resolve_reference`)."""
    if main is None or sentence.index <= main.index:
        return 0
    return 1 if sentence.index == main.index + 1 else 2


def _point_options(sentence: _Sentence, name: str, role: str, place: int = 0) -> list[str]:
    """Ways to say one sentence as a bullet, best first: its enumerated items, the sentence
    compressed, or a clause of it retold with the method as subject. For a result, the option
    that keeps the number or the comparison comes first."""
    items = [p for p in (_point(item, KEY_POINT_LIMIT, name, place) for item in _enumerated(sentence.text)) if p]
    if items:
        return items
    whole = _point(sentence.text, KEY_POINT_LIMIT, name, place)
    options = [whole] if whole else []
    if whole and (role != RESULTS or _states_claim(whole.lower())):
        return options  # the sentence itself will do; its clauses are only needed otherwise
    if name:
        options += [p for p in (_point(c, KEY_POINT_LIMIT, name) for c in _promoted_clauses(sentence.text, name)) if p]
    if role == RESULTS:
        options.sort(key=lambda option: not _states_claim(option.lower()))
    return options


_CLAIM_RE = re.compile(_RESULT_NUMBER + r"|\b(?:outperform\w*|surpass\w*|state[- ]of[- ]the[- ]art|"
                       r"better|faster|comparable|competitive|exceed\w*|improv\w*|reduc\w*)\b")
_CLAIM_WORDS = ("outperform", "surpass", "state", "better", "faster", "comparable", "competitive", "exceed",
                "improv", "reduc")  # every word alternative of _CLAIM_RE contains one


def _states_claim(lowered: str) -> bool:
    """Whether a lowercased text states a number or a comparison (`_CLAIM_RE`), the pattern only
    tried where one of its alternatives can match (see `_states_number`)."""
    if not any(map(lowered.__contains__, _CLAIM_WORDS)):
        return _states_number(lowered)
    return _CLAIM_RE.search(lowered) is not None
_TRAILING_AND_RE = re.compile(r"(?:[;,]\s*|\s+)(?:and|or)$")
_ENUMERATION_RE = re.compile(r"(?:^|[\s:;,])\((?:\d|i{1,3}|iv|v|vi{0,3}|[a-e])\)\s*")


def _enumerated(text: str) -> list[str]:
    """The items of an enumeration ("(1) an analysis ...; (2) conditions ...") as bullets."""
    if "(" not in text:  # every marker has one; most sentences have none
        return []
    parts = _ENUMERATION_RE.split(text)
    if len(parts) < 3:
        return []
    items = [_TRAILING_AND_RE.sub("", part.strip(" ;,.")).strip(" ;,") for part in parts[1:]]
    # "decoupling (1) the causal structure X from (2) Y": an item ending on "from" is no item.
    return [item[:1].upper() + item[1:] for item in items
            if len(item) > 15 and item.rsplit(" ", 1)[-1].lower() not in TRAILING_STOP]


def _key_points(sentences: list[_Sentence], main: _Sentence | None, tldr: str, name: str) -> tuple[str, ...]:
    """3-4 bullets: the method, the main result (with its number), the implication, then more
    method and result points; never background."""
    def by_strength(role: str) -> list[_Sentence]:
        pool = [s for s in sentences if s.role == role and not s.aside]
        return sorted(pool, key=lambda s: (-(s.evidence[role] + 0.3 * s.salience), s.index))

    methods = by_strength(METHOD)
    results = by_strength(RESULTS)
    results.sort(key=lambda s: (not s.quantitative, -(s.evidence[RESULTS] + 0.3 * s.salience), s.index))
    implications = sorted(by_strength(IMPLICATIONS), key=lambda s: -s.index)
    used = {main.index} if main else set()
    taken = [tldr]
    chosen: list[tuple[str, _Sentence]] = []

    def add(point: str, sentence: _Sentence) -> None:
        chosen.append((point, sentence))
        taken.append(point)
        used.add(sentence.index)

    for pool, role in ((methods, METHOD), (results, RESULTS), (implications, IMPLICATIONS)):
        picked = _pick(pool, name, taken, used, role, main)
        if picked:
            add(*picked)
    for pool, role in ((results, RESULTS), (methods, METHOD)):
        while len(chosen) < MAX_KEY_POINTS:
            picked = _pick(pool, name, taken, used, role, main)
            if not picked:
                break
            add(*picked)
    if len(chosen) < MIN_KEY_POINTS:
        # Short abstracts: more than one bullet from one sentence: its enumerated items, its
        # coordinated claims ("Proposes X and shows Y"), its clauses told with the method as
        # subject; the contribution sentence first, for what the TL;DR left out.
        for sentence in sorted(sentences, key=lambda s: (s is not main, s.index)):
            if sentence.role == BACKGROUND or sentence.aside:
                continue
            own_name = _name_for(sentence, name, main)
            for part in _parts(sentence.text, own_name):
                point = _point(part, KEY_POINT_LIMIT, own_name, _place(sentence, main))
                if point and all(_overlap(point, other) < 0.7 for other in taken):
                    chosen.append((point, sentence))
                    taken.append(point)
                if len(chosen) >= MIN_KEY_POINTS:
                    break
            if len(chosen) >= MIN_KEY_POINTS:
                break
    if len(chosen) < MIN_KEY_POINTS:
        # Still short: what the authors did, said without the sentence before it ("The method
        # surpasses X" -> "The paper's method surpasses X"; "This enables X" -> "Enables X").
        for sentence in sorted(sentences, key=lambda s: s.index):
            if sentence.role == BACKGROUND or sentence.aside or sentence is main or len(chosen) >= MIN_KEY_POINTS:
                continue
            after = 1 if main is not None and sentence.index > main.index else 0
            point = _point(sentence.text, KEY_POINT_LIMIT, _name_for(sentence, name, main), after,
                           main.text if main else "")
            if point and all(_overlap(point, other) < 0.7 for other in taken):
                chosen.append((point, sentence))
                taken.append(point)
    if len(chosen) < MIN_KEY_POINTS and main is not None:
        # Nothing else to say: the contribution is the method bullet, in its shortest whole form.
        whole = _point(main.text, KEY_POINT_LIMIT, name)
        if whole:
            shortest = min((h for h in _point_heads(whole) if len(h.split()) >= 6), key=len, default=whole)
            if shortest != tldr and all(_overlap(shortest, other) < 0.7 for other in taken[1:]):
                chosen.append((shortest, main))
    order = {role: i for i, role in enumerate(ROLES)}
    chosen.sort(key=lambda item: (order[item[1].role], item[1].index))
    return tuple(dict.fromkeys(point for point, _ in chosen))[:MAX_KEY_POINTS]


def _point_heads(point: str) -> list[str]:
    """The point and its shorter whole-clause heads, longest first."""
    return [point, *(finish(head) for head in clause_heads(point.rstrip(".!?")))]


_CLAUSE_SPLIT_RE = re.compile(r";\s+|,\s+(?:while|whereas|but)\s+")
_BY_THE_AUTHORS_RE = re.compile(
    r"^(?:[^,]{0,80},\s*)?(?:we|(?:this|these|the) (?:paper|work|study|notes|survey|review|tutorial|"
    r"article|chapter|book|thesis|report|manuscript)|here,? we|in this (?:paper|work),? we)\s",
    re.IGNORECASE,
)
_COORDINATED_RE = re.compile(r"(?:,\s+and\s+|\s+and\s+|,\s+)(?=(?:\w+ly\s+)?[a-z]+s\b)")
_SUBJECTLESS_RE = re.compile(r"^[A-Z][a-z]+(?:s|es)\b")


def _parts(text: str, name: str) -> list[str]:
    """Sentence parts that can each be a bullet (see `_key_points`): enumerated items, clauses
    ("X; it runs on Y"), coordinated claims split apart ("runs on Y and matches Z" -> "runs on
    Y", "matches Z"), and clauses told with the method as subject."""
    enumerated = _enumerated(text)
    if enumerated:
        return enumerated
    parts: list[str] = []
    for clause in _clauses(text) or [text]:
        parts += [*_coordinated(clause, name), clause]
    if _BY_THE_AUTHORS_RE.match(text):
        # "We propose X, which outperforms Y": the "which" is the method.
        parts += _promoted_clauses(text, name)
    return parts


def _coordinated(text: str, name: str) -> list[str]:
    """Two claims joined by "and" as two bullets, each with its subject; [] when not that."""
    spoken = compress(text, 10_000, name=name, keep=(name,) if name else ())
    spoken = resolve_reference(spoken, name) if spoken else None
    if not spoken:
        return []
    cuts = [m for m in _COORDINATED_RE.finditer(spoken) if is_clause_verb(spoken[m.end() :].split(" ", 1)[0])]
    if not cuts:
        return []
    pieces = [spoken[a.end() if a else 0 : b.start() if b else len(spoken)]
              for a, b in zip([None, *cuts], [*cuts, None], strict=True)]
    head = pieces[0]
    if _SUBJECTLESS_RE.match(head):
        return [head] + [p[:1].upper() + p[1:] for p in pieces[1:]]
    if name and head.lower().startswith(name.lower()):
        return [head] + [f"{head[: len(name)]} {p}" for p in pieces[1:]]
    return []


def _clauses(text: str) -> list[str]:
    """Clause-sized parts of one long sentence (for abstracts too short for three bullets); a
    part that opens with a participle ("exhibiting less oscillation") is not a clause."""
    parts = [part.strip() for part in _CLAUSE_SPLIT_RE.split(text)]
    return [p for p in parts if len(p) > 25 and not _opens_with_participle(p)]


def _opens_with_participle(text: str) -> bool:
    """ "exhibiting less oscillation", "effectively removing X": a participle, after an adverb
    or not, opens no clause."""
    words = text.lower().split(" ", 2)
    first = words[1] if len(words) > 1 and words[0].endswith("ly") else words[0]
    return first.endswith(("ing", "ed"))


def _section(sentences: list[_Sentence]) -> str:
    ordered = sorted(sentences, key=lambda s: s.index)
    return clamp_sentences([reported(resolve_reference(s.text) or s.text) for s in ordered], SECTION_LIMIT)


def _sections(sentences: list[_Sentence], main: _Sentence | None) -> dict[str, str]:
    """Summary / Methodology / Results / Implications from the sentences of each role."""
    body = [s for s in sentences if not s.aside]
    background = [s for s in body if s.role == BACKGROUND]
    summary_parts = background[:1] + ([main] if main and main not in background[:1] else [])
    methods = [s for s in body if s.role == METHOD and s is not main][:3] or ([main] if main else [])
    results = [s for s in body if s.role == RESULTS]
    if not results:
        # A result stated inside the contribution or a method sentence still is a result.
        results = [s for s in body if s.role != BACKGROUND and s.evidence[RESULTS] >= 2.0][:2]
    implications = [s for s in body if s.role == IMPLICATIONS]
    if not implications:
        implications = [s for s in body if s.evidence[IMPLICATIONS] >= 2.0 and s.role != BACKGROUND][-1:]
    return {
        "summary": _section(summary_parts),
        "methodology": _section(methods),
        "results": _section(results[:4]),
        "implications": _section(implications[-2:]),
    }


def _context(point: str) -> str:
    return f"Context: {point[:1].lower() if point[1:2].islower() else point[:1]}{point[1:]}"


def _last_resort_points(sentences: list[_Sentence], main: _Sentence | None, tldr: str, title: str,
                        points: tuple[str, ...]) -> tuple[str, ...]:
    """Bullets for an abstract that states fewer than three things besides its background (a
    short survey, lecture notes, a position paper, a two-line post), in this order: the
    contribution in a few words, one context sentence that states no problem (labelled as
    context, so it is not read as a finding), the subject from the title, any other sentence
    (labelled as context too)."""
    found = list(points)

    def fits(point: str | None) -> bool:
        return bool(point) and point != tldr and all(_overlap(point or "", other) < 0.7 for other in found)

    if main is not None:
        short = _point(main.text, KEY_POINT_LIMIT, "", min_words=2)
        if short and fits(short):
            found.append(short)
        # Then the contribution's own clauses ("..., which draws on X" -> "Draws on X"), even
        # where the TL;DR says them too: better than a background sentence.
        by_authors = bool(_BY_THE_AUTHORS_RE.match(main.text))
        # Here even a "which" without its comma ("a direction which draws on X") will do.
        loose = main.text.replace(" which ", ", which ") if by_authors else main.text
        for clause in _promoted_clauses(loose, "") if by_authors else []:
            point = _point(clause, KEY_POINT_LIMIT, "")
            if len(found) < MIN_KEY_POINTS - 1 and point and point != tldr and all(
                    _overlap(point, other) < 0.7 for other in found):
                found.append(point)
    room = KEY_POINT_LIMIT - len("Context: ")
    for sentence in sentences:
        if len(found) >= MIN_KEY_POINTS - 1:
            break
        if sentence.role == BACKGROUND and not sentence.aside and not any(
                cue.found_in(sentence.lowered) for cue in _PROBLEM_CUES):
            point = _point(sentence.text, room, "")
            if point and fits(point):
                found.append(_context(point))
    topic = shorten(f"Topic: {title}", KEY_POINT_LIMIT) if title else None
    if len(found) < MIN_KEY_POINTS and topic and topic not in found:
        found.append(topic)
    for sentence in sentences:
        if len(found) >= MIN_KEY_POINTS:
            break
        point = _point(sentence.text, room, "", min_words=2) if sentence is not main else None
        if point and fits(point):
            found.append(point if sentence.role != BACKGROUND else _context(point))
    return tuple(found[:MAX_KEY_POINTS])


def forget_memos() -> None:
    """Empty the per-sentence memos (benchmarks call this so that rounds do not share them)."""
    for memo in (_point, _content_words):
        memo.cache_clear()
    forget_rewrites()


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
    sentences, name = _analyse(title, abstract)
    if not sentences:
        tldr = (shorten(title_as_one_sentence(title), TLDR_LIMIT) or "") if title else ""
        return Summary(tldr=tldr, key_points=(), topics=topics, summarizer="offline",
                       model="", prompt_version=PROMPT_VERSION)
    tldr, main = _tldr(sentences, name, title)
    key_points = _key_points(sentences, main, tldr, name)
    if len(key_points) < MIN_KEY_POINTS:
        # Too little for three bullets: the TL;DR keeps the head of the contribution and leaves
        # its trailing clause ("..., providing X") to a bullet of its own.
        for head in (h for h in _point_heads(tldr)[1:] if len(h.split()) >= 6):
            shorter = _key_points(sentences, main, head, name)
            if len(shorter) > len(key_points):
                tldr, key_points = head, shorter
            if len(key_points) >= MIN_KEY_POINTS:
                break
    if len(key_points) < MIN_KEY_POINTS:
        key_points = _last_resort_points(sentences, main, tldr, title, key_points)
    sections = _sections(sentences, main)
    return Summary(
        tldr=tldr,
        key_points=key_points,
        summary=sections["summary"],
        methodology=sections["methodology"],
        results=sections["results"],
        implications=sections["implications"],
        topics=topics,
        summarizer="offline",
        model="",
        prompt_version=PROMPT_VERSION,
    )
