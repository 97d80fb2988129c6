"""Where label files come from: folders, lists, archives, URLs, parquet rows, shards."""
