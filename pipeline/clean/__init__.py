"""Cleaning stage: pure text normalisation of captions/transcripts and language identification."""
