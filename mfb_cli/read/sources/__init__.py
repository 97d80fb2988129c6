"""Where label files come from: folders, lists, archives, URLs, parquet rows, shards; and
the one loop that lends every source's bytes to its decoder (lending.py)."""
