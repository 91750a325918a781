"""Lets `python -m tekton_runner.forwarding --listen ... --target ...` run the forward verb."""

import sys

from .command import main

sys.exit(main(sys.argv[1:]))
