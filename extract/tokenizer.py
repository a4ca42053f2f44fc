"""A tokenizer that keeps the field's tokens whole: B-ALL, CAR-T, 4-1BB, IL-6, tisa-cel,
KTE-X19, CTL-019, ARI-0001, CD19-negative, r/r.

spaCy's English rules split a hyphen between letters ("B-ALL" is three tokens) and a
slash ("r/r"). This tokenizer starts from those rules, as scispaCy's
``combined_rule_tokenizer`` does, and changes them where the field's writing needs it:

- **Shapes** kept whole (the ``token_match`` pattern, tried on every whitespace-separated
  piece after its brackets and punctuation are stripped): hyphenated symbols with no
  lower-case letter (B-ALL, T-ALL, CAR-T, IL-6, 4-1BB, KTE-X19, CTL-019, ARI-0001,
  ZUMA-3); the short non-proprietary names that end in ``-cel`` (tisa-cel, obe-cel,
  brexu-cel); a marker's status (CD19-negative, MRD-positive, CD22-low); ``r/r``.
- **Infixes**: the hyphen before ``cel`` is never a split point, so "obe-cel-treated"
  gives "obe-cel", "-", "treated".
- **Special cases**: the lexicon's one-piece names with a hyphen or slash (SCRI-huCAR19,
  CART22-65s, allo-HSCT, Flu/Cy), as written and in lower, upper and capitalised form
  (:func:`case_variants`), so that a name is one token wherever it stands, even inside
  a longer string.

A shape is whole only as a whole piece (between spaces, once brackets and punctuation
are off): inside "IL-6/CAR-T" the "CAR-T" splits. A lexicon name is whole anywhere,
"brexu-cel/KTE-X19/Tecartus" included, because spaCy finds special cases inside longer
strings (the shape pattern leaves them to that rule, see :func:`token_match_pattern`).

Everything else splits as before: ordinary hyphenation ("first-line", "B-cell") and,
on purpose, a symbol joined to a word ("CD19-directed", "anti-CD22"), so that the
relation rules still see "directed" and "anti" as tokens of their own.

A whole token must not hide a name that is worth finding on its own:

- a shape is not kept whole when one of its hyphen-separated parts is a name in
  ``keep_apart`` (the lexicon's symbols: CD19, ALL, CRS...), so "CD19-CD22" still
  splits; the lexicon's own names (B-ALL) are special cases and stay whole;
- :func:`lexicon_tokenizer_config` makes no special case of a name that hides a name
  of another kind of entity: "CD19-28z" (a product named after its antigen) still
  splits, so the antigen inside it is found as a nested match, as the relation rules
  need; a name that hides one of its own kind ("B-ALL" holds "ALL") is the longer
  name, which the guidelines annotate alone;
- the one shape kept whole although it holds a name is the marker's status
  ("CD19-negative"): the lexicon matcher splits it again where no longer lexicon name
  covers it (see :mod:`cartkg.extract.entities`), so "CD19-negative relapse" is the
  disease and the CD19 of "CD19-negative blasts" is the antigen.

The lexicon's phrase patterns are tokenized by this same tokenizer
(:meth:`~cartkg.extract.entities.LexiconMatcher.add_patterns` uses ``nlp.tokenizer``),
so a name and its occurrence in text always split alike.

The tokenizer is registered as ``cartkg.BiomedicalTokenizer.v1``; its lists are plain
strings in the pipeline's config, so a saved pipeline rebuilds the same tokenizer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

import spacy
from spacy.lang.char_classes import ALPHA, HYPHENS
from spacy.language import Language
from spacy.symbols import ORTH
from spacy.tokenizer import Tokenizer
from spacy.util import compile_infix_regex, compile_prefix_regex, compile_suffix_regex

from cartkg.ontology.lexicon import Lexicon, is_case_sensitive, name_key

TOKENIZER_NAME = "cartkg.BiomedicalTokenizer.v1"

#: Words that state a marker's status after a hyphen: "CD19-negative", "CD22-low".
MARKER_STATES = ("negative", "positive", "neg", "pos", "low", "high", "dim", "bright", "null")

#: Where a one-piece name splits into the parts it may hide ("CD19/CD22-CAR").
_PART_SEPARATORS = re.compile(r"[-/.]")

_SEGMENT = r"[A-Z0-9]+"  # a part of a hyphenated symbol: no lower-case letter

#: A marker and its status, the one shape kept whole although the marker may be a
#: lexicon name: "CD19-negative", "BCR-ABL1-positive", "CD22-low".
MARKER_STATUS = rf"(?=[A-Z0-9-]*[A-Z]){_SEGMENT}(?:-{_SEGMENT})*-(?i:{'|'.join(MARKER_STATES)})"


def token_match_pattern(keep_apart: Iterable[str] = (), special_cases: Iterable[str] = ()) -> str:
    """The pattern of the tokens kept whole by shape, anchored at both ends.

    A hyphenated symbol is kept whole only if none of its parts is in ``keep_apart``.
    The special cases are left to the special-case rules: spaCy finds a special case
    inside a longer string ("brexu-cel/KTE-X19") by the tokens the other rules give
    it on its own, which must therefore be the pieces it is made of.

    >>> import re
    >>> match = re.compile(token_match_pattern(["CD19"], ["KTE-X19"])).match
    >>> [bool(match(t)) for t in ("B-ALL", "4-1BB", "tisa-cel", "CD19-negative", "r/r", "CD19-CD22", "well-known")]
    [True, True, True, True, True, False, False]
    >>> bool(match("KTE-X19")), bool(match("KTE-X20"))
    (False, True)
    """

    def alternatives(names: Iterable[str]) -> str:
        return "|".join(sorted({re.escape(n) for n in names if n}, key=lambda n: (-len(n), n)))

    apart, specials = alternatives(keep_apart), alternatives(special_cases)
    guard = rf"(?!(?:{apart})(?:-|$))" if apart else ""
    symbol = rf"(?=[A-Z0-9-]*[A-Z]){guard}{_SEGMENT}(?:-{guard}{_SEGMENT})+"
    inn = r"[A-Za-z]+-(?:cel|CEL)"
    relapsed_refractory = r"[rR]/[rR]"
    not_special = rf"(?!(?:{specials})$)" if specials else ""
    return rf"^{not_special}(?:{symbol}|{inn}|{MARKER_STATUS}|{relapsed_refractory})$"


def infixes(nlp: Language) -> list[str]:
    """spaCy's infixes for the language, except that the hyphen of a ``-cel`` name is
    not a split point."""
    hyphen_between = r"(?<=[{a}0-9])(?:{h})(?=[{a}])".format(a=ALPHA, h=HYPHENS)
    adjusted = []
    for rule in nlp.Defaults.infixes or ():
        adjusted.append(rule + r"(?!(?:cel|CEL)(?![A-Za-z]))" if rule == hyphen_between else rule)
    if adjusted == list(nlp.Defaults.infixes or ()):
        raise ValueError(f"the {nlp.lang!r} infixes have no hyphen rule to adjust")
    return adjusted


def case_variants(name: str) -> list[str]:
    """The spellings of a name the tokenizer treats as special cases: a case-sensitive
    name only as written; any other also in lower and upper case and capitalised (as
    written or lower-cased), since the lexicon matcher finds it in any case. Other
    mixtures of case ("Scri-HuCar19") split as ordinary text and are not found.

    >>> case_variants("tisa-cel"), case_variants("B-ALL")
    (['TISA-CEL', 'Tisa-cel', 'tisa-cel'], ['B-ALL'])
    """
    if is_case_sensitive(name):
        return [name]
    lower = name.lower()
    return sorted({name, lower, name.upper(), name[:1].upper() + name[1:], lower[:1].upper() + lower[1:]})


def biomedical_tokenizer(
    nlp: Language, *, special_cases: Sequence[str] = (), keep_apart: Sequence[str] = ()
) -> Tokenizer:
    """A tokenizer over ``nlp``'s vocabulary and language defaults, with the changes
    described in this module."""
    rules = dict(nlp.Defaults.tokenizer_exceptions)
    variants = []
    for name in special_cases:
        if any(ch.isspace() for ch in name):
            raise ValueError(f"special case {name!r}: a special case is one piece of text, without spaces")
        variants.extend(case_variants(name))
    rules.update({variant: [{ORTH: variant}] for variant in variants})
    prefixes, suffixes = nlp.Defaults.prefixes, nlp.Defaults.suffixes
    return Tokenizer(
        nlp.vocab,
        rules=rules,
        prefix_search=compile_prefix_regex(prefixes).search if prefixes else None,
        suffix_search=compile_suffix_regex(suffixes).search if suffixes else None,
        infix_finditer=compile_infix_regex(infixes(nlp)).finditer,
        token_match=re.compile(token_match_pattern(keep_apart, variants)).match,
        url_match=nlp.Defaults.url_match,
    )


@spacy.registry.tokenizers(TOKENIZER_NAME)
def create_biomedical_tokenizer(
    special_cases: Sequence[str] = (), keep_apart: Sequence[str] = ()
) -> Callable[[Language], Tokenizer]:
    """The registered tokenizer; ``special_cases`` and ``keep_apart`` come from the
    config (:func:`lexicon_tokenizer_config` fills them from a lexicon)."""

    def make(nlp: Language) -> Tokenizer:
        return biomedical_tokenizer(nlp, special_cases=special_cases, keep_apart=keep_apart)

    return make


def _hidden_parts(name: str) -> list[str]:
    """The parts of a one-piece name between its hyphens, slashes and full stops."""
    return [p for p in _PART_SEPARATORS.split(name) if p]


def lexicon_tokenizer_config(lexicon: Lexicon) -> dict[str, list[str]]:
    """The tokenizer's lists for a lexicon: as ``special_cases`` its one-piece names with
    a hyphen or slash that hide no name of another type of entity; as ``keep_apart``
    its one-piece case-sensitive names without one (CD19, ALL, CRS)."""
    types_by_key: dict[str, set[str]] = {}
    for entity in lexicon:
        for name in entity.names:
            types_by_key.setdefault(name_key(name), set()).add(entity.type)
    special_cases: set[str] = set()
    keep_apart: set[str] = set()
    for entity in lexicon:
        for name in entity.names:
            if any(ch.isspace() for ch in name):
                continue
            if not re.search(r"[-/]", name):
                if is_case_sensitive(name):
                    keep_apart.add(name)
                continue
            hidden_types = set().union(*(types_by_key.get(name_key(p), set()) for p in _hidden_parts(name)))
            if hidden_types <= {entity.type}:
                special_cases.add(name)
    return {"special_cases": sorted(special_cases), "keep_apart": sorted(keep_apart)}
