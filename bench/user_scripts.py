#!/usr/bin/env python3
"""The scripts a user would write instead of ckptforget, timed by bench/run.sh against the same floor.

    user_scripts.py safetensors IN OUT LAYER   numpy + safetensors: load_file, scale class 2's row of
                                               LAYER.weight and LAYER.bias by 0.01, save_file (the
                                               input's __metadata__ kept)
    user_scripts.py torch IN OUT LAYER         torch.load (weights_only), the same edit, torch.save
    user_scripts.py h5py FILE LAYER            h5py in place on FILE (run.sh copies the input first):
                                               read LAYER's kernel and bias, scale class 2's column
                                               and entry by 0.01, write them back into the datasets
    user_scripts.py leftover IN OUT DATASET... how many stored blocks (chunks, or the contiguous
                                               data) of the DATASETs that differ between IN and OUT
                                               still hold IN's bytes somewhere in OUT: the forgotten
                                               values left in the file, as stored

None of them hashes or signs anything: they are what the issue calls the script a user would write.
The edits are those of `ckptforget IN --pass dampen:0.01 --class 2` (computed in float64, stored as
float32).
"""

import mmap
import sys

import numpy as np

ALPHA, CLASS = 0.01, 2


def scaled(values):
    return (values.astype(np.float64) * ALPHA).astype(values.dtype)


def edit_safetensors(src, dst, layer):
    from safetensors import safe_open
    from safetensors.numpy import load_file, save_file
    with safe_open(src, "numpy") as f:
        metadata = f.metadata()
    tensors = load_file(src)
    tensors[f"{layer}.weight"][CLASS] = scaled(tensors[f"{layer}.weight"][CLASS])  # PyTorch (out, in): a row
    tensors[f"{layer}.bias"][CLASS] = scaled(tensors[f"{layer}.bias"][CLASS])
    save_file(tensors, dst, metadata=metadata)


def edit_torch(src, dst, layer):
    import torch
    state = torch.load(src, weights_only=True)
    for name in (f"{layer}.weight", f"{layer}.bias"):
        values = state[name].numpy()  # shares the tensor's memory
        values[CLASS] = scaled(values[CLASS])
    torch.save(state, dst)


def keras_paths(f, layer):
    """The kernel and bias of a Keras legacy .h5 layer (model_weights/<layer>/.../kernel)."""
    import h5py
    found = {}

    def visit(name, obj):  # returning a value would stop the visit
        if isinstance(obj, h5py.Dataset):
            found[name.rsplit("/", 1)[-1]] = obj.name

    f[f"model_weights/{layer}"].visititems(visit)
    return found["kernel"], found["bias"]


def edit_h5py(path, layer):
    import h5py
    with h5py.File(path, "r+") as f:
        kernel_path, bias_path = keras_paths(f, layer)
        kernel = f[kernel_path][()]
        kernel[:, CLASS] = scaled(kernel[:, CLASS])  # Keras (in, out): a column
        f[kernel_path][...] = kernel
        bias = f[bias_path][()]
        bias[CLASS] = scaled(bias[CLASS])
        f[bias_path][...] = bias


def stored_blocks(f, path):
    """(key, raw stored bytes) of every chunk of a dataset, or of its contiguous data."""
    dataset = f[path]
    if dataset.chunks is None:
        offset, size = dataset.id.get_offset(), dataset.id.get_storage_size()
        with open(f.filename, "rb") as raw:
            raw.seek(offset)
            return {"contiguous": raw.read(size)}
    blocks = {}
    for i in range(dataset.id.get_num_chunks()):
        info = dataset.id.get_chunk_info(i)
        _, data = dataset.id.read_direct_chunk(info.chunk_offset)
        blocks[info.chunk_offset] = bytes(data)
    return blocks


def leftover(src, dst, datasets):
    import h5py
    changed = left = 0
    with h5py.File(src, "r") as a, h5py.File(dst, "r") as b, open(dst, "rb") as raw:
        image = mmap.mmap(raw.fileno(), 0, access=mmap.ACCESS_READ)
        for path in datasets:
            before, after = stored_blocks(a, path), stored_blocks(b, path)
            for key, old in before.items():
                if after.get(key) == old:
                    continue
                changed += 1
                if image.find(old) >= 0:
                    left += 1
    print(f"{left} {changed}")


def main():
    command, args = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("", [])
    if command == "safetensors" and len(args) == 3:
        edit_safetensors(*args)
    elif command == "torch" and len(args) == 3:
        edit_torch(*args)
    elif command == "h5py" and len(args) == 2:
        edit_h5py(*args)
    elif command == "leftover" and len(args) >= 3:
        leftover(args[0], args[1], args[2:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
