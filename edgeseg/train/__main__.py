"""`python -m edgeseg.train ARGS` is `edgeseg train ARGS`: the entry point torchrun starts in each process.

    torchrun --standalone --nproc_per_node=2 -m edgeseg.train --config configs/default.yaml --out runs/x
"""
import sys

from ..cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
