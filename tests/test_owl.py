from rdflib import OWL, RDF, RDFS
from rdflib.namespace import SKOS

from cartkg.ontology.lexicon import ENTITY_TYPES
from cartkg.ontology.owl import CK, ontology_graph
from cartkg.extract.relations import bundled_rules


def test_every_term_has_a_label_and_classes_a_definition():
    graph = ontology_graph()
    for kind in (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty):
        terms = [t for t in graph.subjects(RDF.type, kind) if str(t).startswith(str(CK))]
        assert terms
        for term in terms:
            assert graph.value(term, RDFS.label) is not None, term
            if kind == OWL.Class:
                assert graph.value(term, SKOS.definition) is not None, term


def test_every_entity_type_and_relation_is_in_the_ontology():
    graph = ontology_graph()
    for name in ENTITY_TYPES:
        assert (CK[name], RDF.type, OWL.Class) in graph, name
    for rule in bundled_rules().rules:
        prop = CK[rule.predicate]
        assert (prop, RDF.type, OWL.ObjectProperty) in graph, rule.predicate


def test_rules_respect_domains():
    graph = ontology_graph()
    subclasses = {}
    for s, o in graph.subject_objects(RDFS.subClassOf):
        subclasses.setdefault(o, set()).add(s)

    def covered(cls):
        found = {cls}
        for sub in subclasses.get(cls, ()):
            found |= covered(sub)
        return found

    for rule in bundled_rules().rules:
        domain = graph.value(CK[rule.predicate], RDFS.domain)
        allowed = {str(c).removeprefix(str(CK)) for c in covered(domain)}
        assert rule.subject <= allowed, rule.name
