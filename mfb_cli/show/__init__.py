"""Records, formats and snippets, tables, plots and output writing."""
