"""AUTOMATIC1111's web API at /sdapi/v1, as the webuiapi client, Open WebUI, SillyTavern and Krita call it."""

import base64
import logging
import os
import time
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from genproto import generator_pb2, samplers

from api.a1111 import pnginfo
from api.a1111.jobs import Job, Jobs, caller, jobs_of
from api.a1111.protocol import (
    IMG2IMG_UNSUPPORTED,
    TXT2IMG_UNSUPPORTED,
    A1111ErrorResponse,
    Generation,
    ImageResponse,
    Img2ImgRequest,
    LoraItem,
    Memory,
    PngInfoRequest,
    PngInfoResponse,
    ProgressResponse,
    ProgressState,
    SamplerItem,
    SchedulerItem,
    ScriptList,
    SdModel,
    Txt2ImgRequest,
    schedule_name,
)
from api.a1111.serving import (
    checkpoint_of,
    error_body,
    find_model,
    image_answer,
    img2img_request,
    refuse_unsupported,
    run_job,
    txt2img_request,
)
from api.dependencies import Worker, require_json
from api.disconnect import cancel_on_disconnect
from api.errors import ApiError, register_error_shape
from api.gallery.recording import keep
from api.native.protocol import GenerateImageRequest
from api.openapi_docs import ERROR_DESCRIPTIONS
from api.problems import ErrorCode
from api.rate_limit import enforce_rate_limit
from api.worker_client import WorkerClient

log = logging.getLogger(__name__)
PREFIX: Final = "/sdapi/v1"
router = APIRouter(tags=["AUTOMATIC1111"])
# The routes whose bodies may carry images → the fields that carry them (API_MAX_IMAGE_BODY_BYTES).
IMAGE_ROUTES: Final[dict[str, frozenset[str]]] = {
    f"{PREFIX}/img2img": frozenset({"init_images", "mask"}),
    f"{PREFIX}/png-info": frozenset({"image"}),
}
# docs/architecture.md, section "One error path": the one table's status and code, in A1111's body.
register_error_shape(f"{PREFIX}/", error_body)
Registry = Annotated[Jobs, Depends(jobs_of)]


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """A route's error answers for the schema, in this dialect's shape."""
    documented: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        documented[status] = {"model": A1111ErrorResponse, "description": ERROR_DESCRIPTIONS[status]}
        if status == 429:
            seconds = {"description": "Seconds until a retry may succeed.", "schema": {"type": "string"}}
            documented[status]["headers"] = {"Retry-After": seconds}
    return documented


GENERATE: Final[dict[str, Any]] = {
    "response_model": ImageResponse,
    "dependencies": [Depends(enforce_rate_limit), Depends(require_json)],
    "responses": errors(400, 401, 413, 415, 422, 429, 500, 503, 504),
}
LIBRARY_ERRORS: Final = errors(401, 500, 503)


async def _generate(
    request: Request, worker: WorkerClient, jobs: Jobs, body: Generation, native: GenerateImageRequest
) -> Response | ImageResponse:
    started = time.perf_counter()
    job = Job(batch_size=native.count or 1, n_iter=body.n_iter)

    async def kept(batch_body: GenerateImageRequest, replies: list[generator_pb2.GenerateImageResponse]) -> Any:
        return await keep(request, batch_body, replies, started)

    with jobs.running(caller(request), job):
        results = await cancel_on_disconnect(request, run_job(worker, native, job, kept))
    if results is None:
        # Nobody reads this; 499 (nginx's "client closed request") makes the access log say what happened.
        return Response(status_code=499)
    return image_answer(body, native, results)


@router.post(f"{PREFIX}/txt2img", summary="A1111 text to image", **GENERATE)
async def txt2img(body: Txt2ImgRequest, request: Request, worker: Worker, jobs: Registry) -> Response | ImageResponse:
    """batch_size x n_iter images (seeds seed, seed+1, ...); interrupted, the images finished so far."""
    refuse_unsupported(body, TXT2IMG_UNSUPPORTED)
    native = txt2img_request(body, await checkpoint_of(worker, body))
    return await _generate(request, worker, jobs, body, native)


@router.post(f"{PREFIX}/img2img", summary="A1111 image to image and inpainting", **GENERATE)
async def img2img(body: Img2ImgRequest, request: Request, worker: Worker, jobs: Registry) -> Response | ImageResponse:
    """The init image (and mask) denoised again; the same answer as txt2img."""
    refuse_unsupported(body, IMG2IMG_UNSUPPORTED)
    native = await img2img_request(body, await checkpoint_of(worker, body))
    return await _generate(request, worker, jobs, body, native)


@router.get(f"{PREFIX}/progress", response_model=ProgressResponse, responses=errors(401, 422))
async def progress(
    request: Request, jobs: Registry, skip_current_image: Annotated[bool, Query()] = False
) -> ProgressResponse:
    """The caller's own running job (its oldest, if several); idle: progress 0 and job_count 0."""
    running = jobs.of(caller(request))
    if not running:
        return ProgressResponse(progress=0, eta_relative=0, state=ProgressState())
    job = running[0]
    elapsed = time.time() - job.started
    fraction = job.progress
    state = ProgressState(
        skipped=job.skipped,
        interrupted=job.interrupted,
        job=f"a1111-{id(job):x}",
        job_count=job.n_iter,
        job_timestamp=time.strftime("%Y%m%d%H%M%S", time.localtime(job.started)),
        job_no=job.iteration,
        sampling_step=job.step,
        sampling_steps=job.steps,
    )
    preview = None if skip_current_image or job.preview is None else base64.b64encode(job.preview).decode("ascii")
    # A1111's estimate: the time so far over the fraction done.
    eta = elapsed / fraction - elapsed if fraction > 0 else 0.0
    return ProgressResponse(progress=round(fraction, 4), eta_relative=round(eta, 2), state=state, current_image=preview)


@router.post(f"{PREFIX}/interrupt", response_model=dict[str, Any], responses=errors(401))
async def interrupt(request: Request, jobs: Registry) -> dict[str, Any]:
    """Stops the caller's own jobs only (A1111 stops everyone's, its #761); they answer the images done so far."""
    stopped = jobs.stop(caller(request), skip=False)
    log.info("A1111 interrupt: stopped %d job(s) of the caller", stopped)
    return {}


@router.post(f"{PREFIX}/skip", response_model=dict[str, Any], responses=errors(401))
async def skip(request: Request, jobs: Registry) -> dict[str, Any]:
    """Ends the current batch of the caller's own jobs; their next batches run."""
    jobs.stop(caller(request), skip=True)
    return {}


def _sd_models(listed: generator_pb2.ModelList) -> list[SdModel]:
    return [
        SdModel(title=m.title or m.name, model_name=m.name, hash=m.hash or None, sha256=None, filename=m.name)
        for m in listed.models
    ]


@router.get(f"{PREFIX}/sd-models", response_model=list[SdModel], responses=LIBRARY_ERRORS)
async def sd_models(worker: Worker) -> list[SdModel]:
    """The model library; `title` is what sd_model_checkpoint takes (the name works too)."""
    return _sd_models(await worker.list_models())


@router.post(f"{PREFIX}/refresh-checkpoints", response_model=None, responses=LIBRARY_ERRORS)
async def refresh_checkpoints(worker: Worker) -> None:
    """Every worker scans its library again."""
    await worker.on_every_worker(lambda stub: stub.RefreshModels(generator_pb2.ListModelsRequest(), timeout=60))


@router.get(f"{PREFIX}/samplers", response_model=list[SamplerItem])
async def list_samplers() -> list[SamplerItem]:
    """The samplers by A1111's names."""
    return [SamplerItem(name=s.name, aliases=list(s.aliases), options=s.options) for s in samplers.SAMPLERS]


@router.get(f"{PREFIX}/schedulers", response_model=list[SchedulerItem])
async def list_schedulers() -> list[SchedulerItem]:
    """The schedule types, by A1111's names and labels."""
    return [SchedulerItem(name=schedule_name(label), label=label) for label in samplers.SCHEDULE_TYPES]


@router.get(f"{PREFIX}/loras", response_model=list[LoraItem], responses=LIBRARY_ERRORS)
async def list_loras(worker: Worker) -> list[LoraItem]:
    """The LoRAs, as A1111's Lora extension lists them (`<lora:name:weight>` in the prompt)."""
    listed = await worker.list_loras()
    return [LoraItem(name=x.name, alias=x.alias, path=x.path) for x in listed.loras]


@router.get(f"{PREFIX}/scripts", response_model=ScriptList)
async def scripts() -> ScriptList:
    """No scripts: clients that look for extensions (ControlNet, ADetailer) find none."""
    return ScriptList()


# Lists of things this service has none of, answered empty so clients that read them at start work.
for _name in ("sd-vae", "upscalers", "latent-upscale-modes", "prompt-styles", "face-restorers", "hypernetworks"):
    router.add_api_route(f"{PREFIX}/{_name}", lambda: [], methods=["GET"], response_model=list[Any], name=_name)


@router.get(f"{PREFIX}/embeddings", response_model=dict[str, dict[str, Any]])
async def embeddings() -> dict[str, dict[str, Any]]:
    """No textual-inversion embeddings."""
    return {"loaded": {}, "skipped": {}}


@router.get(f"{PREFIX}/options", response_model=dict[str, Any], responses=LIBRARY_ERRORS)
async def get_options(worker: Worker) -> dict[str, Any]:
    """sd_model_checkpoint: the default model's title, as A1111's."""
    default = next((m for m in (await worker.list_models()).models if m.is_default), None)
    return {"sd_model_checkpoint": (default.title or default.name) if default else None, "sd_checkpoint_hash": None}


@router.post(
    f"{PREFIX}/options",
    response_model=None,
    dependencies=[Depends(require_json)],
    responses=errors(400, 401, 413, 415, 422, 500, 503),
)
async def set_options(body: dict[str, Any], worker: Worker) -> None:
    """sd_model_checkpoint (a title or name) becomes every worker's default model; other keys are ignored."""
    wanted = body.pop("sd_model_checkpoint", None)
    if body:
        log.info("A1111 options: ignored %s", ", ".join(sorted(body)))
    if wanted is None:
        return
    name = find_model(await worker.list_models(), wanted, "sd_model_checkpoint")
    change = generator_pb2.SetDefaultModelRequest(name=name)
    await worker.on_every_worker(lambda stub: stub.SetDefaultModel(change, timeout=10))


@router.post(
    f"{PREFIX}/png-info",
    response_model=PngInfoResponse,
    dependencies=[Depends(require_json)],
    responses=errors(400, 401, 413, 415, 422, 500),
)
async def png_info(body: PngInfoRequest) -> PngInfoResponse:
    """The A1111 parameters inside a PNG (text chunk) or JPEG/WebP (EXIF UserComment), parsed."""
    data = pnginfo.decode_image(body.image)
    if data is None:
        message = "image must be base64 or a data: URL of a PNG, JPEG or WebP"
        raise ApiError(422, ErrorCode.INVALID_VALUE, message, field="image")
    return pnginfo.png_info(data)


@router.get(f"{PREFIX}/memory", response_model=Memory)
async def memory() -> Memory:
    """The gateway's RAM (bytes); the GPU belongs to the worker, which the gateway does not ask."""
    page = os.sysconf("SC_PAGE_SIZE")
    total, free = os.sysconf("SC_PHYS_PAGES") * page, os.sysconf("SC_AVPHYS_PAGES") * page
    cuda = {"error": "the gateway has no GPU; the worker's is not reported here"}
    return Memory(ram={"free": free, "used": total - free, "total": total}, cuda=cuda)


@router.get("/internal/ping", response_model=dict[str, Any])
async def ping() -> dict[str, Any]:
    """A1111's liveness check: answers {}."""
    return {}
