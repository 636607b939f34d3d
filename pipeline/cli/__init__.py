"""Command-line interface: thin typer commands over the stage functions (the only place that prints)."""
