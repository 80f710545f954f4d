import os

# sklearn's array API checks need SciPy's array API mode, set before SciPy loads.
os.environ.setdefault("SCIPY_ARRAY_API", "1")
