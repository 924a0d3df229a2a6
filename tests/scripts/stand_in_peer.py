"""Stands in for ../shared/bench/peer_torch_step.py in tests: prints its timing line, no torch.

Its median is how many times it has run in this process (plus 100 in bfloat16), so a test
can tell one long-lived process, run again and again, from a fresh process per run.
"""

import argparse
import sys
import types

p = argparse.ArgumentParser()
for flag in ("--steps", "--reps", "--warmup", "--batch", "--threads"):
    p.add_argument(flag, type=int, required=True)
p.add_argument("--precision", choices=["float32", "bfloat16", "float16"], required=True)
p.add_argument("--device", required=True)
a = p.parse_args()
runs = sys.modules.setdefault("stand_in_peer_runs", types.SimpleNamespace(count=0))
runs.count += 1
median = runs.count + (100 if a.precision == "bfloat16" else 0)
print(f"stand-in peer: {a.precision}, batch {a.batch}")
print(f"  ms/step min/median/max: 0.5 / {median:.1f} / 999.0")
