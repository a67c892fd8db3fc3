#!/usr/bin/env python3
"""A straightforward, single-process n-gram overlap check: the peer that
`yardstick bench contam` measures its scanner against, on the same corpus in the same run.

Text is normalised as lm-evaluation-harness's decontamination `Janitor` normalises it
(ASCII letters lower-cased, `string.punctuation` deleted) and split on whitespace; the
n-grams of every item's texts go into one dict; each corpus file is read line by line,
its words kept in a sliding window (n-grams span lines, not files), and every window
is looked up.

Usage:
    ngram_overlap.py --items items.json --n 13 FILE...

items.json: [{"task": ..., "doc_id": ..., "texts": [...]}, ...]. Prints one JSON
object: {"bytes", "seconds", "flagged": [item indices]}.
"""

import argparse
import json
import string
import time

TABLE = str.maketrans(
    string.ascii_lowercase + string.ascii_uppercase,
    string.ascii_lowercase * 2,
    string.punctuation,
)


def words(text):
    return text.translate(TABLE).split()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", required=True)
    ap.add_argument("--n", type=int, default=13)
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    n = args.n
    with open(args.items, encoding="utf-8") as f:
        items = json.load(f)
    index = {}
    for i, item in enumerate(items):
        for text in item["texts"]:
            w = words(text)
            for j in range(len(w) - n + 1):
                index.setdefault(" ".join(w[j : j + n]), set()).add(i)
    flagged = set()
    scanned = 0
    start = time.perf_counter()
    for path in args.files:
        window = []
        with open(path, "rb") as f:
            for raw in f:
                scanned += len(raw)
                for word in words(raw.decode("utf-8")):
                    window.append(word)
                    if len(window) > n:
                        del window[0]
                    if len(window) == n:
                        hit = index.get(" ".join(window))
                        if hit:
                            flagged |= hit
    seconds = time.perf_counter() - start
    print(json.dumps({"bytes": scanned, "seconds": seconds, "flagged": sorted(flagged)}))


if __name__ == "__main__":
    main()
