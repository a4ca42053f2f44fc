"""The record types: the contract between :mod:`cartkg.extract` and :mod:`cartkg.kg`.

Plain, frozen dataclasses with no spaCy or RDF in them. Every character offset is an
offset into :attr:`Document.text`, the decoded text of the source file, so
``document.text[begin:end]`` gives back exactly the quoted text.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from enum import Enum


class AssertionStatus(str, Enum):
    """How a sentence asserts a finding (ConText's categories)."""

    AFFIRMED = "affirmed"
    NEGATED = "negated"
    HYPOTHETICAL = "hypothetical"
    UNCERTAIN = "uncertain"
    HISTORICAL = "historical"


@dataclass(frozen=True)
class Passage:
    """A run of text inside a document, with the section it belongs to.

    ``offset`` is where the passage starts in :attr:`Document.text`; the passage text
    is ``document.text[offset:offset + len(text)]``.
    """

    section: str
    offset: int
    text: str

    @property
    def end(self) -> int:
        return self.offset + len(self.text)


@dataclass(frozen=True)
class DocumentMetadata:
    """What a bibliographic record says about a document. Empty for plain text.

    Identifiers are kept as the source writes them, without a prefix: ``pmid`` is
    ``"38572754"``, ``pmcid`` is ``"PMC11223843"`` and ``doi`` is ``"10.1093/nar/gkae235"``.
    Authors are in the order of the byline, each as ``"Surname, Given names"`` or a group's
    name.
    """

    pmid: str = ""
    pmcid: str = ""
    doi: str = ""
    journal: str = ""
    year: int | None = None
    authors: tuple[str, ...] = ()
    mesh_terms: tuple[str, ...] = ()
    publication_types: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        """True when the reader found nothing to say.

        >>> DocumentMetadata().is_empty(), DocumentMetadata(pmid="1").is_empty()
        (True, False)
        """
        return self == _NO_METADATA


_NO_METADATA = DocumentMetadata()


@dataclass(frozen=True)
class ExternalAnnotation:
    """A span that another tool annotated in the source (PubTator's diseases, genes,
    chemicals…), kept beside cartkg's own mentions and never mixed with them.

    ``begin``/``end`` are offsets into :attr:`Document.text`; ``type`` and ``identifier``
    are the annotating tool's own (``"Disease"``, ``"MESH:D015451"``); ``source`` names the
    tool or collection (``"PubTator"``).
    """

    begin: int
    end: int
    text: str
    type: str
    identifier: str
    source: str


@dataclass(frozen=True)
class Document:
    """One source document, as read from disk."""

    id: str
    source: str
    text: str
    passages: tuple[Passage, ...]
    title: str = ""
    format: str = "text"
    metadata: DocumentMetadata = _NO_METADATA
    annotations: tuple[ExternalAnnotation, ...] = ()

    @property
    def sha256(self) -> str:
        """Content hash, so a build can tell a changed document.

        The hash of the text alone, unless the reader also found metadata or external
        annotations: then those count too, so a PubMed record that gains its MeSH
        headings, or a BioC file re-annotated by PubTator, is a changed document.
        """
        digest = hashlib.sha256(self.text.encode("utf-8"))
        if not self.metadata.is_empty() or self.annotations:
            extra = {"title": self.title, "metadata": asdict(self.metadata),
                     "annotations": [asdict(a) for a in self.annotations]}
            digest.update(b"\x00" + json.dumps(extra, ensure_ascii=False, sort_keys=True).encode("utf-8"))
        return digest.hexdigest()


@dataclass(frozen=True)
class Sentence:
    """A sentence, located in its document."""

    doc_id: str
    index: int
    begin: int
    end: int
    text: str
    section: str


@dataclass(frozen=True)
class Mention:
    """A span of text that names a lexicon entity."""

    doc_id: str
    sentence: int
    begin: int
    end: int
    text: str
    entity_id: str
    entity_type: str
    rule: str = "lexicon"
    status: AssertionStatus = AssertionStatus.AFFIRMED
    #: The words that decided the status ("no", "may"); empty when affirmed.
    trigger: str = ""


@dataclass(frozen=True)
class Quantity:
    """A number a sentence attaches to a relation: an incidence, a grade, an age, a
    year, a duration or an outcome figure, with its unit as written normalised
    (``%``, ``years``, ``months``); or, for kind ``population``, the group of patients
    as text."""

    kind: str
    value: float | str
    unit: str
    text: str
    begin: int
    end: int


@dataclass(frozen=True)
class Evidence:
    """Where a relation was read: the sentence, and the rule that read it."""

    doc_id: str
    sentence: int
    begin: int
    end: int
    text: str
    section: str
    rule: str


@dataclass(frozen=True)
class Relation:
    """A typed, directed relation between two lexicon entities, with its evidence.

    ``predicate`` is the local name of the ontology property (``targets``,
    ``hasAdverseEvent``, ``partOf``).
    """

    predicate: str
    subject: str
    object: str
    evidence: Evidence
    subject_mention: tuple[int, int]
    object_mention: tuple[int, int]
    status: AssertionStatus = AssertionStatus.AFFIRMED
    #: The words that decided the status; empty when affirmed.
    trigger: str = ""
    #: Numbers the sentence attaches to the relation.
    quantities: tuple[Quantity, ...] = ()


@dataclass(frozen=True)
class Extraction:
    """Everything extracted from one document."""

    document: Document
    sentences: tuple[Sentence, ...]
    mentions: tuple[Mention, ...]
    relations: tuple[Relation, ...]


@dataclass(frozen=True)
class ReadError:
    """A source that could not be read, with one line saying why."""

    source: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.message}"


@dataclass
class ExtractionSummary:
    """Counts over a batch, for the CLI's summary."""

    documents: int = 0
    sentences: int = 0
    mentions_by_type: dict[str, int] = field(default_factory=dict)
    relations_by_predicate: dict[str, int] = field(default_factory=dict)
    entities: set[str] = field(default_factory=set)
    errors: list[ReadError] = field(default_factory=list)

    def add(self, extraction: Extraction) -> None:
        self.documents += 1
        self.sentences += len(extraction.sentences)
        for m in extraction.mentions:
            self.mentions_by_type[m.entity_type] = self.mentions_by_type.get(m.entity_type, 0) + 1
            self.entities.add(m.entity_id)
        for r in extraction.relations:
            self.relations_by_predicate[r.predicate] = (
                self.relations_by_predicate.get(r.predicate, 0) + 1
            )

    def merge(self, other: ExtractionSummary) -> None:
        """Add another batch's counts (from a worker) to these."""
        self.documents += other.documents
        self.sentences += other.sentences
        for mine, theirs in ((self.mentions_by_type, other.mentions_by_type),
                             (self.relations_by_predicate, other.relations_by_predicate)):
            for key, n in theirs.items():
                mine[key] = mine.get(key, 0) + n
        self.entities |= other.entities
        self.errors.extend(other.errors)
