"""OpenAI's Images API (`/v1`): a thin layer over the one internal request."""
