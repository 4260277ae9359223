"""The HTTP gateway: validates requests, calls the gRPC image worker, maps its errors to JSON."""
