"""How long does an exact bill take? `compute_shares` (and the shipped command) at 100 to 10,000 households.

    python bench/renovation_shares.py [--sizes 100,1000,10000] [--repeat 5]

Prints one line per basis and size: the median time of `compute_shares` in-process, and of
`python -m gongzhi.renovation.shares FILE` as a process (start-up included). Never run by CI.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gongzhi.renovation.shares import compute_shares, parse_request  # noqa: E402


def document(n: int, basis: str, rng: random.Random) -> dict:
    return {
        "amount": "150000.00",
        "basis": basis,
        "cap": "2000.00",
        "coefficients": {str(f): str(Decimal(60 + 10 * f) / 100) for f in range(3, 19)},
        "households": [
            {"id": f"h{i}", "area": f"{rng.randint(4000, 14000) / 100:.2f}", "floor": rng.randint(1, 18)}
            for i in range(n)
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(2026)
    print(f"{'basis':<11} {'households':>10} {'in-process ms':>14} {'command ms':>11}")
    for basis in ("household", "area", "floor_area"):
        for n in (int(s) for s in args.sizes.split(",")):
            doc = document(n, basis, rng)
            request = parse_request(json.loads(json.dumps(doc)))
            inproc = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                compute_shares(request)
                inproc.append((time.perf_counter() - t) * 1000)
            with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
                json.dump(doc, fh)
            command = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                subprocess.run(
                    [sys.executable, "-m", "gongzhi.renovation.shares", fh.name],
                    cwd=ROOT,
                    check=True,
                    capture_output=True,
                )
                command.append((time.perf_counter() - t) * 1000)
            print(f"{basis:<11} {n:>10} {statistics.median(inproc):>14.1f} {statistics.median(command):>11.1f}")


if __name__ == "__main__":
    main()
