"""Small NIR graphs that the simulator must refuse with exit 2, naming the node (Fixtures/spiking/bad/).

A tiny valid graph (Input 4 -> Affine 3 -> LIF 3 -> Affine 2 -> LIF 2 -> Output) is written with
nir.write (nir 1.0.8), then one thing is broken in each copy with h5py:

    delay.nir         node '2' has type Delay (not simulated)
    cycle.nir         an edge 3 -> 2 makes the graph recurrent
    ghost_edge.nir    an edge from '3' to a node 'ghost' that does not exist
    tau_zero.nir      node '1' has a time constant of 0
    threshold_size.nir node '3''s v_threshold has 5 values for 2 neurons
    huge_input.nir    the Input's shape is [2**40]

Run: python3 Fixtures/make_bad_nir.py
"""
import pathlib
import shutil

import h5py
import nir
import numpy as np

OUT = pathlib.Path(__file__).resolve().parent / "spiking" / "bad"


def valid_graph() -> nir.NIRGraph:
    rng = np.random.default_rng(3)
    f32 = np.float32
    nodes = {
        "input": nir.Input(input_type=np.array([4])),
        "0": nir.Affine(weight=rng.normal(size=(3, 4)).astype(f32), bias=np.zeros(3, f32)),
        "1": nir.LIF(tau=np.full(3, 1e-3, f32), r=np.full(3, 10, f32), v_leak=np.zeros(3, f32),
                     v_threshold=np.ones(3, f32), v_reset=np.zeros(3, f32)),
        "2": nir.Affine(weight=rng.normal(size=(2, 3)).astype(f32), bias=np.zeros(2, f32)),
        "3": nir.LIF(tau=np.full(2, 1e-3, f32), r=np.full(2, 10, f32), v_leak=np.zeros(2, f32),
                     v_threshold=np.ones(2, f32), v_reset=np.zeros(2, f32)),
        "output": nir.Output(output_type=np.array([2])),
    }
    edges = [("input", "0"), ("0", "1"), ("1", "2"), ("2", "3"), ("3", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges)


def replace(f: h5py.File, path: str, value) -> None:
    del f[path]
    f[path] = value


def add_edge(f: h5py.File, source: str, target: str) -> None:
    edges = [[a.decode() if isinstance(a, bytes) else a for a in pair] for pair in f["node/edges"][:]]
    del f["node/edges"]
    f.create_dataset("node/edges", data=edges + [[source, target]], dtype=h5py.string_dtype())


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    base = OUT / "valid.nir"
    nir.write(base, valid_graph())
    nir.read(base)  # the base loads
    breakages = {
        "delay.nir": lambda f: replace(f, "node/nodes/2/type", "Delay"),
        "cycle.nir": lambda f: add_edge(f, "3", "2"),
        "ghost_edge.nir": lambda f: add_edge(f, "3", "ghost"),
        "tau_zero.nir": lambda f: f["node/nodes/1/tau"].write_direct(np.array([1e-3, 0, 1e-3], np.float32)),
        "threshold_size.nir": lambda f: replace(f, "node/nodes/3/v_threshold", np.ones(5, np.float32)),
        "huge_input.nir": lambda f: replace(f, "node/nodes/input/shape", np.array([2**40], np.int64)),
    }
    for name, breakage in breakages.items():
        shutil.copy(base, OUT / name)
        with h5py.File(OUT / name, "r+") as f:
            breakage(f)
        print(name, (OUT / name).stat().st_size, "bytes")
    base.unlink()


if __name__ == "__main__":
    main()
