#!/usr/bin/env python3
"""What the reference safetensors reader says about odd headers, as a table the Swift tests check.

    python3 Fixtures/make_safetensors_cases.py

Writes Fixtures/safetensors/reference_cases.json. Each case is a header (its exact bytes) and a
number of zero data bytes; the reference verdict is what `safetensors.safe_open` (the Python
package, a wrapper around the Rust crate's `SafeTensors::read_metadata`) does with the file:
"accept" with the tensors (name, dtype, shape) and `__metadata__` it parsed, or "reject" with its
message. `Tests/CheckpointTests/SafetensorsReferenceTests.swift` opens the same bytes with
ckptforget and expects the same verdict and, on acceptance, the same tensors and metadata. The
Swift tests read only the JSON file; Python is needed only to regenerate it.

Run on: Python 3.11.7, safetensors 0.8.0 (its Rust crate 0.8.0 with serde_json), numpy 2.4.6.
The script refuses to run on another safetensors version unless --any-version is given, so that the
recorded versions stay true.
"""
import json
import platform
import struct
import sys
import tempfile
from pathlib import Path

import numpy
import safetensors
from safetensors import safe_open

EXPECTED_VERSION = "0.8.0"

# A valid entry: one F32 element at bytes [0, 4).
A = '{"dtype":"F32","shape":[1],"data_offsets":[0,4]}'


def entry(dtype="F32", shape="[1]", offsets="[0,4]", extra=""):
    return '{"dtype":"%s","shape":%s,"data_offsets":%s%s}' % (dtype, shape, offsets, extra)


def with_field(extra):
    """The valid tensor "a" with one more field "x" whose value is `extra` (ignored by the reference)."""
    return '{"a":%s}' % entry(extra=',"x":' + extra)


# (name, why, header (str or bytes), data bytes)
CASES = [
    # Baseline
    ("valid_two_tensors", "two tensors tiling the buffer",
     '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[2,1],"data_offsets":[8,12]}}', 12),
    ("valid_empty", "no tensors, no data", "{}", 0),
    ("valid_metadata_only", "only __metadata__", '{"__metadata__":{"format":"pt"}}', 0),
    ("valid_metadata_and_tensor", "metadata first, then a tensor", '{"__metadata__":{"format":"pt"},"a":%s}' % A, 4),
    ("valid_offsets_out_of_order", "entries listed out of buffer order",
     '{"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"a":%s}' % A, 8),
    ("valid_scalar", "shape [] is one element", '{"a":%s}' % entry(shape="[]"), 4),
    ("valid_zero_elements", "shape [0] with empty offsets beside a real tensor",
     '{"a":%s,"z":%s}' % (A, entry(shape="[0]", offsets="[4,4]")), 4),
    ("valid_two_empty_tensors", "two zero-element tensors at the same offsets",
     '{"a":%s,"b":%s}' % (entry(shape="[0]", offsets="[0,0]"), entry(shape="[2,0]", offsets="[0,0]")), 0),
    ("valid_unknown_entry_field", "an extra field inside an entry is ignored", with_field('"kept"'), 4),
    ("valid_whitespace_everywhere", "JSON whitespace between every token",
     '{ "a" :\t{ "dtype" : "F32" ,\n"shape" : [ 1 ] , "data_offsets" : [ 0 , 4 ] }\r}', 4),

    # Whitespace and bytes around the object
    ("pad_trailing_spaces", "trailing space padding, as writers align the header", '{"a":%s}    ' % A, 4),
    ("pad_trailing_json_whitespace", "trailing newline, tab, carriage return", '{"a":%s}\n\t\r ' % A, 4),
    ("pad_leading_whitespace", "leading whitespace before '{'", ' \n{"a":%s}' % A, 4),
    ("pad_trailing_nul", "a NUL byte after the object", ('{"a":%s}' % A).encode() + b"\x00", 4),
    ("pad_leading_nul", "a NUL byte before the object", b"\x00" + ('{"a":%s}' % A).encode(), 4),
    ("pad_trailing_garbage", "a character after the object", '{"a":%s}x' % A, 4),
    ("pad_second_object", "two objects in a row", '{"a":%s}{}' % A, 4),
    ("pad_utf8_bom", "a UTF-8 byte order mark before '{'", "\ufeff{}", 0),
    ("pad_form_feed", "form feed is not JSON whitespace", '{"a":%s}\f' % A, 4),

    # Duplicates
    ("dup_metadata", "__metadata__ twice", '{"__metadata__":{"a":"1"},"__metadata__":{"b":"2"},"a":%s}' % A, 4),
    ("dup_metadata_null", "__metadata__ twice, both null", '{"__metadata__":null,"a":%s,"__metadata__":null}' % A, 4),
    ("dup_metadata_escaped", "__metadata__ twice, once spelled with an escape",
     '{"__metadata__":{},"\\u005f_metadata__":{}}', 0),
    ("dup_metadata_key", "a key repeated inside __metadata__ (last wins)",
     '{"__metadata__":{"k":"first","k":"last"},"a":%s}' % A, 4),
    ("dup_entry_dtype", "dtype twice inside an entry", '{"a":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4),
    ("dup_entry_shape", "shape twice inside an entry", '{"a":{"dtype":"F32","shape":[1],"shape":[1],"data_offsets":[0,4]}}', 4),
    ("dup_entry_offsets", "data_offsets twice inside an entry",
     '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"data_offsets":[0,4]}}', 4),
    ("dup_entry_unknown_field", "an unknown field twice inside an entry", with_field('1,"x":2'), 4),
    ("dup_tensor_identical", "the same tensor key twice, identical entries", '{"a":%s,"a":%s}' % (A, A), 4),
    ("dup_tensor_last_wins", "the same tensor key twice, different dtypes (last wins)",
     '{"a":%s,"a":%s}' % (A, entry(dtype="I32")), 4),
    ("dup_tensor_first_invalid", "the same key twice, the first entry invalid",
     '{"a":%s,"a":%s}' % (entry(dtype="X"), A), 4),
    ("dup_tensor_escaped", "the same key twice, once spelled with an escape", '{"a":%s,"\\u0061":%s}' % (A, entry(dtype="U32")), 4),
    ("dup_tensor_gap_after_merge", "duplicate keys whose last entry leaves the buffer untiled",
     '{"a":%s,"a":%s}' % (A, entry(offsets="[4,8]")), 8),

    # Commas
    ("comma_trailing_top", "trailing comma in the top object", '{"a":%s,}' % A, 4),
    ("comma_trailing_entry", "trailing comma inside an entry", '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],}}', 4),
    ("comma_trailing_shape", "trailing comma in shape", '{"a":%s}' % entry(shape="[1,]"), 4),
    ("comma_trailing_offsets", "trailing comma in data_offsets", '{"a":%s}' % entry(offsets="[0,4,]"), 4),
    ("comma_trailing_metadata", "trailing comma in __metadata__", '{"__metadata__":{"k":"v",}}', 0),
    ("comma_trailing_ignored", "trailing comma inside an ignored field", with_field("[1,]"), 4),
    ("comma_leading", "a comma right after '{'", '{,"a":%s}' % A, 4),
    ("comma_double", "two commas in a row", '{"a":%s,,"b":%s}' % (A, entry(offsets="[4,8]")), 8),
    ("comma_missing", "no comma between members", '{"a":%s "b":%s}' % (A, entry(offsets="[4,8]")), 8),
    ("comma_empty_array_element", "an empty element in shape", '{"a":%s}' % entry(shape="[1,,1]"), 4),

    # Numbers
    ("num_offsets_float", "data_offsets written as floats", '{"a":%s}' % entry(offsets="[0.0,4.0]"), 4),
    ("num_shape_float", "a dimension written as a float", '{"a":%s}' % entry(shape="[1.0]"), 4),
    ("num_shape_exponent", "a dimension written with an exponent", '{"a":%s}' % entry(shape="[1e0]"), 4),
    ("num_offsets_exponent", "an offset written with an exponent", '{"a":%s}' % entry(offsets="[0,4E0]"), 4),
    ("num_shape_fraction", "a fractional dimension", '{"a":%s}' % entry(shape="[1.5]"), 4),
    ("num_negative_zero", "an offset written as -0", '{"a":%s}' % entry(offsets="[-0,4]"), 4),
    ("num_negative", "a negative dimension", '{"a":%s}' % entry(shape="[-1]"), 4),
    ("num_leading_zero", "an offset with a leading zero", '{"a":%s}' % entry(offsets="[0,04]"), 4),
    ("num_plus_sign", "an offset with a plus sign", '{"a":%s}' % entry(offsets="[0,+4]"), 4),
    ("num_lone_minus", "a minus sign with no digits", '{"a":%s}' % entry(offsets="[0,-]"), 4),
    ("num_trailing_dot", "a number ending in a dot", '{"a":%s}' % entry(offsets="[0,4.]"), 4),
    ("num_leading_dot", "a number starting with a dot", with_field(".5"), 4),
    ("num_u64_max_offset", "an offset of 2^64-1", '{"a":%s}' % entry(offsets="[0,18446744073709551615]"), 4),
    ("num_over_u64_offset", "an offset of 2^64 (read as a float)", '{"a":%s}' % entry(offsets="[0,18446744073709551616]"), 4),
    ("num_over_i64_offset", "an offset of 2^63", '{"a":%s}' % entry(offsets="[0,9223372036854775808]"), 4),
    ("num_huge_dims_zero_last", "dimensions whose product overflows before a 0",
     '{"a":%s}' % entry(shape="[4294967296,4294967296,0]", offsets="[0,0]"), 0),
    ("num_huge_dims_zero_first", "a 0 before dimensions whose product would overflow",
     '{"a":%s}' % entry(shape="[0,4294967296,4294967296]", offsets="[0,0]"), 0),
    ("num_dim_over_i64_zero_elements", "a dimension of 2^64-1 in a zero-element tensor",
     '{"a":%s}' % entry(shape="[18446744073709551615,0]", offsets="[0,0]"), 0),
    ("num_bits_overflow", "a shape whose bit count overflows 64 bits", '{"a":%s}' % entry(shape="[576460752303423488]", offsets="[0,0]"), 0),
    ("num_shape_overflow_bytes", "a shape whose element count overflows",
     '{"a":%s}' % entry(shape="[4294967296,4294967296,4294967296]"), 4),
    ("num_ignored_float", "a float in an ignored field", with_field("1.5e-3"), 4),
    ("num_ignored_big_negative", "an integer below -2^63 in an ignored field", with_field("-9223372036854775809"), 4),
    ("num_ignored_out_of_range", "1e400 in an ignored field", with_field("1e400"), 4),
    ("num_ignored_max_double", "the largest double in an ignored field", with_field("1.7976931348623157e308"), 4),
    ("num_ignored_over_max_double", "1.8e308 in an ignored field", with_field("1.8e308"), 4),
    ("num_ignored_long_integer", "a 400-digit integer in an ignored field", with_field("1" + "0" * 400), 4),
    ("num_ignored_zero_huge_exponent", "0e999999999999999999999 in an ignored field", with_field("0e999999999999999999999"), 4),
    ("num_ignored_tiny", "1e-999999999999999999999 in an ignored field", with_field("1e-999999999999999999999"), 4),
    ("num_ignored_nan", "NaN in an ignored field", with_field("NaN"), 4),
    ("num_ignored_infinity", "Infinity in an ignored field", with_field("-Infinity"), 4),
    ("num_ignored_hex", "a hex number in an ignored field", with_field("0x10"), 4),

    # null, types, and the shapes of an entry
    ("null_metadata", "__metadata__ null", '{"__metadata__":null,"a":%s}' % A, 4),
    ("null_metadata_only", "__metadata__ null, no tensors", '{"__metadata__":null}', 0),
    ("empty_metadata", "__metadata__ {}", '{"__metadata__":{}}', 0),
    ("metadata_array", "__metadata__ an array", '{"__metadata__":[]}', 0),
    ("metadata_string", "__metadata__ a string", '{"__metadata__":"x"}', 0),
    ("metadata_number_value", "a number in __metadata__", '{"__metadata__":{"k":1}}', 0),
    ("metadata_null_value", "null in __metadata__", '{"__metadata__":{"k":null}}', 0),
    ("metadata_object_value", "an object in __metadata__", '{"__metadata__":{"k":{}}}', 0),
    ("entry_null", "a tensor entry null", '{"a":null}', 0),
    ("entry_string", "a tensor entry a string", '{"a":"F32"}', 0),
    ("entry_array_form", "an entry as [dtype, shape, data_offsets]", '{"a":["F32",[1],[0,4]]}', 4),
    ("entry_array_form_short", "an entry as a 2-element array", '{"a":["F32",[1]]}', 4),
    ("entry_array_form_long", "an entry as a 4-element array", '{"a":["F32",[1],[0,4],1]}', 4),
    ("entry_missing_offsets", "no data_offsets", '{"a":{"dtype":"F32","shape":[1]}}', 4),
    ("entry_missing_dtype", "no dtype", '{"a":{"shape":[1],"data_offsets":[0,4]}}', 4),
    ("entry_missing_shape", "no shape", '{"a":{"dtype":"F32","data_offsets":[0,4]}}', 4),
    ("entry_null_shape", "shape null", '{"a":%s}' % entry(shape="null"), 4),
    ("entry_shape_string", "a dimension as a string", '{"a":%s}' % entry(shape='["1"]'), 4),
    ("entry_shape_bool", "a dimension as a boolean", '{"a":%s}' % entry(shape="[true]"), 4),
    ("entry_shape_object", "shape an object", '{"a":%s}' % entry(shape="{}"), 4),
    ("entry_offsets_three", "three data_offsets", '{"a":%s}' % entry(offsets="[0,4,8]"), 4),
    ("entry_offsets_one", "one data_offset", '{"a":%s}' % entry(offsets="[0]"), 4),
    ("entry_offsets_object", "data_offsets an object", '{"a":%s}' % entry(offsets='{"0":0,"1":4}'), 4),
    ("entry_offsets_reversed", "data_offsets [4, 0]", '{"a":%s}' % entry(offsets="[4,0]"), 4),
    ("entry_dtype_single_key_map", "dtype as {\"F32\": null}", '{"a":{"dtype":{"F32":null},"shape":[1],"data_offsets":[0,4]}}', 4),
    ("entry_dtype_map_empty_value", "dtype as {\"F32\": {}}", '{"a":{"dtype":{"F32":{}},"shape":[1],"data_offsets":[0,4]}}', 4),
    ("entry_dtype_map_number_value", "dtype as {\"F32\": 0}", '{"a":{"dtype":{"F32":0},"shape":[1],"data_offsets":[0,4]}}', 4),
    ("entry_dtype_map_two_keys", "dtype as a map with two keys",
     '{"a":{"dtype":{"F32":null,"F16":null},"shape":[1],"data_offsets":[0,4]}}', 4),
    ("entry_dtype_map_empty", "dtype as {}", '{"a":{"dtype":{},"shape":[1],"data_offsets":[0,4]}}', 4),
    ("entry_dtype_number", "dtype as a number", '{"a":{"dtype":17,"shape":[1],"data_offsets":[0,4]}}', 4),
    ("entry_array_form_dtype_map", "the array form with dtype as a single-key map", '{"a":[{"F32":null},[1],[0,4]]}', 4),

    # dtypes
    ("dtype_bool", "BOOL", '{"a":%s}' % entry(dtype="BOOL", offsets="[0,1]"), 1),
    ("dtype_c64", "C64 (complex64, 8 bytes)", '{"a":%s}' % entry(dtype="C64", offsets="[0,8]"), 8),
    ("dtype_f8_e8m0", "F8_E8M0", '{"a":%s}' % entry(dtype="F8_E8M0", offsets="[0,1]"), 1),
    ("dtype_f8_e4m3fnuz", "F8_E4M3FNUZ", '{"a":%s}' % entry(dtype="F8_E4M3FNUZ", offsets="[0,1]"), 1),
    ("dtype_f8_e5m2fnuz", "F8_E5M2FNUZ", '{"a":%s}' % entry(dtype="F8_E5M2FNUZ", offsets="[0,1]"), 1),
    ("dtype_f8_e4m3", "F8_E4M3", '{"a":%s}' % entry(dtype="F8_E4M3", offsets="[0,1]"), 1),
    ("dtype_f4_two", "F4 x2 is one byte", '{"a":%s}' % entry(dtype="F4", shape="[2]", offsets="[0,1]"), 1),
    ("dtype_f4_three", "F4 x3 ends inside a byte", '{"a":%s}' % entry(dtype="F4", shape="[3]", offsets="[0,2]"), 2),
    ("dtype_f6_e2m3_four", "F6_E2M3 x4 is three bytes", '{"a":%s}' % entry(dtype="F6_E2M3", shape="[4]", offsets="[0,3]"), 3),
    ("dtype_f6_e3m2_one", "F6_E3M2 x1 ends inside a byte", '{"a":%s}' % entry(dtype="F6_E3M2", shape="[1]", offsets="[0,1]"), 1),
    ("dtype_u64", "U64", '{"a":%s}' % entry(dtype="U64", offsets="[0,8]"), 8),
    ("dtype_lowercase", "f32 in lower case", '{"a":%s}' % entry(dtype="f32"), 4),
    ("dtype_unknown", "F12", '{"a":%s}' % entry(dtype="F12"), 4),
    ("dtype_c128", "C128 (not known to the reference)", '{"a":%s}' % entry(dtype="C128", offsets="[0,16]"), 16),
    ("dtype_c64_wrong_size", "C64 with 4 bytes", '{"a":%s}' % entry(dtype="C64"), 4),

    # Strings and encodings
    ("str_escaped_nul_in_name", "a tensor name with \\u0000", '{"a\\u0000b":%s}' % A, 4),
    ("str_raw_nul_in_name", "a raw NUL byte in a tensor name", b'{"a\x00b":' + A.encode() + b"}", 4),
    ("str_raw_tab_in_name", "a raw tab in a tensor name", '{"a\tb":%s}' % A, 4),
    ("str_raw_del_in_name", "a raw DEL (0x7f) in a tensor name", '{"a\x7fb":%s}' % A, 4),
    ("str_non_ascii_name", "a UTF-8 tensor name", '{"poids.é":%s}' % A, 4),
    ("str_surrogate_pair_name", "a surrogate pair escape in a name", '{"\\ud83d\\ude00":%s}' % A, 4),
    # Names equal under Unicode canonical equivalence are different keys to the reference (Rust
    # compares bytes); ckptforget refuses them by name (CheckpointError.ambiguousNames).
    ("norm_nfc_and_nfd_names", "cafe with U+00E9 and with e + U+0301: two tensors to the reference",
     '{"caf\u00e9":%s,"cafe\u0301":%s}' % (A, entry(offsets="[4,8]")), 8),
    ("norm_nfc_and_nfd_escaped", "the same two names written with \\u escapes",
     '{"caf\\u00e9":%s,"cafe\\u0301":%s}' % (A, entry(offsets="[4,8]")), 8),
    ("norm_nfc_and_nfd_empty", "two canonically equivalent names of empty tensors at the same offsets",
     '{"caf\u00e9":%s,"cafe\u0301":%s}' % (entry(shape="[0]", offsets="[0,0]"), entry(dtype="I32", shape="[0]", offsets="[0,0]")), 0),
    ("norm_kelvin_sign", "U+212A KELVIN SIGN and K, canonically equivalent one-letter names",
     '{"\u212a":%s,"K":%s}' % (A, entry(offsets="[4,8]")), 8),
    ("str_lone_high_surrogate", "a lone high surrogate escape", '{"\\ud800":%s}' % A, 4),
    ("str_lone_low_surrogate", "a lone low surrogate escape", '{"\\udc00":%s}' % A, 4),
    ("str_high_then_letter", "a high surrogate followed by \\u0041", '{"\\ud800\\u0041":%s}' % A, 4),
    ("str_lone_surrogate_ignored", "a lone surrogate in an ignored field", with_field('"\\ud800"'), 4),
    ("str_lone_surrogate_metadata", "a lone surrogate in __metadata__", '{"__metadata__":{"k":"\\ud800"}}', 0),
    ("str_invalid_escape", "\\x escape", with_field('"\\x41"'), 4),
    ("str_short_unicode_escape", "\\u with three hex digits", with_field('"\\u004"'), 4),
    ("str_bad_hex", "\\u with a non-hex digit", with_field('"\\u00G9"'), 4),
    ("str_all_escapes", "every JSON escape", with_field('"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9"'), 4),
    ("str_single_quotes", "a single-quoted key", "{'a':%s}" % A, 4),
    ("str_unterminated", "a string that never ends", '{"a', 0),
    ("utf8_invalid_in_name", "an invalid UTF-8 byte in a tensor name", b'{"a\xffb":' + A.encode() + b"}", 4),
    ("utf8_invalid_in_padding", "an invalid UTF-8 byte after the object", ('{"a":%s}' % A).encode() + b"\xff", 4),
    ("utf8_overlong", "an overlong UTF-8 encoding of '/'", b'{"a\xc0\xafb":' + A.encode() + b"}", 4),
    ("utf8_encoded_surrogate", "a UTF-8-encoded surrogate (CESU)", b'{"a\xed\xa0\x80b":' + A.encode() + b"}", 4),
    ("utf8_truncated", "a truncated UTF-8 sequence", b'{"a\xe2\x82":' + A.encode() + b"}", 4),
    ("utf8_above_max", "a code point above U+10FFFF", b'{"a\xf4\x90\x80\x80":' + A.encode() + b"}", 4),

    # Structure
    ("top_array", "the header is an array", "[]", 0),
    ("top_string", "the header is a string", '"x"', 0),
    ("top_null", "the header is null", "null", 0),
    ("top_empty", "an empty header", "", 0),
    ("top_only_whitespace", "a header of spaces", "        ", 0),
    ("top_unclosed", "an object never closed", '{"a":%s' % A, 4),
    ("top_non_string_key", "a number as a key", '{1:%s}' % A, 4),
    ("top_comment", "a comment", '{/* c */"a":%s}' % A, 4),
    ("top_missing_colon", "a key with no colon", '{"a" %s}' % A, 4),
    ("top_literal_true", "true as an entry", '{"a":true}', 0),
    ("top_bad_literal", "a misspelt literal in an ignored field", with_field("nul"), 4),
    ("depth_127", "127 nested containers (the limit)", with_field("[" * 125 + "]" * 125), 4),
    ("depth_128", "128 nested containers", with_field("[" * 126 + "]" * 126), 4),
    ("depth_10000", "10,000 nested arrays", with_field("[" * 10000 + "]" * 10000), 4),
    ("depth_10000_unclosed", "10,000 unclosed arrays", with_field("[" * 10000), 4),

    # The reference's rules on offsets and sizes
    ("rule_gap", "a gap between tensors", '{"a":%s,"b":%s}' % (A, entry(offsets="[8,12]")), 12),
    ("rule_overlap", "overlapping tensors", '{"a":%s,"b":%s}' % (entry(shape="[2]", offsets="[0,8]"), entry(offsets="[4,8]")), 8),
    ("rule_not_from_zero", "the first tensor not at 0", '{"a":%s}' % entry(offsets="[4,8]"), 8),
    ("rule_length_mismatch", "shape x dtype disagrees with the offsets", '{"a":%s}' % entry(shape="[3]", offsets="[0,8]"), 8),
    ("rule_trailing_data", "data past the last tensor", '{"a":%s}' % A, 8),
    ("rule_data_short", "data shorter than the offsets say", '{"a":%s}' % A, 2),
    ("rule_no_tensors_with_data", "no tensors but data bytes", "{}", 4),
]


def run(header: bytes, data: int, path: Path):
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * data)
    try:
        with safe_open(str(path), "numpy") as f:
            tensors = []
            for name in sorted(f.keys()):
                s = f.get_slice(name)
                tensors.append([name, s.get_dtype(), "[" + ", ".join(str(d) for d in s.get_shape()) + "]"])
            return {"verdict": "accept", "tensors": tensors, "metadata": f.metadata()}
    except Exception as error:  # the reference's refusal, whatever its type
        return {"verdict": "reject", "message": f"{type(error).__name__}: {error}"}


def main():
    if safetensors.__version__ != EXPECTED_VERSION and "--any-version" not in sys.argv:
        sys.exit(f"safetensors {safetensors.__version__} is installed; this table records {EXPECTED_VERSION} "
                 "(pass --any-version to regenerate with it, then update the versions in this file and the README)")
    names = [c[0] for c in CASES]
    assert len(names) == len(set(names)), "case names must be unique"
    out = []
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "case.safetensors"
        for name, why, header, data in CASES:
            raw = header if isinstance(header, bytes) else header.encode("utf-8")
            case = {"name": name, "why": why}
            try:
                case["header"] = raw.decode("utf-8")
            except UnicodeDecodeError:
                case["header_hex"] = raw.hex()
            case["data_bytes"] = data
            case.update(run(raw, data, path))
            out.append(case)
    document = {
        "generator": "Fixtures/make_safetensors_cases.py",
        "reference": {
            "safetensors": safetensors.__version__,
            "reader": "safetensors.safe_open(path, 'numpy'), which calls the Rust crate's SafeTensors::read_metadata",
            "python": platform.python_version(),
            "numpy": numpy.__version__,
        },
        "cases": out,
    }
    target = Path(__file__).resolve().parent / "safetensors" / "reference_cases.json"
    target.write_text(json.dumps(document, indent=1, ensure_ascii=True) + "\n")
    accepted = sum(c["verdict"] == "accept" for c in out)
    print(f"wrote {target}: {len(out)} cases, {accepted} accepted, {len(out) - accepted} rejected")


if __name__ == "__main__":
    main()
