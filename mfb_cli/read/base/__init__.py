"""What every source shares: identity keys, shown names, the byte budget, deadlines and
cancellation, safe opening (it imports no other read/ room)."""
