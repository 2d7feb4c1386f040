"""Training tasks and their names, shared by scripts/train_demos.py and the server.

Task names (what a model file's "task" says, ``Task.name``): "next-char" and "next-word" for a
language model (the next token, at that level), "classify" for one label per text, "fill-blank"
for the word at a blank (``BLANK``, "___") read from both sides, "generate" for a sequence
generated from a single input (one-to-many).

Task kinds (``Task.kind``) and the set-up each trains (``Task.setup``):
- "lm": a next-token language model over ``text`` (many-to-many);
- CLASSIFY: one label per text, ``examples`` = (text, label index) (many-to-one);
- FILL_BLANK: ``pairs`` = (sentence with one BLANK, the word it stands for); a many-to-many word
  model whose output at each step is a word, with the loss only at the blank;
- "one-to-one": ``pairs`` = (one token, the token it maps to);
- "one-to-many": ``pairs`` = (one token, the ``steps`` tokens it generates).
``held_out`` holds data of the same form never used in training (engine/network_tasks.py).

Built-in tasks (BUILTIN), and the user's own text (text_task):
- hello:    next character of "hello" over h, e, l, o (the smallest thing an RNN can learn);
- rhymes:   next character of a few public-domain nursery rhymes;
- question: statement or question? "you are good" vs "are you good": the same words, and only
            their order tells them apart, so the model must remember what came first.
- text:     next character of the user's own text.

Demo tasks (DEMO_TASKS, for scripts/train_demos.py; their data is generated on demand):
- printable: next character of generated everyday English (engine/everyday.py), over a fixed
             vocabulary of printable ASCII plus ``<unk>``;
- sentiment: negative or positive, word level, over a few thousand everyday English words plus
             ``<unk>`` (engine/sentiment.py), with a held-out test set (``test_examples``).

The built-in tasks' texts are all lower-case, so their vocabularies lower-case what they read
(``normalize="lower"``: "Are you good?" reads as "are you good ?"); the user's own text is read
as typed.

How a task becomes a trained model is engine/recipe.py.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from engine.tokenize import Vocabulary

CLASSIFY = "classify"
FILL_BLANK = "fill-blank"
GENERATE = "generate"
TASK_NAMES = ("next-char", "next-word", CLASSIFY, FILL_BLANK, GENERATE)
BLANK = "___"  # the blank of a fill-blank sentence: one word token (\w+)
KIND_SETUPS = {
    "lm": "many-to-many",
    CLASSIFY: "many-to-one",
    FILL_BLANK: "many-to-many",
    "one-to-one": "one-to-one",
    "one-to-many": "one-to-many",
}


def task_name(level: str, classify: bool) -> str:
    """The task name: CLASSIFY for a classifier, else "next-<level>" (level "char" | "word")."""
    return CLASSIFY if classify else f"next-{level}"


RHYMES = """twinkle, twinkle, little star,
how i wonder what you are!
up above the world so high,
like a diamond in the sky.

mary had a little lamb,
its fleece was white as snow;
and everywhere that mary went,
the lamb was sure to go.

humpty dumpty sat on a wall,
humpty dumpty had a great fall.
all the king's horses and all the king's men
couldn't put humpty together again.

jack and jill went up the hill
to fetch a pail of water;
jack fell down and broke his crown,
and jill came tumbling after.

baa, baa, black sheep, have you any wool?
yes sir, yes sir, three bags full.
"""

# Subject-verb pairs whose order flips between a statement and a question.
_PAIRS = [
    ("you", "are"),
    ("they", "are"),
    ("we", "are"),
    ("he", "is"),
    ("she", "is"),
    ("it", "is"),
    ("i", "am"),
]
_COMPLEMENTS = [
    "good",
    "happy",
    "late",
    "ready",
    "tired",
    "hungry",
    "here",
    "home",
    "right",
    "sure",
    "cold",
    "busy",
]
_MODALS = ["can", "will", "should"]
_VERBS = ["swim", "run", "help", "come", "sing", "read"]
LABELS = ["statement", "question"]


def question_examples() -> list[tuple[str, int]]:
    """Every sentence of the question task: (text, 0 statement | 1 question)."""
    out: list[tuple[str, int]] = []
    for (subj, verb), comp in itertools.product(_PAIRS, _COMPLEMENTS):
        out.append((f"{subj} {verb} {comp}", 0))
        out.append((f"{verb} {subj} {comp}", 1))
    subjects = [s for s, _ in _PAIRS]
    for subj, modal, verb in itertools.product(subjects, _MODALS, _VERBS):
        out.append((f"{subj} {modal} {verb}", 0))
        out.append((f"{modal} {subj} {verb}", 1))
    return out


@dataclass
class Task:
    id: str
    description: str
    kind: str  # a key of KIND_SETUPS (see the module docstring)
    level: str = "char"
    text: str = ""  # lm: the training text
    examples: list[tuple[str, int]] = field(default_factory=list)  # classify
    labels: list[str] | None = None
    example: str = ""  # a text to try the trained model on
    normalize: str | None = None  # the vocabulary's normalisation (engine.tokenize)
    pairs: list[tuple[str, str]] = field(default_factory=list)  # fill-blank, one-to-*
    held_out: str | list = ""  # data of the training data's form, never trained on
    steps: int | None = None  # one-to-many: how many tokens each input generates
    tokens: list[str] | None = None  # a fixed vocabulary (None: the training text's tokens)
    unk: str | None = None  # the vocabulary's unknown token (engine.tokenize)
    test_examples: list[tuple[str, int]] = field(default_factory=list)  # classify: held out

    @property
    def classify(self) -> bool:
        return self.kind == CLASSIFY

    @property
    def setup(self) -> str:
        """The set-up a model of this task has (engine/model.py)."""
        return KIND_SETUPS[self.kind]

    @property
    def name(self) -> str:
        """The task name a model trained on it carries ("next-char", "classify", ...)."""
        if self.kind == FILL_BLANK:
            return FILL_BLANK
        if self.kind == "one-to-many":
            return GENERATE
        return task_name(self.level, self.classify)

    def vocabulary(self) -> Vocabulary:
        """Every token of the inputs and of the outputs, in order of first appearance (or the
        task's fixed `tokens`)."""
        if self.tokens is not None:
            return Vocabulary(self.tokens, self.level, unk=self.unk, normalize=self.normalize)
        if self.kind == "lm":
            text = self.text
        elif self.classify:
            text = " ".join(t for t, _ in self.examples)
        else:
            sep = " " if self.level == "word" else ""
            text = sep.join(f"{a}{sep}{b}" for a, b in self.pairs)
        return Vocabulary.from_text(text, level=self.level, unk=self.unk, normalize=self.normalize)

    def encoded_examples(
        self, vocab: Vocabulary, data: list | None = None, held_out: bool = False
    ) -> list[tuple]:
        """(input ids, target) pairs as engine.train.train_examples takes them: a label for a
        classifier, else one target id per output step (-1: no loss there). `data`: other
        examples or pairs of the same form (e.g. held_out); `held_out`: a classifier's
        test_examples; default the training ones. Unknown tokens read <unk> where it has one."""
        if self.classify:
            examples = data or (self.test_examples if held_out else self.examples)
            return [(vocab.encode(t), label) for t, label in examples]
        out = []
        for text, target in data or self.pairs:
            ids = vocab.encode(text)
            if self.kind == FILL_BLANK:  # the word at the blank, no loss elsewhere
                want = np.full(len(ids), -1, dtype=np.int64)
                want[ids == vocab.encode(BLANK)[0]] = vocab.encode(target)[0]
            else:
                want = vocab.encode(target)
            out.append((ids, want))
        return out


BUILTIN: dict[str, Task] = {
    "hello": Task(
        id="hello",
        description="Learn to spell 'hello': after h comes e, after e comes l, after 'hel' "
        "another l, then o.",
        kind="lm",
        text="hello" * 8,
        example="hell",
        normalize="lower",
    ),
    "rhymes": Task(
        id="rhymes",
        description="Learn to continue five nursery rhymes, one character at a time.",
        kind="lm",
        text=RHYMES,
        example="twinkle, twinkle, little star",
        normalize="lower",
    ),
    "question": Task(
        id="question",
        description="Tell a statement from a question by word order alone: 'you are good' "
        "vs 'are you good'.",
        kind=CLASSIFY,
        level="word",
        examples=question_examples(),
        labels=LABELS,
        example="are you good",
        normalize="lower",
    ),
}


def _printable_task() -> Task:
    from engine.everyday import PRINTABLE, corpus

    return Task(
        id="printable",
        description="Continue everyday English (capitals, digits, punctuation), one "
        "printable ASCII character at a time.",
        kind="lm",
        text=corpus(30_000, seed=0),
        example="The quick brown fox jumps over the lazy dog 42 times.",
        tokens=PRINTABLE,
        unk="<unk>",
    )


def _sentiment_task() -> Task:
    from engine import sentiment

    train, test = sentiment.split(16_000, 2_000, seed=0)
    return Task(
        id="sentiment",
        description="Positive or negative? Everyday English with negation: 'not good', "
        "'not bad at all', 'good, not bad'.",
        kind=CLASSIFY,
        level="word",
        examples=train,
        test_examples=test,
        labels=sentiment.LABELS,
        example="the movie was not bad at all",
        normalize="lower",
        tokens=sentiment.vocabulary_tokens(),
        unk="<unk>",
    )


# Tasks of the larger demo models (scripts/train_demos.py), built when asked for: generating
# their data takes a second, and the page does not offer them for training.
DEMO_TASKS = {"printable": _printable_task, "sentiment": _sentiment_task}


@cache
def demo_task(task_id: str) -> Task:
    """A demo model's task by id: a built-in one, one of DEMO_TASKS (built once), or one of the
    course networks' tasks (engine/network_tasks.py)."""
    if task_id in BUILTIN:
        return BUILTIN[task_id]
    if task_id in DEMO_TASKS:
        return DEMO_TASKS[task_id]()
    from engine.network_tasks import NETWORK_TASKS  # it builds on this module

    return NETWORK_TASKS[task_id]


def text_task(text: str) -> Task:
    """A character language model on the user's own text."""
    return Task(
        id="text",
        description="Continue your own text, one character at a time.",
        kind="lm",
        text=text,
        example=text[:40],
    )
