"""`python -m odin_acceptance.provisioning [--control-plane]`."""

import sys

from odin_acceptance.provisioning.components import main

sys.exit(main())
