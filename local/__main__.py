"""`python -m local`: what `make run` runs."""

import logging
import os
import sys

from local.runner import main

code = main()
# The state is saved; tearing down moto's objects one by one (seconds for a few thousand
# versions) would only delay the exit past the 5 s a stop is allowed.
logging.shutdown()
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
