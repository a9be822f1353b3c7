internal import CHDF5

/// Checks every object of an HDF5 file before anything is copied: libhdf5 1.10 crashes while
/// copying some damaged objects (an object header message of a type it does not know, a contiguous
/// dataset whose stored size is not its shape's), and a datatype or dataspace that does not decode
/// would be copied into an output no reader opens, so they are refused first, by name.
enum HDF5Validation {
    /// The header message type libhdf5 gives a message it cannot decode (`H5O_UNKNOWN_ID`).
    static let unknownMessage: UInt64 = 1 << 25

    static func check(file: hid_t, nodes: [HDF5Node]) throws {
        var fileSize: hsize_t = 0
        try HDF5.check(H5Fget_filesize(file, &fileSize), "H5Fget_filesize")
        try checkAttributes(file: file, path: "/")
        for node in nodes where node.kind == .group || node.kind == .dataset || node.kind == .namedType {
            var info = H5O_info_t()
            try HDF5.check(H5Oget_info_by_name2(file, node.path, &info, UInt32(H5O_INFO_HDR), HDF5.defaultPlist),
                           "H5Oget_info_by_name2(\(node.path))")
            if info.hdr.mesg.present & unknownMessage != 0 {
                throw HDF5Problem.damaged(object: node.path, reason: "its object header holds a message of a type HDF5 does not know")
            }
            if node.kind == .dataset { try checkDataset(file: file, path: node.path, fileSize: fileSize) }
            try checkAttributes(file: file, path: node.path)
        }
    }

    /// The largest attribute read for copying (attributes are metadata: far below this in any real file).
    static let largestAttribute: UInt64 = 1 << 30

    /// Every attribute's datatype and dataspace decode, and its size is one that can be read.
    private static func checkAttributes(file: hid_t, path: String) throws {
        var info = H5O_info_t()
        try HDF5.check(H5Oget_info_by_name2(file, path, &info, UInt32(H5O_INFO_NUM_ATTRS), HDF5.defaultPlist), "H5Oget_info_by_name2(\(path))")
        for index in 0..<info.num_attrs {
            let attribute = try H5ID(.attribute, H5Aopen_by_idx(file, path, H5_INDEX_NAME, H5_ITER_INC, index, HDF5.defaultPlist, HDF5.defaultPlist),
                                     "H5Aopen_by_idx(\(path), \(index))")
            let nameLength = H5Aget_name(attribute.raw, 0, nil)
            var nameBuffer = [CChar](repeating: 0, count: max(Int(nameLength), 0) + 1)
            _ = H5Aget_name(attribute.raw, nameBuffer.count, &nameBuffer)
            let object = "\(path)@" + String(decoding: nameBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard let type = try? H5ID(.datatype, H5Aget_type(attribute.raw), "H5Aget_type") else {
                throw HDF5Problem.damaged(object: object, reason: "the attribute's datatype does not decode")
            }
            if let problem = typeProblem(type.raw) { throw HDF5Problem.damaged(object: object, reason: "the attribute's datatype: \(problem)") }
            let typeSize = H5Tget_size(type.raw)
            guard let space = try? H5ID(.dataspace, H5Aget_space(attribute.raw), "H5Aget_space") else {
                throw HDF5Problem.damaged(object: object, reason: "the attribute's dataspace does not decode")
            }
            let points = H5Sget_simple_extent_npoints(space.raw)
            guard points >= 0 else { throw HDF5Problem.damaged(object: object, reason: "the attribute's dataspace does not decode") }
            let (bytes, overflow) = UInt64(points).multipliedReportingOverflow(by: UInt64(typeSize))
            guard !overflow, bytes <= largestAttribute else {
                throw HDF5Problem.damaged(object: object, reason: "the attribute declares \(overflow ? "more bytes than can be addressed" : "\(bytes) bytes")")
            }
            // Read it as it will be copied: its data (or the heap it points into) must be there.
            guard points > 0 else { continue }
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: Int(bytes), alignment: 16)
            defer { buffer.deallocate() }
            guard H5Aread(attribute.raw, type.raw, buffer) >= 0 else {
                throw HDF5Problem.damaged(object: object, reason: "the attribute's value cannot be read (\(HDF5.currentErrorMessage()))")
            }
            if H5Tdetect_class(type.raw, H5T_VLEN) > 0 || H5Tis_variable_str(type.raw) > 0 {
                _ = H5Dvlen_reclaim(type.raw, space.raw, HDF5.defaultPlist, buffer)
            }
        }
    }

    /// What is impossible in a datatype as stored (what readers such as h5py refuse to convert):
    /// no size, bit fields outside the value, an unknown character set; members and base types too.
    static func typeProblem(_ type: hid_t, depth: Int = 0) -> String? {
        guard depth < 16 else { return "nested more than 16 deep" }
        let size = H5Tget_size(type)
        guard size > 0 else { return "it has no size" }
        let bits = 8 * size
        switch H5Tget_class(type) {
        case H5T_INTEGER, H5T_FLOAT, H5T_BITFIELD:
            let precision = H5Tget_precision(type), offset = H5Tget_offset(type)
            guard precision > 0, offset >= 0, size_t(offset) + precision <= bits else {
                return "its \(precision) bits at offset \(offset) do not fit its \(size) bytes"
            }
            guard H5Tget_class(type) == H5T_FLOAT else { return nil }
            var (sign, exponent, exponentSize, mantissa, mantissaSize) = (0, 0, 0, 0, 0)
            guard H5Tget_fields(type, &sign, &exponent, &exponentSize, &mantissa, &mantissaSize) >= 0,
                  sign < precision, exponentSize > 0, mantissaSize > 0,
                  exponent + exponentSize <= precision, mantissa + mantissaSize <= precision else {
                return "its sign, exponent and mantissa fields do not fit its \(precision) bits"
            }
            return nil
        case H5T_STRING:
            let set = H5Tget_cset(type)
            guard set == H5T_CSET_ASCII || set == H5T_CSET_UTF8 else { return "an unknown character set (\(set.rawValue))" }
            return nil
        case H5T_COMPOUND, H5T_ENUM:
            let members = H5Tget_nmembers(type)
            guard members >= 0 else { return "its members do not decode" }
            if H5Tget_class(type) == H5T_ENUM {
                guard let base = try? H5ID(.datatype, H5Tget_super(type), "H5Tget_super") else { return "its base type does not decode" }
                return typeProblem(base.raw, depth: depth + 1)
            }
            for index in 0..<UInt32(members) {
                guard let member = try? H5ID(.datatype, H5Tget_member_type(type, index), "H5Tget_member_type") else {
                    return "member \(index) does not decode"
                }
                if let problem = typeProblem(member.raw, depth: depth + 1) { return "member \(index): \(problem)" }
            }
            return nil
        case H5T_ARRAY, H5T_VLEN:
            if H5Tis_variable_str(type) > 0 { return nil }
            guard let base = try? H5ID(.datatype, H5Tget_super(type), "H5Tget_super") else { return "its base type does not decode" }
            return typeProblem(base.raw, depth: depth + 1)
        case H5T_OPAQUE, H5T_REFERENCE, H5T_TIME:
            return nil
        default:
            return "a datatype class HDF5 does not know"
        }
    }

    /// The datatype and dataspace decode, and stored data of a contiguous or compact dataset is
    /// exactly its shape's size and inside the file.
    private static func checkDataset(file: hid_t, path: String, fileSize: hsize_t) throws {
        let dataset = try H5ID(.dataset, H5Dopen2(file, path, HDF5.defaultPlist), "H5Dopen2(\(path))")
        let type = try H5ID(.datatype, H5Dget_type(dataset.raw), "H5Dget_type(\(path))")
        let typeSize = H5Tget_size(type.raw)
        if let problem = typeProblem(type.raw) { throw HDF5Problem.damaged(object: path, reason: "its datatype: \(problem)") }
        let space = try H5ID(.dataspace, H5Dget_space(dataset.raw), "H5Dget_space(\(path))")
        let points = H5Sget_simple_extent_npoints(space.raw)
        guard points >= 0 else { throw HDF5Problem.damaged(object: path, reason: "its dataspace does not decode") }
        let (expected, overflow) = UInt64(points).multipliedReportingOverflow(by: UInt64(typeSize))
        guard !overflow else { throw HDF5Problem.damaged(object: path, reason: "its shape holds more bytes than can be addressed") }
        let dcpl = try H5ID(.plist, H5Dget_create_plist(dataset.raw), "H5Dget_create_plist(\(path))")
        let layout = H5Pget_layout(dcpl.raw)
        // Variable-length data is stored as heap references, whose size is not the type's.
        let variable = H5Tdetect_class(type.raw, H5T_VLEN) > 0 || H5Tis_variable_str(type.raw) > 0
        guard layout == H5D_CONTIGUOUS || layout == H5D_COMPACT, !variable else { return }
        let stored = H5Dget_storage_size(dataset.raw)
        guard stored == 0 || stored == expected else {
            throw HDF5Problem.damaged(object: path, reason: "it stores \(stored) bytes where its shape and datatype need \(expected)")
        }
        guard layout == H5D_CONTIGUOUS, stored > 0, H5Pget_external_count(dcpl.raw) == 0 else { return }
        let offset = H5Dget_offset(dataset.raw)
        let (end, past) = UInt64(offset).addingReportingOverflow(stored)
        guard offset != haddr_t.max, !past, end <= fileSize else {
            throw HDF5Problem.damaged(object: path, reason: "its data runs past the end of the \(fileSize)-byte file")
        }
    }
}

/// A damaged object found by `HDF5Validation`.
enum HDF5Problem: Error {
    case damaged(object: String, reason: String)
}
