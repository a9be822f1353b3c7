#!/usr/bin/env python3
"""HDF5 files with the structures ckptforget must refuse or survive, written by h5py.

    python3 Fixtures/make_hdf5_edge_fixtures.py

hdf5/links.h5  fc/weight (3,2) and fc/bias (3,) float32; `z_alias` is a second hard link to
               fc/weight (editing it would leave the old values under the other name), and
               fc/loop is a hard link back to the root group (a cycle a walk must not follow).
hdf5/refs.h5   the same tensors; fc/weight has an attribute holding an object reference to
               fc/bias (it would dangle if copied as bytes into a new file).
hdf5/unwritten_4tib.h5
               fc/weight float32 (1048576, 1048576), chunked (256, 256), never written: 4 TiB of
               fill values declared in a file of a few KB; fc/bias (1048576,) the same, chunked.
               Reading the weight would need 4 TiB of memory.
hdf5/big_attributes.h5
               written with libver="latest" (superblock 3): fc/weight (3, 2) and fc/bias float32, and
               an 80 KB float64 attribute on fc/weight and on the group fc (over the 64 KiB an
               attribute can have outside dense attribute storage).
hdf5/unicode_names.h5
               fc/café twice: once with U+00E9 and once as e + U+0301 (canonically equivalent,
               different bytes), float32 (3,) each, and fc/bias.
hdf5/deflated_chunks.h5
               chunked datasets with the filters h5py's compression="gzip" sets, which ckptforget
               compresses chunk by chunk itself: edges/f32 (10, 7) float32 in (4, 3) chunks, gzip 4 +
               shuffle (edge chunks reach past both axes); edges/f64 (11,) float64, (4,), gzip 6, no
               shuffle; edges/fill (3, 5, 4) float32, (2, 2, 3), gzip 1 + shuffle, fill value 1.5;
               edges/big_endian (6, 5) >f4, (4, 4), gzip 9 + shuffle; edges/half (9, 3) float16,
               (4, 2), gzip 4 + shuffle. And datasets libhdf5 writes itself: other/fletcher (8, 8) gzip +
               shuffle + Fletcher-32, other/one_chunk (4, 4) in one (4, 4) chunk, other/plain (8, 8)
               chunked (4, 4) without filters. Seeded normal values. And kept/level_mismatch (8, 8)
               float32 in (4, 4) chunks, declared gzip 9 + shuffle but each chunk stored as zlib
               level 1 compressed it (what an edit leaves unchanged must keep those bytes).
"""
from pathlib import Path
import zlib

import h5py
import numpy as np

HERE = Path(__file__).resolve().parent / "hdf5"
weight = np.arange(6, dtype=np.float32).reshape(3, 2) + 1
bias = np.array([0.5, -0.5, 0.25], dtype=np.float32)

with h5py.File(HERE / "links.h5", "w") as f:
    f["fc/weight"] = weight
    f["fc/bias"] = bias
    f["z_alias"] = f["fc/weight"]  # a second hard link to the same dataset
    f["fc/loop"] = f["/"]         # a hard link to the root: a cycle

with h5py.File(HERE / "refs.h5", "w") as f:
    f["fc/weight"] = weight
    f["fc/bias"] = bias
    f["fc/weight"].attrs["bias_ref"] = f["fc/bias"].ref

with h5py.File(HERE / "unwritten_4tib.h5", "w") as f:
    f.create_dataset("fc/weight", shape=(1 << 20, 1 << 20), dtype="f4", chunks=(256, 256))
    f.create_dataset("fc/bias", shape=(1 << 20,), dtype="f4", chunks=(1024,))

with h5py.File(HERE / "big_attributes.h5", "w", libver="latest") as f:
    f["fc/weight"] = weight
    f["fc/bias"] = bias
    f["fc/weight"].attrs["big"] = np.arange(10_000, dtype=np.float64)
    f["fc"].attrs["big"] = np.arange(10_000, dtype=np.float64)

with h5py.File(HERE / "unicode_names.h5", "w") as f:
    f["fc/caf\u00e9"] = np.ones(3, dtype=np.float32)
    f["fc/cafe\u0301"] = np.zeros(3, dtype=np.float32)
    f["fc/bias"] = bias

rng = np.random.default_rng(16)
with h5py.File(HERE / "deflated_chunks.h5", "w") as f:
    def chunked(name, shape, dtype, chunks, **filters):
        f.create_dataset(name, data=rng.standard_normal(shape).astype(dtype), chunks=chunks, **filters)
    chunked("edges/f32", (10, 7), "f4", (4, 3), compression="gzip", compression_opts=4, shuffle=True)
    chunked("edges/f64", (11,), "f8", (4,), compression="gzip", compression_opts=6)
    chunked("edges/fill", (3, 5, 4), "f4", (2, 2, 3), compression="gzip", compression_opts=1, shuffle=True, fillvalue=1.5)
    chunked("edges/big_endian", (6, 5), ">f4", (4, 4), compression="gzip", compression_opts=9, shuffle=True)
    chunked("edges/half", (9, 3), "f2", (4, 2), compression="gzip", compression_opts=4, shuffle=True)
    chunked("other/fletcher", (8, 8), "f4", (4, 4), compression="gzip", shuffle=True, fletcher32=True)
    chunked("other/one_chunk", (4, 4), "f4", (4, 4), compression="gzip")
    chunked("other/plain", (8, 8), "f4", (4, 4))
    # Declared gzip 9 + shuffle, but each chunk stored as zlib level 1 made it: compressing a chunk
    # again gives other bytes, so an edit's output shows which chunks were kept as stored.
    kept = rng.standard_normal((8, 8)).astype("f4")
    dataset = f.create_dataset("kept/level_mismatch", shape=(8, 8), dtype="f4", chunks=(4, 4), compression="gzip",
                               compression_opts=9, shuffle=True)
    for row in (0, 4):
        for column in (0, 4):
            block = np.ascontiguousarray(kept[row:row + 4, column:column + 4])
            planes = block.view(np.uint8).reshape(-1, 4).T.tobytes()  # the shuffle filter's byte planes
            dataset.id.write_direct_chunk((row, column), zlib.compress(planes, 1))

print("wrote", HERE / "deflated_chunks.h5", HERE / "links.h5", HERE / "refs.h5", HERE / "unwritten_4tib.h5", HERE / "big_attributes.h5", HERE / "unicode_names.h5")
