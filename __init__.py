"""cartkg: a knowledge graph of the literature on CAR T-cell therapy for children and
young adults with B-cell acute lymphoblastic leukemia.

The four subpackages follow the data flow: :mod:`cartkg.extract` (text to records),
:mod:`cartkg.ontology` (vocabulary and lexicon), :mod:`cartkg.kg` (records to RDF,
stores, analysis, CLI) and :mod:`cartkg.queries` (named SPARQL queries).
"""

__version__ = "0.1.0"
