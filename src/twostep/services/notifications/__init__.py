"""What twostep tells people (codes, notices) and the caps and number rules on sending it."""
