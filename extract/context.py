"""Assertion status of mentions: ConText-style trigger rules within a sentence.

A trigger ("no", "may", "history of") opens a scope forward, backward or both, up to
``max_scope`` tokens, the sentence's edge or a terminator ("but", "however"). A mention
inside a scope takes the trigger's category. The rules are data
(``context_rules.json``), validated on load like medspaCy's ``ConTextRule``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

from spacy.tokens import Span

from .records import AssertionStatus

DIRECTIONS = ("forward", "backward", "bidirectional")
RULE_KEYS = {"literal", "category", "direction", "max_scope"}
#: "pseudo" triggers look like triggers but are not ("with or without", "not only"):
#: the words they match open no scope.
CATEGORIES = {s.value for s in AssertionStatus} | {"pseudo"}
#: When two scopes cover one mention, the first category in this order wins.
PRECEDENCE = (
    AssertionStatus.NEGATED,
    AssertionStatus.HYPOTHETICAL,
    AssertionStatus.UNCERTAIN,
    AssertionStatus.HISTORICAL,
    AssertionStatus.AFFIRMED,
)


@dataclass(frozen=True)
class ContextRule:
    """One trigger and the scope it opens."""

    literal: tuple[str, ...]
    category: str
    direction: str
    max_scope: int

    @classmethod
    def from_dict(cls, data: dict) -> ContextRule:
        unknown = set(data) - RULE_KEYS
        if unknown:
            raise ValueError(f"context rule {data.get('literal')!r}: unknown keys {sorted(unknown)}")
        if data["direction"] not in DIRECTIONS:
            raise ValueError(f"context rule {data['literal']!r}: direction must be one of {DIRECTIONS}")
        if data["category"] not in CATEGORIES:
            raise ValueError(f"context rule {data['literal']!r}: unknown category {data['category']!r}")
        return cls(
            literal=tuple(data["literal"].lower().split()),
            category=data["category"],
            direction=data["direction"],
            max_scope=int(data["max_scope"]),
        )


@dataclass(frozen=True)
class ContextRules:
    rules: tuple[ContextRule, ...]
    terminators: frozenset[str]
    #: Entity types whose mentions are findings and take a status; a product, trial or
    #: organization named beside a negated finding stays affirmed. Empty: every type.
    finding_types: frozenset[str] = frozenset()

    def applies_to(self, entity_type: str) -> bool:
        return not self.finding_types or entity_type in self.finding_types

    @functools.cached_property
    def by_first_word(self) -> dict[str, tuple[ContextRule, ...]]:
        """The rules by the first word of their trigger, longest trigger first."""
        index: dict[str, list[ContextRule]] = {}
        for rule in self.rules:
            index.setdefault(rule.literal[0], []).append(rule)
        return {w: tuple(sorted(rs, key=lambda r: -len(r.literal))) for w, rs in index.items()}


@functools.cache
def bundled_context_rules() -> ContextRules:
    data = json.loads((resources.files(__package__) / "context_rules.json").read_text("utf-8"))
    return ContextRules(
        rules=tuple(ContextRule.from_dict(r) for r in data["rules"]),
        terminators=frozenset(data["terminators"]),
        finding_types=frozenset(data.get("finding_types", ())),
    )


def _matches(sent: Span, i: int, literal: Sequence[str]) -> bool:
    if i + len(literal) > len(sent):
        return False
    for offset, word in enumerate(literal):
        token = sent[i + offset]
        if token.lower_ != word:
            return False
        # "May 2017" is a month, not a hedge: only lower-case or sentence-initial words
        # count, and a capitalised word followed by a number never does.
        if not (token.text.islower() or token.is_sent_start or not token.text.isalpha()):
            return False
        if token.text.istitle() and token.i + 1 < len(token.doc) and token.nbor().like_num:
            return False
    return True


def scopes(sent: Span, rules: ContextRules) -> list[tuple[int, int, AssertionStatus, str]]:
    """The scopes the triggers open in a sentence: (start, end, category, trigger text),
    as token offsets relative to the sentence."""
    found = []
    n = len(sent)
    consumed: set[int] = set()
    for i in range(n):
        for rule in rules.by_first_word.get(sent[i].lower_, ()):
            if i in consumed or not _matches(sent, i, rule.literal):
                continue
            if rule.category == "pseudo":
                consumed.update(range(i, i + len(rule.literal)))
                continue
            end_of_trigger = i + len(rule.literal)
            trigger = sent[i:end_of_trigger].text
            if rule.direction in ("forward", "bidirectional"):
                stop = end_of_trigger
                while stop < n and stop - end_of_trigger < rule.max_scope and sent[stop].lower_ not in rules.terminators:
                    stop += 1
                found.append((end_of_trigger, stop, AssertionStatus(rule.category), trigger))
            if rule.direction in ("backward", "bidirectional"):
                start = i
                while start > 0 and i - start < rule.max_scope and sent[start - 1].lower_ not in rules.terminators:
                    start -= 1
                found.append((start, i, AssertionStatus(rule.category), trigger))
    return found


def assertion_status(
    span: Span, sentence_scopes: Sequence[tuple[int, int, AssertionStatus, str]]
) -> tuple[AssertionStatus, str]:
    """The status of a mention and the trigger that decided it ('' when affirmed)."""
    begin = span.start - span.sent.start
    end = span.end - span.sent.start
    best = (AssertionStatus.AFFIRMED, "")
    for start, stop, category, trigger in sentence_scopes:
        if start <= begin and end <= stop and PRECEDENCE.index(category) < PRECEDENCE.index(best[0]):
            best = (category, trigger)
    return best

