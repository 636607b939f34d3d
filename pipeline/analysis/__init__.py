"""Analyses across posts and actors: coordinated posting, before/after event windows, trend adoption."""
