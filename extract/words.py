"""A Doc's tokens and sentences as plain Python values, read once per Doc.

The rules (relations, ConText, the lexicon's marker check) compare words many times.
Every ``doc[i]``, ``for t in span`` or ``span.ents`` builds new spaCy ``Token`` or
``Span`` objects, and ``span.sent`` walks the tokens to find the sentence's edges; at
a few dozen tokens per sentence this costs far more than the comparisons themselves.
:class:`DocWords` reads each attribute once for the whole Doc (``Doc.to_array``, no
``Token`` objects), and :func:`sentence_of` / :func:`ents_by_sentence` find the
sentence of a token or an entity by the sentences' starts.

These are views of the Doc as it is when they are made: make them after the last
change to the tokens (the lexicon matcher may split some). :func:`doc_words` makes
them once per Doc for the relation rules and the records both.
"""

from __future__ import annotations

import weakref
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from spacy.attrs import LIKE_NUM, LOWER, ORTH, SENT_START
from spacy.tokens import Doc, Span


@dataclass(frozen=True)
class DocWords:
    """Per-token attributes of one Doc, as lists indexed by ``token.i``."""

    #: ``token.text``
    text: list[str]
    #: ``token.lower_``
    lower: list[str]
    #: ``bool(token.is_sent_start)``: the token opens a sentence.
    sent_start: list[bool]
    #: ``token.like_num``
    like_num: list[bool]

    @classmethod
    def of(cls, doc: Doc) -> DocWords:
        strings = doc.vocab.strings
        if not len(doc):
            return cls([], [], [], [])
        orth, lower, sent_start, like_num = doc.to_array([ORTH, LOWER, SENT_START, LIKE_NUM]).T.tolist()
        return cls(
            text=[strings[h] for h in orth],
            lower=[strings[h] for h in lower],
            # SENT_START is 1 (starts), -1 (does not) or 0 (unknown; is_sent_start None).
            sent_start=[v == 1 for v in sent_start],
            like_num=[v == 1 for v in like_num],
        )


#: The words made by :func:`doc_words`, dropped with their Doc.
_WORDS: weakref.WeakKeyDictionary[Doc, DocWords] = weakref.WeakKeyDictionary()


def doc_words(doc: Doc) -> DocWords:
    """``DocWords.of(doc)``, made on the first call for a Doc and kept while the Doc
    lives. A Doc whose number of tokens changed since (split or merged tokens) is read
    again."""
    words = _WORDS.get(doc)
    if words is None or len(words.text) != len(doc):
        words = _WORDS[doc] = DocWords.of(doc)
    return words


def token_texts(doc: Doc) -> list[str]:
    """``[t.text for t in doc]`` without building the tokens."""
    strings = doc.vocab.strings
    return [strings[orth] for orth in doc.to_array(ORTH).tolist()]


def sentence_of(starts: Sequence[int], token: int) -> int:
    """The position, in a Doc's sentences (given by their start tokens, in order), of
    the sentence holding ``token``: the sentence ``span.sent`` gives for a span that
    starts at ``token``."""
    return bisect_right(starts, token) - 1


def ents_by_sentence(sents: Sequence[Span], ents: Sequence[Span]) -> list[list[Span]]:
    """For each sentence, the entities wholly inside it, in order: what ``sent.ents``
    gives, from one pass over ``doc.ents`` instead of one per sentence. An entity
    that crosses a sentence's end belongs to no sentence, as with ``sent.ents``."""
    starts = [s.start for s in sents]
    grouped: list[list[Span]] = [[] for _ in sents]
    for ent in ents:
        index = sentence_of(starts, ent.start)
        if index >= 0 and ent.end <= sents[index].end:
            grouped[index].append(ent)
    return grouped
