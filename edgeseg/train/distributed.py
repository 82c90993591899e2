"""Training in several processes with PyTorch's DistributedDataParallel, started by torchrun.

torchrun sets WORLD_SIZE, RANK, LOCAL_RANK and LOCAL_WORLD_SIZE in each process; `setup` reads
them. Without them (or with WORLD_SIZE=1) training runs in one process exactly as it always has.
Backends: NCCL with one GPU per process, gloo on the CPU (torch threads per process: the
machine's cores // processes on it). Rank 0 alone validates and writes the run folder; the others
wait for it at a barrier after each epoch.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Callable, TypeVar

import cv2
import torch
from torch import nn

from ..errors import ConfigError, EdgeSegError
from .batches import rank_share
from .config import TrainConfig

log = logging.getLogger(__name__)
T = TypeVar("T")
TIMEOUT = timedelta(minutes=30)   # how long ranks wait for rank 0's validation and checkpoint


@dataclass(frozen=True)
class Dist:
    """Where this process stands: its rank among `world` processes and the device it trains on."""
    rank: int = 0
    world: int = 1
    local_world: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def share(self, fn: Callable[[], T]) -> T:
        """fn() run on rank 0 only; its result, or the EdgeSegError it raised, on every rank."""
        if self.world == 1:
            return fn()
        box: list = [None]
        if self.is_main:
            try:
                box[0] = (True, fn())
            except EdgeSegError as exc:
                box[0] = (False, exc)
        torch.distributed.broadcast_object_list(box, src=0)
        ok, value = box[0]
        if not ok:
            raise value
        return value

    def sum(self, value: float) -> float:
        """The sum of `value` over every process."""
        if self.world == 1:
            return value
        t = torch.tensor([value], dtype=torch.float64, device=self.device)
        torch.distributed.all_reduce(t)
        return float(t.item())

    def barrier(self) -> None:
        if self.world > 1:
            torch.distributed.barrier()


def choose_device(name: str, local_rank: int = 0) -> torch.device:
    """The device for config value `name` ("auto", "cpu", "cuda"); one GPU per process on a machine.

    Raises:
        ConfigError: "cuda" without a CUDA device, or more processes on a machine than GPUs.
    """
    if name == "cpu" or (name == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise ConfigError("device: cuda, but PyTorch sees no CUDA device; use device: auto or cpu "
                          "(or install a CUDA build of PyTorch)")
    if local_rank >= torch.cuda.device_count():
        raise ConfigError(f"process {local_rank} on this machine has no GPU of its own "
                          f"({torch.cuda.device_count()} visible); start at most that many per machine "
                          "(torchrun --nproc_per_node)")
    return torch.device("cuda", local_rank)


def check_world(cfg: TrainConfig, world: int, device: torch.device) -> None:
    """Refuse settings that cannot work with `world` processes.

    Raises:
        ConfigError: a global batch smaller than the number of processes, or sync_bn on the CPU.
    """
    if world > 1 and cfg.batch_size < world:
        raise ConfigError(f"batch_size {cfg.batch_size} is the global batch, shared between {world} processes; "
                          f"make it at least {world} or start fewer processes")
    if world > 1 and cfg.sync_bn and device.type != "cuda":
        raise ConfigError("sync_bn needs GPUs (PyTorch's SyncBatchNorm runs on CUDA only); "
                          "set sync_bn: false for CPU runs")


def cpu_threads(cfg: TrainConfig, local_world: int) -> int:
    """Torch threads per process on the CPU: `threads` if set, else this machine's cores // its processes."""
    return cfg.threads or max(1, len(os.sched_getaffinity(0)) // local_world)


def under_torchrun() -> bool:
    """Whether this process was started by torchrun (it sets LOCAL_RANK)."""
    return "LOCAL_RANK" in os.environ


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def setup(cfg: TrainConfig) -> Dist:
    """This process's place in the run, from torchrun's environment; joins the process group.

    One process: only `threads` (if set) and the device are applied, as single-process runs always did.

    Raises:
        ConfigError: see `choose_device` and `check_world`.
    """
    world, local_rank = _env_int("WORLD_SIZE", 1), _env_int("LOCAL_RANK", 0)
    device = choose_device(cfg.device, local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if world == 1:
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        return Dist(device=device)
    check_world(cfg, world, device)
    local_world = _env_int("LOCAL_WORLD_SIZE", world)
    if device.type == "cpu":
        threads = cpu_threads(cfg, local_world)
        torch.set_num_threads(threads)
        cv2.setNumThreads(threads)
    torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo", timeout=TIMEOUT)
    dist = Dist(rank=torch.distributed.get_rank(), world=world, local_world=local_world, device=device)
    if not dist.is_main:      # one log: rank 0's (errors still show from every rank)
        logging.getLogger("edgeseg").setLevel(logging.ERROR)
    each = f"{torch.get_num_threads()} threads each" if device.type == "cpu" else "one GPU each"
    log.info("%d processes (%s, %s; %d on this machine); global batch %d split %s", world,
             "NCCL" if device.type == "cuda" else "gloo", each, local_world, cfg.batch_size,
             "/".join(str(len(rank_share(cfg.batch_size, world, r))) for r in range(world)))
    return dist


def teardown(dist: Dist) -> None:
    if dist.world > 1 and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


class Logits(nn.Module):
    """model.forward_logits as a module's forward, so that DistributedDataParallel can wrap it."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.forward_logits(x)


def forward_fn(model: nn.Module, cfg: TrainConfig, dist: Dist) -> Callable[[torch.Tensor], torch.Tensor]:
    """What a training step calls for logits: the model itself in one process, else a DDP wrapper.

    DDP broadcasts rank 0's weights and buffers when it is built (so every rank starts from what rank 0
    loaded) and rank 0's BatchNorm statistics before every forward; with sync_bn the statistics are
    computed over the global batch instead. `model` keeps plain BatchNorm modules' state_dict keys.
    """
    if dist.world == 1:
        return model.forward_logits
    if cfg.sync_bn:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    ids = [dist.device.index] if dist.device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(Logits(model), device_ids=ids)


def launch(cfg: TrainConfig, out: str | Path, resume: bool, nproc: int) -> dict:
    """Train in `nproc` processes on this machine through torchrun (`torch.distributed.run`,
    standalone rendezvous); returns rank 0's summary.

    The resolved config (the file plus command-line overrides) goes to every process as one YAML file.

    Raises:
        ConfigError: settings that cannot work with nproc processes.
        EdgeSegError: a training process failed (its own message is printed above).
    """
    import yaml
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import main as torchrun

    device = choose_device(cfg.device, nproc - 1)   # nproc - 1: each process needs a GPU of its own
    check_world(cfg, nproc, device)
    if device.type == "cpu":    # torchrun would set 1 (and warn); `setup` applies the same rule anyway
        os.environ.setdefault("OMP_NUM_THREADS", str(cpu_threads(cfg, nproc)))
    with tempfile.TemporaryDirectory(prefix="edgeseg-train-") as tmp:
        path = Path(tmp) / "config.yaml"
        path.write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
        args = ["--standalone", f"--nproc_per_node={nproc}", "-m", "edgeseg.train", "--config", str(path),
                "--out", str(out)] + (["--resume"] if resume else [])
        try:
            torchrun(args)
        except ChildFailedError as exc:
            codes = ", ".join(str(c) for c in sorted({f.exitcode for f in exc.failures.values()}))
            raise EdgeSegError(f"training with {nproc} processes failed (exit code {codes}); the failing "
                               f"process's message is above. Fix it and run again (--resume continues from "
                               f"{Path(out) / 'last.pt'} if it exists)") from None
        except SignalException:    # Ctrl-C or a kill: torchrun has stopped the processes
            raise KeyboardInterrupt from None
    return json.loads((Path(out) / "summary.json").read_text())
