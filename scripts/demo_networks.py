"""The demo models of the course's networks (scripts/train_demos.py trains them with the rest):
each makes one architecture's point on a task of engine/network_tasks.py, and its description
says what was measured on the shipped file (tests/server/test_demo_claims_networks.py).

- gru2-rhymes        2 stacked GRU layers on the nursery rhymes, beside gru-rhymes (1 layer,
                     the same size and training);
- gru-blank-bi       bidirectional: fills "i'm ___ hungry, and i can eat 3 large pizzas";
- gru-blank-fwd      the same model reading forward only: it cannot see what follows;
- rnn-alphabet       one-to-one: a letter, then the next letter;
- lstm-digits        one-to-many: a digit, then its name spelled out;
- rnn-jordan-brackets, rnn-elman-brackets   output-to-hidden vs hidden-to-hidden recurrence on
                     the same task, size and training;
- lstm-peephole-count  a peephole LSTM that counts dashes.
"""

from __future__ import annotations

from engine.train import TrainConfig

DEMOS_NETWORKS = [
    {
        "id": "gru2-rhymes",
        "task": "rhymes",
        "cell": "gru",
        "hidden_size": 48,
        "num_layers": 2,
        "train": TrainConfig(steps=2500, seq_len=25, optimizer="adam", lr=0.01, seed=0),
        "description": (
            "A GRU (48 hidden units) with two stacked layers, trained on the same nursery "
            "rhymes as gru-rhymes, one character at a time. Layer 0 reads the characters; "
            "layer 1 reads layer 0's h at each step, and the output is read from layer 1. "
            "Measured on the rhymes, its loss is 0.199 per character, gru-rhymes' (one layer, "
            "the same 48 units and the same training) 0.204: on a text this small one layer "
            "already knows it almost by heart, and the second adds almost nothing."
        ),
    },
    {
        "id": "gru-blank-bi",
        "task": "blank",
        "cell": "gru",
        "hidden_size": 16,
        "bidirectional": True,
        "train": TrainConfig(steps=3000, optimizer="adam", lr=0.01, seed=0),
        "description": (
            "A GRU (16 hidden units) in each direction: a bidirectional model that fills in "
            "the blank of 'i'm ___ hungry, and i can eat 3 large pizzas', word by word. One "
            "row reads the sentence left to right, the other right to left, and the output at "
            "the blank joins both, so it sees the words after the blank ('can eat': very; "
            "'just ate': not). On 400 generated sentences it never trained on, it fills the "
            "blank right 100% of the time; gru-blank-fwd, the same model reading forward "
            "only, 56%: no better than always saying 'very', the answer in 56% of them."
        ),
    },
    {
        "id": "gru-blank-fwd",
        "task": "blank",
        "cell": "gru",
        "hidden_size": 16,
        "train": TrainConfig(steps=3000, optimizer="adam", lr=0.01, seed=0),
        "description": (
            "A GRU (16 hidden units) reading forward only, trained exactly as gru-blank-bi on "
            "the same fill-in-the-blank sentences, word by word. At the blank it has read "
            "only 'i'm ___': the words that decide between 'very' and 'not' come after it. On "
            "the 400 held-out sentences it fills the blank right 56% of the time: it always "
            "says 'very', the answer in 56% of them, as a guess that cannot see the clue "
            "must; the bidirectional gru-blank-bi, 100%."
        ),
    },
    {
        "id": "rnn-alphabet",
        "task": "alphabet",
        "cell": "rnn",
        "hidden_size": 12,
        "train": TrainConfig(steps=3000, optimizer="adam", lr=0.01, seed=0),
        "description": (
            "A vanilla RNN (12 hidden units), one-to-one: it reads a single letter and gives "
            "a single output, the next letter of the alphabet ('m' gives 'n', 'z' gives 'a'). "
            "It gets all 26 right. One step from h₋₁ = 0: there is nothing to remember, so "
            "its recurrent weights W_hh play no part."
        ),
    },
    {
        "id": "lstm-digits",
        "task": "digits",
        "cell": "lstm",
        "hidden_size": 24,
        "train": TrainConfig(steps=3000, optimizer="adam", lr=0.01, seed=0),
        "description": (
            "An LSTM (24 hidden units), one-to-many: it reads one digit, then spells its "
            "name, one letter per step for 6 steps ('7' gives 'seven.', '1' gives 'one...'). "
            "After step 0 its input is the zero vector: the letters come from its hidden and "
            "cell state alone. It spells all ten digits right."
        ),
    },
    {
        "id": "rnn-jordan-brackets",
        "task": "brackets",
        "cell": "rnn",
        "hidden_size": 16,
        "jordan": True,
        "train": TrainConfig(steps=3000, seq_len=24, optimizer="adam", lr=0.01, seed=0),
        "description": (
            "A vanilla RNN (16 hidden units) wired as a Jordan network: its recurrence is "
            "output-to-hidden only (y_{t-1} feeds h_t; its W_hh is zero), trained one "
            "character at a time on brackets such as '(cab)' and '[dad]'. It can remember "
            "only what its previous output says, and while it reads the letters its output is "
            "a guess among letters, which says nothing of the bracket that opened. At the "
            "closing bracket of 64 held-out lines it picks the right one of the four 23% of "
            "the time (chance: 25%); rnn-elman-brackets, hidden-to-hidden with the same size "
            "and training, 100%."
        ),
    },
    {
        "id": "rnn-elman-brackets",
        "task": "brackets",
        "cell": "rnn",
        "hidden_size": 16,
        "train": TrainConfig(steps=3000, seq_len=24, optimizer="adam", lr=0.01, seed=0),
        "description": (
            "A vanilla RNN (16 hidden units), an Elman network (hidden-to-hidden recurrence: "
            "h_{t-1} feeds h_t), trained one character at a time on the same brackets as "
            "rnn-jordan-brackets: '(cab)', '[dad]'. Its hidden state carries which bracket "
            "opened across the three letters: at the closing bracket of 64 held-out lines it "
            "picks the right one 100% of the time; the Jordan network rnn-jordan-brackets, "
            "whose only recurrence is its previous output, 23% (chance: 25%)."
        ),
    },
    {
        "id": "lstm-peephole-count",
        "task": "count",
        "cell": "lstm",
        "hidden_size": 8,
        "peephole": True,
        "train": TrainConfig(steps=3000, seq_len=24, optimizer="adam", lr=0.01, seed=0),
        "description": (
            "An LSTM (8 hidden units) with peephole connections: its gates also read the cell "
            "state c (weights w_ci, w_cf, w_co). Trained one character at a time on '3---.': "
            "a digit, that many dashes, then '.'. It must time when to stop: on 100 lines it "
            "never trained on, it guesses the '.' right after the last dash 99% of the time. "
            "The peepholes are used: set w_ci, w_cf and w_co to zero and that falls to 65%."
        ),
    },
]
