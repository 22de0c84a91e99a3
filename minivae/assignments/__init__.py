"""Assignments: student copies with functions to write, and a grader for them.

``spec``: the assignments as data; ``items``: what each graded item runs; ``make``: the
student copy; ``grade``: the grader, which runs each item's functions from the student's
copy in a child process (``sandbox``, ``supervise.py``, ``child.py``), confined in its own
namespaces by bubblewrap (``confine``), and judges the arrays that come back itself
(``judge``); ``selfcheck``: the check cells of the notebooks (``notebooks/``).
"""
