"""Trains the demo-shapes model on CPU: SDXL's pipeline classes, small, taught the toy world of scripts/demo_world.py.

    nice -n 19 .venv/bin/python scripts/train_demo.py --out models/demo-shapes

Stages: (1) the VAE on world images; (2) world images encoded once into latents, and every caption's embeddings
(plus the empty prompt's) cached through the pipeline's own encode_prompt; (3) the UNet with the DDPM epsilon
objective on the cached latents, the caption dropped to the empty prompt now and then so guidance works; (4) the
folder saved with save_pretrained(safe_serialization=True) and a sample grid drawn at the model's defaults.
The text encoders are random and frozen: their outputs for the grammar's captions are fixed features.
"""

import argparse
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
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import worker.offline  # noqa: F401  (before diffusers loads anything: local files only)
from scripts.demo_eval import DEFAULT_GUIDANCE, DEFAULT_STEPS, generate, score
from scripts.demo_world import IMAGE_SIDE, all_captions, caption_parts, random_scene, render, scenes
from worker.checkpoint import BUNDLED_SDXL_CONFIG_DIR

TEXT_WIDTH: Final = 32
TIME_EMBED: Final = 8
LATENT_SIDE: Final = IMAGE_SIDE // 8
# Seeds of each stage's randomness; evaluation's generation seeds (scripts/demo_eval.py) lie far above these.
WEIGHTS_SEED: Final = 17
VAE_WORLD_SEED: Final = 1
LATENT_WORLD_SEED: Final = 2
TRAIN_SEED: Final = 3
# SDXL's micro-conditioning for a 256 x 256 image, uncropped: what the pipeline passes at the default size.
TIME_IDS: Final = (IMAGE_SIDE, IMAGE_SIDE, 0, 0, IMAGE_SIDE, IMAGE_SIDE)


def _text_config() -> CLIPTextConfig:
    """A tiny CLIP text transformer over the real 49408-token vocabulary (the demo model's shape)."""
    return CLIPTextConfig(
        vocab_size=49408,
        hidden_size=TEXT_WIDTH,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=77,
        projection_dim=TEXT_WIDTH,
        hidden_act="gelu",
        bos_token_id=49406,
        eos_token_id=49407,
        pad_token_id=49407,
    )


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
    text_encoder = CLIPTextModel(_text_config())
    text_encoder_2 = CLIPTextModelWithProjection(_text_config())
    # Stored in half precision (frozen random features: most of the folder's bytes are their 49408-token tables),
    # so the values are rounded to it now and the embeddings cached below are the ones a loaded model gives.
    for encoder in (text_encoder, text_encoder_2):
        for parameter in encoder.parameters():
            parameter.requires_grad_(False)
            parameter.data = parameter.data.half().float()
    return StableDiffusionXLPipeline(
        vae=build_vae(),
        text_encoder=text_encoder,
        text_encoder_2=text_encoder_2,
        tokenizer=CLIPTokenizer.from_pretrained(BUNDLED_SDXL_CONFIG_DIR, subfolder="tokenizer"),
        tokenizer_2=CLIPTokenizer.from_pretrained(BUNDLED_SDXL_CONFIG_DIR, subfolder="tokenizer_2"),
        unet=build_unet(),
        scheduler=EulerDiscreteScheduler.from_pretrained(BUNDLED_SDXL_CONFIG_DIR, subfolder="scheduler"),
        add_watermarker=False,
    )


def load_pipeline(folder: Path) -> StableDiffusionXLPipeline:
    """The saved model, as the worker loads a diffusers folder (local files only, float32 on CPU)."""
    pipeline = StableDiffusionXLPipeline.from_pretrained(folder, local_files_only=True, dtype=torch.float32)
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


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
    optimizer = torch.optim.AdamW(vae.parameters(), lr=args.vae_lr, weight_decay=0.0)
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
        loss = reconstruction + args.vae_kl * posterior.kl().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        optimizer.step()
        if step % args.log_every == 0 or step == args.vae_steps - 1:
            log(f"vae step {step + 1}/{args.vae_steps} loss {loss.item():.4f} recon {reconstruction.item():.4f}")
    vae.eval()


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


def train_unet(
    unet: UNet2DConditionModel,
    data: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
    schedule: torch.Tensor,
    args: argparse.Namespace,
    log: Progress,
    checkpoint: Callable[[int], None],
) -> list[tuple[int, float]]:
    """Epsilon prediction with min-SNR-5 weights on cached latents; returns (step, mean loss) per log interval."""
    latents, labels, embeds, pooled = data
    empty = len(embeds) - 1
    generator = torch.Generator().manual_seed(TRAIN_SEED)
    time_ids = torch.tensor([TIME_IDS], dtype=torch.float32).repeat(args.batch, 1)
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
        clean = latents[index]
        # Offset noise (a per-image, per-channel constant on top): a flat image's colour is its latents' mean,
        # which SDXL's schedule leaves readable even at t=999, so without it the model takes the colour from the
        # starting noise instead of the caption.
        noise = torch.randn(clean.shape, generator=generator)
        noise = noise + args.offset_noise * torch.randn((args.batch, 4, 1, 1), generator=generator)
        timestep = torch.randint(len(schedule), (args.batch,), generator=generator)
        alpha = schedule[timestep].view(-1, 1, 1, 1)
        noisy = alpha.sqrt() * clean + (1 - alpha).sqrt() * noise
        prediction = unet(
            noisy,
            timestep,
            encoder_hidden_states=embeds[caption],
            added_cond_kwargs={"text_embeds": pooled[caption], "time_ids": time_ids},
        ).sample
        per_sample = ((prediction - noise) ** 2).mean(dim=(1, 2, 3))
        loss = (per_sample * weights[timestep]).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        optimizer.step()
        running.append(per_sample.mean().item())
        if (step + 1) % args.log_every == 0 or step == args.steps - 1:
            history.append((step + 1, float(np.mean(running))))
            log(f"unet step {step + 1}/{args.steps} loss {history[-1][1]:.4f} lr {optimizer.param_groups[0]['lr']:.2e}")
            running = []
        if args.checkpoint_every and (step + 1) % args.checkpoint_every == 0 and step + 1 < args.steps:
            unet.eval()
            checkpoint(step + 1)
            unet.train()
    unet.eval()
    return history


def latent_rgb_fit(latents: torch.Tensor, images: torch.Tensor) -> dict[str, list[Any]]:
    """Least-squares map from the pipeline's (scaled) latents to RGB in [-1, 1]: a preview needs no VAE."""
    x = latents.permute(0, 2, 3, 1).reshape(-1, 4)
    y = images.permute(0, 2, 3, 1).reshape(-1, 3)
    solution = torch.linalg.lstsq(torch.cat([x, torch.ones(len(x), 1)], dim=1), y).solution
    return {"latent_to_rgb": solution[:4].tolist(), "rgb_bias": solution[4].tolist()}


def save(pipeline: StableDiffusionXLPipeline, out: Path) -> None:
    """save_pretrained as safetensors into `out`, through a staging folder so a reader never sees half of it."""
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
    images = generate(pipeline, prompts, [5_000_000 + i for i in range(24)], steps, DEFAULT_GUIDANCE, IMAGE_SIDE)
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
    parser.add_argument("--images", type=int, default=8192, help="world images encoded for the UNet")
    parser.add_argument("--steps", type=int, default=2000, help="UNet steps")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--offset-noise", type=float, default=0.2, help="std of the per-channel constant noise")
    parser.add_argument("--drop", type=float, default=0.1, help="share of captions dropped to the empty prompt")
    parser.add_argument("--log-every", type=int, default=50)
    parser.add_argument("--checkpoint-every", type=int, default=500, help="save the folder every N UNet steps")
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
        pipeline.vae.save_pretrained(args.work / "vae")
        cache.unlink(missing_ok=True)
    record["vae_seconds"] = time.monotonic() - log.started
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
    record["latent_seconds"] = time.monotonic() - mark
    log(f"{len(latents)} latents, scaling_factor {factor:.4f}, mean {latents.mean():.3f}; embeddings {embeds.shape}")
    mark = time.monotonic()
    grid = args.out / "samples.png"

    def checkpoint(step: int) -> None:
        save(pipeline, args.out)
        log(f"checkpoint at step {step} saved to {args.out}")

    history = train_unet(
        pipeline.unet, (latents, labels, embeds, pooled), alphas_cumprod(pipeline.scheduler), args, log, checkpoint
    )
    record["unet_seconds"] = time.monotonic() - mark
    save(pipeline, args.out)
    record["seconds_per_image"] = sample_grid(pipeline, grid, DEFAULT_STEPS)
    record["total_seconds"] = time.monotonic() - log.started
    record["unet_loss"] = history
    record["latent_preview_fit"] = latent_rgb_fit(latents, small)
    record["parameters"] = {
        name: sum(p.numel() for p in getattr(pipeline, name).parameters())
        for name in ("unet", "vae", "text_encoder", "text_encoder_2")
    }
    (args.out / "training.json").write_text(json.dumps(record, indent=1))
    log(f"done: {args.out} ({record['total_seconds']:.0f}s)")


if __name__ == "__main__":
    main()
