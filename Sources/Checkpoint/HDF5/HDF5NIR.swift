internal import CHDF5

/// Reads a NIR graph's structure from an HDF5 file: string datasets (`type`, `edges`) and the small
/// integer parameters of each node. Top-level graph only; a nested graph is a node of type NIRGraph.
enum HDF5NIR {
    /// The graph, or nil when the file is not a NIR graph (no `/node/type` = "NIRGraph" with
    /// `/node/nodes`). Missing edges read as none (the simulator then names the node no edge feeds).
    static func graph(file: hid_t) throws(HDF5Failure) -> NIRGraph? {
        guard try exists(file, "node/type"), try exists(file, "node/nodes"),
              try strings(file, "node/type")?.first == "NIRGraph" else { return nil }
        let pairs = try exists(file, "node/edges") ? try strings(file, "node/edges") ?? [] : []
        guard pairs.count % 2 == 0 else { throw HDF5Failure(call: "node/edges", message: "an odd number of names: expected (N, 2) pairs") }
        let edges = stride(from: 0, to: pairs.count, by: 2).map { NIRGraph.Edge(source: pairs[$0], target: pairs[$0 + 1]) }
        let group = try H5ID(.group, H5Gopen2(file, "node/nodes", HDF5.defaultPlist), "H5Gopen2(node/nodes)")
        var nodes: [NIRGraph.Node] = []
        for name in try HDF5Tree.walk(group: group.raw, path: "").filter({ $0.kind == .group }).map(\.path) {
            let prefix = NIRGraph.nodePrefix + name
            let type = try strings(file, prefix + "/type")?.first ?? ""
            let nodeGroup = try H5ID(.group, H5Gopen2(file, prefix, HDF5.defaultPlist), "H5Gopen2(\(prefix))")
            var integers: [String: [Int]] = [:], shapes: [String: [Int]] = [:]
            for child in try HDF5Tree.walk(group: nodeGroup.raw, path: "") where child.kind == .dataset {
                guard let (values, shape) = try self.integers(file, prefix + "/" + child.path) else { continue }
                integers[child.path] = values
                shapes[child.path] = shape
            }
            nodes.append(NIRGraph.Node(name: name, type: type, integers: integers, integerShapes: shapes))
        }
        return NIRGraph(nodes: nodes, edges: edges)
    }

    private static func exists(_ file: hid_t, _ path: String) throws(HDF5Failure) -> Bool {
        var prefix = ""
        for part in path.split(separator: "/") {
            prefix += (prefix.isEmpty ? "" : "/") + part
            guard try HDF5.check(H5Lexists(file, prefix, HDF5.defaultPlist), "H5Lexists(\(prefix))") > 0 else { return false }
        }
        return true
    }

    /// The strings of a string dataset (any shape, variable or fixed length), in row-major order;
    /// nil when the dataset does not hold strings.
    static func strings(_ file: hid_t, _ path: String) throws(HDF5Failure) -> [String]? {
        let dataset = try H5ID(.dataset, H5Dopen2(file, path, HDF5.defaultPlist), "H5Dopen2(\(path))")
        let fileType = try H5ID(.datatype, H5Dget_type(dataset.raw), "H5Dget_type(\(path))")
        guard H5Tget_class(fileType.raw) == H5T_STRING else { return nil }
        let space = try H5ID(.dataspace, H5Dget_space(dataset.raw), "H5Dget_space(\(path))")
        let count = Int(H5Sget_simple_extent_npoints(space.raw))
        guard count > 0, count <= 1 << 20 else { return [] }
        if try HDF5.check(H5Tis_variable_str(fileType.raw), "H5Tis_variable_str") > 0 {
            let memoryType = try H5ID(.datatype, H5Tcopy(ckf_H5T_C_S1()), "H5Tcopy")
            try HDF5.check(H5Tset_size(memoryType.raw, ckf_H5T_VARIABLE()), "H5Tset_size")
            try HDF5.check(H5Tset_cset(memoryType.raw, H5Tget_cset(fileType.raw)), "H5Tset_cset")
            var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            try HDF5.check(H5Dread(dataset.raw, memoryType.raw, ckf_H5S_ALL(), ckf_H5S_ALL(), HDF5.defaultPlist, &pointers), "H5Dread(\(path))")
            defer { _ = H5Dvlen_reclaim(memoryType.raw, space.raw, HDF5.defaultPlist, &pointers) }
            return pointers.map { $0.map { String(cString: $0) } ?? "" }
        }
        let width = H5Tget_size(fileType.raw)
        guard width > 0, width <= 1 << 16 else { return nil }
        var bytes = [UInt8](repeating: 0, count: width * count)
        try HDF5.check(H5Dread(dataset.raw, fileType.raw, ckf_H5S_ALL(), ckf_H5S_ALL(), HDF5.defaultPlist, &bytes), "H5Dread(\(path))")
        return (0..<count).map { i in
            let field = bytes[(i * width)..<((i + 1) * width)]
            return String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    /// A small integer dataset's values (as Int) and shape; nil for anything else.
    private static func integers(_ file: hid_t, _ path: String) throws(HDF5Failure) -> ([Int], [Int])? {
        let dataset = try H5ID(.dataset, H5Dopen2(file, path, HDF5.defaultPlist), "H5Dopen2(\(path))")
        let type = try H5ID(.datatype, H5Dget_type(dataset.raw), "H5Dget_type(\(path))")
        guard H5Tget_class(type.raw) == H5T_INTEGER else { return nil }
        let space = try H5ID(.dataspace, H5Dget_space(dataset.raw), "H5Dget_space(\(path))")
        let rank = Int(H5Sget_simple_extent_ndims(space.raw))
        guard rank >= 0, rank <= 8 else { return nil }
        var dims = [hsize_t](repeating: 0, count: rank)
        try HDF5.check(H5Sget_simple_extent_dims(space.raw, &dims, nil), "H5Sget_simple_extent_dims(\(path))")
        let count = Int(H5Sget_simple_extent_npoints(space.raw))
        guard count >= 0, count <= 64 else { return nil }  // parameters, not data
        var values = [Int64](repeating: 0, count: max(count, 1))
        try HDF5.check(H5Dread(dataset.raw, ckf_H5T_NATIVE_INT64(), ckf_H5S_ALL(), ckf_H5S_ALL(), HDF5.defaultPlist, &values), "H5Dread(\(path))")
        return (values.prefix(count).map { Int($0) }, dims.map { Int($0) })
    }
}
