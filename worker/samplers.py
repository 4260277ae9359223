"""A1111's sampler names → diffusers schedulers, each made fresh for its job from the loaded model's config.

The names, aliases and schedule types are genproto/samplers.py's (shared with the api). A scheduler is built
`from_config` of the model's own scheduler, so SDXL's betas, timestep spacing and prediction type are kept, and
each job gets its own instance: no step state is shared between jobs.
"""

from typing import Any, Final

from diffusers import (
    DDIMScheduler,
    DPMSolverMultistepScheduler,
    DPMSolverSDEScheduler,
    EulerAncestralDiscreteScheduler,
    EulerDiscreteScheduler,
    HeunDiscreteScheduler,
    KDPM2AncestralDiscreteScheduler,
    KDPM2DiscreteScheduler,
    LCMScheduler,
    LMSDiscreteScheduler,
    PNDMScheduler,
    UniPCMultistepScheduler,
)
from diffusers.schedulers.scheduling_utils import SchedulerMixin
from genproto import samplers

# Each A1111 sampler as the diffusers scheduler that implements it (diffusers' documented A1111 equivalents).
SCHEDULERS: Final[dict[str, tuple[type[SchedulerMixin], dict[str, Any]]]] = {
    "DPM++ 2M": (DPMSolverMultistepScheduler, {"algorithm_type": "dpmsolver++", "solver_order": 2}),
    "DPM++ SDE": (DPMSolverSDEScheduler, {}),
    "DPM++ 2M SDE": (DPMSolverMultistepScheduler, {"algorithm_type": "sde-dpmsolver++", "solver_order": 2}),
    "DPM++ 3M SDE": (DPMSolverMultistepScheduler, {"algorithm_type": "sde-dpmsolver++", "solver_order": 3}),
    "Euler a": (EulerAncestralDiscreteScheduler, {}),
    "Euler": (EulerDiscreteScheduler, {}),
    "LMS": (LMSDiscreteScheduler, {}),
    "Heun": (HeunDiscreteScheduler, {}),
    "DPM2": (KDPM2DiscreteScheduler, {}),
    "DPM2 a": (KDPM2AncestralDiscreteScheduler, {}),
    "DDIM": (DDIMScheduler, {}),
    "PLMS": (PNDMScheduler, {"skip_prk_steps": True}),
    "UniPC": (UniPCMultistepScheduler, {}),
    "LCM": (LCMScheduler, {}),
}
assert set(SCHEDULERS) == set(samplers.NAMES), "every shared sampler name has a scheduler"

# Samplers whose noise comes from a seed in their config rather than the pipeline's generator (a Brownian tree):
# each job's scheduler is seeded with the job's seed, so the same seed still gives the same pixels.
SEEDED_BY_CONFIG: Final = frozenset({"DPM++ SDE"})
_SIGMA_FLAGS: Final = {
    samplers.KARRAS: "use_karras_sigmas",
    samplers.EXPONENTIAL: "use_exponential_sigmas",
    samplers.BETA: "use_beta_sigmas",
}


def name_of(scheduler: SchedulerMixin) -> str | None:
    """The A1111 name of a loaded scheduler (the model's own), None when it is none of ours."""
    config = scheduler.config
    for name, (cls, options) in SCHEDULERS.items():
        if type(scheduler) is cls and all(config.get(key) == value for key, value in options.items()):
            return name
    return None


def build(own: SchedulerMixin, sampler: str | None, schedule: str, seed: int) -> SchedulerMixin:
    """A new scheduler for one job: `sampler` (None: the model's own kind) on `schedule`, from the model's config."""
    if sampler is None:
        return type(own).from_config(own.config)
    cls, options = SCHEDULERS[sampler]
    overrides: dict[str, Any] = dict(options)
    accepted = set(cls.__init__.__code__.co_varnames)
    for flag in _SIGMA_FLAGS.values():
        if flag in accepted:  # Uniform and the spacing schedules keep the model's plain sigmas
            overrides[flag] = False
    if schedule in _SIGMA_FLAGS:
        overrides[_SIGMA_FLAGS[schedule]] = True
    elif schedule == samplers.SGM_UNIFORM:
        overrides["timestep_spacing"] = "trailing"  # diffusers' equivalent of SGM Uniform
    if sampler in SEEDED_BY_CONFIG:
        overrides["noise_sampler_seed"] = seed
    scheduler: SchedulerMixin = cls.from_config(own.config, **overrides)
    return scheduler
