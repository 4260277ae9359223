"""The worker's Prometheus metrics, served on WORKER_METRICS_PORT (prometheus-client's own HTTP server)."""

from prometheus_client import Counter, Gauge, Histogram

# Buckets from a demo image on a CPU (tenths of a second) to a large SDXL image on a slow GPU (minutes).
_SECONDS = (0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 300)

REQUESTS = Counter("imggen_worker_requests", "RPCs answered, by method and gRPC status code.", ["method", "code"])
QUEUE_LENGTH = Gauge("imggen_worker_queue_length", "Jobs waiting in the queue (the running ones excluded).")
QUEUE_WAIT = Histogram("imggen_worker_queue_wait_seconds", "Seconds a job waited before it started.", buckets=_SECONDS)
GENERATION = Histogram("imggen_worker_generation_seconds", "Seconds the pipeline ran for one batch.", buckets=_SECONDS)
STEPS_PER_SECOND = Gauge("imggen_worker_steps_per_second", "Denoising steps per second of the last finished batch.")
CANCELLED = Counter("imggen_worker_cancelled", "Jobs cancelled by their caller, queued or running.", ["where"])
OUT_OF_MEMORY = Counter("imggen_worker_out_of_memory", "Batches that ran out of device memory.")
IMAGES = Counter("imggen_worker_images", "Images generated, by size.", ["size"])
CUDA_PEAK_MEMORY = Gauge("imggen_worker_cuda_peak_memory_bytes", "Peak CUDA memory allocated by torch.")
