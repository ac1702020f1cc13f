"""`python -m edenframe demo | serve`."""

import sys

from ._cli import main

sys.exit(main())
