"""``keras.preprocessing.image``."""
