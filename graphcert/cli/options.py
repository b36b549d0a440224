"""Options every `graphcert` command takes, and how a command's configuration is read from
its flags, ``--config`` YAML file and ``--seed`` (typed schemas, `graphcert.run.schema`)."""
from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

from graphcert.run.schema import Schema, add_flags, fields_of, flag_values, option

__all__ = ["CommonOptions", "ExecutorOptions", "add_config_flags", "common_options",
           "read_config"]


@dataclass(frozen=True)
class CommonOptions(Schema):
    """The flags of every command: ``--config``, ``--out``, ``--seed``, ``--threads``,
    ``--quiet``.

    Args:
        config (Path, optional): YAML file of the command's settings.
        out (Path, optional): output directory.
        seed (int, optional): seed of every random step.
        threads (int): torch threads.
        quiet (bool): no progress bars.
    """

    config: Path | None = option(None, help="YAML file of the command's settings (flags win)")
    out: Path | None = option(None, help="output directory")
    seed: int | None = option(None, interval="[0, 4294967295]",
                              help="seed of every random step (split, training, "
                              "sampling); specific seed settings win")
    threads: int = option(1, interval="[1, inf)",
                          help="torch threads (the sampler runs in a second thread, "
                          "and more threads than free cores slow torch down severely)")
    quiet: bool = option(False, help="no progress bars")

    def check(self) -> None:
        cores = os.cpu_count() or 1
        if self.threads > cores:
            raise ValueError(f"threads == {self.threads}, this machine has {cores} CPU cores: "
                             f"need threads <= {cores} (more threads than cores slow torch "
                             "down severely)")
        if self.out is not None:
            from graphcert.run.rundir import check_path_length
            check_path_length(self.out, "out")
        if self.out is not None and os.path.exists(self.out) and not os.path.isdir(self.out):
            raise ValueError(f"out == '{self.out}' is an existing file, expected a directory")
        if self.config is not None and os.path.isdir(self.config):
            raise ValueError(f"config == '{self.config}' is a directory, expected a YAML file")


@dataclass(frozen=True)
class ExecutorOptions(Schema):
    """Where Monte Carlo chunks (certify) or whole runs (sweep) execute.

    Args:
        executor (str): ``"local"`` or ``"ray"``.
        address (str, optional): Ray cluster to join.
        num_cpus (int, optional): CPUs of a local Ray instance.
    """

    executor: str = option("local", choices=("local", "ray"),
                           help="where Monte Carlo chunks / sweep runs execute")
    address: str | None = option(None, help="Ray cluster to join (e.g. auto or "
                                 "ray://HOST:10001); default: start a local Ray instance")
    num_cpus: int | None = option(None, interval="[1, inf)", help="CPUs of a local Ray instance")

    def check(self) -> None:
        if self.executor == "local" and (self.address is not None or
                                         self.num_cpus is not None):
            raise ValueError("address and num_cpus apply to the ray executor only")

    def make(self):
        """The executor (ray is imported only for ``executor: ray``).

        Returns:
            LocalExecutor or RayExecutor: the executor.
        """
        from graphcert.sampling.executors import make_executor
        return make_executor(self.executor, self.address, self.num_cpus)


def add_config_flags(parser: argparse.ArgumentParser, config_cls: type | None = None) -> None:
    """The common flags plus one flag per field of `config_cls` (a field named like a common
    flag, e.g. a demo's ``seed``, is set through the common flag).

    Args:
        parser (argparse.ArgumentParser): the command's parser.
        config_cls (type, optional): the command's `Schema`.
    """
    add_flags(parser, CommonOptions)
    if config_cls is not None:
        add_flags(parser, config_cls, skip=tuple(fields_of(CommonOptions)))


def common_options(args: argparse.Namespace) -> CommonOptions:
    """The common flags given on the command line.

    Args:
        args (argparse.Namespace): the parsed arguments.

    Returns:
        CommonOptions: the options.
    """
    return CommonOptions.from_dict(flag_values(args, CommonOptions))


def read_config(config_cls: type, args: argparse.Namespace, common: CommonOptions):
    """The command's configuration: YAML file (``--config``), then flags, then ``--seed`` for
    the seed fields not given otherwise; checked completely before any work.

    Args:
        config_cls (type): the command's `Schema`.
        args (argparse.Namespace): the parsed arguments.
        common (CommonOptions): the common flags.

    Returns:
        Schema: an instance of ``config_cls``.
    """
    overrides = flag_values(args, config_cls)
    if common.seed is not None:
        for name in config_cls.seed_fields:
            overrides.setdefault(name, common.seed)
    if common.config is not None:
        return config_cls.from_yaml(common.config, **overrides)
    return config_cls.from_dict(overrides)
