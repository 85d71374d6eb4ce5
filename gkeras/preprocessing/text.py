"""``keras.preprocessing.text``."""
