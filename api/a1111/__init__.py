"""AUTOMATIC1111's web API (`/sdapi/v1`): a thin layer over the one internal request."""
