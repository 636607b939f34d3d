"""Per-actor reporting: actor registry, aggregation, tables, charts and HTML/Markdown output."""
