"""Data preparation: turn public datasets (or the bundled sample) into canonical files in the cache."""
