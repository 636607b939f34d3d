"""The model: the estimator, its training config, explanations, the artefact format, model card, spaCy component."""
