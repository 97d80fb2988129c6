"""What every source shares: shown names, safe opening, the byte budget (no other read/ room)."""
