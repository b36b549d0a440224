"""Run by test_executors.py in a fresh process: a simulated two-node Ray cluster
(`ray.cluster_utils.Cluster`, as Ray's own tests simulate one) joined by address.

Prints one JSON line: the node ids that ran tasks and whether the statistics equal a local run.
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import fields

import numpy as np
import ray
import torch
from ray.cluster_utils import Cluster

from graphcert.sampling.engine import smooth
from graphcert.sampling.executors import RayExecutor
from graphcert.sampling.statistics import SmoothingStats


def node_of(seconds: float) -> str:
    time.sleep(seconds)  # long enough for the scheduler to spread tasks over both nodes
    return ray.get_runtime_context().get_node_id()


def main() -> None:
    torch.set_num_threads(1)  # as the CLI; tasks then reserve one CPU each
    sys.path.insert(0, sys.argv[1])  # the tests folder, for the shared problem
    from test_executors import CONFIG, make_problem
    problem = make_problem()
    local = smooth(*problem, CONFIG, progress=False)
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    try:
        with RayExecutor(address=cluster.address) as executor:
            nodes = set(executor.map(node_of, [1.0] * 4))
            alive = sum(node["Alive"] for node in ray.nodes())
            remote = smooth(*problem, CONFIG, progress=False, executor=executor)
        same = all(np.array_equal(getattr(local, f.name), getattr(remote, f.name))
                   for f in fields(SmoothingStats) if f.name not in ("config", "noise"))
        print(json.dumps({"nodes": len(nodes), "alive": alive, "identical": same}))
    finally:
        cluster.shutdown()


if __name__ == "__main__":
    main()
