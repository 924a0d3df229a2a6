"""Errors that name settings: the library names config fields, the command layer the flags a user typed.

A message is written with each setting as its config path in braces, e.g.
``"{train.batch_size}=256 exceeds ..."``. ``str()`` spells it as the path
(``train.batch_size=256``), for code that built the config itself; ``render`` lets the
command layer spell it as the flag (``--batch_size=256``).
"""

from __future__ import annotations

import re
from collections.abc import Callable

_FIELD = re.compile(r"\{([a-z_]+(?:\.[a-z_]+)*)\}")


class ConfigError(RuntimeError):
    """A setting that cannot be used as given; the message names it and the fix."""

    def __init__(self, template: str):
        self.template = template
        super().__init__(self.render(lambda path: path))

    def render(self, name_of: Callable[[str], str]) -> str:
        """The message with each field spelled by ``name_of`` (e.g. as its flag)."""
        return _FIELD.sub(lambda match: name_of(match.group(1)), self.template)

    @property
    def fields(self) -> list[str]:
        """The config paths the message names."""
        return _FIELD.findall(self.template)


class ConfigValueError(ConfigError, ValueError):
    """A value that does not fit (a ``ValueError`` to the code that checks values), named by its field."""
