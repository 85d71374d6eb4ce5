"""A stand-in for matplotlib, for Keras 2 examples that plot their results: the tests check the
training, not the pictures, and the test environment does not install matplotlib."""
