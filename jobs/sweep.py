"""spark-submit entry point of `custseg sweep`: see `./spark-submit.sh sweep --help`."""

from __future__ import annotations

import sys
from typing import Optional

from custseg import cli


def main(argv: Optional[list[str]] = None) -> int:
    """Run the sweep command with argv (default: the process arguments)."""
    return cli.main(["sweep", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
