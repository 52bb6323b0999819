"""Terminal escapes and a flood of text in an error message, to garble the report and bloat results.json."""
DEFENCE = "report"


def attack(t):
    raise RuntimeError("\x1b[2J\x1b[31mFULL MARKS\x1b[0m\r" + "\u202e" + "A" * 10_000_000)
