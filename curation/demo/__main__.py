"""`python -m curation.demo`: fetch the UDHR and build the demo crawl."""

import sys

from curation.demo.build import main

sys.exit(main())
