"""Small crafted DailyDialog folders for the dialogue tests."""

from pathlib import Path

TRAIN = [
    (
        "Hello , how are you ? __eou__ I am fine , thanks . And you ? __eou__ Fine . __eou__",
        "2 1 1",
    ),
    ("What is your name ? __eou__ My name is Tom . __eou__", "2 1"),
    (
        "Can you help me ? __eou__ Sure , what do you need ? __eou__ A pen , please . __eou__ "
        "Here you are . __eou__",
        "3 2 3 4",
    ),
    ("Let's go to the park . __eou__ Good idea ! __eou__", "3 4"),
]


def write_folder(folder: Path, train=TRAIN, copies: int = 3) -> Path:
    """A DailyDialog folder: ``train`` repeated ``copies`` times as the training split, the
    first two dialogues as validation and test."""
    folder.mkdir(parents=True, exist_ok=True)
    splits = {"train": list(train) * copies, "validation": train[:2], "test": train[:2]}
    for name, rows in splits.items():
        (folder / f"dialogues_{name}.txt").write_text("".join(d + "\n" for d, _ in rows))
        (folder / f"dialogues_act_{name}.txt").write_text("".join(a + " \n" for _, a in rows))
        (folder / f"dialogues_emotion_{name}.txt").write_text("")
    return folder
