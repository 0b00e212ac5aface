import Foundation
import FrameStreamTesting
import Synchronization
import Testing

@testable import FrameStreamRecording

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The segment files: checksums, the index format, writing, reading, and recovery after a crash.
struct SegmentFilesTests {
    static let start: Int64 = 1_700_000_000_000_000
    static let interval: Int64 = 33_333

    // MARK: Formats

    @Test func crc32cMatchesTheCheckValueAndABitwiseReference() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([]) == 0)
        var random = SeededRandom(seed: 1)
        for count in [1, 7, 8, 9, 16, 17, 1000, 4099] {
            let bytes = random.bytes(count + 1)
            #expect(CRC32C.checksum(bytes) == Self.bitwiseCRC32C(bytes), "\(count) bytes")
            // Starting one byte in: the eight-byte loads are unaligned.
            let unaligned = Array(bytes.dropFirst())
            #expect(
                bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0.dropFirst())) }
                    == Self.bitwiseCRC32C(unaligned)
            )
        }
    }

    @Test func indexRecordIsTwentyFourLittleEndianBytes() {
        let record = SegmentIndexRecord(
            captureMicros: -5,
            offset: 0x0102_0304,
            length: 77,
            checksum: 0xDEAD_BEEF,
            flags: [.recovered, .discontinuity]
        )
        let bytes = record.encoded()
        #expect(bytes.count == SegmentIndexRecord.size)
        #expect(bytes[0..<8] == [0xFB, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(bytes[8..<12] == [0x04, 0x03, 0x02, 0x01])
        #expect(bytes[12..<16] == [77, 0, 0, 0])
        #expect(bytes[16..<20] == [0xEF, 0xBE, 0xAD, 0xDE])
        #expect(bytes[20..<24] == [3, 0, 0, 0])
        #expect(bytes.withUnsafeBytes { SegmentIndexRecord.decode(from: $0) } == record)
        #expect(record.end == 0x0102_0304 + 77)
    }

    @Test func indexHeaderRoundTripsAndCutsLongNamesAtACharacter() throws {
        let header = SegmentIndexHeader(camera: "front door", startMicros: Self.start)
        let bytes = header.encoded()
        #expect(bytes.count == SegmentIndexHeader.size)
        #expect(Array(bytes[0..<8]) == Array("FSSEGIDX".utf8))
        #expect(bytes[8..<12] == [1, 0, 24, 0])
        #expect(try SegmentIndexHeader.decode(bytes) == header)

        // 38 bytes of "é", then a 4-byte emoji with a 4-byte skin tone: the emoji does not fit in 40 bytes.
        let long = SegmentIndexHeader(camera: String(repeating: "é", count: 19) + "👍🏽x", startMicros: 1)
        #expect(long.camera == String(repeating: "é", count: 19))
        #expect(try SegmentIndexHeader.decode(long.encoded()) == long)
    }

    @Test func indexHeaderOfAnotherFileOrVersionIsCorrupt() {
        let bytes = SegmentIndexHeader(camera: "door", startMicros: 1).encoded()
        var wrongMagic = bytes
        wrongMagic[0] = 0x58
        var wrongVersion = bytes
        wrongVersion[8] = 2
        for bad in [wrongMagic, wrongVersion, Array(bytes.prefix(63))] {
            #expect {
                try SegmentIndexHeader.decode(bad, path: "a.idx")
            } throws: { error in
                guard case .corruptIndex(path: "a.idx", _) = error as? RecordingError else { return false }
                return true
            }
        }
    }

    @Test func segmentNamesCarryTheStartTime() {
        #expect(SegmentName.baseName(startMicros: 1_700_000_000_123_456, sequence: 7) == "1700000000123456-000007")
        #expect(SegmentName.dayFolder(startMicros: 1_700_000_000_123_456) == "2023-11-14")
        #expect(SegmentName.dayFolder(startMicros: 0) == "1970-01-01")
        #expect(SegmentName.dayFolder(startMicros: -1) == "1969-12-31")
        #expect(SegmentName.dayFolder(startMicros: 951_782_400_000_000) == "2000-02-29")
        #expect(
            SegmentName.startMicros(fromFileName: "/r/door/2023-11-14/1700000000123456-000007.mjpeg")
                == 1_700_000_000_123_456
        )
        #expect(SegmentName.startMicros(fromFileName: "1700000000123456-000007") == 1_700_000_000_123_456)
        #expect(SegmentName.startMicros(fromFileName: "door-000007.idx") == nil)
        #expect(SegmentName.startMicros(fromFileName: "1700000000123456.mjpeg") == nil)
    }

    @Test func errorsSayWhatToDo() {
        #expect(
            RecordingError.writeFailed(path: "/r/a.mjpeg", errno: ENOSPC).description
                == "disk full writing /r/a.mjpeg: free space or lower the retention limits"
        )
        #expect(RecordingError.writeFailed(path: "/r", errno: EACCES).description.contains("owner and permissions"))
        #expect(RecordingError.syncFailed(path: "/r", errno: EIO).description.contains("the disk may be failing"))
        #expect(RecordingError.cannotOpen(path: "/r/a.idx", errno: EEXIST).description.contains("already exists"))
        #expect(
            RecordingError.readFailed(path: "/r", errno: EBADF).description.contains(String(cString: strerror(EBADF)))
        )
    }

    // MARK: Writing and reading

    @Test func framesReadBackByteExactAndByTime() throws {
        try withTemporaryFolder { folder in
            let frames = Self.frames(1000)
            let segment = try Self.write(frames, in: folder)
            #expect(try Self.contents(segment.dataPath) == frames.flatMap { $0 })
            #expect(try Self.contents(segment.indexPath).count == 64 + 24 * 1000)

            let reader = try SegmentReader(dataPath: segment.dataPath, indexPath: segment.indexPath)
            #expect(reader.header == SegmentIndexHeader(camera: "door", startMicros: Self.start))
            #expect(reader.records == segment.records)
            for index in frames.indices {
                #expect(try reader.frame(at: index) == frames[index])
            }
            let middle = Self.start + 500 * Self.interval
            #expect(reader.index(atOrBefore: Self.start - 1) == nil)
            #expect(reader.index(atOrBefore: Self.start) == 0)
            #expect(reader.index(atOrBefore: middle) == 500)
            #expect(reader.index(atOrBefore: middle + 1) == 500)
            #expect(reader.index(atOrAfter: middle) == 500)
            #expect(reader.index(atOrAfter: middle + 1) == 501)
            #expect(reader.index(atOrAfter: Self.start + 999 * Self.interval + 1) == nil)
            #expect(reader.index(atOrBefore: .max) == 999)

            let given = try SegmentReader(
                dataPath: segment.dataPath,
                header: reader.header,
                records: [reader.records[7]]
            )
            #expect(try given.frame(at: 0) == frames[7])
        }
    }

    @Test func readerOfAnOpenSegmentSkipsAPartialRecord() throws {
        try withTemporaryFolder { folder in
            let frames = Self.frames(5)
            let writer = try SegmentWriter(folder: folder, baseName: "1-000001", camera: "door", startMicros: 1)
            for (index, frame) in frames.enumerated() {
                try writer.append(frame, captureMicros: 1 + Int64(index))
            }
            #expect(truncate(writer.indexPath, off_t(64 + 24 * 3 + 10)) == 0)  // a record being written
            let reader = try SegmentReader(dataPath: writer.dataPath, indexPath: writer.indexPath)
            #expect(reader.records == Array(writer.records.prefix(3)))
            #expect(try reader.frame(at: 2) == frames[2])
            try writer.close()
        }
    }

    @Test func changedBytesAreACorruptFrame() throws {
        try withTemporaryFolder { folder in
            let segment = try Self.write(Self.frames(10), in: folder)
            try Self.flipByte(in: segment.dataPath, at: Int(segment.records[4].offset) + 40)
            let reader = try SegmentReader(dataPath: segment.dataPath, indexPath: segment.indexPath)
            #expect(
                throws: RecordingError.corruptFrame(path: segment.dataPath, offset: UInt64(segment.records[4].offset))
            ) {
                try reader.frame(at: 4)
            }
            _ = try reader.frame(at: 5)
        }
    }

    @Test func writerRefusesAnExistingSegmentAndTimeGoingBack() throws {
        try withTemporaryFolder { folder in
            let writer = try SegmentWriter(folder: folder, baseName: "5-000001", camera: "door", startMicros: 5)
            #expect(throws: RecordingError.cannotOpen(path: writer.dataPath, errno: EEXIST)) {
                try SegmentWriter(folder: folder, baseName: "5-000001", camera: "door", startMicros: 5)
            }
            let frame = Self.frames(1)[0]
            try writer.append(frame, captureMicros: 10)
            try writer.append(frame, captureMicros: 10)  // the same time is fine
            #expect(throws: RecordingError.timeWentBackwards(path: writer.dataPath, lastMicros: 10, captureMicros: 9)) {
                try writer.append(frame, captureMicros: 9)
            }
            #expect(writer.frames == 2 && writer.firstMicros == 10 && writer.lastMicros == 10)
            try writer.sync()
            try writer.close()
            try writer.close()
            #expect(throws: RecordingError.self) { try writer.append(frame, captureMicros: 11) }
            #expect(try SegmentReader(dataPath: writer.dataPath, indexPath: writer.indexPath).records == writer.records)
        }
    }

    @Test func failedWritesLeaveTheSegmentAsItWas() throws {
        try withTemporaryFolder { folder in
            // Every write is cut short once (half, then the rest), so an append makes four calls: data, data, index,
            // index. The plan fails one of them, with ENOSPC, after part of the bytes went out.
            let plan = Mutex<(calls: Int, failing: Int?)>((0, nil))
            let write: SegmentFile.WriteFunction = { descriptor, bytes, count, offset in
                let call = plan.withLock { plan in
                    plan.calls += 1
                    return plan.calls
                }
                if call == plan.withLock({ $0.failing }) {
                    errno = ENOSPC
                    return -1
                }
                return pwrite(descriptor, bytes, call % 2 == 1 ? (count + 1) / 2 : count, off_t(offset))
            }
            let writer = try SegmentWriter(
                folder: folder,
                baseName: "1-000001",
                camera: "door",
                startMicros: 1,
                write: write
            )
            let frames = Self.frames(12)
            var written: [[UInt8]] = []
            for (index, frame) in frames.enumerated() {
                let failing: Int? = [nil, 2, 4][index % 3]  // none, the data's second part, the record's second half
                plan.withLock { $0 = (0, failing) }
                do {
                    try writer.append(frame, captureMicros: 1 + Int64(index))
                    written.append(frame)
                    #expect(failing == nil, "append \(index) should have failed")
                } catch {
                    let path = failing == 2 ? writer.dataPath : writer.indexPath
                    #expect(error as? RecordingError == .writeFailed(path: path, errno: ENOSPC))
                }
                #expect(try Self.contents(writer.dataPath) == written.flatMap { $0 })
                #expect(try Self.contents(writer.indexPath).count == 64 + 24 * written.count)
            }
            try writer.close()
            #expect(writer.frames == 4 && writer.dataBytes == UInt64(written.joined().count))
            let reader = try SegmentReader(dataPath: writer.dataPath, indexPath: writer.indexPath)
            #expect(reader.records == writer.records)
            for index in written.indices {
                #expect(try reader.frame(at: index) == written[index])
            }
        }
    }

    // MARK: Recovery

    @Test func recoveryLeavesAGoodSegmentAlone() throws {
        try withTemporaryFolder { folder in
            let frames = Self.frames(20)
            let segment = try Self.write(frames, in: folder)
            let index = try Self.contents(segment.indexPath)
            let report = try SegmentRecovery.recover(dataPath: segment.dataPath, indexPath: segment.indexPath)
            #expect(report.records == segment.records)
            #expect(report.cutRecords == 0 && report.recoveredFrames == 0 && report.truncatedBytes == 0)
            #expect(!report.rebuiltIndex)
            #expect(try Self.contents(segment.indexPath) == index)
            try Self.expectRecovered(report, segment, frames: frames)
        }
    }

    @Test func tornIndexRecordIsCutAndItsFramesRecovered() throws {
        try withTemporaryFolder { folder in
            let frames = Self.frames(50)
            let segment = try Self.write(frames, in: folder)
            #expect(truncate(segment.indexPath, off_t(64 + 24 * 47 + 10)) == 0)
            let report = try SegmentRecovery.recover(dataPath: segment.dataPath, indexPath: segment.indexPath)
            #expect(report.cutRecords == 1 && report.truncatedBytes == 0)
            try #require(report.recoveredFrames == 3 && report.records.count == 50)
            #expect(Array(report.records.prefix(47)) == Array(segment.records.prefix(47)))
            // Timed by the median interval after the last good record.
            let last = segment.records[46].captureMicros
            #expect(report.records[47...].map(\.captureMicros) == [1, 2, 3].map { last + $0 * Self.interval })
            #expect(report.records[47...].allSatisfy { $0.flags == .recovered })
            #expect(report.records.map(\.offset) == segment.records.map(\.offset))
            #expect(!FileManager.default.fileExists(atPath: segment.indexPath + ".tmp"))
            try Self.expectRecovered(report, segment, frames: frames)
        }
    }

    @Test func frameFailingItsChecksumIsCutWithAllAfterIt() throws {
        try withTemporaryFolder { folder in
            let frames = Self.frames(50)
            let segment = try Self.write(frames, in: folder)
            // A byte of the entropy-coded data whose change makes no marker: the JPEG is still whole, only the
            // checksum tells, and recovery must not take it back from the data.
            let frame = frames[20]
            let byte = try #require(
                (40..<(frame.count - 2)).first {
                    frame[$0 - 1] != 0xFF && frame[$0] != 0xFF && frame[$0] ^ 0x10 != 0xFF
                }
            )
            try Self.flipByte(in: segment.dataPath, at: Int(segment.records[20].offset) + byte)
            let size = try Self.contents(segment.dataPath).count
            let report = try SegmentRecovery.recover(dataPath: segment.dataPath, indexPath: segment.indexPath)
            #expect(report.cutRecords == 30 && report.recoveredFrames == 0)
            #expect(report.truncatedBytes == UInt64(size) - UInt64(segment.records[20].offset))
            try Self.expectRecovered(report, segment, frames: Array(frames.prefix(20)))
        }
    }

    @Test func recordWithAWrongChecksumIsCut() throws {
        try withTemporaryFolder { folder in
            let frames = Self.frames(10)
            let segment = try Self.write(frames, in: folder)
            try Self.flipByte(in: segment.indexPath, at: 64 + 24 * 9 + 16)
            let report = try SegmentRecovery.recover(dataPath: segment.dataPath, indexPath: segment.indexPath)
            #expect(report.cutRecords == 1 && report.recoveredFrames == 0)
            try Self.expectRecovered(report, segment, frames: Array(frames.prefix(9)))
        }
    }

    @Test func recordOutOfPlaceIsCutAndTheFramesAfterRecovered() throws {
        try withTemporaryFolder { folder in
            let frames = Self.frames(50)
            let segment = try Self.write(frames, in: folder)
            try Self.flipByte(in: segment.indexPath, at: 64 + 24 * 30 + 8)  // record 30's offset
            let report = try SegmentRecovery.recover(dataPath: segment.dataPath, indexPath: segment.indexPath)
            #expect(report.cutRecords == 20)
            try #require(report.recoveredFrames == 20 && report.records.count == 50)
            #expect(report.records[30].captureMicros == segment.records[29].captureMicros + Self.interval)
            try Self.expectRecovered(report, segment, frames: frames)
        }
    }

    @Test func dataCutMidFrameIsTruncatedToTheLastWholeFrame() throws {
        try withTemporaryFolder { folder in
            let frames = Self.frames(50)
            let segment = try Self.write(frames, in: folder)
            #expect(truncate(segment.dataPath, off_t(segment.records[45].offset) + 100) == 0)
            let report = try SegmentRecovery.recover(dataPath: segment.dataPath, indexPath: segment.indexPath)
            #expect(report.cutRecords == 5 && report.recoveredFrames == 0 && report.truncatedBytes == 100)
            try Self.expectRecovered(report, segment, frames: Array(frames.prefix(45)))
        }
    }

    @Test func zerosAfterTheLastFrameAreTruncated() throws {
        try withTemporaryFolder { folder in
            let frames = Self.frames(20)
            let segment = try Self.write(frames, in: folder)
            #expect(truncate(segment.indexPath, off_t(64 + 24 * 18)) == 0)
            let size = try Self.contents(segment.dataPath).count
            #expect(truncate(segment.dataPath, off_t(size + 4096)) == 0)  // as a power failure can leave them
            let report = try SegmentRecovery.recover(dataPath: segment.dataPath, indexPath: segment.indexPath)
            #expect(report.cutRecords == 0 && report.recoveredFrames == 2 && report.truncatedBytes == 4096)
            try Self.expectRecovered(report, segment, frames: frames)
        }
    }

    @Test func framesWithoutAnyRecordAreRecoveredFromTheSegmentStart() throws {
        try withTemporaryFolder { folder in
            let frames = Self.frames(30)
            let segment = try Self.write(frames, in: folder)
            #expect(truncate(segment.indexPath, off_t(SegmentIndexHeader.size)) == 0)
            let report = try SegmentRecovery.recover(dataPath: segment.dataPath, indexPath: segment.indexPath)
            #expect(report.cutRecords == 0 && report.recoveredFrames == 30 && !report.rebuiltIndex)
            #expect(report.records.map(\.captureMicros) == (0..<30).map { Self.start + Int64($0) })
            #expect(report.records.map(\.checksum) == segment.records.map(\.checksum))
            try Self.expectRecovered(report, segment, frames: frames)
        }
    }

    @Test(arguments: [false, true])
    func indexWithoutAHeaderIsRebuiltFromTheData(garbled: Bool) throws {
        try withTemporaryFolder { folder in
            let frames = Self.frames(30)
            let segment = try Self.write(frames, in: folder)
            if garbled {
                try Self.flipByte(in: segment.indexPath, at: 2)
            } else {
                #expect(unlink(segment.indexPath) == 0)
            }
            let report = try SegmentRecovery.recover(
                dataPath: segment.dataPath,
                indexPath: segment.indexPath,
                camera: "door"
            )
            #expect(report.rebuiltIndex && report.recoveredFrames == 30 && report.cutRecords == (garbled ? 30 : 0))
            #expect(report.header == SegmentIndexHeader(camera: "door", startMicros: Self.start))
            #expect(report.records.map(\.offset) == segment.records.map(\.offset))
            try Self.expectRecovered(report, segment, frames: frames)
        }
    }

    @Test func emptySegmentRecoversEmpty() throws {
        try withTemporaryFolder { folder in
            let segment = try Self.write([], in: folder)
            #expect(unlink(segment.indexPath) == 0)
            let report = try SegmentRecovery.recover(dataPath: segment.dataPath, indexPath: segment.indexPath)
            #expect(report.records.isEmpty && report.rebuiltIndex && report.truncatedBytes == 0)
            #expect(try Self.contents(segment.indexPath).count == SegmentIndexHeader.size)
            #expect(unlink(segment.dataPath) == 0)
            #expect(throws: RecordingError.cannotOpen(path: segment.dataPath, errno: ENOENT)) {
                try SegmentRecovery.recover(dataPath: segment.dataPath, indexPath: segment.indexPath)
            }
        }
    }

    // MARK: Helpers

    /// A closed segment of `frames`, one every ``interval`` from ``start``.
    static func write(_ frames: [[UInt8]], in folder: String) throws -> SegmentWriter {
        let name = SegmentName.baseName(startMicros: start, sequence: 1)
        let writer = try SegmentWriter(folder: folder, baseName: name, camera: "door", startMicros: start)
        for (index, frame) in frames.enumerated() {
            try writer.append(frame, captureMicros: start + Int64(index) * interval)
        }
        try writer.close()
        return writer
    }

    /// Checks a recovered segment: the index holds the report's records, the data file is `frames` and nothing
    /// more, recovered times increase, and recovering again changes nothing.
    static func expectRecovered(
        _ report: SegmentRecovery.Report,
        _ segment: SegmentWriter,
        frames: [[UInt8]]
    ) throws {
        let reader = try SegmentReader(dataPath: segment.dataPath, indexPath: segment.indexPath)
        #expect(reader.records == report.records)
        try #require(reader.records.count == frames.count)
        for index in reader.records.indices {
            #expect(try reader.frame(at: index) == frames[index])
        }
        #expect(try contents(segment.dataPath) == frames.flatMap { $0 })
        #expect(zip(report.records, report.records.dropFirst()).allSatisfy { $0.captureMicros < $1.captureMicros })
        let again = try SegmentRecovery.recover(dataPath: segment.dataPath, indexPath: segment.indexPath)
        #expect(again.records == report.records && again.cutRecords == 0 && again.recoveredFrames == 0)
        #expect(again.truncatedBytes == 0 && !again.rebuiltIndex)
    }

    /// `count` JPEGs: mostly small made-up ones (a thumbnail holding `FF D9` in a segment, stuffed `FF 00` bytes and
    /// restart markers in the scan), and every tenth one of the package's fixtures.
    static func frames(_ count: Int, seed: UInt64 = 7) -> [[UInt8]] {
        var random = SeededRandom(seed: seed)
        return (0..<count).map { index in
            index % 10 == 3
                ? fixtures[index % fixtures.count]
                : madeUpJPEG(scanBytes: .random(in: 50...2000, using: &random), &random)
        }
    }

    static let fixtures: [[UInt8]] = {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures")
        return (1...3).map {
            [UInt8](FileManager.default.contents(atPath: folder.appendingPathComponent("\($0).jpg").path)!)
        }
    }()

    static func madeUpJPEG(scanBytes: Int, _ random: inout SeededRandom) -> [UInt8] {
        var jpeg: [UInt8] = [0xFF, 0xD8]
        jpeg += [0xFF, 0xE1, 0x00, 0x08, 0xFF, 0xD8, 0x00, 0x00, 0xFF, 0xD9]  // a "thumbnail"
        jpeg += [0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x10, 0x00, 0x10, 0x01, 0x01, 0x11, 0x00]  // frame header
        jpeg += [0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00]  // scan header
        for index in 0..<scanBytes {
            let byte = UInt8.random(in: 0...255, using: &random)
            jpeg.append(byte)
            if byte == 0xFF { jpeg.append(0x00) }
            if index % 500 == 499 { jpeg += [0xFF, 0xD0 + UInt8(index / 500 % 8)] }
        }
        return jpeg + [0xFF, 0xD9]
    }

    static func bitwiseCRC32C(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 {
                crc = crc & 1 != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1
            }
        }
        return ~crc
    }

    static func contents(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    static func flipByte(in path: String, at offset: Int) throws {
        var bytes = try contents(path)
        bytes[offset] ^= 0x10
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// Runs `body` with a new empty folder, removed after.
    func withTemporaryFolder(_ body: (String) throws -> Void) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("segments-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try body(folder)
    }
}
