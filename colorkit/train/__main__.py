"""`python -m colorkit.train`: arguments, data and DDP under torchrun live in colorkit.train_cli."""
import sys

from ..train_cli import main

if __name__ == "__main__":
    sys.exit(main())
