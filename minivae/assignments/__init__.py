"""Assignments: student copies with functions to write, and a grader for them.

``spec``: the assignments as data; ``make``: the student copy; ``grade``: the grader,
which runs each item of ``checks`` in its own process (``child.py``).

This file imports nothing: the grader mounts this package into its child processes.
"""
