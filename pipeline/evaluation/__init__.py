"""Evaluation: metrics, bootstrap intervals, baselines, cross-validation, the run and its report writers."""
