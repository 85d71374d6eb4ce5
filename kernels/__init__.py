"""CUDA C sources (``*.cu``) for the CuPy backend, and the loader that compiles them once."""
