from rdflib import OWL, RDF, RDFS, URIRef
from rdflib.collection import Collection
from rdflib.namespace import SKOS

from cartkg.ontology.lexicon import ENTITY_TYPES
from cartkg.ontology.owl import CK, ontology_graph
from cartkg.extract.relations import bundled_rules


def test_every_term_has_a_label_and_a_definition():
    graph = ontology_graph()
    for kind in (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.NamedIndividual):
        terms = [t for t in graph.subjects(RDF.type, kind) if str(t).startswith(str(CK))]
        assert terms
        for term in terms:
            assert graph.value(term, RDFS.label) is not None, term
            assert graph.value(term, SKOS.definition) is not None, term


def test_relations_between_entities_have_domain_and_range():
    graph = ontology_graph()
    for name in ("targets", "hasAdverseEvent", "managedWith", "partOf", "evaluates", "approvedBy",
                 "developedBy", "approvalOf", "grantedBy"):
        assert graph.value(CK[name], RDFS.domain) is not None, name
        assert graph.value(CK[name], RDFS.range) is not None, name


def test_value_properties_for_approvals_and_findings():
    graph = ontology_graph()
    for name in ("approvalYear", "minimumAge", "maximumAge", "incidencePercent", "grade"):
        assert (CK[name], RDF.type, OWL.DatatypeProperty) in graph, name
    assert graph.value(CK.approvalYear, RDFS.range) == URIRef("http://www.w3.org/2001/XMLSchema#integer")


def test_top_classes_are_pairwise_disjoint():
    graph = ontology_graph()
    members = set()
    for node in graph.subjects(RDF.type, OWL.AllDisjointClasses):
        found = set(Collection(graph, graph.value(node, OWL.members)))
        if CK.CARTProduct in found:
            members = found
    assert {CK.CARTProduct, CK.Antigen, CK.Organization, CK.Toxicity, CK.Disease, CK.ClinicalTrial} <= members


def test_alignment_axioms_to_reference_ontologies_and_biolink():
    graph = ontology_graph()
    biolink = "https://w3id.org/biolink/vocab/"
    assert (CK.CARTProduct, SKOS.closeMatch, URIRef("http://purl.obolibrary.org/obo/NCIT_C126102")) in graph
    assert (CK.Disease, SKOS.closeMatch, URIRef("http://purl.obolibrary.org/obo/MONDO_0000001")) in graph
    assert (CK.ClinicalTrial, SKOS.exactMatch, URIRef(biolink + "ClinicalTrial")) in graph
    for name in ("CARTProduct", "Antigen", "Organization", "Toxicity", "GradingSystem", "Intervention",
                 "Disease", "ClinicalTrial"):
        mapped = [o for p in (SKOS.exactMatch, SKOS.closeMatch, SKOS.broadMatch)
                  for o in graph.objects(CK[name], p) if str(o).startswith(biolink)]
        assert mapped, f"{name} has no Biolink category"
    # Mappings are annotations, so the reasoner does not pull in the reference ontologies.
    assert (SKOS.closeMatch, RDF.type, OWL.AnnotationProperty) in graph


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
