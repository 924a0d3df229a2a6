"""The latent spec as text, so a flag can name any mix of noise and codes.

A spec is a comma-separated list of ``family:dim[:option...]`` tokens, in latent-vector
order. Families: ``uniform`` (U(-1, 1) prior, Gaussian posterior), ``gaussian``,
``categorical``, ``bernoulli``. Options: ``reg`` (a regularised code that Q must recover;
without it the token is noise z) and ``fix_std`` (Q's Gaussian keeps stddev 1; uniform
and gaussian only). The original's MNIST spec is ``MNIST_LATENT_SPEC``.
"""

from __future__ import annotations

from infogan_tf.distributions import Bernoulli, Categorical, Distribution, Gaussian, Uniform

LatentSpec = list[tuple[Distribution, bool]]

MNIST_LATENT_SPEC = "uniform:62,categorical:10:reg,uniform:1:reg:fix_std,uniform:1:reg:fix_std"
_CONTINUOUS = "uniform:1:reg:fix_std"
SVHN_LATENT_SPEC = ",".join(["uniform:124", *["categorical:10:reg"] * 4, *[_CONTINUOUS] * 4])
"""The paper's Appendix C for SVHN: 4 ten-way codes, 4 continuous codes, 124 noise variables."""
SVHN_MAIN_TEXT_LATENT_SPEC = ",".join(["uniform:124", *["categorical:10:reg"] * 4, *[_CONTINUOUS] * 2])
"""The paper's Section 5.3 describes two continuous codes for SVHN, not the appendix's four."""
CELEBA_LATENT_SPEC = ",".join(["uniform:128", *["categorical:10:reg"] * 10])
"""The paper's CelebA: 10 ten-way codes and 128 noise variables."""
CHAIRS_LATENT_SPEC = ",".join(["uniform:128", *["categorical:20:reg"] * 3, _CONTINUOUS])
"""The paper's 3D chairs: 3 twenty-way codes, 1 continuous code, 128 noise variables."""
FACES_LATENT_SPEC = ",".join(["uniform:128", *[_CONTINUOUS] * 5])
"""The paper's 3D faces: 5 continuous codes and 128 noise variables."""

_FAMILIES = {"uniform": Uniform, "gaussian": Gaussian, "categorical": Categorical, "bernoulli": Bernoulli}
_OPTIONS = {"reg", "fix_std"}
_GAUSSIAN_FAMILIES = {"uniform", "gaussian"}


class LatentSpecError(ValueError):
    """A latent spec that cannot be parsed; the message names the bad token."""


def parse_latent_spec(text: str) -> LatentSpec:
    """Turn ``"uniform:62,categorical:10:reg"`` into ``[(Uniform(62), False), (Categorical(10), True)]``."""
    if not text or not text.strip():
        raise LatentSpecError(f"empty latent spec; write e.g. '{MNIST_LATENT_SPEC}'")
    spec = []
    for position, token in enumerate(text.split(","), start=1):
        spec.append(_parse_token(token.strip(), position))
    if not any(reg for _, reg in spec):
        raise LatentSpecError(f"latent spec '{text}' has no regularised code; mark at least one token ':reg'")
    return spec


def _parse_token(token: str, position: int) -> tuple[Distribution, bool]:
    def fail(problem: str) -> LatentSpecError:
        return LatentSpecError(f"latent spec token {position} '{token}': {problem}")

    parts = token.split(":")
    if len(parts) < 2:
        raise fail("expected family:dim[:reg][:fix_std], e.g. 'categorical:10:reg'")
    family, dim_text, *options = parts
    if family not in _FAMILIES:
        raise fail(f"unknown family '{family}'; known: {', '.join(sorted(_FAMILIES))}")
    if not (dim_text.isascii() and dim_text.isdigit()) or int(dim_text) < 1:
        raise fail(f"dimension '{dim_text}' is not a positive integer")
    unknown = [o for o in options if o not in _OPTIONS]
    if unknown:
        raise fail(f"unknown option '{unknown[0]}'; known: {', '.join(sorted(_OPTIONS))}")
    if len(set(options)) != len(options):
        raise fail("an option is repeated")
    fix_std = "fix_std" in options
    if fix_std and family not in _GAUSSIAN_FAMILIES:
        raise fail("fix_std applies to uniform and gaussian codes only")
    cls = _FAMILIES[family]
    dist = cls(int(dim_text), fix_std=fix_std) if family in _GAUSSIAN_FAMILIES else cls(int(dim_text))
    return dist, "reg" in options


def format_latent_spec(spec: LatentSpec) -> str:
    """The inverse of ``parse_latent_spec``: a spec written back as text."""
    names = {cls: name for name, cls in _FAMILIES.items()}
    tokens = []
    for dist, reg in spec:
        options = (["reg"] if reg else []) + (["fix_std"] if getattr(dist, "fix_std", False) else [])
        tokens.append(":".join([names[type(dist)], str(dist.dim), *options]))
    return ",".join(tokens)
