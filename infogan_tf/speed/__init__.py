"""Beyond the original: variants of the update that trade a detail of its schedule for speed."""
