"""Graph assembly: provenance, direct triples, named graphs."""

from rdflib import RDF, Literal, URIRef

from cartkg.kg import iris
from cartkg.ontology.lexicon import bundled_lexicon
from cartkg.ontology.owl import CK

XSD = "http://www.w3.org/2001/XMLSchema#"


def _int(graph, node, prop):
    return int(graph.value(node, prop))


def test_every_statement_has_evidence_that_slices_the_source(built, extractions):
    texts = {e.document.id: e.document.text for e in extractions}
    graph = built.dataset
    statements = set(graph.subjects(RDF.type, CK.Statement))
    assert len(statements) > 100
    from rdflib.namespace import DCTERMS, PROV

    for statement in statements:
        sentence = graph.value(statement, PROV.wasDerivedFrom)
        assert sentence is not None
        doc = graph.value(sentence, CK.inDocument)
        doc_id = str(graph.value(doc, DCTERMS.identifier))
        begin, end = _int(graph, sentence, CK.beginOffset), _int(graph, sentence, CK.endOffset)
        assert texts[doc_id][begin:end] == str(graph.value(sentence, CK.text))
        assert graph.value(statement, CK.rule) is not None
        assert graph.value(statement, CK.assertionStatus) is not None
        for end_prop in (CK.subjectMention, CK.objectMention):
            mention = graph.value(statement, end_prop)
            mb, me = _int(graph, mention, CK.beginOffset), _int(graph, mention, CK.endOffset)
            assert texts[doc_id][mb:me] == str(graph.value(mention, CK.text))


def test_direct_triples_only_for_affirmed_statements(built):
    graph = built.dataset
    for statement in graph.subjects(RDF.type, CK.Statement):
        s = graph.value(statement, RDF.subject)
        p = graph.value(statement, RDF.predicate)
        o = graph.value(statement, RDF.object)
        supported = any(
            graph.value(other, CK.assertionStatus) == CK.affirmed
            for other in graph.subjects(RDF.subject, s)
            if graph.value(other, RDF.predicate) == p and graph.value(other, RDF.object) == o
        )
        assert ((s, p, o) in graph) == supported


def test_negated_finding_has_a_statement_but_no_direct_triple(tmp_path):
    from cartkg.kg.build import build_graph

    source = tmp_path / "series.md"
    source.write_text("No ICANS was observed with obecabtagene autoleucel.\n\n"
                      "Obecabtagene autoleucel targets CD19.\n", encoding="utf-8")
    graph = build_graph([source]).dataset
    obe, icans = iris.entity("obecabtagene-autoleucel"), iris.entity("icans")
    (statement,) = graph.subjects(RDF.object, icans)
    assert graph.value(statement, CK.assertionStatus) == CK.negated
    assert (obe, CK.hasAdverseEvent, icans) not in graph
    assert (obe, CK.targets, iris.entity("cd19")) in graph


def test_each_document_has_its_own_named_graph(built):
    names = {g.identifier for g in built.dataset.graphs()}
    assert iris.document_graph("westhafen_review") in names
    assert iris.document_graph("obecel_abstract") in names
    assert iris.ENTITIES_GRAPH in names


def test_entities_are_described_once_with_labels_and_xrefs(built):
    entities = built.dataset.graph(iris.ENTITIES_GRAPH)
    tisa = iris.entity("tisagenlecleucel")
    assert (tisa, RDF.type, CK.CARTProduct) in entities
    labels = {str(o) for o in entities.objects(tisa, URIRef("http://www.w3.org/2004/02/skos/core#altLabel"))}
    assert {"Kymriah", "tisa-cel", "CTL019"} <= labels
    assert URIRef("http://purl.obolibrary.org/obo/NCIT_C102758") in set(
        entities.objects(tisa, URIRef("http://www.w3.org/2004/02/skos/core#exactMatch"))
    )


def test_whole_lexicon_and_its_curated_facts_are_in_the_entities_graph(built):
    entities = built.dataset.graph(iris.ENTITIES_GRAPH)
    lexicon = bundled_lexicon()
    typed = set(entities.subjects(CK.entityType, None))
    assert typed == {iris.entity(e.id) for e in lexicon}
    tisa = iris.entity("tisagenlecleucel")
    assert (tisa, CK.targets, iris.entity("cd19")) in entities
    assert (tisa, CK.costimulatoryDomain, Literal("4-1BB")) in entities
    assert (tisa, CK.developedBy, iris.entity("novartis")) in entities
    assert (iris.entity("eliana"), CK.evaluates, tisa) in entities
    assert (iris.entity("ibfm-sct-committee"), CK.partOf, iris.entity("ibfm")) in entities


def test_approvals_carry_agency_date_and_ages(built):
    entities = built.dataset.graph(iris.ENTITIES_GRAPH)
    lexicon = bundled_lexicon()
    assert lexicon.approvals
    for approval in lexicon.approvals:
        node = iris.approval(approval.id)
        assert (node, CK.approvalOf, iris.entity(approval.product)) in entities
        assert (node, CK.grantedBy, iris.entity(approval.agency)) in entities
        assert entities.value(node, CK.approvalYear).toPython() == approval.year
        assert (iris.entity(approval.product), CK.approvedBy, iris.entity(approval.agency)) in entities
    kymriah_fda = [a for a in lexicon.approvals if a.product == "tisagenlecleucel" and a.agency == "fda"]
    assert kymriah_fda and kymriah_fda[0].date == "2017-08-30" and kymriah_fda[0].max_age == 25
    node = iris.approval(kymriah_fda[0].id)
    assert entities.value(node, CK.approvalDate) == Literal("2017-08-30", datatype=URIRef(XSD + "date"))
