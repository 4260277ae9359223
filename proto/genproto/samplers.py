"""The samplers and schedule types a request may name, in AUTOMATIC1111's words: the one list api and worker share.

Dependency-free like limits.py: the api validates names and answers GET /samplers from it without torch; the
worker maps each name to a diffusers scheduler (worker/samplers.py).
"""

from dataclasses import dataclass, field
from typing import Final

# A1111 1.9+'s schedule types that diffusers' schedulers can follow. "Automatic" is the sampler's own choice (its
# `scheduler` option below, else the model's spacing); "Uniform" the model's spacing as it is.
AUTOMATIC: Final = "Automatic"
UNIFORM: Final = "Uniform"
KARRAS: Final = "Karras"
EXPONENTIAL: Final = "Exponential"
BETA: Final = "Beta"
SGM_UNIFORM: Final = "SGM Uniform"
# Schedules that reshape the sigmas (diffusers' use_*_sigmas), and those that only move the timesteps.
SIGMA_SCHEDULES: Final = (KARRAS, EXPONENTIAL, BETA)
SPACING_SCHEDULES: Final = (AUTOMATIC, UNIFORM, SGM_UNIFORM)
SCHEDULE_TYPES: Final = (*SPACING_SCHEDULES[:2], *SIGMA_SCHEDULES, SGM_UNIFORM)


@dataclass(frozen=True)
class Sampler:
    """One sampler as A1111 lists it (/sdapi/v1/samplers): its name, aliases, options and the schedules it takes."""

    name: str
    aliases: tuple[str, ...]
    # A1111's options; "scheduler" is the schedule "Automatic" means for this sampler.
    options: dict[str, str] = field(default_factory=dict)
    # False for samplers over fixed timesteps (DDIM, PLMS, ...): only the spacing schedules apply.
    takes_sigmas: bool = True

    @property
    def schedule_types(self) -> tuple[str, ...]:
        """The schedule types this sampler accepts."""
        return SCHEDULE_TYPES if self.takes_sigmas else SPACING_SCHEDULES

    @property
    def automatic_schedule(self) -> str:
        """What "Automatic" resolves to: the sampler's own schedule, else the model's spacing (Uniform)."""
        return {"karras": KARRAS, "exponential": EXPONENTIAL}.get(self.options.get("scheduler", ""), UNIFORM)


SAMPLERS: Final[tuple[Sampler, ...]] = (
    Sampler("DPM++ 2M", ("k_dpmpp_2m",), {"scheduler": "karras"}),
    Sampler("DPM++ SDE", ("k_dpmpp_sde",), {"scheduler": "karras", "second_order": "true", "brownian_noise": "true"}),
    Sampler("DPM++ 2M SDE", ("k_dpmpp_2m_sde",), {"scheduler": "exponential", "brownian_noise": "true"}),
    Sampler("DPM++ 3M SDE", ("k_dpmpp_3m_sde",), {"scheduler": "exponential", "brownian_noise": "true"}),
    Sampler("Euler a", ("k_euler_a", "k_euler_ancestral"), {"uses_ensd": "true"}, takes_sigmas=False),
    Sampler("Euler", ("k_euler",)),
    Sampler("LMS", ("k_lms",)),
    Sampler("Heun", ("k_heun",), {"second_order": "true"}),
    Sampler("DPM2", ("k_dpm_2",), {"scheduler": "karras", "second_order": "true"}),
    Sampler("DPM2 a", ("k_dpm_2_a",), {"scheduler": "karras", "uses_ensd": "true", "second_order": "true"}),
    Sampler("DDIM", ("ddim",), takes_sigmas=False),
    Sampler("PLMS", ("plms",), takes_sigmas=False),
    Sampler("UniPC", ("unipc",)),
    Sampler("LCM", ("k_lcm",), takes_sigmas=False),
)
BY_NAME: Final[dict[str, Sampler]] = {s.name: s for s in SAMPLERS}
NAMES: Final = tuple(BY_NAME)
# The names A1111 knew before schedule types were their own field: "<sampler> Karras" and the like.
_LEGACY_SUFFIXES: Final = {" Karras": KARRAS, " Exponential": EXPONENTIAL}


# Every spelling `resolve` takes as written here (it also takes any case): names, aliases, legacy names.
SPELLINGS: Final = tuple(
    [s.name for s in SAMPLERS]
    + [a for s in SAMPLERS for a in s.aliases]
    + [
        s.name + suffix
        for s in SAMPLERS
        for suffix, schedule in _LEGACY_SUFFIXES.items()
        if schedule in s.schedule_types
    ]
)

# The spellings of samplers over fixed timesteps, which take only the spacing schedules.
FIXED_TIMESTEP_SPELLINGS: Final = tuple(
    spelling for s in SAMPLERS if not s.takes_sigmas for spelling in (s.name, *s.aliases)
)


def resolve(name: str) -> tuple[Sampler, str | None] | None:
    """A sampler name, alias or legacy "<name> Karras" → (sampler, the schedule the name implies), None if unknown.

    Case-insensitive, as A1111 matches names.
    """
    wanted = name.strip().casefold()
    for sampler in SAMPLERS:
        if wanted == sampler.name.casefold() or wanted in (a.casefold() for a in sampler.aliases):
            return sampler, None
    for suffix, schedule in _LEGACY_SUFFIXES.items():
        if wanted.endswith(suffix.casefold()):
            found = resolve(name.strip()[: -len(suffix)])
            if found is not None and schedule in found[0].schedule_types:
                return found[0], schedule
    return None


def resolve_schedule(name: str) -> str | None:
    """A schedule type by name (case-insensitive), None if unknown."""
    wanted = name.strip().casefold()
    return next((s for s in SCHEDULE_TYPES if s.casefold() == wanted), None)


def schedule_refusal(schedule_field: str, sampler: Sampler, schedule: str) -> str:
    """A schedule type the sampler cannot follow (one over fixed timesteps has no sigmas to reshape)."""
    accepted = ", ".join(repr(s) for s in sampler.schedule_types)
    return f"{schedule_field} {schedule!r} does not apply to the sampler {sampler.name!r} (it takes {accepted})"
