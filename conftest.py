"""pytest runs the notebooks (stored with a `cpu` run's outputs) at the `smoke` profile unless told otherwise."""
import os

os.environ.setdefault("COLORKIT_PROFILE", "smoke")  # read by colorkit.notebook.start_notebook in every kernel
