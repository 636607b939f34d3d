"""Feature stage: tokens, cue phrases, metadata flags and the NumPy n-gram vectorisers."""
