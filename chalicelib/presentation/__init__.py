"""What the customer reads: words, money, dates and codes, formatted without any I/O."""
