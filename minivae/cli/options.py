"""The one way a config dataclass becomes command-line options, and back.

Every field becomes ``--field-name`` with the help text and choices of its metadata
(``minivae.config_dict.option``; a model's sizes are copied into its run config from its
model config by ``config_dict.model_options``) and its default shown once. Options the user does not
give stay None in the parsed arguments, so a command can tell what was asked for (a resumed
run keeps its checkpoint's settings and changes only those given).
"""

from __future__ import annotations

import argparse
import difflib
from dataclasses import MISSING, fields

from minivae.config_dict import annotation


class HelpFormatter(argparse.HelpFormatter):
    """Shows an option's default once: where its help does not already say it, and where
    there is one (a default of None or False means "not given")."""

    def _get_help_string(self, action):
        text = action.help or ""
        shown = "(default" in text or action.default in (None, False, argparse.SUPPRESS)
        if shown or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)"


def nearest(word: str, candidates, cutoff: float = 0.6) -> str | None:
    """The candidate closest to a mistyped ``word`` (difflib's ratio, at least ``cutoff``),
    or None."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=cutoff)
    return close[0] if close else None


class Parser(argparse.ArgumentParser):
    """The parser of ``minivae`` and, inherited, of every subcommand: a mistyped option,
    command or choice is an error that names the nearest right one ("did you mean
    --latent-dim?"). argparse's own ``suggest_on_error`` (Python 3.14) does it for choices and
    commands alone; this works on every Python the package supports."""

    def parse_known_args(self, args=None, namespace=None):
        # Everything after a subcommand goes to the subcommand's parser, which ends here on
        # what it does not know: an unknown argument is named by the command it was given to.
        namespace, extras = super().parse_known_args(args, namespace)
        # Names compared without their dashes (which every option shares), a little stricter
        # than for choices: --versoin is not --overflow.
        options = {o[2:]: o for o in self._option_string_actions if o.startswith("--")}
        for arg in extras:
            if arg.startswith("-") and not arg.lstrip("-").replace(".", "").isdigit():
                guess = nearest(arg.split("=", 1)[0].lstrip("-"), options, cutoff=0.7)
                if guess:
                    self.error(f"unrecognized argument: {arg} (did you mean {options[guess]}?)")
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return namespace, extras

    def _check_value(self, action, value):
        # argparse's own check (a private method, the one place choices are checked, for
        # subcommands too), with the nearest choice named.
        if action.choices is not None and value not in action.choices:
            guess = nearest(str(value), [str(c) for c in action.choices])
            if guess:
                choices = ", ".join(map(repr, action.choices))
                raise argparse.ArgumentError(
                    action,
                    f"invalid choice: {value!r} (did you mean {guess!r}?; choose from {choices})",
                )
        super()._check_value(action, value)


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_config_options(parser, cls, title: str = "options of the run") -> None:
    """One option per field of the dataclass ``cls``, and a flag per preset (``PRESETS``:
    name -> (help, {field: value}))."""
    group = parser.add_argument_group(title)
    for name, (text, values) in getattr(cls, "PRESETS", {}).items():
        settings = ", ".join(f"{flag(k)} {v}" for k, v in values.items())
        group.add_argument(flag(name), action="store_true", help=f"{text}: {settings}")
    for f in option_fields(cls):
        default = f.default if f.default is not MISSING else None
        help_text = f"{f.metadata.get('help', '')} (default: {default})"
        if isinstance(default, bool):
            group.add_argument(
                flag(f.name), action=argparse.BooleanOptionalAction, default=None, help=help_text
            )
        else:
            group.add_argument(
                flag(f.name),
                type=value_type(f),
                default=None,
                choices=f.metadata.get("choices"),
                metavar=None if f.metadata.get("choices") else f.name.upper(),
                help=help_text,
            )


def option_fields(cls):
    """The fields that are options: all but those the class names in ``NOT_OPTIONS`` (knobs
    it inherits and does not use, which keep their defaults; ``config_dict.model_options``
    adds there the sizes of a base's model that the class's own model lacks)."""
    return [f for f in fields(cls) if f.name not in getattr(cls, "NOT_OPTIONS", ())]


def value_type(f):
    """int, float or str, from a field's annotation ("int | None" -> int)."""
    return {"int": int, "float": float}.get(annotation(f), str)


def given_options(cls, args) -> dict:
    """The fields of ``cls`` the user gave on the command line: {name: value}, with the
    settings of the presets asked for where the option itself was not given."""
    given = {f.name: getattr(args, f.name) for f in option_fields(cls)}
    given = {k: v for k, v in given.items() if v is not None}
    for name, (_, values) in getattr(cls, "PRESETS", {}).items():
        if getattr(args, name, False):
            given = {**values, **given}
    return given


def config_from_args(cls, args):
    """The config of a fresh run: the options given, the dataclass's defaults elsewhere."""
    return cls(**given_options(cls, args))
