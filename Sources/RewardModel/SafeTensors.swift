/// The safetensors layout: an 8-byte little-endian header length, a JSON header
/// (dtype, shape, data_offsets per tensor; padded with spaces to a multiple of 8),
/// then the raw little-endian data.
public enum SafeTensors {
    /// Serialises F32 tensors (name → values and shape), with string metadata.
    public static func encode(_ tensors: [(name: String, shape: [Int], values: [Float])], metadata: [String: String] = [:]) -> [UInt8] {
        var header = "{"
        var offset = 0
        var entries: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key < $1.key }.map { "\"\(escape($0.key))\":\"\(escape($0.value))\"" }
            entries.append("\"__metadata__\":{" + pairs.joined(separator: ",") + "}")
        }
        for tensor in tensors {
            let bytes = tensor.values.count * 4
            entries.append(
                "\"\(escape(tensor.name))\":{\"dtype\":\"F32\",\"shape\":[\(tensor.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes)]}"
            )
            offset += bytes
        }
        header += entries.joined(separator: ",") + "}"
        while header.utf8.count % 8 != 0 { header += " " }
        var out: [UInt8] = []
        out.reserveCapacity(8 + header.utf8.count + offset)
        let length = UInt64(header.utf8.count)
        for shift in stride(from: 0, to: 64, by: 8) { out.append(UInt8(truncatingIfNeeded: length >> UInt64(shift))) }
        out.append(contentsOf: header.utf8)
        for tensor in tensors {
            for value in tensor.values {
                let bits = value.bitPattern.littleEndian
                out.append(UInt8(truncatingIfNeeded: bits))
                out.append(UInt8(truncatingIfNeeded: bits >> 8))
                out.append(UInt8(truncatingIfNeeded: bits >> 16))
                out.append(UInt8(truncatingIfNeeded: bits >> 24))
            }
        }
        return out
    }

    /// Reads back F32 tensors (for `arbiter score`); nil if the bytes are not safetensors.
    public static func decode(_ bytes: [UInt8]) -> [String: [Float]]? {
        guard bytes.count >= 8 else { return nil }
        var length = 0
        for index in 0..<8 { length |= Int(bytes[index]) << (8 * index) }
        guard length > 0, 8 + length <= bytes.count else { return nil }
        let header = String(decoding: bytes[8..<(8 + length)], as: UTF8.self)
        var result: [String: [Float]] = [:]
        // The header is our own JSON shape: find each "data_offsets":[a,b] with its name.
        for entry in header.split(separator: "},") {
            guard let nameEnd = entry.firstRange(of: "\":{\"dtype\":\"F32\""), let offsets = entry.firstRange(of: "\"data_offsets\":[")
            else { continue }
            let name = String(entry[..<nameEnd.lowerBound].split(separator: "\"").last ?? "")
            let numbers = entry[offsets.upperBound...].prefix { $0 != "]" }.split(separator: ",").compactMap { Int($0) }
            guard numbers.count == 2, numbers[0] <= numbers[1], 8 + length + numbers[1] <= bytes.count else { return nil }
            var values: [Float] = []
            values.reserveCapacity((numbers[1] - numbers[0]) / 4)
            var position = 8 + length + numbers[0]
            while position + 4 <= 8 + length + numbers[1] {
                let bits =
                    UInt32(bytes[position]) | UInt32(bytes[position + 1]) << 8 | UInt32(bytes[position + 2]) << 16 | UInt32(
                        bytes[position + 3]) << 24
                values.append(Float(bitPattern: bits))
                position += 4
            }
            result[name] = values
        }
        return result
    }

    static func escape(_ text: String) -> String {
        text.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"")
    }
}
