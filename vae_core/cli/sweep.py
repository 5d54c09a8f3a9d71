"""β sweeps: a family of bundles that differ only in β, and the command line behind
``vae-sweep``.

    vae-sweep --betas 0,0.5,1,2,4,8 --out checkpoints --name mnist \\
        [--parallel N] -- --dataset mnist --arch mlp --latent-dim 16 --epochs 8

Every member is the same ``vae-train`` command line (the options after
``--``) with its own ``--beta`` and ``--out DIR/NAME-beta-B``, run in its own process, so a
member that fails (bad data, NaN loss, a killed process) is reported and the others still
run. At the end a table gives each member's test-set distortion D, rate R and ELBO, nats per
image, from its metrics.json: the points of the rate–distortion plane (Alemi et al. 2018,
"Fixing a broken ELBO"), where β = 0 is the plain autoencoder and large β collapses the
posterior to the prior (Higgins et al. 2017).
"""
from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from vae_core.cli.options import Parser
from vae_core import checkpoint
from vae_core.cli.train import build_parser as train_parser

# Options the sweep sets for each member; given after -- they would be silently overridden.
OWN_OPTIONS = ("--beta", "--out")


@dataclass
class Member:
    """One bundle of the family: its β, folder, the command that trains it and how it ended.

    ``returncode`` is None until the process ends (0 finished, 130 stopped, else failed);
    ``metrics`` is the bundle's metrics.json (nats per image) once it finished."""
    beta: float
    out: Path
    command: list[str]
    returncode: int | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and bool(self.metrics)


def parse_betas(text: str) -> list[float]:
    """``"0,0.5,1"`` -> [0.0, 0.5, 1.0]. Raises ValueError on a non-number, a negative or
    repeated value, or an empty list."""
    try:
        betas = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"--betas takes comma-separated numbers, got {text!r}") from None
    if not betas:
        raise ValueError("--betas is empty; give at least one value, e.g. 0,1,4")
    if any(b < 0 or b != b for b in betas):
        raise ValueError(f"β must be a number >= 0, got {text!r}")
    if len(set(betas)) != len(betas):
        raise ValueError(f"--betas repeats a value: {text!r}")
    return betas


def member_name(name: str, beta: float) -> str:
    """Folder name of the member with this β: ``mnist-beta-0.5``."""
    return f"{name}-beta-{beta:g}"


def plan(betas: list[float], out: str | Path, train_args: list[str], *, name: str,
         python: str = sys.executable) -> list[Member]:
    """One Member per β, each with its full ``vae-train`` command line.

    Raises ValueError if ``train_args`` set --beta or --out themselves."""
    clash = [a for a in train_args if a.split("=")[0] in OWN_OPTIONS]
    if clash:
        raise ValueError(f"the sweep sets {' and '.join(OWN_OPTIONS)} for each member; remove {clash[0]} "
                         "from the options after --")
    members = []
    for beta in betas:
        folder = Path(out) / member_name(name, beta)
        command = [python, "-m", "vae_core.cli.train", *train_args, "--beta", f"{beta:g}", "--out", str(folder)]
        members.append(Member(beta, folder, command))
    return members


def read_metrics(folder: Path) -> dict[str, Any]:
    """The member's metrics.json, or {} when it has none (unfinished or failed) or it is unreadable."""
    try:
        return checkpoint.read_metrics(folder) or {}
    except checkpoint.BundleError:
        return {}


def _member_env(parallel: int) -> dict[str, str]:
    """This process's environment (members run the installed vae_core, as the sweep does), and,
    for members side by side, the CPU threads shared out among them unless OMP_NUM_THREADS is set:
    on a busy 2-core CPU a member with two threads ran about six times slower than with one."""
    env = dict(os.environ)
    if parallel > 1 and "OMP_NUM_THREADS" not in env:
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // parallel))
    return env


def _run_member(member: Member, log: Callable[[str], None], parallel: int) -> Member:
    started = time.perf_counter()
    log(f"β = {member.beta:g}: {shown(member)}")
    try:
        if parallel > 1:
            # Side by side, the members' progress bars would interleave: each gets its own log file.
            member.out.parent.mkdir(parents=True, exist_ok=True)
            with open(member.out.parent / f"{member.out.name}.log", "w") as out:
                member.returncode = subprocess.run(member.command, stdout=out, stderr=subprocess.STDOUT,
                                                  env=_member_env(parallel)).returncode
        else:
            member.returncode = subprocess.run(member.command, env=_member_env(parallel)).returncode
    except OSError as exc:  # python itself could not start
        log(f"β = {member.beta:g}: could not start ({exc})")
        member.returncode = -1
    member.seconds = time.perf_counter() - started
    member.metrics = read_metrics(member.out) if member.returncode == 0 else {}
    log(f"β = {member.beta:g}: {status(member)} after {member.seconds / 60:.1f} min")
    return member


def shown(member: Member) -> str:
    """The member's command as a person would type it: ``vae-train`` and its options (it runs as
    ``python -m vae_core.cli.train``, so that the interpreter is this one)."""
    return shlex.join(["vae-train", *member.command[3:]])


def status(member: Member) -> str:
    if member.returncode is None:
        return "not run"
    if member.ok:
        return "finished"
    if member.returncode == 130:
        return "stopped (exit 130; --resume continues it)"
    if member.returncode == 0:
        return "finished without metrics.json"
    return f"failed (exit {member.returncode})"


def run(members: list[Member], *, parallel: int = 1, log: Callable[[str], None] = print) -> list[Member]:
    """Train the members, ``parallel`` at a time (1: one after another, output to the terminal;
    more: side by side, each member's output in ``OUT/NAME-beta-B.log`` and the CPU threads
    shared out among them). A failed member
    does not stop the others; a stopped one (Ctrl-C, exit 130) stops the sweep, and members
    not yet started keep ``returncode`` None. Returns ``members`` with their results filled."""
    if parallel <= 1:
        for member in members:
            if _run_member(member, log, parallel).returncode == 130:
                break
        return members
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        list(pool.map(lambda m: _run_member(m, log, parallel), members))
    return members


def table(members: list[Member]) -> str:
    """The family as a Markdown table: β, D, R, ELBO (test set, nats per image), active units."""
    lines = ["| β | bundle | D (nats/image) | R = KL (nats/image) | ELBO (nats/image) | active units | status |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for m in sorted(members, key=lambda m: m.beta):
        x = m.metrics
        figures = (f"{x['reconstruction']:.2f} | {x['kl']:.2f} | {x['elbo']:.2f} | "
                   f"{x['active_units']} of {x['latent_dim']}") if m.ok else "- | - | - | -"
        lines.append(f"| {m.beta:g} | {m.out} | {figures} | {status(m)} |")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="vae-sweep",
        usage="vae-sweep --betas B1,B2,... --out DIR [--name NAME] [--parallel N] "
              "-- [vae-train options]",
        description="Train a family of VAE bundles that differ only in β (one `vae-train` "
                    "process per β) and print their test-set D, R and ELBO in nats per image.")
    p.add_argument("--betas", required=True, help="comma-separated β values, e.g. 0,0.5,1,2,4,8")
    p.add_argument("--out", required=True, help="folder that receives one bundle per β, NAME-beta-B")
    p.add_argument("--name", default=None, help="bundle name prefix (default: the data set's name)")
    p.add_argument("--parallel", type=int, default=1,
                   help="members trained side by side (default 1: one after another); more suits a GPU "
                        "with room for several runs")
    p.add_argument("--dry-run", action="store_true", help="print the members' commands and stop")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    split = argv.index("--") if "--" in argv else len(argv)
    own, train_args = argv[:split], argv[split + 1:]
    parser = build_parser()
    args = parser.parse_args(own)
    try:
        betas = parse_betas(args.betas)
        if args.parallel < 1:
            raise ValueError("--parallel must be >= 1")
        # Check the trainer's options once, before any member starts (argparse exits with 2 on a typo).
        trainer = train_parser().parse_args([*train_args, "--out", "_"])
        members = plan(betas, args.out, train_args, name=args.name or trainer.dataset)
    except ValueError as exc:
        parser.error(str(exc))
    if args.dry_run:
        print("\n".join(shown(m) for m in members))
        return 0
    try:
        run(members, parallel=args.parallel)
    except KeyboardInterrupt:  # Ctrl-C reaches the members too; each keeps its last complete epoch
        for m in members:
            m.metrics = read_metrics(m.out) if m.returncode == 0 else {}
        print(table(members))
        print("stopped; each unfinished member continues with its own command plus --resume", file=sys.stderr)
        return 130
    print(f"\nβ family in {args.out}: test set, nats per image (ELBO = −(D + R))\n")
    print(table(members))
    failed = [m for m in members if not m.ok]
    if failed:
        print(f"\n{len(failed)} of {len(members)} members did not finish: "
              + ", ".join(f"β = {m.beta:g}" for m in failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
