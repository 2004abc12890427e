"""`make bench-compare BENCH=webhooks BASE=HEAD~1`: one benchmark on an earlier commit and on
this tree, alternately in one run, so that both see the same machine.

The earlier commit is checked out (detached, no work tree changes here) under
var/bench-base/<rev>; it shares this tree's virtual environment. Odd rounds run the base
first, even rounds this tree first (so the slot favours neither), with the same environment
(BENCH_* variables pass through); outputs are printed under a heading and kept in
bench/results/. Bounded by the benchmark's own limits
times 2 × BENCH_ROUNDS (default 1).

python -m bench.compare webhooks HEAD~1
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "1"))


def _git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def base_tree(rev: str) -> Path:
    commit = _git("rev-parse", "--verify", f"{rev}^{{commit}}")
    tree = ROOT / "var" / "bench-base" / commit[:12]
    if not (tree / ".git").exists():
        tree.parent.mkdir(parents=True, exist_ok=True)
        _git("worktree", "add", "--detach", "--force", str(tree), commit)
    for shared in (".venv", ".venv-rasa", "models"):
        link = tree / shared
        if (ROOT / shared).exists() and not link.exists():
            link.symlink_to(ROOT / shared)
    return tree


def run(name: str, tree: Path, label: str, round_no: int) -> str:
    env = dict(os.environ, PYTHONPATH=str(tree))
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{name}"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    output = done.stdout + (
        f"\n[exit {done.returncode}]\n{done.stderr[-2000:]}" if done.returncode else ""
    )
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / f"{name}-{label}-{round_no}.txt").write_text(output)
    return output


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit("usage: python -m bench.compare BENCH BASE_REV   (e.g. webhooks HEAD~1)")
    name, rev = sys.argv[1], sys.argv[2]
    if not (ROOT / "bench" / f"{name}.py").exists():
        sys.exit(f"no benchmark bench/{name}.py")
    base = base_tree(rev)
    head = _git("rev-parse", "--short", "HEAD")
    dirty = (
        " + uncommitted changes" if _git("status", "--porcelain", "--untracked-files=no") else ""
    )
    for round_no in range(1, ROUNDS + 1):
        pair = [
            ("base", base, f"base {rev} ({base.name})"),
            ("head", ROOT, f"this tree ({head}{dirty})"),
        ]
        for label, tree, title in pair if round_no % 2 else reversed(pair):
            print(f"\n===== round {round_no}: bench.{name} on {title} =====", flush=True)
            print(run(name, tree, label, round_no), flush=True)


if __name__ == "__main__":
    main()
