"""Generated task data with exactly checkable answers, in the Gemma 4 chat format.

A sample is (task, instruction, answer). The chat text the model sees is

    <bos><|turn>user\n{instruction}<turn|>\n<|turn>model\n<|channel>thought\n<channel|>{answer}<turn|>

Tasks (each answer is a deterministic function of the instruction):
  sort     sort 3..20 digits ascending (answers of >= 16 digits exceed 32 tokens: two canvases)
  reverse  reverse a list of 3..36 space-separated lowercase letters (long ones span 2 canvases)
  add      a + b with a, b in 0..99
  count    how many times a letter occurs in a 4..12 letter list over a..d
  case     upper- or lower-case a 1..4 word phrase from a fixed word list

Every held-out prompt can be answered by a rule learned from other prompts. (The first model
also had `a * b` over 0..12: only 169 facts, so a held-out product is a fact the model never
saw; it was dropped.) Training draws tasks with WEIGHTS (more of the tasks with short answers
whose every token must be computed: add, count); the held-out set has the same number per task.

`heldout(n, seed)` draws a fixed evaluation set; training draws skip every instruction in it.
"""

import random

TASKS = ["sort", "reverse", "add", "count", "case"]
WEIGHTS = [1.0, 0.8, 2.5, 1.5, 1.2]

WORDS = ("the quick brown fox jumps over lazy dog red green blue small big cat sun moon "
         "tree river stone light dark cold warm fast slow happy sad open close north south "
         "east west bird fish apple bread water fire king queen").split()

LETTERS = "abcdefghijklmnopqrstuvwxyz"


def make(task, rng):
    if task == "sort":
        n = rng.randint(3, 20)
        xs = [rng.randint(0, 9) for _ in range(n)]
        ins = "Sort in ascending order: " + " ".join(map(str, xs))
        ans = " ".join(map(str, sorted(xs)))
    elif task == "reverse":
        n = rng.randint(3, 36)
        xs = [rng.choice(LETTERS) for _ in range(n)]
        ins = "Reverse: " + " ".join(xs)
        ans = " ".join(reversed(xs))
    elif task == "add":
        a, b = rng.randint(0, 99), rng.randint(0, 99)
        ins = f"What is {a} + {b}?"
        ans = str(a + b)
    elif task == "count":
        n = rng.randint(4, 12)
        xs = [rng.choice("abcd") for _ in range(n)]
        c = rng.choice("abcd")
        ins = f"Count the letter {c} in: " + " ".join(xs)
        ans = str(xs.count(c))
    elif task == "case":
        n = rng.randint(1, 4)
        ws = [rng.choice(WORDS) for _ in range(n)]
        if rng.random() < 0.5:
            ins = "Uppercase: " + " ".join(ws)
            ans = " ".join(ws).upper()
        else:
            ins = "Lowercase: " + " ".join(w.upper() for w in ws)
            ans = " ".join(ws)
    else:
        raise ValueError(task)
    return task, ins, ans


def heldout(n_per_task=40, seed=12345):
    rng = random.Random(seed)
    out, seen = [], set()
    for task in TASKS:
        k = 0
        while k < n_per_task:
            t, ins, ans = make(task, rng)
            if ins in seen:
                continue
            seen.add(ins)
            out.append({"task": t, "instruction": ins, "answer": ans})
            k += 1
    return out


class Stream:
    """Infinite training stream, tasks drawn with WEIGHTS, excluding held-out instructions."""

    def __init__(self, seed, exclude=()):
        self.rng = random.Random(seed)
        self.exclude = set(exclude)

    def next(self):
        while True:
            task = self.rng.choices(TASKS, WEIGHTS)[0]
            s = make(task, self.rng)
            if s[1] not in self.exclude:
                return s
