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
from .words import DocWords

DIRECTIONS = ("forward", "backward", "bidirectional")
RULE_KEYS = {"literal", "category", "direction", "max_scope", "all_types"}
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
    #: The trigger denies or plans the named thing itself ("rather than the Lee
    #: criteria", "lacking CD19", "will test obe-cel"), so it applies to every entity
    #: type, not only to findings.
    all_types: bool = False

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
            all_types=bool(data.get("all_types", False)),
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


def _matches(words: DocWords, i: int, end: int, literal: Sequence[str]) -> bool:
    """Whether the trigger ``literal`` stands at token ``i`` of the sentence ending
    before token ``end``."""
    if i + len(literal) > end:
        return False
    for offset, word in enumerate(literal):
        t = i + offset
        if words.lower[t] != word:
            return False
        # "May 2017" is a month, not a hedge: only lower-case or sentence-initial words
        # count, and a capitalised word followed by a number never does.
        text = words.text[t]
        if not (text.islower() or words.sent_start[t] or not text.isalpha()):
            return False
        if text.istitle() and t + 1 < len(words.text) and words.like_num[t + 1]:
            return False
    return True


@dataclass(frozen=True)
class Scope:
    """Tokens a trigger covers (``start``-``stop``, relative to the sentence), the
    trigger's own tokens, its category and text, and whether it applies to every type."""

    start: int
    stop: int
    trigger_start: int
    trigger_stop: int
    category: AssertionStatus
    trigger: str
    all_types: bool


def scopes(sent: Span, rules: ContextRules, words: DocWords | None = None) -> list[Scope]:
    """The scopes the triggers open in a sentence. Pseudo-triggers are found first and
    their words open no scope ("was not a frequent problem" negates nothing); then the
    longest trigger at a word wins, and the words it covers open no other scope ("was
    not observed" is one trigger, not also "not").

    ``words`` are the sentence's Doc's words (:class:`DocWords`), made here when not
    given; pass them to read the Doc once for all its sentences."""
    words = words if words is not None else DocWords.of(sent.doc)
    offset, end = sent.start, sent.end
    n = end - offset
    lower = words.lower
    by_first_word = rules.by_first_word
    # The words a trigger starts with, and their rules, looked up once for both passes.
    openers = [(i, rules_at) for i, word in enumerate(lower[offset:end]) if (rules_at := by_first_word.get(word))]
    consumed: set[int] = set()
    for i, rules_at in openers:
        for rule in rules_at:
            if _matches(words, offset + i, end, rule.literal):
                # The longest trigger at a word decides: "no longer recommended" is a
                # trigger even though "no longer" alone is a pseudo-trigger.
                if rule.category == "pseudo":
                    consumed.update(range(i, i + len(rule.literal)))
                break
    found: list[Scope] = []
    for i, rules_at in openers:
        for rule in rules_at:
            end_of_trigger = i + len(rule.literal)
            if rule.category == "pseudo" or consumed & set(range(i, end_of_trigger)):
                continue
            if not _matches(words, offset + i, end, rule.literal):
                continue
            consumed.update(range(i, end_of_trigger))
            trigger = sent[i:end_of_trigger].text
            category = AssertionStatus(rule.category)
            if rule.direction in ("forward", "bidirectional"):
                stop = end_of_trigger
                while (
                    stop < n
                    and stop - end_of_trigger < rule.max_scope
                    and lower[offset + stop] not in rules.terminators
                ):
                    stop += 1
                found.append(Scope(end_of_trigger, stop, i, end_of_trigger, category, trigger, rule.all_types))
            if rule.direction in ("backward", "bidirectional"):
                start = i
                while start > 0 and i - start < rule.max_scope and lower[offset + start - 1] not in rules.terminators:
                    start -= 1
                found.append(Scope(start, i, i, end_of_trigger, category, trigger, rule.all_types))
            break
    return found


def assertion_status(
    span: Span, sentence_scopes: Sequence[Scope], *, finding: bool = True, sent_start: int | None = None
) -> tuple[AssertionStatus, str]:
    """The status of a mention and the trigger that decided it ('' when affirmed).

    A mention is in a scope when the two overlap, unless the trigger is part of the
    mention itself (the "-negative" of "CD19-negative relapse"). A mention that is not
    a finding (a product, trial or body) takes only the triggers that apply to every
    type. ``sent_start`` is the first token of the mention's sentence (looked up when
    not given).
    """
    sent_start = sent_start if sent_start is not None else span.sent.start
    begin = span.start - sent_start
    end = span.end - sent_start
    best = (AssertionStatus.AFFIRMED, "")
    for scope in sentence_scopes:
        if not (finding or scope.all_types):
            continue
        if begin <= scope.trigger_start and scope.trigger_stop <= end:
            continue
        if begin < scope.stop and end > scope.start and PRECEDENCE.index(scope.category) < PRECEDENCE.index(best[0]):
            best = (scope.category, scope.trigger)
    return best
