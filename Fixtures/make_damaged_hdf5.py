"""Copies of hdf5/generic.h5 with one byte inverted (XOR 0xFF) in its root group's attributes, as a
byte-flipping search of the file found them (Fixtures/hdf5/damaged/). libhdf5 1.10 reads past most
of these damages; ckptforget must refuse them before writing (exit 2, naming the input and the
attribute), or, where the damage is only in how a string type is described, write an output that
newer readers (h5py on HDF5 2.0) open.

    title_heap.h5      offset 884: the variable-length `title`'s global heap reference is wrong
    title_charset.h5   offset 850: `title`'s character set is 14 (only 0 and 1 exist)
    version_bits.h5    offset 992: the integer `version`'s bit offset is past its 8 bytes
    scales_fields.h5   offset 1052: the float `scales`' exponent field is past its 64 bits
    title_base.h5      offset 860: `title`'s base character type claims 254 bytes of 8-bit
                       precision (h5py on HDF5 2.0 refuses it; libhdf5 1.10 does not look)

Run: python3 Fixtures/make_damaged_hdf5.py (h5py checks that each copy still opens).
"""
import pathlib

import h5py

HERE = pathlib.Path(__file__).resolve().parent / "hdf5"
FLIPS = {"title_heap.h5": 884, "title_charset.h5": 850, "version_bits.h5": 992, "scales_fields.h5": 1052, "title_base.h5": 860}


def main() -> None:
    source = (HERE / "generic.h5").read_bytes()
    (HERE / "damaged").mkdir(exist_ok=True)
    for name, offset in FLIPS.items():
        data = bytearray(source)
        data[offset] ^= 0xFF
        path = HERE / "damaged" / name
        path.write_bytes(bytes(data))
        with h5py.File(path, "r") as f:  # the file structure still opens; the damage is in one attribute
            print(name, offset, sorted(f.keys()))


if __name__ == "__main__":
    main()
