"""Where label files come from and how one becomes label ids."""
