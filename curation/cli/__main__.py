"""`python -m curation.cli` = `curate`."""

import sys

from curation.cli.main import main

sys.exit(main())
