"""``python -m devtools <tool>``: run one of the developers' tools (see :mod:`devtools`)."""

import sys

from devtools import main

sys.exit(main())
