"""ipywidgets UIs for the lessons. Each UI's callback is a plain function, unit-tested by moving it.

One module per lesson topic; each lists its public names in ``__all__``. Every UI returns a
``VBox`` with the DOM class ``seqlab-ui`` and two handles: ``controls`` (name -> widget) and
``output`` (the ``Output`` it draws into, always through ``display.show_in_output``).
"""

from .gates import *  # noqa: F401,F403  lesson 01
from .gradients import *  # noqa: F401,F403  lesson 02
from .sunspots import *  # noqa: F401,F403  lessons 03-04
from .ssm import *  # noqa: F401,F403  lesson 05
from .attention import *  # noqa: F401,F403  lesson 06
