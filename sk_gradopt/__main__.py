"""``python -m sk_gradopt``: the ``sk-gradopt`` command line."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
