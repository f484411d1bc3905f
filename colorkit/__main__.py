"""`python -m colorkit` is the colorkit command."""
import sys

from .cli import main

sys.exit(main())
