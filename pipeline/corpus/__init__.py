"""Annotated corpora: reading, annotation-tool formats, import/export, active learning, stats, agreement."""
