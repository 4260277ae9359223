"""`python -m worker`: serve generator.ImageService on PY_PORT."""

import worker.offline  # noqa: F401  (before any Hugging Face import)
from worker.server import main

main()
