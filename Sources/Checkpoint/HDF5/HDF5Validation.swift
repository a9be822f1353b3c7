internal import CHDF5

/// Checks every object of an HDF5 file before anything is copied: libhdf5 1.10 crashes while
/// copying some damaged objects (an object header message of a type it does not know, a contiguous
/// dataset whose stored size is not its shape's), so they are refused first, by name.
enum HDF5Validation {
    /// The header message type libhdf5 gives a message it cannot decode (`H5O_UNKNOWN_ID`).
    static let unknownMessage: UInt64 = 1 << 25

    static func check(file: hid_t, nodes: [HDF5Node]) throws {
        var fileSize: hsize_t = 0
        try HDF5.check(H5Fget_filesize(file, &fileSize), "H5Fget_filesize")
        for node in nodes where node.kind == .group || node.kind == .dataset || node.kind == .namedType {
            var info = H5O_info_t()
            try HDF5.check(H5Oget_info_by_name2(file, node.path, &info, UInt32(H5O_INFO_HDR), HDF5.defaultPlist),
                           "H5Oget_info_by_name2(\(node.path))")
            if info.hdr.mesg.present & unknownMessage != 0 {
                throw HDF5Problem.damaged(object: node.path, reason: "its object header holds a message of a type HDF5 does not know")
            }
            if node.kind == .dataset { try checkDataset(file: file, path: node.path, fileSize: fileSize) }
        }
    }

    /// The datatype and dataspace decode, and stored data of a contiguous or compact dataset is
    /// exactly its shape's size and inside the file.
    private static func checkDataset(file: hid_t, path: String, fileSize: hsize_t) throws {
        let dataset = try H5ID(.dataset, H5Dopen2(file, path, HDF5.defaultPlist), "H5Dopen2(\(path))")
        let type = try H5ID(.datatype, H5Dget_type(dataset.raw), "H5Dget_type(\(path))")
        let typeSize = H5Tget_size(type.raw)
        guard H5Tget_class(type.raw).rawValue >= 0, typeSize > 0 else {
            throw HDF5Problem.damaged(object: path, reason: "its datatype does not decode")
        }
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
