"""The class view (void / ignore) and the weighting schemes, from counts alone."""
