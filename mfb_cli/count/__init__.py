"""ClassCounts, the counting kernels, the scan pipeline, statistics files, checks."""
