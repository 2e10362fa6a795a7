"""Figures for the lessons (matplotlib). Notebooks call them; tests call them directly.

One module per lesson topic; each lists its public names in ``__all__``. ``style`` gives every figure
its colour-blind-safe, grayscale-readable look and a text description (``alt_text``).
"""

from .gates import *  # noqa: F401,F403  lesson 01
from .gradients import *  # noqa: F401,F403  lesson 02
from .sunspots import *  # noqa: F401,F403  lessons 03-04
from .ssm import *  # noqa: F401,F403  lesson 05
from .style import accessible, alt_text, describe, series_style  # noqa: F401  every figure
from .attention import *  # noqa: F401,F403  lesson 06
