"""Which files the shipped models learned from, known by their content wherever they lie.

Every shipped model was trained and chosen on the
train and validation sides of one piece split (:data:`musicstyle.data.SPLIT_SEED`) of the public
datasets, whose files ``tpd.sha256`` and ``pop909.sha256`` list with their SHA-256. A figure measured
on such a file flatters the model; the ``evaluate`` commands count them (:func:`learned_share`). A model
trained with ``musicstyle train`` records its own such files (:func:`learned_record`), and the same commands
count those for it (:func:`model_learned_share`).
"""

from __future__ import annotations

import functools

from .sources import SOURCES
from .split import split_names

#: How each family of models split its pieces: ``collection`` (velocity, judge, classifier, chords) by
#: TPD path (``jazz/a.mid``); ``tokens`` by file name within each genre's folder, POP909 as pop.
FAMILIES = ("collection", "tokens")


@functools.cache
def learned_digests(family: str = "collection") -> frozenset[str]:
    """SHA-256 of every public file on the train or validation side of a family's split.

    Args:
        family: one of :data:`FAMILIES`.

    Returns:
        The digests.
    """
    sums = {name: SOURCES[name].checksums() for name in ("tpd", "pop909")}
    if family == "collection":
        named = {"": sums["tpd"]}  # one split over both genres' paths
    elif family == "tokens":
        named = {genre: {rel.split("/", 1)[1]: d for rel, d in sums["tpd"].items() if rel.startswith(f"{genre}/")}
                 for genre in SOURCES["tpd"].genres}
        named["pop"] = sums["pop909"]
    else:
        raise ValueError(f"unknown family {family!r} (choose from {', '.join(FAMILIES)})")
    out = set()
    for genre, digests in named.items():
        names = list(digests)
        genres = [n.split("/", 1)[0] for n in names] if not genre else [genre] * len(names)
        held_out = set(split_names(names, genres)["test"])
        out |= {digests[n] for n in names if n not in held_out}
    return frozenset(out)


def learned_share(digests, family: str = "collection", split: str | None = None) -> str | None:
    """A caution when some of the files measured are ones a family's shipped models learned from.

    Args:
        digests: the SHA-256 of each file measured.
        family: one of :data:`FAMILIES`.
        split: the side measured (the caution points to ``--split test`` unless it is that side, where
            such a file is a copy of a training file).

    Returns:
        The caution (how many of how many, and what to do), or None when there are none.
    """
    digests = list(digests)
    seen = sum(d in learned_digests(family) for d in digests)
    if not seen:
        return None
    where = ("copies of files on the train or validation side of the piece split" if split == "test" else
             "files on the train or validation side of the piece split (--split test keeps to the held-out pieces)")
    return (f"{seen} of the {len(digests)} pieces are public files the shipped models were trained or chosen on, "
            f"so their figures flatter the models: {where}")


#: Where a model trained here records the files it was trained or chosen on (:func:`learned_record`).
LEARNED_KEY = "learned_sha256"


def learned_record(digests) -> list[str]:
    """What a model's metadata keeps of the files it was trained or chosen on: each SHA-256's first 16 digits, sorted.

    Args:
        digests: the SHA-256 of each training and validation file.

    Returns:
        The sorted, distinct prefixes (stored under :data:`LEARNED_KEY`).
    """
    return sorted({d[:16] for d in digests if d})


def model_learned_share(meta: dict, digests, name: str, split: str | None = None) -> str | None:
    """A caution when some of the files measured are ones a model (not shipped) was trained or chosen on.

    Args:
        meta: the model's metadata (models trained before the record was kept have none: None).
        digests: the SHA-256 of each file measured.
        name: how the caution names the model (its file).
        split: the side measured (the caution points to ``--split test`` unless it is a held-out side, where
            such a file is a copy of a training file).

    Returns:
        The caution (how many of how many), or None.
    """
    seen = set(meta.get(LEARNED_KEY) or ())
    digests = list(digests)
    count = sum(d[:16] in seen for d in digests if d)
    if not count:
        return None
    where = ("copies of files on its train or validation side" if split in ("test", "held-out") else
             "--split test keeps to the held-out side of the same split")
    return f"{count} of the {len(digests)} pieces are files {name} was trained or chosen on, so its figures flatter it ({where})"
