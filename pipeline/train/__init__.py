"""Training run: read an annotated corpus, fit, cross-validate and write a model folder."""
