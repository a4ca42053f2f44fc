"""The spaCy pipeline, and documents in, typed records out.

A blank English pipeline (no trained model is needed or downloaded): the biomedical
tokenizer (:mod:`cartkg.extract.tokenizer`), the rule-based sentence splitter, the
lexicon matcher, the abbreviations the text defines (scispaCy's detector, in
:mod:`cartkg.extract.abbreviations`) and the relation rules. Assertion status comes
from the ConText rules in :mod:`cartkg.extract.context`.

The passages of one document run in order (:func:`~cartkg.extract.abbreviations.pipe_passages`),
so that an abbreviation defined in one section holds in the sections after it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from cartkg.ontology.lexicon import Lexicon, bundled_lexicon

from . import entities as _entities  # noqa: F401  (registers the factories)
from . import relations as _relations  # noqa: F401
from .abbreviations import pipe_passages
from .context import PRECEDENCE, ContextRules, assertion_status, bundled_context_rules, scopes
from .entities import lexicon_patterns
from .records import AssertionStatus, Document, Evidence, Extraction, Mention, Quantity, Relation, Sentence
from .tokenizer import TOKENIZER_NAME, lexicon_tokenizer_config
from .words import DocWords, doc_words, ents_by_sentence, sentence_of

#: Bumped when a change to the pipeline or its rules can change what is extracted.
EXTRACTOR_VERSION = "0.3.0"


def build_pipeline(lexicon: Lexicon | None = None) -> Language:
    """A blank English pipeline with the biomedical tokenizer, the sentence splitter,
    the lexicon, the abbreviations and the relation rules."""
    lexicon = lexicon if lexicon is not None else bundled_lexicon()
    tokenizer = {"@tokenizers": TOKENIZER_NAME, **lexicon_tokenizer_config(lexicon)}
    nlp = spacy.blank("en", config={"nlp": {"tokenizer": tokenizer}})
    nlp.add_pipe("sentencizer")
    matcher = nlp.add_pipe("cartkg_lexicon")
    matcher.add_patterns(lexicon_patterns(lexicon))
    nlp.add_pipe("cartkg_abbreviations")
    nlp.add_pipe("cartkg_relations")
    return nlp


@functools.cache
def default_pipeline() -> Language:
    """The pipeline over the bundled lexicon, built once per process."""
    return build_pipeline()


def to_records(document: Document, docs: Iterable[Doc], context_rules: ContextRules) -> Extraction:
    """Turn the processed passages of one document into records.

    Texts are sliced from the passage's text, which is the Doc's text (spaCy's
    tokenizer loses no character) without rebuilding ``doc.text`` from the tokens.
    Each Doc's sentences, words and entities are read once (:mod:`.words`); ConText
    scopes are worked out only for sentences that hold a mention, the only ones whose
    statuses are used.
    """
    sentences: list[Sentence] = []
    mentions: list[Mention] = []
    relations: list[Relation] = []
    for passage, doc in zip(document.passages, docs, strict=True):
        base = passage.offset
        text = passage.text
        sents = list(doc.sents)
        sent_starts = [sent.start for sent in sents]
        first_index = len(sentences)
        words: DocWords | None = None
        statuses: dict[tuple[int, int], tuple[AssertionStatus, str]] = {}
        for sent, sent_ents in zip(sents, ents_by_sentence(sents, doc.ents), strict=True):
            index = len(sentences)
            sentences.append(
                Sentence(
                    doc_id=document.id,
                    index=index,
                    begin=base + sent.start_char,
                    end=base + sent.end_char,
                    text=text[sent.start_char : sent.end_char],
                    section=passage.section,
                )
            )
            if not sent_ents:
                continue
            words = words if words is not None else doc_words(doc)
            sent_scopes = scopes(sent, context_rules, words)
            for ent in sent_ents:
                status, trigger = assertion_status(
                    ent, sent_scopes, finding=context_rules.applies_to(ent.label_), sent_start=sent.start
                )
                statuses[(ent.start, ent.end)] = (status, trigger)
                mentions.append(
                    Mention(
                        doc_id=document.id,
                        sentence=index,
                        begin=base + ent.start_char,
                        end=base + ent.end_char,
                        text=text[ent.start_char : ent.end_char],
                        entity_id=ent.kb_id_,
                        entity_type=ent.label_,
                        rule=ent._.cartkg_rule,
                        status=status,
                        trigger=trigger,
                    )
                )
        for predicate, s_start, s_end, s_id, o_start, o_end, o_id, rule, found in doc._.cartkg_relations or ():
            subject, obj = doc[s_start:s_end], doc[o_start:o_end]
            sentence = sentences[first_index + sentence_of(sent_starts, s_start)]
            # A name nested in another takes the status of the outer mention; a "this
            # product" standing for an earlier product, that of the other end.
            known = [statuses[k] for k in ((s_start, s_end), (o_start, o_end)) if k in statuses]
            status, trigger = min(known, key=lambda st: PRECEDENCE.index(st[0]))
            relations.append(
                Relation(
                    predicate=predicate,
                    subject=s_id,
                    object=o_id,
                    evidence=Evidence(
                        doc_id=document.id,
                        sentence=sentence.index,
                        begin=sentence.begin,
                        end=sentence.end,
                        text=sentence.text,
                        section=sentence.section,
                        rule=rule,
                    ),
                    subject_mention=(base + subject.start_char, base + subject.end_char),
                    object_mention=(base + obj.start_char, base + obj.end_char),
                    status=status,
                    trigger=trigger,
                    quantities=tuple(
                        Quantity(kind, value, unit, text[b:e], base + b, base + e)
                        for kind, value, unit, b, e in found
                    ),
                )
            )
    return Extraction(document, tuple(sentences), tuple(mentions), tuple(relations))


class Extractor:
    """Runs the pipeline over documents; the pipeline is built once."""

    def __init__(self, nlp: Language | None = None, *, context_rules: ContextRules | None = None):
        self.nlp = nlp if nlp is not None else default_pipeline()
        self.context_rules = context_rules if context_rules is not None else bundled_context_rules()

    def extract(self, document: Document) -> Extraction:
        return to_records(document, pipe_passages(self.nlp, (p.text for p in document.passages)), self.context_rules)

    def extract_many(self, documents: Iterable[Document]) -> Iterator[Extraction]:
        """Extract documents one after another, lazily."""
        for document in documents:
            yield self.extract(document)
