"""Trains the demo-shapes model on CPU: SDXL's pipeline classes, small, taught the toy world of scripts/demo_world.py.

    make train-demo    # = .venv/bin/python scripts/train_demo.py --out models/demo-shapes (about an hour, 2 cores)

Stages: (1) the VAE on world images; (2) the two text encoders taught to tell the grammar's words apart (linear
probes on their pooled and token outputs must name each caption's colours and shape), then frozen; (3) world images
encoded once into latents, and every caption's embeddings (plus the empty prompt's) cached through the pipeline's
own encode_prompt; (4) the UNet with the DDPM epsilon objective on the cached latents, the caption dropped to the
empty prompt now and then so guidance works, its weights averaged (EMA); (5) the folder saved with
save_pretrained(safe_serialization=True) and a sample grid drawn at the model's defaults.
"""

import argparse
import copy
import json
import math
import random
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
from PIL import Image
from transformers import CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from genproto.limits import DEFAULT_GUIDANCE_SCALE

import worker.offline  # noqa: F401  (before diffusers loads anything: local files only)
from scripts.demo_eval import generate, score
from scripts.demo_world import (
    COLOR_NAMES,
    IMAGE_SIDE,
    SHAPES,
    all_captions,
    caption_parts,
    grammar,
    random_scene,
    render,
    scenes,
)
from scripts.tiny_models import TEXT_WIDTH, text_encoder_config
from worker.checkpoint import BUNDLED_SDXL_CONFIG_DIR
from worker.model_sidecar import write_sidecar

# The model's own defaults (written into its img-generator.json): few steps, as a flat world needs no more.
DEMO_STEPS: Final = 12
DEMO_GUIDANCE: Final = DEFAULT_GUIDANCE_SCALE
TIME_EMBED: Final = 8
LATENT_SIDE: Final = IMAGE_SIDE // 8
# Seeds of each stage's randomness; evaluation's generation seeds (scripts/demo_eval.py) lie far above these.
WEIGHTS_SEED: Final = 17
VAE_WORLD_SEED: Final = 1
LATENT_WORLD_SEED: Final = 2
TRAIN_SEED: Final = 3
# SDXL's micro-conditioning for a 256 x 256 image, uncropped: what the pipeline passes at the default size.
TIME_IDS: Final = (IMAGE_SIDE, IMAGE_SIDE, 0, 0, IMAGE_SIDE, IMAGE_SIDE)


def build_unet() -> UNet2DConditionModel:
    """32x32 latents (256 px); cross-attention and self-attention at the 8x8 level, where a shape is whole."""
    return UNet2DConditionModel(
        sample_size=LATENT_SIDE,
        in_channels=4,
        out_channels=4,
        block_out_channels=(32, 64, 64),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4, 4),
        transformer_layers_per_block=1,
        use_linear_projection=True,
        cross_attention_dim=2 * TEXT_WIDTH,
        addition_embed_type="text_time",
        addition_time_embed_dim=TIME_EMBED,
        projection_class_embeddings_input_dim=TEXT_WIDTH + 6 * TIME_EMBED,
        # Four or more channels a group: fewer leave GroupNorm too little to carry a flat image's colour.
        norm_num_groups=8,
        # FiLM (scale and shift from the time + caption embedding): the caption steers every block strongly, which
        # is what a class-like condition (a background colour for the whole image) needs.
        resnet_time_scale_shift="scale_shift",
    )


def build_vae() -> AutoencoderKL:
    """8x (three downsamplings), 4 latent channels; no mid-block attention, so it is fully convolutional."""
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        block_out_channels=(8, 16, 32, 64),
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        layers_per_block=1,
        # One group: GroupNorm over few channels per group erases a flat image's absolute colour (2 channels
        # normalised together keep little more than a sign), and this world is flat colour.
        norm_num_groups=1,
        sample_size=IMAGE_SIDE,
        mid_block_add_attention=False,
        force_upcast=False,
    )


def build_pipeline() -> StableDiffusionXLPipeline:
    """Fresh components from WEIGHTS_SEED, SDXL's scheduler config and the real CLIP tokenizers."""
    torch.manual_seed(WEIGHTS_SEED)
    text_encoder = CLIPTextModel(text_encoder_config())
    text_encoder_2 = CLIPTextModelWithProjection(text_encoder_config())
    # SDXL's scheduler, but sampled from t=999 ("trailing"): with "leading", 12 steps start at t=914, where the
    # starting noise still decides much of a flat image's colour (Lin et al. 2023, "Common Diffusion Noise
    # Schedules and Sample Steps are Flawed"). Every sampler the worker builds takes this from the model's config.
    scheduler = EulerDiscreteScheduler.from_pretrained(
        BUNDLED_SDXL_CONFIG_DIR, subfolder="scheduler", timestep_spacing="trailing"
    )
    return StableDiffusionXLPipeline(
        vae=build_vae(),
        text_encoder=text_encoder,
        text_encoder_2=text_encoder_2,
        tokenizer=CLIPTokenizer.from_pretrained(BUNDLED_SDXL_CONFIG_DIR, subfolder="tokenizer"),
        tokenizer_2=CLIPTokenizer.from_pretrained(BUNDLED_SDXL_CONFIG_DIR, subfolder="tokenizer_2"),
        unet=build_unet(),
        scheduler=scheduler,
        add_watermarker=False,
    )


class Progress:
    """Progress lines with the elapsed time since the run began."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def __call__(self, message: str) -> None:
        print(f"[{time.monotonic() - self.started:7.0f}s] {message}", flush=True)


def world_batch(rng: random.Random, count: int, side: int = IMAGE_SIDE) -> torch.Tensor:
    """`count` random world images as a (count, 3, side, side) tensor in [-1, 1], as the VAE takes them."""
    images = np.stack([render(random_scene(rng), side) for _ in range(count)])
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1


def cosine_lr(step: int, total: int, peak: float, warmup: int) -> float:
    """Linear warm-up to `peak`, then a cosine down to 5% of it."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


def train_vae(vae: AutoencoderKL, args: argparse.Namespace, log: Progress) -> None:
    """Reconstruction (L1 + MSE) with a small KL, on fresh world images every step."""
    rng = random.Random(VAE_WORLD_SEED)
    generator = torch.Generator().manual_seed(TRAIN_SEED)
    # A linear map from a latent to its 8x8 block's mean colour, learned alongside: it keeps colour linear in the
    # latents, so the live previews' least-squares map (latent_rgb_fit) shows the colours the image will have.
    preview = torch.nn.Linear(4, 3)
    optimizer = torch.optim.AdamW([*vae.parameters(), *preview.parameters()], lr=args.vae_lr, weight_decay=0.0)
    vae.train()
    for step in range(args.vae_steps):
        for group in optimizer.param_groups:
            group["lr"] = cosine_lr(step, args.vae_steps, args.vae_lr, 50)
        # Small scenes first (the same proportions of colour, so GroupNorm's statistics match, at a sixteenth of
        # the cost), then half-size ones for edges closer to the served size.
        late = step >= args.vae_steps * 3 // 4
        images = world_batch(rng, args.vae_batch // (4 if late else 1), IMAGE_SIDE // (2 if late else 4))
        posterior = vae.encode(images).latent_dist
        # The mean, with a little noise so the decoder tolerates the small errors a diffusion model leaves; a
        # full posterior sample (std 1 at the start) drowns the signal and stalls a run this short.
        noise = torch.randn(posterior.mean.shape, generator=generator)
        decoded = vae.decode(posterior.mean + args.vae_noise * posterior.mean.std().detach() * noise).sample
        reconstruction = (decoded - images).abs().mean() + F.mse_loss(decoded, images)
        previewed = preview(posterior.mean.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        preview_loss = F.mse_loss(previewed, F.avg_pool2d(images, 8))
        loss = reconstruction + args.vae_kl * posterior.kl().mean() + args.vae_preview * preview_loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        optimizer.step()
        if step % args.log_every == 0 or step == args.vae_steps - 1:
            log(
                f"vae step {step + 1}/{args.vae_steps} loss {loss.item():.4f} recon {reconstruction.item():.4f}"
                f" preview {preview_loss.item():.4f}"
            )
    vae.eval()


@torch.no_grad()
def make_posterior_deterministic(vae: AutoencoderKL) -> None:
    """Set the encoder's log-variance to its floor, so encode().latent_dist.sample() is its mean.

    The recipe trains the decoder on the mean (with a little noise) and the UNet on cached means; image to image and
    inpainting encode their init image with a posterior *sample*, which with the untrained variance (std about 1,
    larger than the latents themselves) would bury the picture in noise.
    """
    log_variance = slice(vae.config.latent_channels, 2 * vae.config.latent_channels)
    vae.quant_conv.weight[log_variance] = 0
    vae.quant_conv.bias[log_variance] = -30.0  # diffusers clamps logvar to [-30, 20]: std e^-15


def caption_targets() -> torch.Tensor:
    """(colour, shape, background) class ids of every caption, in all_captions() order."""
    return torch.tensor([[COLOR_NAMES.index(c), SHAPES.index(s), COLOR_NAMES.index(b)] for c, s, b in caption_parts()])


def train_text_encoders(pipeline: StableDiffusionXLPipeline, args: argparse.Namespace, log: Progress) -> None:
    """Teach both encoders the grammar's words, then freeze them, rounded to half precision.

    Linear probes on the pooled embedding (the UNet's text_time input) and on the mean of the token states (what
    cross-attention reads) must name each caption's shape colour, shape and background: random encoders mix a
    caption's words into features the UNet would have to untangle caption by caption.
    """
    captions = all_captions()
    targets = caption_targets()
    tokens = [
        tokenizer(captions, padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids
        for tokenizer in (pipeline.tokenizer, pipeline.tokenizer_2)
    ]
    classes = (len(COLOR_NAMES), len(SHAPES), len(COLOR_NAMES))
    torch.manual_seed(WEIGHTS_SEED)
    probes = torch.nn.ModuleList(
        [torch.nn.Linear(TEXT_WIDTH, sum(classes)), torch.nn.Linear(2 * TEXT_WIDTH, sum(classes))]
    )
    encoders = (pipeline.text_encoder, pipeline.text_encoder_2)
    parameters = [p for module in (*encoders, probes) for p in module.parameters()]
    optimizer = torch.optim.AdamW(parameters, lr=args.text_lr, weight_decay=0.0)
    for step in range(args.text_steps):
        # The calls encode_prompt makes: both encoders' penultimate hidden states, text_encoder_2's projection.
        first = pipeline.text_encoder(tokens[0], output_hidden_states=True)
        second = pipeline.text_encoder_2(tokens[1], output_hidden_states=True)
        sequence = torch.cat([first.hidden_states[-2], second.hidden_states[-2]], dim=-1)
        losses = []
        for probe, features in zip(probes, (second.text_embeds, sequence.mean(dim=1)), strict=True):
            logits = probe(features).split(classes, dim=1)
            losses += [F.cross_entropy(logit, targets[:, part]) for part, logit in enumerate(logits)]
        loss = torch.stack(losses).sum()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % args.log_every == 0 or step == args.text_steps - 1:
            log(f"text step {step + 1}/{args.text_steps} probe loss {loss.item():.4f}")
    # Stored in half precision (most of the folder's bytes are their 49408-token tables), so the values are
    # rounded to it now and the embeddings cached next are the ones a loaded model gives.
    for encoder in encoders:
        for parameter in encoder.parameters():
            parameter.requires_grad_(False)
            parameter.data = parameter.data.half().float()


@torch.inference_mode()
def encode_world(vae: AutoencoderKL, count: int, log: Progress) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(latent means, caption index, 8x8-pooled images) of `count` world scenes, every caption equally often."""
    captions = {text: index for index, text in enumerate(all_captions())}
    latents, labels, pooled = [], [], []
    batch: list[np.ndarray] = []
    for number, scene in enumerate(scenes(LATENT_WORLD_SEED, count)):
        batch.append(render(scene))
        labels.append(captions[scene.caption])
        if len(batch) == 64 or number == count - 1:
            images = torch.from_numpy(np.stack(batch)).permute(0, 3, 1, 2).float() / 127.5 - 1
            latents.append(vae.encode(images).latent_dist.mean)
            pooled.append(F.avg_pool2d(images, 8))
            batch = []
            if len(labels) % 1024 == 0 or number == count - 1:
                log(f"encoded {len(labels)}/{count} images")
    return torch.cat(latents), torch.tensor(labels), torch.cat(pooled)


@torch.inference_mode()
def caption_embeddings(pipeline: StableDiffusionXLPipeline) -> tuple[torch.Tensor, torch.Tensor]:
    """(prompt_embeds, pooled) of every caption through the pipeline's encode_prompt; the last row is the
    unconditional input guidance uses: with no negative prompt (the worker's empty one included), SDXL's
    force_zeros_for_empty_prompt makes it zeros, not the encoding of ""."""
    embeds, negative, pooled, negative_pooled = pipeline.encode_prompt(
        prompt=all_captions(), device=torch.device("cpu"), do_classifier_free_guidance=True
    )
    assert not negative.any() and not negative_pooled.any(), "the unconditional input is SDXL's zeros"
    return torch.cat([embeds, negative[:1]]), torch.cat([pooled, negative_pooled[:1]])


def alphas_cumprod(scheduler: EulerDiscreteScheduler) -> torch.Tensor:
    """The noise schedule the sampler inverts (SDXL's scaled-linear betas), one value per training timestep."""
    config = scheduler.config
    betas = torch.linspace(config.beta_start**0.5, config.beta_end**0.5, config.num_train_timesteps) ** 2
    return torch.cumprod(1 - betas, dim=0)


def epsilon_errors(
    unet: UNet2DConditionModel,
    clean: torch.Tensor,
    embeds: torch.Tensor,
    pooled: torch.Tensor,
    schedule: torch.Tensor,
    generator: torch.Generator,
    offset_noise: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One DDPM epsilon step on a batch of clean latents: (each sample's squared error, the timesteps drawn)."""
    noise = torch.randn(clean.shape, generator=generator)
    if offset_noise:
        # Offset noise (a per-image, per-channel constant on top): a flat image's colour is its latents' mean,
        # which SDXL's schedule leaves readable even at t=999, so without it the model takes the colour from the
        # starting noise instead of the caption.
        noise = noise + offset_noise * torch.randn((len(clean), clean.shape[1], 1, 1), generator=generator)
    timestep = torch.randint(len(schedule), (len(clean),), generator=generator)
    alpha = schedule[timestep].view(-1, 1, 1, 1)
    time_ids = torch.tensor([TIME_IDS], dtype=torch.float32).repeat(len(clean), 1)
    prediction = unet(
        alpha.sqrt() * clean + (1 - alpha).sqrt() * noise,
        timestep,
        encoder_hidden_states=embeds,
        added_cond_kwargs={"text_embeds": pooled, "time_ids": time_ids},
    ).sample
    return ((prediction - noise) ** 2).mean(dim=(1, 2, 3)), timestep


def train_unet(
    unet: UNet2DConditionModel,
    data: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
    schedule: torch.Tensor,
    args: argparse.Namespace,
    log: Progress,
    checkpoint: Callable[[int], None],
    ema: UNet2DConditionModel,
) -> list[tuple[int, float]]:
    """Epsilon prediction with min-SNR-5 weights on cached latents, averaged into `ema`; returns (step, mean loss)
    per log interval."""
    latents, labels, embeds, pooled = data
    empty = len(embeds) - 1
    generator = torch.Generator().manual_seed(TRAIN_SEED)
    optimizer = torch.optim.AdamW(unet.parameters(), lr=args.lr, weight_decay=1e-2)
    # Min-SNR weighting (Hang et al. 2023): the easy low-noise steps stop dominating, so it learns faster.
    snr = schedule / (1 - schedule)
    weights = snr.clamp(max=5.0) / snr
    history: list[tuple[int, float]] = []
    running: list[float] = []
    unet.train()
    for step in range(args.steps):
        for group in optimizer.param_groups:
            group["lr"] = cosine_lr(step, args.steps, args.lr, args.warmup)
        index = torch.randint(len(latents), (args.batch,), generator=generator)
        caption = labels[index].clone()
        # The empty prompt now and then, so the unconditional prediction that guidance needs is learned too.
        dropped = torch.rand(args.batch, generator=generator) < args.drop
        caption[dropped] = empty
        per_sample, timestep = epsilon_errors(
            unet, latents[index], embeds[caption], pooled[caption], schedule, generator, args.offset_noise
        )
        loss = (per_sample * weights[timestep]).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        optimizer.step()
        # A moving average of the weights samples cleaner than the last step's; warmed up, so an early
        # checkpoint is not dominated by the random start.
        decay = min(args.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            for averaged, current in zip(ema.parameters(), unet.parameters(), strict=True):
                averaged.lerp_(current, 1 - decay)
        running.append(per_sample.mean().item())
        if (step + 1) % args.log_every == 0 or step == args.steps - 1:
            history.append((step + 1, float(np.mean(running))))
            log(f"unet step {step + 1}/{args.steps} loss {history[-1][1]:.4f} lr {optimizer.param_groups[0]['lr']:.2e}")
            running = []
        if args.checkpoint_every and (step + 1) % args.checkpoint_every == 0 and step + 1 < args.steps:
            checkpoint(step + 1)
    unet.eval()
    return history


def latent_rgb_fit(latents: torch.Tensor, images: torch.Tensor) -> dict[str, list[Any]]:
    """Least-squares map from the pipeline's (scaled) latents to RGB in [-1, 1]: a preview needs no VAE."""
    x = latents.permute(0, 2, 3, 1).reshape(-1, 4).double()
    y = images.permute(0, 2, 3, 1).reshape(-1, 3).double()
    design = torch.cat([x, torch.ones(len(x), 1, dtype=torch.float64)], dim=1)
    # The normal equations in float64: lstsq's float32 path on millions of rows returns a near-rank-1 answer.
    solution = torch.linalg.solve(design.T @ design, design.T @ y).float()
    return {"latent_to_rgb": solution[:4].tolist(), "rgb_bias": solution[4].tolist()}


def save(pipeline: StableDiffusionXLPipeline, out: Path, fit: dict[str, Any]) -> None:
    """save_pretrained as safetensors into `out` with its sidecar (grammar, defaults, preview fit), through a
    staging folder so a reader never sees half of it."""
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    encoders = (pipeline.text_encoder, pipeline.text_encoder_2)
    for encoder in encoders:
        encoder.to(torch.float16)
    pipeline.save_pretrained(staging, safe_serialization=True)
    for encoder in encoders:
        encoder.to(torch.float32)
    # The repo's own CLIP vocabulary files (1.5 MB) rather than the 3.6 MB tokenizer.json transformers writes.
    for name in ("tokenizer", "tokenizer_2"):
        shutil.rmtree(staging / name)
        shutil.copytree(BUNDLED_SDXL_CONFIG_DIR / name, staging / name)
    write_sidecar(staging, grammar(), DEMO_STEPS, DEMO_GUIDANCE, fit)
    out.mkdir(parents=True, exist_ok=True)
    for item in staging.iterdir():
        target = out / item.name
        if target.is_dir():
            shutil.rmtree(target)
        item.rename(target)
    staging.rmdir()


def sample_grid(pipeline: StableDiffusionXLPipeline, path: Path, steps: int) -> float:
    """A grid of every shape in several colour pairs at the defaults, scored as the eval scores; returns s/image."""
    rng = random.Random(TRAIN_SEED)
    parts = rng.sample(list(caption_parts()), 24)
    prompts = [f"a {c} {s} on a {b} background" for c, s, b in parts]
    started = time.monotonic()
    images = generate(pipeline, prompts, [5_000_000 + i for i in range(24)], steps, DEMO_GUIDANCE, IMAGE_SIDE)
    seconds = (time.monotonic() - started) / len(images)
    rows = [np.concatenate(images[row * 6 : row * 6 + 6], axis=1) for row in range(4)]
    Image.fromarray(np.concatenate(rows, axis=0)).save(path, optimize=True)
    scores = [score(image, *caption) for image, caption in zip(images, parts, strict=True)]
    good = sum(s.background_ok and s.color_ok and s.shape_ok for s in scores)
    print(f"sample grid {path}: {good}/24 images pass all three checks", flush=True)
    return seconds


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("models/demo-shapes"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/demo-shapes-work"), help="VAE and latent cache")
    parser.add_argument("--reuse", action="store_true", help="reuse a VAE and latents already in --work")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--vae-steps", type=int, default=1600)
    parser.add_argument("--vae-batch", type=int, default=16, help="64 px scenes a step (a quarter as many later)")
    parser.add_argument("--vae-lr", type=float, default=3e-3)
    parser.add_argument("--vae-kl", type=float, default=1e-6)
    parser.add_argument("--vae-noise", type=float, default=0.05, help="latent noise in training, x the latents' std")
    parser.add_argument("--vae-preview", type=float, default=0.1, help="weight of the linear latent-to-colour loss")
    parser.add_argument("--text-steps", type=int, default=300, help="text encoder probe steps")
    parser.add_argument("--text-lr", type=float, default=3e-3)
    parser.add_argument("--images", type=int, default=8192, help="world images encoded for the UNet")
    parser.add_argument("--steps", type=int, default=7000, help="UNet steps")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--offset-noise", type=float, default=0.2, help="std of the per-channel constant noise")
    parser.add_argument("--ema", type=float, default=0.999, help="decay of the UNet weights' moving average")
    parser.add_argument("--drop", type=float, default=0.1, help="share of captions dropped to the empty prompt")
    parser.add_argument("--log-every", type=int, default=100)
    parser.add_argument("--checkpoint-every", type=int, default=1000, help="save the folder every N UNet steps")
    return parser.parse_args()


def main() -> None:
    """Run every stage and write the model folder, its training record and a sample grid."""
    args = _parse_args()
    torch.set_num_threads(args.threads)
    log = Progress()
    pipeline = build_pipeline()
    args.work.mkdir(parents=True, exist_ok=True)
    cache = args.work / f"latents-{args.images}.pt"
    record: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()}}
    if args.reuse and (args.work / "vae").is_dir():
        pipeline.vae = AutoencoderKL.from_pretrained(args.work / "vae")
        log("reused the VAE from the work folder")
    else:
        train_vae(pipeline.vae, args, log)
        make_posterior_deterministic(pipeline.vae)
        pipeline.vae.save_pretrained(args.work / "vae")
        cache.unlink(missing_ok=True)
    record["vae_seconds"] = time.monotonic() - log.started
    mark = time.monotonic()
    train_text_encoders(pipeline, args, log)
    record["text_seconds"] = time.monotonic() - mark
    mark = time.monotonic()
    if args.reuse and cache.is_file():
        latents, labels, small = torch.load(cache)
    else:
        latents, labels, small = encode_world(pipeline.vae, args.images, log)
        torch.save((latents, labels, small), cache)
    # The latents' spread becomes the VAE's scaling_factor, so the UNet sees unit-variance latents.
    factor = float(1 / latents.std())
    pipeline.vae.register_to_config(scaling_factor=factor)
    latents = latents * factor
    embeds, pooled = caption_embeddings(pipeline)
    record["latent_preview"] = fit = latent_rgb_fit(latents, small)
    record["latent_seconds"] = time.monotonic() - mark
    log(f"{len(latents)} latents, scaling_factor {factor:.4f}, mean {latents.mean():.3f}; embeddings {embeds.shape}")
    mark = time.monotonic()
    grid = args.out / "samples.png"

    unet = pipeline.unet
    # The folder holds the averaged weights: they are the model.
    ema = copy.deepcopy(unet).requires_grad_(False).eval()
    pipeline.unet = ema

    def checkpoint(step: int) -> None:
        save(pipeline, args.out, fit)
        log(f"checkpoint at step {step} saved to {args.out}")

    history = train_unet(
        unet, (latents, labels, embeds, pooled), alphas_cumprod(pipeline.scheduler), args, log, checkpoint, ema
    )
    record["unet_seconds"] = time.monotonic() - mark
    save(pipeline, args.out, fit)
    record["seconds_per_image"] = sample_grid(pipeline, grid, DEMO_STEPS)
    record["total_seconds"] = time.monotonic() - log.started
    record["unet_loss"] = history
    record["parameters"] = {
        name: sum(p.numel() for p in getattr(pipeline, name).parameters())
        for name in ("unet", "vae", "text_encoder", "text_encoder_2")
    }
    (args.out / "training.json").write_text(json.dumps(record, indent=1))
    log(f"done: {args.out} ({record['total_seconds']:.0f}s)")


if __name__ == "__main__":
    main()
