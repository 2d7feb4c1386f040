"""The tasks of the networks' demo models (scripts/train_demos.py): each one makes one kind of
network's point, and each generates its own data (seeded: the same every run), with a held-out
part never trained on where the claim is about sentences the model never saw.

- blank:    fill in the blank, "i'm ___ hungry, and i can eat 3 large pizzas": "very" or "not",
            decided only by what FOLLOWS the blank ("can eat" / "just ate"), so a model that reads
            forward only cannot know it (a bidirectional one can);
- digits:   one-to-many: a digit generates its name, one letter per step ("7" -> "seven."),
            padded with "." to STEPS letters; after step 0 the model reads zero vectors;
- alphabet: one-to-one: a letter gives the next letter of the alphabet ("z" gives "a");
- brackets: which bracket closes? "(cab)", "[dad]": three random letters between an opening
            bracket and its closing one. The letters say nothing of the bracket, so the output
            while reading them (a guess among the letters) does not carry it: a Jordan network,
            whose only recurrence is its previous output, cannot remember it; an Elman network
            carries it in h;
- count:    "3---.": a digit, that many dashes, then "." (a timing task: when to stop).

``NETWORK_TASKS`` holds them by id; ``TASKS`` adds engine.tasks.BUILTIN's.
"""

from __future__ import annotations

import itertools

import numpy as np

from engine.tasks import BLANK, BUILTIN, FILL_BLANK, Task

# -- blank ----------------------------------------------------------------------------------

# (subject, "be", the contraction): "i am ___ hungry" or "i'm ___ hungry"
_BE = [
    ("i", "am", "i'm"),
    ("you", "are", "you're"),
    ("we", "are", "we're"),
    ("they", "are", "they're"),
    ("he", "is", "he's"),
    ("she", "is", "she's"),
]
# adjective -> (endings after "very", endings after "not"); {s} subject, {n} number, {size}
_ENDINGS = {
    "hungry": (
        ["and {s} can eat {n} {size} pizzas", "so {s} will order {n} {size} burgers"],
        ["because {s} just ate {n} {size} pizzas", "so {s} will skip lunch"],
    ),
    "thirsty": (
        ["and {s} can drink {n} {size} glasses of water"],
        ["because {s} just drank {n} {size} glasses of water"],
    ),
    "tired": (["and {s} could sleep for {n} hours"], ["because {s} slept for {n} hours"]),
}
_NUMBERS = [str(n) for n in range(2, 10)]
_SIZES = ["large", "big", "small", "huge"]
BLANK_WORDS = ("very", "not")
BLANK_EXAMPLE = f"i'm {BLANK} hungry, and i can eat 3 large pizzas"


def blank_sentence(rng: np.random.Generator) -> tuple[str, str]:
    """One random fill-blank sentence and the word its blank stands for."""
    subject, be, short = _BE[rng.integers(len(_BE))]
    adjective = list(_ENDINGS)[rng.integers(len(_ENDINGS))]
    label = int(rng.integers(2))
    endings = _ENDINGS[adjective][label]
    ending = endings[rng.integers(len(endings))].format(
        s=subject, n=_NUMBERS[rng.integers(len(_NUMBERS))], size=_SIZES[rng.integers(len(_SIZES))]
    )
    start = short if rng.integers(2) else f"{subject} {be}"
    return f"{start} {BLANK} {adjective}, {ending}", BLANK_WORDS[label]


def blank_pairs(n_train: int = 800, n_held_out: int = 400, seed: int = 0):
    """(training pairs, held-out pairs): distinct sentences, none of the held-out ones (nor the
    example) among the training ones."""
    rng = np.random.default_rng(seed)
    seen = {BLANK_EXAMPLE}
    train: list[tuple[str, str]] = []
    held: list[tuple[str, str]] = []
    while len(train) < n_train or len(held) < n_held_out:
        text, word = blank_sentence(rng)
        if text in seen:
            continue
        seen.add(text)
        (train if len(train) < n_train else held).append((text, word))
    return train, held


# -- digits (one-to-many) and alphabet (one-to-one) -------------------------------------------

DIGIT_NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
STEPS = 6  # the longest name and its "."
DIGIT_PAIRS = [(str(d), (name + ".").ljust(STEPS, ".")) for d, name in enumerate(DIGIT_NAMES)]
LETTERS = "abcdefghijklmnopqrstuvwxyz"
ALPHABET_PAIRS = [(a, b) for a, b in zip(LETTERS, LETTERS[1:] + LETTERS[0], strict=True)]

# -- brackets (Jordan vs Elman) -----------------------------------------------------------------

BRACKETS = {"(": ")", "[": "]", "{": "}", "<": ">"}
FILLERS = "abcd"
GAP = 3  # letters between the brackets


def bracket_lines(seed: int = 0, held_out: int = 64) -> tuple[list[str], list[str]]:
    """Every line "(xyz)" (4 brackets x 4^3 fillings = 256), shuffled: (training, held-out)."""
    lines = [
        o + "".join(f) + c
        for o, c in BRACKETS.items()
        for f in itertools.product(FILLERS, repeat=GAP)
    ]
    order = np.random.default_rng(seed).permutation(len(lines))
    shuffled = [lines[i] for i in order]
    return shuffled[held_out:], shuffled[:held_out]


def bracket_text(lines: list[str], repeats: int, seed: int) -> str:
    """The lines, `repeats` times each in a seeded random order, separated by spaces."""
    rng = np.random.default_rng(seed)
    out: list[str] = []
    for _ in range(repeats):
        out += [lines[i] for i in rng.permutation(len(lines))]
    return " ".join(out) + " "


# -- count (peephole) ---------------------------------------------------------------------------


def count_text(n_lines: int, seed: int) -> str:
    """Lines "3---.": a digit 1..9, that many dashes, ".", in a seeded random order, separated
    by spaces."""
    rng = np.random.default_rng(seed)
    return "".join(f"{d}{'-' * d}. " for d in rng.integers(1, 10, n_lines))


_BRACKETS_TRAIN, _BRACKETS_HELD = bracket_lines()
_BLANK_TRAIN, _BLANK_HELD = blank_pairs()

NETWORK_TASKS: dict[str, Task] = {
    "blank": Task(
        id="blank",
        description="Fill in the blank: 'i'm ___ hungry, and i can eat 3 large pizzas' (very) or "
        "'... because i just ate 3 large pizzas' (not). Only the words after it tell.",
        kind=FILL_BLANK,
        level="word",
        pairs=_BLANK_TRAIN,
        held_out=_BLANK_HELD,
        example=BLANK_EXAMPLE,
        normalize="lower",
    ),
    "digits": Task(
        id="digits",
        description="From one digit, spell its name, a letter per step: '7' gives 'seven.'.",
        kind="one-to-many",
        pairs=DIGIT_PAIRS,
        steps=STEPS,
        example="7",
        normalize="lower",
    ),
    "alphabet": Task(
        id="alphabet",
        description="From one letter, the next letter of the alphabet: 'a' gives 'b'.",
        kind="one-to-one",
        pairs=ALPHABET_PAIRS,
        example="m",
        normalize="lower",
    ),
    "brackets": Task(
        id="brackets",
        description="Close the bracket that opened three letters earlier: '(cab)', '[dad]'.",
        kind="lm",
        text=bracket_text(_BRACKETS_TRAIN, repeats=4, seed=0),
        held_out=bracket_text(_BRACKETS_HELD, repeats=1, seed=1),
        example="(cab) [dad] {bcd}",
        normalize="lower",
    ),
    "count": Task(
        id="count",
        description="A digit, that many dashes, then '.': '3---.' (when to stop).",
        kind="lm",
        text=count_text(300, seed=0),
        held_out=count_text(100, seed=1),
        example="5-----. 3---. 8--------.",
        normalize="lower",
    ),
}

TASKS: dict[str, Task] = {**BUILTIN, **NETWORK_TASKS}
