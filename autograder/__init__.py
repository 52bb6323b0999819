"""The autograder: release the student version, grade submissions, report.

The flow, one module per step (as nbgrader's pipeline of single-purpose steps):

    solutions/ ──release──▶ starter_code/ + assignments/ ──student──▶ submission ──grade──▶ results.json
                 release.py                                 submission.py   grading.py

Student code never runs in the grading process: ``client.py`` starts ``worker.py`` in a separate process,
sends it plain data (``codec.py``) and gets plain data back; the checks (``checks/``) compare what came back
with the reference (``oracle.py``) using ``compare.py``'s teaching messages.
"""
