"""Progress bars: the one policy every bar in minivae follows.

A bar is drawn only where someone watches it: on a terminal, or in a Jupyter notebook
(tqdm.auto's widget, which needs ipywidgets: the ``tutorials`` extra). Where stderr is a
file or a pipe (a log, CI, ``2>&1 | tee``) there is none: every redraw of the bar would be
kept there (a training's log was 190 KB with bars, 6 KB without). The epoch lines and the
report still go to stdout.
"""

from __future__ import annotations

import sys

from tqdm.auto import tqdm


def progress_bar(iterable=None, *, show: bool = True, **options):
    """A tqdm bar on stderr, or a silent stand-in: ``show`` False (``--no-progress``), or
    stderr not a terminal. ``options`` are tqdm's (total, desc, initial, leave, ...)."""
    # disable=None is tqdm's "off where the stream is not a terminal"; its notebook bar reads
    # None as "on" (a notebook's stderr is no terminal, and the widget does not pile up).
    disable = None if show else True
    return tqdm(iterable, disable=disable, file=sys.stderr, dynamic_ncols=True, **options)
