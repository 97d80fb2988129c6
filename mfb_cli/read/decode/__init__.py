"""How one file's bytes become label values: PNG, TIFF, .npy."""
