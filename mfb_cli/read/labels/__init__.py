"""How values become class ids: colour maps, remaps, class sets, names."""
