"""Common themes and partner names: time and quality against what a competent user would
write instead, in the same run. Prints, never asserts.

- Themes: ``common_themes`` on the labelled sample (120 answers in en/fr/es,
  tests/data/themes_sample.csv) and on 600 answers (the sample five times, with small
  changes), against plain scikit-learn: TF-IDF with English stop words and the same
  agglomerative clustering, no stemming, no seed vocabulary. Quality is the adjusted Rand
  index against the sample's labels.
- Names: ``find_mentions`` on 1,000 answers against 200 organisations with a
  ``Catalogue`` built once, against rapidfuzz's ``process.extract`` of every name with
  ``partial_ratio`` over each answer (scorer cutoff 87), the usual first try.

    .venv/bin/python bench/insight.py
"""

from __future__ import annotations

import csv
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rapidfuzz import fuzz, process  # noqa: E402
from sklearn.cluster import AgglomerativeClustering  # type: ignore[import-untyped]  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]  # noqa: E402
from sklearn.metrics import adjusted_rand_score  # type: ignore[import-untyped]  # noqa: E402

from bot.insight.themes import Answer, common_themes  # noqa: E402
from bot.partners.match import Catalogue, Known, find_mentions  # noqa: E402

SAMPLE = ROOT / "tests" / "data" / "themes_sample.csv"
RUNS = 5


def load_note() -> str:
    one, five, fifteen = os.getloadavg()
    cpus = os.cpu_count() or 1
    verdict = "quiet" if one < max(1.0, 0.25 * cpus) else "NOT quiet"
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {cpus} CPUs ({verdict})"


def sample() -> tuple[list[Answer], list[str]]:
    with SAMPLE.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
    answers = [Answer(int(r["id"]), r["organisation"], r["text"], r["locale"]) for r in rows]
    return answers, [r["theme"] for r in rows]


def baseline_themes(answers: list[Answer]) -> list[int]:
    vectors = TfidfVectorizer(stop_words="english").fit_transform([a.text for a in answers])
    clustering = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average", distance_threshold=0.75
    )
    return list(clustering.fit_predict(vectors.toarray()))


def ours_labels(answers: list[Answer]) -> list[str]:
    themes = common_themes(answers, min_organisations=1, limit=1000)
    where = {i: t.key for t in themes for i in t.answers}
    return [where.get(a.id, f"alone:{a.id}") for a in answers]


def timed(work: object, runs: int = RUNS) -> float:
    took = []
    for _ in range(runs):
        started = time.perf_counter()
        work()  # type: ignore[operator]
        took.append(time.perf_counter() - started)
    return statistics.median(took)


def themes() -> None:
    answers, labels = sample()
    common_themes(answers[:5])  # imports and stemmers warm
    ours_q = adjusted_rand_score(labels, ours_labels(answers))
    base_q = adjusted_rand_score(labels, baseline_themes(answers))
    many = [
        Answer(n, a.organisation, f"{a.text} {extra}", a.locale)
        for n, (a, extra) in enumerate(
            (a, e) for e in ("", "vraiment", "really", "de verdad", "!") for a in answers
        )
    ]
    for name, batch in (("120 answers", answers), ("600 answers", many)):
        ours = timed(lambda b=batch: common_themes(b))
        base = timed(lambda b=batch: baseline_themes(b))
        print(f"themes, {name}: ours {ours * 1000:.0f} ms, plain TF-IDF {base * 1000:.0f} ms, "
              f"ratio {ours / base:.2f}")  # fmt: skip
    print(f"themes quality (adjusted Rand on the sample): ours {ours_q:.3f}, "
          f"plain TF-IDF {base_q:.3f}, ratio {ours_q / max(base_q, 1e-9):.1f}")  # fmt: skip


def names() -> None:
    rng = random.Random(7)
    kinds = ["Association", "Centre social", "Maison des jeunes", "Collectif", "Médiathèque"]
    places = [f"Ville{chr(65 + i)}{chr(97 + j)}" for i in range(10) for j in range(4)]
    known = [Known(f"o{i}", f"{kinds[i % 5]} {places[i // 5]}") for i in range(200)]
    words = "we could meet next week to talk about the workshops and families who need help"
    answers = []
    for _ in range(1000):
        sentence = rng.sample(words.split(), 12)
        sentence.insert(rng.randrange(12), known[rng.randrange(200)].name)
        sentence.insert(rng.randrange(12), "Mediateque " + rng.choice(places))
        answers.append(" ".join(sentence).capitalize() + ".")
    catalogue = Catalogue(known)
    find_mentions(answers[0], catalogue)
    names_only = [k.name for k in known]

    def ours() -> None:
        for text in answers:
            find_mentions(text, catalogue)

    def baseline() -> None:
        for text in answers:
            process.extract(text, names_only, scorer=fuzz.partial_ratio, score_cutoff=87)

    a, b = timed(ours, 3), timed(baseline, 3)
    print(f"names, 1,000 answers x 200 organisations: ours {a * 1000:.0f} ms, "
          f"partial_ratio over every name {b * 1000:.0f} ms, ratio {a / b:.2f}")  # fmt: skip


if __name__ == "__main__":
    print(load_note())
    themes()
    names()
    print(load_note())
