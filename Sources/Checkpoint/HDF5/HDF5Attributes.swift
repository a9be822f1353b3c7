internal import CHDF5

/// Reading string attributes (Keras' `model_config`, `layer_names`, `weight_names`) and copying
/// attributes byte for byte between files.
enum HDF5Attributes {
    /// The strings stored in attribute `name` of `objectID` (one for a scalar, several for an
    /// array), fixed- or variable-length; nil if there is no such attribute or it is not a string.
    static func strings(_ name: String, of objectID: hid_t) throws(HDF5Failure) -> [String]? {
        guard try HDF5.check(H5Aexists(objectID, name), "H5Aexists(\(name))") > 0 else { return nil }
        let attribute = try H5ID(.attribute, H5Aopen(objectID, name, HDF5.defaultPlist), "H5Aopen(\(name))")
        let fileType = try H5ID(.datatype, H5Aget_type(attribute.raw), "H5Aget_type(\(name))")
        guard H5Tget_class(fileType.raw) == H5T_STRING else { return nil }
        let space = try H5ID(.dataspace, H5Aget_space(attribute.raw), "H5Aget_space(\(name))")
        let count = Int(H5Sget_simple_extent_npoints(space.raw))
        guard count > 0 else { return [] }

        if try HDF5.check(H5Tis_variable_str(fileType.raw), "H5Tis_variable_str") > 0 {
            let memoryType = try H5ID(.datatype, H5Tcopy(ckf_H5T_C_S1()), "H5Tcopy")
            try HDF5.check(H5Tset_size(memoryType.raw, ckf_H5T_VARIABLE()), "H5Tset_size")
            try HDF5.check(H5Tset_cset(memoryType.raw, H5Tget_cset(fileType.raw)), "H5Tset_cset")
            var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            try HDF5.check(H5Aread(attribute.raw, memoryType.raw, &pointers), "H5Aread(\(name))")
            defer { _ = H5Dvlen_reclaim(memoryType.raw, space.raw, HDF5.defaultPlist, &pointers) }
            return pointers.map { $0.map { String(cString: $0) } ?? "" }
        }
        let width = H5Tget_size(fileType.raw)
        var bytes = [UInt8](repeating: 0, count: width * count)
        try HDF5.check(H5Aread(attribute.raw, fileType.raw, &bytes), "H5Aread(\(name))")
        return (0..<count).map { i in
            let field = bytes[(i * width)..<((i + 1) * width)]
            let end = field.firstIndex(of: 0) ?? field.endIndex
            var text = String(decoding: field[field.startIndex..<end], as: UTF8.self)
            if H5Tget_strpad(fileType.raw) == H5T_STR_SPACEPAD { while text.hasSuffix(" ") { text.removeLast() } }
            return text
        }
    }

    /// Copies every attribute of `source` onto `destination` in the source's attribute order, with
    /// the same name, datatype, dataspace and bytes.
    /// Attributes holding object references are refused (`CheckpointError.unsupported`, naming
    /// `file`): copied as bytes they would point nowhere in the new file.
    static func copyAll(from source: hid_t, to destination: hid_t, path: String, file: String) throws {
        let count = Int(try HDF5.check(H5Aget_num_attrs(source), "H5Aget_num_attrs(\(path))"))
        let order = HDF5Tree.attributeOrder(of: source)
        for index in 0..<count {
            let attribute = try H5ID(.attribute,
                                     H5Aopen_by_idx(source, ".", order, H5_ITER_INC, hsize_t(index), HDF5.defaultPlist, HDF5.defaultPlist),
                                     "H5Aopen_by_idx(\(path), \(index))")
            let nameLength = H5Aget_name(attribute.raw, 0, nil)
            var nameBuffer = [CChar](repeating: 0, count: Int(nameLength) + 1)
            try HDF5.check(H5Aget_name(attribute.raw, nameBuffer.count, &nameBuffer), "H5Aget_name(\(path))")
            let name = String(decoding: nameBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let type = try H5ID(.datatype, H5Aget_type(attribute.raw), "H5Aget_type(\(path)@\(name))")
            // Object references point into the source file; copied as bytes they would dangle.
            guard H5Tdetect_class(type.raw, H5T_REFERENCE) <= 0 else {
                throw CheckpointError.unsupported(path: file, tensor: path,
                    reason: "its attribute '\(name)' holds object references (dimension scales?), which cannot be carried into the new file that editing needs")
            }
            let space = try H5ID(.dataspace, H5Aget_space(attribute.raw), "H5Aget_space(\(path)@\(name))")
            let acpl = try H5ID(.plist, H5Aget_create_plist(attribute.raw), "H5Aget_create_plist(\(path)@\(name))")
            // A variable-length string type is written afresh from its character set and padding:
            // its stored description also holds a base character type, which a damaged file can
            // have wrong in ways libhdf5 1.10 reads past and newer readers refuse.
            let written = try H5Tis_variable_str(type.raw) > 0 ? variableString(like: type.raw) : H5ID(.datatype, H5Tcopy(type.raw), "H5Tcopy")
            let copy = try H5ID(.attribute, H5Acreate2(destination, name, written.raw, space.raw, acpl.raw, HDF5.defaultPlist),
                                "H5Acreate2(\(path)@\(name))")
            let points = Int(H5Sget_simple_extent_npoints(space.raw))
            let byteCount = max(1, H5Tget_size(type.raw) * max(points, 0))
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 16)
            defer { buffer.deallocate() }
            buffer.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
            guard points > 0 else { continue }
            try HDF5.check(H5Aread(attribute.raw, type.raw, buffer), "H5Aread(\(path)@\(name))")
            let hasVariableLength = H5Tdetect_class(type.raw, H5T_VLEN) > 0 || H5Tis_variable_str(type.raw) > 0
            defer { if hasVariableLength { _ = H5Dvlen_reclaim(type.raw, space.raw, HDF5.defaultPlist, buffer) } }
            try HDF5.check(H5Awrite(copy.raw, written.raw, buffer), "H5Awrite(\(path)@\(name))")
        }
    }

    /// A variable-length string type with `type`'s character set and padding.
    private static func variableString(like type: hid_t) throws(HDF5Failure) -> H5ID {
        let fresh = try H5ID(.datatype, H5Tcopy(ckf_H5T_C_S1()), "H5Tcopy")
        try HDF5.check(H5Tset_size(fresh.raw, ckf_H5T_VARIABLE()), "H5Tset_size")
        try HDF5.check(H5Tset_cset(fresh.raw, H5Tget_cset(type)), "H5Tset_cset")
        try HDF5.check(H5Tset_strpad(fresh.raw, H5Tget_strpad(type)), "H5Tset_strpad")
        return fresh
    }
}
