"""Labelling stage: the per-chunk step, the worker pool and the run over input files."""
