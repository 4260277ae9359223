"""Puts the Hugging Face libraries offline before they are imported: nothing is fetched at run time."""

import logging
import os

# These are read when huggingface_hub, transformers and diffusers are first imported
# (docs/architecture.md, section "Offline by construction").
for _name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_name, "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


class _DropUnusedImageProcessorNotice(logging.Filter):
    """Drops transformers' notice that its image processors want torchvision.

    diffusers names the CLIP/SigLIP image processors as optional SDXL components (for IP-Adapters); the
    worker never uses them, so "install torchvision" is advice a user should not act on.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "requires torchvision (not installed)" not in record.getMessage()


# The logger transformers writes that notice with, from the first import on (a filter on it, not a blanket
# silence: its other warnings still reach the log).
logging.getLogger("transformers.utils.import_utils").addFilter(_DropUnusedImageProcessorNotice())
