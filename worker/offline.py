"""Puts the Hugging Face libraries offline before they are imported: nothing is fetched at run time."""

import os

# These are read when huggingface_hub, transformers and diffusers are first imported
# (docs/architecture.md, section "Offline by construction").
for _name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_name, "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
