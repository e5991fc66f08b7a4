"""`python -m cli`: the same as the `packer-registry` command."""

import sys

from cli.main import main

sys.exit(main())
