import Foundation
import FrameStream
import FrameStreamTesting
import Testing

/// Matroska and ZIP exports read back byte by byte, by the small readers below, and the Matroska file by ffprobe
/// where it is installed.
struct ExportFormatsTests {
    /// The bundled 640×480 images.
    static let jpegs: [[UInt8]] = (1...3).map { index in
        let url = URL(fileURLWithPath: "\(TestFixtures.directory)/\(index).jpg")
        return (try? [UInt8](Data(contentsOf: url))) ?? []
    }

    /// 90 frame times in microseconds: 33 ms apart give or take up to 5 ms, with a gap of 2 s after the 45th.
    static let frameTimes: [Int64] = {
        var random = SeededRandom(seed: 7)
        var time: Int64 = 0
        var times: [Int64] = []
        for index in 0..<90 {
            times.append(time)
            time += 33_333 + Int64(random.next() % 10_001) - 5000
            if index == 44 { time += 2_000_000 }
        }
        return times
    }()

    /// A recording of the bundled images at ``frameTimes``, with its duration; and the overhead per frame.
    static func recording(duration: Duration? = nil) -> (file: [UInt8], overheadPerFrame: Double) {
        var writer = MatroskaWriter(
            width: 640,
            height: 480,
            duration: duration,
            title: "Garden",
            startDate: Date(timeIntervalSince1970: 1_700_000_000.25)
        )
        var file = writer.header()
        var overhead = 0
        for (index, time) in frameTimes.enumerated() {
            let jpeg = jpegs[index % 3]
            let bytes = writer.frame(jpeg, at: time)
            overhead += bytes.count - jpeg.count
            file += bytes
        }
        file += writer.finish()
        return (file, Double(overhead) / Double(frameTimes.count))
    }

    /// What `/usr/bin/TOOL -v error ARGUMENTS` prints; an error if it fails or says anything on stderr.
    static func run(_ tool: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/\(tool)")
        process.arguments = ["-v", "error"] + arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let printed = output.fileHandleForReading.readDataToEndOfFile()
        let complaints = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0, complaints.isEmpty else {
            throw ToolFailure(description: "\(tool) exited with \(process.terminationStatus): \(complaints)")
        }
        return String(decoding: printed, as: UTF8.self)
    }

    struct ToolFailure: Error, CustomStringConvertible {
        let description: String
    }

    @Test func pixelSizeComesFromTheFrameHeader() throws {
        for jpeg in Self.jpegs {
            let size = try #require(MatroskaWriter.pixelSize(ofJPEG: jpeg))
            #expect(size.width == 640 && size.height == 480)
        }
        #expect(MatroskaWriter.pixelSize(ofJPEG: []) == nil)
        #expect(MatroskaWriter.pixelSize(ofJPEG: Array("not a JPEG image".utf8)) == nil)
        #expect(MatroskaWriter.pixelSize(ofJPEG: Array(Self.jpegs[0].prefix(20))) == nil)  // cut before its SOF
        // A minimal frame header alone: SOI, SOF2 (progressive) of 1920×1080.
        let sof2: [UInt8] = [0xFF, 0xD8, 0xFF, 0xC2, 0x00, 0x0B, 0x08, 0x04, 0x38, 0x07, 0x80, 0x01, 0x01, 0x11, 0x00]
        let size = try #require(MatroskaWriter.pixelSize(ofJPEG: sof2))
        #expect(size.width == 1920 && size.height == 1080)
    }

    @Test func matroskaHeaderDescribesOneMJPEGTrackInMicroseconds() throws {
        let header = MatroskaWriter(
            width: 640,
            height: 480,
            duration: .milliseconds(4941),
            title: "Garden",
            startDate: Date(timeIntervalSinceReferenceDate: 1.5)
        )
        .header()
        #expect(Array(header.prefix(4)) == [0x1A, 0x45, 0xDF, 0xA3])
        let top = try EBMLReader.elements(header[...])
        #expect(top.map(\.id) == [0x1A45_DFA3, 0x1853_8067])
        let ebml = try EBMLReader.elements(top[0].data)
        #expect(ebml.string(0x4282) == "matroska")
        #expect(ebml.unsigned(0x4287) == 4)
        #expect(ebml.unsigned(0x4285) == 2)
        #expect(top[1].size == nil, "the Segment's size is unknown: it is streamed")
        #expect(header[top[1].data.startIndex - 8..<top[1].data.startIndex].elementsEqual(EBMLReader.unknownSize))

        let segment = try EBMLReader.elements(top[1].data)
        #expect(segment.map(\.id) == [0x1549_A966, 0x1654_AE6B])  // Info, Tracks
        let info = try EBMLReader.elements(segment[0].data)
        #expect(info.unsigned(0x2A_D7B1) == 1000)
        #expect(info.float(0x4489) == 4_941_000)
        #expect(info.signed(0x4461) == 1_500_000_000)
        #expect(info.string(0x7BA9) == "Garden")
        #expect(info.string(0x4D80) == "FrameStream" && info.string(0x5741) == "FrameStream")

        let tracks = try EBMLReader.elements(segment[1].data)
        #expect(tracks.map(\.id) == [0xAE])
        let track = try EBMLReader.elements(tracks[0].data)
        #expect(track.unsigned(0xD7) == 1)
        #expect(track.unsigned(0x73C5).map { $0 != 0 } == true)
        #expect(track.unsigned(0x83) == 1)
        #expect(track.unsigned(0x9C) == 0)
        #expect(track.string(0x86) == "V_MJPEG")
        let video = try EBMLReader.elements(try #require(track.first { $0.id == 0xE0 }).data)
        #expect(video.unsigned(0xB0) == 640 && video.unsigned(0xBA) == 480)

        let unknownDuration = try EBMLReader.elements(MatroskaWriter(width: 1, height: 1).header()[...])
        let bareInfo = try EBMLReader.elements(try EBMLReader.elements(unknownDuration[1].data)[0].data)
        #expect(bareInfo.map(\.id) == [0x2A_D7B1, 0x4D80, 0x5741])
    }

    @Test func matroskaFramesKeepTheirTimestampsAndBytes() throws {
        let (file, overhead) = Self.recording()
        #expect(overhead <= 40, "\(overhead) bytes per frame")
        let top = try EBMLReader.elements(file[...])
        let clusters = try EBMLReader.elements(top[1].data).filter { $0.id == 0x1F43_B675 }
        #expect(clusters.count == Self.frameTimes.count)

        var blocks: [(micros: Int64, data: ArraySlice<UInt8>)] = []
        for cluster in clusters {
            #expect(cluster.size != nil, "a cluster's size is known")
            let children = try EBMLReader.elements(cluster.data)
            let clusterTime = Int64(try #require(children.unsigned(0xE7)))
            for block in children where block.id == 0xA3 {
                let bytes = block.data
                let start = bytes.startIndex
                #expect(bytes[start] == 0x81, "track 1")
                #expect(bytes[start + 3] & 0x80 != 0, "a keyframe")
                #expect(bytes[start + 3] & 0x06 == 0, "no lacing")
                let offset = Int16(bitPattern: UInt16(bytes[start + 1]) << 8 | UInt16(bytes[start + 2]))
                blocks.append((clusterTime + Int64(offset), bytes[(start + 4)...]))
            }
        }
        #expect(blocks.map(\.micros) == Self.frameTimes)
        for (index, block) in blocks.enumerated() {
            let same = block.data.elementsEqual(Self.jpegs[index % 3])  // not in #expect: it would print every byte
            #expect(same, "frame \(index)'s bytes")
        }
    }

    @Test func matroskaTimestampsNeverGoBack() throws {
        var writer = MatroskaWriter(width: 640, height: 480)
        var file = writer.header()
        for time: Int64 in [0, 40_000, 30_000, 80_000] { file += writer.frame(Self.jpegs[0], at: time) }
        let top = try EBMLReader.elements(file[...])
        let times = try EBMLReader.elements(top[1].data).filter { $0.id == 0x1F43_B675 }.map {
            try EBMLReader.elements($0.data).unsigned(0xE7)
        }
        #expect(times == [0, 40_000, 40_000, 80_000])
    }

    @Test(
        .enabled(
            if: FileManager.default.isExecutableFile(atPath: "/usr/bin/ffprobe")
                || ProcessInfo.processInfo.environment["FRAMESTREAM_REQUIRE_FFPROBE"] == "1",
            "needs ffprobe (FRAMESTREAM_REQUIRE_FFPROBE=1 makes its absence a failure)"
        )
    )
    func ffprobeFindsEveryFrameAtItsTimeAndFFmpegDecodesIt() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/ffprobe"), "ffprobe is not installed")
        let duration = Duration.microseconds(Self.frameTimes.last! + 33_333)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("export-\(UUID().uuidString).mkv")
        try Data(Self.recording(duration: duration).file).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }

        let streams = try Self.run(
            "ffprobe",
            [
                "-count_frames", "-select_streams", "v:0", "-show_entries",
                "stream=codec_name,width,height,nb_read_frames:format=duration", "-of", "json", file.path,
            ]
        )
        let json = try #require(try JSONSerialization.jsonObject(with: Data(streams.utf8)) as? [String: Any])
        let stream = try #require((json["streams"] as? [[String: Any]])?.first)
        #expect(stream["codec_name"] as? String == "mjpeg")
        #expect(stream["width"] as? Int == 640 && stream["height"] as? Int == 480)
        #expect(stream["nb_read_frames"] as? String == "\(Self.frameTimes.count)")
        let format = try #require(json["format"] as? [String: Any])
        let seconds = try #require((format["duration"] as? String).flatMap(Double.init))
        #expect(abs(seconds - Double(Self.frameTimes.last! + 33_333) / 1e6) < 1e-6)

        let packets = try Self.run(
            "ffprobe",
            [
                "-select_streams", "v:0", "-show_entries", "packet=pts,flags", "-of", "csv=p=0", file.path,
            ]
        )
        let lines = packets.split(separator: "\n")
        #expect(lines.compactMap { Int64($0.split(separator: ",")[0]) } == Self.frameTimes)
        #expect(lines.allSatisfy { $0.hasSuffix(",K__") || $0.hasSuffix(",K_") })

        // Every frame decodes. Passed through at the file's own time base: at a frame rate ffmpeg guesses, frames
        // closer than one frame apart would collide in the null muxer, which says so, though nothing is wrong.
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/ffmpeg") {
            let decoded = try Self.run(
                "ffmpeg",
                ["-xerror", "-err_detect", "explode", "-i", file.path, "-fps_mode", "passthrough"]
                    + ["-enc_time_base", "-1", "-f", "null", "-"]
            )
            #expect(decoded.isEmpty)
        }
    }

    @Test func zipEntriesReadBackWithNamesCRCsAndTimes() throws {
        var writer = ZIPWriter()
        var archive: [UInt8] = []
        let names = ["frames/0001.jpg", "frames/0002.jpg", "frames/Café 3.jpg"]
        let modified = Date(timeIntervalSince1970: 1_700_000_001)  // 2023-11-14 22:13:21 UTC
        for (index, name) in names.enumerated() {
            archive += writer.entry(named: name, bytes: Self.jpegs[index], modified: modified)
        }
        archive += writer.entry(named: "old.txt", bytes: Array("1970".utf8), modified: Date(timeIntervalSince1970: 0))
        archive += writer.finish()
        #expect(writer.entryCount == 4 && writer.byteCount == UInt64(archive.count))

        let entries = try ZIPReader.entries(archive)
        #expect(entries.map(\.name) == names + ["old.txt"])
        for (index, entry) in entries.prefix(3).enumerated() {
            let same = entry.data.elementsEqual(Self.jpegs[index])
            #expect(same, "\(entry.name)'s bytes")
            #expect(entry.crc == ZIPReader.crc32(Self.jpegs[index]))
            #expect(entry.flags & 0x0800 != 0, "UTF-8 names")
            #expect(entry.method == 0, "stored")
            #expect(entry.dosTime == 22 << 11 | 13 << 5 | 10)  // two-second steps
            #expect(entry.dosDate == (2023 - 1980) << 9 | 11 << 5 | 14)
        }
        #expect(entries[3].dosDate == 1 << 5 | 1, "1980-01-01, the earliest the format holds")
        #expect(!ZIPReader.contains(archive, signature: 0x0606_4B50), "no ZIP64 record for a small archive")
    }

    @Test func zipOfMoreThan65534FilesHasZIP64Records() throws {
        var writer = ZIPWriter()
        var archive: [UInt8] = []
        let count = 65_600
        archive.reserveCapacity(count * 110)
        let modified = Date(timeIntervalSince1970: 1_700_000_000)
        for index in 0..<count {
            archive += writer.entry(named: "\(index).txt", bytes: Array("frame \(index)".utf8), modified: modified)
        }
        archive += writer.finish()

        let entries = try ZIPReader.entries(archive)
        #expect(entries.count == count)
        #expect(entries.last?.name == "65599.txt")
        #expect(entries.last.map { String(decoding: $0.data, as: UTF8.self) } == "frame 65599")
        #expect(entries.allSatisfy { $0.crc == ZIPReader.crc32($0.data) })
        #expect(ZIPReader.contains(archive, signature: 0x0606_4B50), "a ZIP64 end of central directory record")
        #expect(ZIPReader.contains(archive, signature: 0x0706_4B50), "a ZIP64 locator")
    }
}

/// Reads EBML elements back: just enough of RFC 8794 to check what ``MatroskaWriter`` writes.
private enum EBMLReader {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// An element: its ID (with its length marker), its size (`nil` for unknown) and its data.
    struct Element {
        let id: UInt32
        let size: Int?
        let data: ArraySlice<UInt8>
    }

    static let unknownSize: [UInt8] = [0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]

    /// The elements one after the other in `bytes`; one of unknown size runs to the end.
    static func elements(_ bytes: ArraySlice<UInt8>) throws -> [Element] {
        var elements: [Element] = []
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let idLength = bytes[index].leadingZeroBitCount + 1
            guard idLength <= 4, index + idLength <= bytes.endIndex else { throw Failure(description: "bad ID") }
            let id = bytes[index..<index + idLength].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            index += idLength
            guard index < bytes.endIndex else { throw Failure(description: "no size") }
            let sizeLength = bytes[index].leadingZeroBitCount + 1
            guard sizeLength <= 8, index + sizeLength <= bytes.endIndex else { throw Failure(description: "bad size") }
            let field = bytes[index..<index + sizeLength]
            var value = UInt64(field.first! & (0xFF >> sizeLength))
            for byte in field.dropFirst() { value = value << 8 | UInt64(byte) }
            index += sizeLength
            let unknown = value == (1 << (7 * UInt64(sizeLength))) - 1
            let end = unknown ? bytes.endIndex : index + Int(value)
            guard end <= bytes.endIndex else { throw Failure(description: "element \(id) overruns its parent") }
            elements.append(Element(id: id, size: unknown ? nil : Int(value), data: bytes[index..<end]))
            index = end
        }
        return elements
    }
}

extension [EBMLReader.Element] {
    fileprivate func data(_ id: UInt32) -> ArraySlice<UInt8>? {
        first { $0.id == id }?.data
    }

    fileprivate func unsigned(_ id: UInt32) -> UInt64? {
        data(id)?.reduce(0) { $0 << 8 | UInt64($1) }
    }

    fileprivate func signed(_ id: UInt32) -> Int64? {
        unsigned(id).map { Int64(bitPattern: $0) }
    }

    fileprivate func float(_ id: UInt32) -> Double? {
        unsigned(id).map { Double(bitPattern: $0) }
    }

    fileprivate func string(_ id: UInt32) -> String? {
        data(id).map { String(decoding: $0, as: UTF8.self) }
    }
}

/// Reads a ZIP archive back from its end: the end of central directory record (and its ZIP64 record when it says
/// so), the central directory, and each local header and its data.
private enum ZIPReader {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    struct Entry {
        let name: String
        let flags: UInt16
        let method: UInt16
        let dosTime: UInt16
        let dosDate: UInt16
        let crc: UInt32
        let data: ArraySlice<UInt8>
    }

    static func entries(_ bytes: [UInt8]) throws -> [Entry] {
        let end = bytes.count - 22
        guard end >= 0, le(bytes, end, 4) == 0x0605_4B50 else { throw Failure(description: "no end record") }
        var count = le(bytes, end + 10, 2)
        var directory = le(bytes, end + 16, 4)
        if count == 0xFFFF || directory == 0xFFFF_FFFF {
            let locator = end - 20
            guard le(bytes, locator, 4) == 0x0706_4B50 else { throw Failure(description: "no ZIP64 locator") }
            let record = Int(le(bytes, locator + 8, 8))
            guard le(bytes, record, 4) == 0x0606_4B50 else { throw Failure(description: "no ZIP64 record") }
            count = le(bytes, record + 32, 8)
            directory = le(bytes, record + 48, 8)
        }
        var entries: [Entry] = []
        var index = Int(directory)
        for _ in 0..<count {
            guard le(bytes, index, 4) == 0x0201_4B50 else { throw Failure(description: "bad directory record") }
            let nameLength = Int(le(bytes, index + 28, 2))
            let extraLength = Int(le(bytes, index + 30, 2))
            let commentLength = Int(le(bytes, index + 32, 2))
            var offset = le(bytes, index + 42, 4)
            let extra = bytes[(index + 46 + nameLength)..<(index + 46 + nameLength + extraLength)]
            if offset == 0xFFFF_FFFF, let zip64 = field(0x0001, in: extra) { offset = le(Array(zip64), 0, 8) }
            let local = Int(offset)
            guard le(bytes, local, 4) == 0x0403_4B50 else { throw Failure(description: "bad local header") }
            let size = Int(le(bytes, local + 22, 4))
            let dataStart = local + 30 + Int(le(bytes, local + 26, 2)) + Int(le(bytes, local + 28, 2))
            let name = String(decoding: bytes[(index + 46)..<(index + 46 + nameLength)], as: UTF8.self)
            let localName = String(decoding: bytes[(local + 30)..<(local + 30 + nameLength)], as: UTF8.self)
            guard name == localName, le(bytes, index + 16, 4) == le(bytes, local + 14, 4) else {
                throw Failure(description: "the central directory and the local header of \(name) differ")
            }
            entries.append(
                Entry(
                    name: name,
                    flags: UInt16(le(bytes, index + 8, 2)),
                    method: UInt16(le(bytes, index + 10, 2)),
                    dosTime: UInt16(le(bytes, index + 12, 2)),
                    dosDate: UInt16(le(bytes, index + 14, 2)),
                    crc: UInt32(le(bytes, index + 16, 4)),
                    data: bytes[dataStart..<(dataStart + size)]
                )
            )
            index += 46 + nameLength + extraLength + commentLength
        }
        return entries
    }

    /// Whether a record with this signature appears anywhere in the last kilobyte.
    static func contains(_ bytes: [UInt8], signature: UInt32) -> Bool {
        (max(0, bytes.count - 1024)..<(bytes.count - 3)).contains { le(bytes, $0, 4) == UInt64(signature) }
    }

    /// The CRC-32 of ZIP, bit by bit: slow, and independent of the library's table.
    static func crc32(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    private static func field(_ tag: UInt64, in extra: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
        let bytes = Array(extra)
        var index = 0
        while index + 4 <= bytes.count {
            let size = Int(le(bytes, index + 2, 2))
            if le(bytes, index, 2) == tag { return extra.dropFirst(index + 4).prefix(size) }
            index += 4 + size
        }
        return nil
    }

    private static func le(_ bytes: [UInt8], _ index: Int, _ count: Int) -> UInt64 {
        (0..<count).reversed().reduce(0) { $0 << 8 | UInt64(bytes[index + $1]) }
    }
}
