"""The GPU worker: one preloaded SDXL pipeline behind a gRPC ImageService."""
