"""Checked by mypy (`make test`), never run: the public names of `search` load lazily, yet a
user's type checker must see their types. Each `type: ignore` below must stay needed; strict
mode reports one that is not, so a name that turned into `Any` fails the check."""

import search
import spaces

search.optimize("digits", 42)  # type: ignore[arg-type]
search.SearchOptions(max_evals="ten")  # type: ignore[arg-type]
best: int = search.results("runs", "demo").best(1)[0].score  # type: ignore[assignment]
spaces.load_space(3)  # type: ignore[arg-type]
