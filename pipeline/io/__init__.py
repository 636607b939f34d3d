"""File I/O shared by every stage: record writers and readers, HTML page shell."""
