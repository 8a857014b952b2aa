"""``python -m pike PATH [PATH ...]``: list the plugin classes in folders."""

import sys

from pike.cli import main

if __name__ == "__main__":  # pragma: no branch
    sys.exit(main())
