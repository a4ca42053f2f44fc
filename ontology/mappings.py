"""SSSOM mapping sets: the lexicon's checked cross-references, in the standard format.

Each cross-reference in ``lexicon/xrefs.tsv`` becomes one SSSOM mapping record. The
subject is the cartkg entity (prefix ``cartkg``, expanding to the entity IRIs of the
graph), the predicate is the xref's SKOS mapping, and the object is the outside
identifier with the name printed beside it at its source. ``MappingSet`` is also the
record type :mod:`cartkg.ontology.align` writes, so both go through the same writer.

sssom-py is imported inside functions: it pulls in LinkML and pandas, which take
seconds to import, and most users of the lexicon never write SSSOM.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import astuple, dataclass, fields
from typing import TYPE_CHECKING
from urllib.parse import quote

from cartkg import __version__

from .lexicon import Entity, Lexicon, Xref, bundled_lexicon

if TYPE_CHECKING:
    from sssom.util import MappingSetDataFrame

#: Prefixes every mapping set may use, besides those of its objects.
BASE_PREFIXES: Mapping[str, str] = {
    "cartkg": "https://w3id.org/cartkg/entity/",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "semapv": "https://w3id.org/semapv/vocab/",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "oboInOwl": "http://www.geneontology.org/formats/oboInOwl#",
    "biolink": "https://w3id.org/biolink/vocab/",
}
#: Where the project's mapping sets are named.
MAPPING_SET_BASE = "https://w3id.org/cartkg/mappings/"
#: The project's license (MIT, as in pyproject.toml), as the URL SSSOM asks for.
LICENSE = "https://spdx.org/licenses/MIT.html"

#: Biolink categories for the entity types that have one without doubt. Antigen (gene
#: or protein?), Disease (it also holds states such as MRD), Intervention (drugs and
#: procedures) and GradingSystem are left without a category rather than given a wrong one.
CATEGORIES: Mapping[str, str] = {
    "CARTProduct": "biolink:Drug",
    "Toxicity": "biolink:DiseaseOrPhenotypicFeature",
    "ClinicalTrial": "biolink:ClinicalTrial",
    "Organization": "biolink:Agent",
    "WorkingGroup": "biolink:Agent",
    "ExpertGroup": "biolink:Agent",
    "Consortium": "biolink:Agent",
    "RegulatoryAgency": "biolink:Agent",
}

#: Columns written even when every row leaves them empty.
REQUIRED_COLUMNS = ("subject_id", "predicate_id", "object_id", "mapping_justification")


class MappingError(ValueError):
    """A mapping set that cannot be written, e.g. a CURIE with no prefix in the set."""


@dataclass(frozen=True)
class MappingRecord:
    """One SSSOM mapping record. Fields are SSSOM slots, in the schema's column order;
    tuples are the multivalued slots, written ``|``-separated."""

    subject_id: str
    subject_label: str
    predicate_id: str
    object_id: str
    object_label: str
    mapping_justification: str
    confidence: float
    subject_category: str = ""
    subject_match_field: tuple[str, ...] = ()
    object_match_field: tuple[str, ...] = ()
    match_string: tuple[str, ...] = ()
    see_also: tuple[str, ...] = ()
    comment: str = ""

    def row(self) -> dict[str, str | float]:
        """The record as one table row, multivalued slots joined with ``|``."""
        return {
            f.name: "|".join(value) if isinstance(value, tuple) else value
            for f, value in zip(fields(self), astuple(self))
        }


#: Column order of the written table: SSSOM's own order of the mapping slots.
COLUMN_ORDER = (
    "subject_id",
    "subject_label",
    "subject_category",
    "predicate_id",
    "object_id",
    "object_label",
    "mapping_justification",
    "confidence",
    "subject_match_field",
    "object_match_field",
    "match_string",
    "see_also",
    "comment",
)


@dataclass(frozen=True)
class MappingSet:
    """A mapping set: its records, its set-level metadata (SSSOM slots such as
    ``mapping_set_id``) and the prefix map for every CURIE it uses."""

    mappings: tuple[MappingRecord, ...]
    metadata: Mapping[str, str]
    prefixes: Mapping[str, str]

    def to_msdf(self) -> MappingSetDataFrame:
        """The set as sssom-py's ``MappingSetDataFrame``, rows and columns in our order."""
        import pandas as pd
        from curies import Converter
        from sssom.util import MappingSetDataFrame

        rows = [record.row() for record in self.mappings]
        columns = [c for c in COLUMN_ORDER if c in REQUIRED_COLUMNS or any(row[c] != "" for row in rows)]
        frame = pd.DataFrame(rows, columns=columns)
        converter = Converter.from_prefix_map(dict(sorted(self.prefixes.items())))
        return MappingSetDataFrame(df=frame, converter=converter, metadata=dict(self.metadata))

    def to_tsv(self) -> str:
        """The set as SSSOM/TSV with its metadata in the commented YAML header.

        Written by sssom-py without sorting or condensing, so the rows keep our order
        and every slot stays a column; the same set gives the same text.
        """
        from sssom.writers import write_table

        buffer = io.StringIO()
        write_table(self.to_msdf(), buffer, serialisation="tsv", sort=False, condense=False)
        return buffer.getvalue()


def curie_prefix(curie: str) -> str:
    return curie.split(":", 1)[0]


def used_prefixes(records: Iterable[MappingRecord], available: Mapping[str, str]) -> dict[str, str]:
    """The part of ``available`` that the records' CURIEs use; an unknown prefix is an error."""
    used: set[str] = set()
    for record in records:
        used.update(map(curie_prefix, (record.subject_id, record.predicate_id, record.object_id)))
        used.add(curie_prefix(record.mapping_justification))
        used.update(map(curie_prefix, record.subject_match_field + record.object_match_field))
        if record.subject_category:
            used.add(curie_prefix(record.subject_category))
    missing = sorted(used - available.keys())
    if missing:
        raise MappingError(f"no namespace for prefix(es) {', '.join(missing)}")
    return {prefix: available[prefix] for prefix in sorted(used)}


def subject_curie(entity: Entity) -> str:
    """An entity's CURIE; it expands to the entity's IRI in the graph."""
    return f"cartkg:{quote(entity.id, safe='-_.')}"


def set_metadata(name: str, title: str, description: str, **extra: str) -> dict[str, str]:
    """Set-level metadata shared by the project's mapping sets; no dates, so the same
    input gives the same bytes."""
    return {
        "mapping_set_id": f"{MAPPING_SET_BASE}{name}",
        "mapping_set_version": __version__,
        "mapping_set_title": title,
        "mapping_set_description": description,
        "license": LICENSE,
        **extra,
    }


@dataclass(frozen=True)
class ConfidenceRule:
    """How much a checked cross-reference is trusted, by where it was checked.

    The rule applies when the xref's source matches ``source`` (a regular expression)
    and, if ``prefixes`` is not empty, the identifier has one of those prefixes.
    """

    confidence: float
    source: str
    note: str
    prefixes: tuple[str, ...] = ()

    def applies(self, xref: Xref) -> bool:
        return re.search(self.source, xref.source) is not None and (not self.prefixes or xref.prefix in self.prefixes)


#: First matching rule wins. The policy behind the lexicon is that every identifier was
#: checked by a curator; what varies is how close to the authority that check was.
CONFIDENCE_RULES: tuple[ConfidenceRule, ...] = (
    ConfidenceRule(
        0.7,
        r"^pypi:biomappings==[^:]+:.*/predictions\.sssom\.tsv$",
        "a predicted mapping in biomappings, not curated there: confirm it at the authority",
    ),
    ConfidenceRule(0.95, r"^https://(classic\.|www\.)?clinicaltrials\.gov/", "the registry itself", ("NCT",)),
    ConfidenceRule(0.95, r"^github:ror-community/ror-records:", "the registry's own data dump", ("ROR",)),
    ConfidenceRule(0.95, r"^https?://(www\.)?ncbi\.nlm\.nih\.gov/gene", "the registry itself", ("NCBIGENE",)),
    ConfidenceRule(0.9, r"", "a curated copy of the authority's data or a secondary page"),
)


def xref_confidence(xref: Xref) -> ConfidenceRule:
    """The first confidence rule that applies to a cross-reference."""
    return next(rule for rule in CONFIDENCE_RULES if rule.applies(xref))


def xref_record(entity: Entity, xref: Xref) -> MappingRecord:
    """One cross-reference as a mapping record.

    The source of the check goes into ``comment`` verbatim (it is often a file inside
    a named package version, which has no URL), and also into ``see_also`` when it is a
    web address, since that slot holds URLs specific to the mapping.
    """
    rule = xref_confidence(xref)
    return MappingRecord(
        subject_id=subject_curie(entity),
        subject_label=entity.label,
        subject_category=CATEGORIES.get(entity.type, ""),
        predicate_id=f"skos:{xref.mapping}",
        object_id=xref.curie,
        object_label=xref.label_at_source,
        mapping_justification="semapv:ManualMappingCuration",
        confidence=rule.confidence,
        see_also=(xref.source,) if re.match(r"^https?://", xref.source) else (),
        comment=f"checked in {xref.source} ({rule.note})",
    )


def lexicon_mapping_set(lexicon: Lexicon | None = None) -> MappingSet:
    """The lexicon's cross-references as an SSSOM mapping set, one record per xref,
    ordered by subject and object."""
    lexicon = lexicon if lexicon is not None else bundled_lexicon()
    records = sorted(
        (xref_record(entity, xref) for entity in lexicon for xref in entity.xrefs),
        key=lambda r: (r.subject_id, r.object_id, r.predicate_id),
    )
    available = {**lexicon.converter.bimap, **BASE_PREFIXES}
    rules = "; ".join(
        f"{rule.confidence} for {rule.note}" + (f" ({', '.join(rule.prefixes)})" if rule.prefixes else "")
        for rule in CONFIDENCE_RULES
    )
    metadata = set_metadata(
        "lexicon.sssom.tsv",
        "cartkg lexicon cross-references",
        "Identifiers of outside resources for the entities of the cartkg lexicon "
        "(CAR T-cell therapy in children and young adults with B-ALL). Every mapping was "
        "checked by a curator in the source named in its comment. The confidence says "
        f"where the check was made, the first rule that applies: {rules}.",
    )
    return MappingSet(tuple(records), metadata, used_prefixes(records, available))
