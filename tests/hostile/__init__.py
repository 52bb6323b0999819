"""Hostile submissions, one small file each (see tests/test_adversarial.py).

Each file defines ``attack(t) -> str``. ``t`` holds what a hostile student would know or guess: the real paths of
the solutions, the repository and its .git, the grader's PID, and stand-ins (canary files holding the secret
``t["canary"]``) for a reference cache, a neighbour's code and results, a grader file, a victim process, a TCP
port, Unix sockets. ``attack`` returns what it got; it has won if the canary or a solution marker is in it, or if
an effect tagged with ``t["token"]`` is left behind (a process, a file, a changed canary). ``DEFENCE`` names the
layer that stops it: ``isolation`` (the control run, with isolation off, must see it win), or another layer named
with its own control.
"""
