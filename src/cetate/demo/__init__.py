"""The demo city (``cetate demo``): Cluj-Napoca with a week of readings."""
