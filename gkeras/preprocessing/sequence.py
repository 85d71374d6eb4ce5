"""``keras.preprocessing.sequence``."""
