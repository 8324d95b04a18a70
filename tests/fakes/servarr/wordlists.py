"""Made-up but realistic metadata pieces (genres, studios, overviews), picked deterministically
from an id so every run serves the same library.
"""
from __future__ import annotations

from .util import _mix


_GENRES = ["Action", "Adventure", "Animation", "Comedy", "Crime", "Documentary", "Drama", "Family", "Fantasy",
           "History", "Horror", "Music", "Mystery", "Romance", "Science Fiction", "Thriller", "War", "Western"]
_STUDIOS = ["Warner Bros. Pictures", "Universal Pictures", "Paramount Pictures", "Columbia Pictures",
            "20th Century Studios", "A24", "Lionsgate", "Legendary Pictures", "Focus Features", "Neon"]
_NETWORKS = ["HBO", "AMC", "Netflix", "BBC One", "NBC", "FX", "Apple TV+", "Prime Video", "Hulu", "Showtime"]
_WORDS = ("a retired detective reluctantly returns to the city where everything began and uncovers a "
          "conspiracy that reaches far beyond the precinct while an unlikely friendship with a young "
          "journalist forces old wounds open as secrets buried for decades surface one by one and the "
          "price of the truth grows higher with every step toward the people who control the harbour "
          "the courts and the newspapers").split()
_KEYWORDS = ["based on novel or book", "dystopia", "revenge", "friendship", "heist", "small town", "time travel",
             "artificial intelligence", "family drama", "coming of age", "detective", "road trip"]
_RELEASE_GROUPS = ["FraMeSToR", "SPARKS", "NTb", "FLUX", "playWEB", "EDITH", "CiNEPHiLES", "DON"]


_ENDINGS = ["loyalty, loss and the long way home", "ambition and the cost of keeping a promise",
            "second chances in a city that gives none", "family, guilt and the things left unsaid",
            "courage, friendship and a very bad plan"]


def _overview(n: int, kind: str) -> str:
    return (f"When {' '.join(_WORDS)}. This {kind} follows what happens next, in a story about "
            f"{_ENDINGS[_mix(n, 7) % len(_ENDINGS)]}.")


def _pick(n: int, salt: int, seq: list, k: int) -> list:
    out = []
    i = _mix(n, salt)
    while len(out) < k:
        v = seq[i % len(seq)]
        if v not in out:
            out.append(v)
        i = i // 7 + 3
    return out


ENGLISH = {"id": 1, "name": "English"}
