public import struct Foundation.Date

/// Writes a Matroska (`.mkv`) file of Motion-JPEG video as it goes: one video track, codec `V_MJPEG`, each JPEG a
/// keyframe with its own timestamp, so irregular frame times and gaps play back as they were recorded.
///
/// The file is streamable: its size is never needed up front, and each call returns the bytes to send next, so an
/// HTTP response can stream a recording out as it is read. Timestamps are in microseconds (a `TimestampScale` of
/// 1000 ns). The file has no seek index (`SeekHead`, `Cues`), which a stream cannot point back to; players seek in
/// it by scanning, as in any live Matroska stream.
///
/// ```swift
/// guard let size = MatroskaWriter.pixelSize(ofJPEG: frames[0].jpeg) else { … }
/// var writer = MatroskaWriter(width: size.width, height: size.height, duration: .seconds(90))
/// send(writer.header())
/// for frame in frames { send(writer.frame(frame.jpeg, at: frame.micros)) }
/// send(writer.finish())
/// ```
///
/// Each frame costs about 20 bytes beyond its JPEG: a Cluster of its own with the frame's timestamp, holding one
/// `SimpleBlock`. At 30 frames per second frames are more than the 32.767 ms apart that a block's 16-bit offset
/// within a cluster can express, so sharing clusters would save nothing there, and a cluster per frame lets each
/// be sent with its size known, as soon as it is written.
public struct MatroskaWriter: Sendable {
    /// The width of the video in pixels.
    public let width: Int
    /// The height of the video in pixels.
    public let height: Int
    /// The length of the recording, written into the file's header so players show it, if known.
    public let duration: Duration?
    /// The title written into the file's header, if any.
    public let title: String?
    /// When the recording started, written into the file's header (`DateUTC`), if known.
    public let startDate: Date?

    /// The timestamp of the latest frame written, in microseconds: the next may not be earlier.
    private var lastMicros: Int64 = 0

    /// The value `TimestampScale` has: nanoseconds per timestamp unit, so timestamps are in microseconds.
    static let timestampScale: UInt64 = 1000

    /// Creates a writer for a video of the given pixel size.
    /// - Parameters:
    ///   - width: the width in pixels, as in the JPEGs (see ``pixelSize(ofJPEG:)``).
    ///   - height: the height in pixels.
    ///   - duration: the recording's length, if known: players show it, and seek bars need it.
    ///   - title: a title for players to show.
    ///   - startDate: when the recording started.
    public init(width: Int, height: Int, duration: Duration? = nil, title: String? = nil, startDate: Date? = nil) {
        self.width = max(0, width)
        self.height = max(0, height)
        self.duration = duration
        self.title = title
        self.startDate = startDate
    }

    /// The start of the file, to be sent first: the EBML header, the start of the Segment (of unknown size, as it
    /// is streamed), its `Info` and its `Tracks`.
    public func header() -> [UInt8] {
        var bytes = EBML.element(
            ID.ebml,
            EBML.unsigned(ID.ebmlVersion, 1) + EBML.unsigned(ID.ebmlReadVersion, 1)
                + EBML.unsigned(ID.ebmlMaxIDLength, 4) + EBML.unsigned(ID.ebmlMaxSizeLength, 8)
                + EBML.string(ID.docType, "matroska") + EBML.unsigned(ID.docTypeVersion, 4)
                + EBML.unsigned(ID.docTypeReadVersion, 2)
        )
        bytes += EBML.id(ID.segment) + EBML.unknownSize
        bytes += EBML.element(ID.info, info())
        let video = EBML.unsigned(ID.pixelWidth, UInt64(width)) + EBML.unsigned(ID.pixelHeight, UInt64(height))
        let track =
            EBML.unsigned(ID.trackNumber, 1) + EBML.unsigned(ID.trackUID, trackUID)
            + EBML.unsigned(ID.trackType, 1) + EBML.unsigned(ID.flagLacing, 0) + EBML.string(ID.codecID, "V_MJPEG")
            + EBML.element(ID.video, video)
        bytes += EBML.element(ID.tracks, EBML.element(ID.trackEntry, track))
        return bytes
    }

    /// The bytes of one frame: a Cluster holding the JPEG as a keyframe.
    /// - Parameters:
    ///   - jpeg: the frame's JPEG image.
    ///   - micros: its timestamp in microseconds from the start of the file: 0 for the first frame, and never
    ///     less than the previous frame's (an earlier one is written at the previous frame's time).
    public mutating func frame(_ jpeg: [UInt8], at micros: Int64) -> [UInt8] {
        let timestamp = max(micros, lastMicros)
        lastMicros = timestamp
        // SimpleBlock: track number 1 (as a variable-length integer), 16-bit offset from the cluster's timestamp
        // (always 0: the cluster is the frame's own), flags (keyframe), then the frame.
        let blockHeader: [UInt8] = [0x81, 0x00, 0x00, 0x80]
        let block = EBML.id(ID.simpleBlock) + EBML.size(blockHeader.count + jpeg.count) + blockHeader
        let clusterTimestamp = EBML.unsigned(ID.timestamp, UInt64(timestamp))
        var bytes = EBML.id(ID.cluster) + EBML.size(clusterTimestamp.count + block.count + jpeg.count)
        bytes.reserveCapacity(bytes.count + clusterTimestamp.count + block.count + jpeg.count)
        bytes += clusterTimestamp
        bytes += block
        bytes += jpeg
        return bytes
    }

    /// The end of the file: nothing, as every frame's cluster is complete and the Segment's size is left unknown.
    /// Call it all the same, so that a later version may close the file with an index.
    public mutating func finish() -> [UInt8] {
        []
    }

    /// The width and height of a JPEG image, from its frame header (the start-of-frame segment, such as `FF C0`
    /// for baseline or `FF C2` for progressive images), or `nil` if it has none or is not a JPEG image.
    public static func pixelSize(ofJPEG jpeg: [UInt8]) -> (width: Int, height: Int)? {
        jpeg.withUnsafeBytes { JPEGMarkers.pixelSize(in: $0) }
    }

    private func info() -> [UInt8] {
        var bytes = EBML.unsigned(ID.timestampScale, Self.timestampScale)
        if let duration {
            let (seconds, attoseconds) = duration.components
            let micros = Double(seconds) * 1e6 + Double(attoseconds) / 1e12
            if micros > 0 { bytes += EBML.float(ID.duration, micros) }  // must be positive when present
        }
        if let startDate {
            // DateUTC counts nanoseconds from 2001-01-01 00:00:00 UTC, the same origin as Date's reference date.
            let nanoseconds = (startDate.timeIntervalSinceReferenceDate * 1e9).rounded()
            if let value = Int64(exactly: nanoseconds) { bytes += EBML.signed(ID.dateUTC, value) }
        }
        if let title { bytes += EBML.string(ID.title, title) }
        bytes += EBML.string(ID.muxingApp, "FrameStream")
        bytes += EBML.string(ID.writingApp, "FrameStream")
        return bytes
    }

    /// A track UID that is not zero and differs between recordings, yet is the same for the same recording, so that
    /// exporting it twice gives the same bytes: a hash (FNV-1a) of its start, size and title.
    private var trackUID: UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        var input = EBML.bigEndian(UInt64(bitPattern: Int64(width)), count: 8)
        input += EBML.bigEndian(UInt64(bitPattern: Int64(height)), count: 8)
        input += EBML.bigEndian((startDate?.timeIntervalSinceReferenceDate ?? 0).bitPattern, count: 8)
        input += Array((title ?? "").utf8)
        for byte in input { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return hash == 0 ? 1 : hash
    }

    /// The Matroska element IDs used (RFC 9559, and RFC 8794 for the EBML header).
    private enum ID {
        static let ebml: UInt32 = 0x1A45_DFA3
        static let ebmlVersion: UInt32 = 0x4286
        static let ebmlReadVersion: UInt32 = 0x42F7
        static let ebmlMaxIDLength: UInt32 = 0x42F2
        static let ebmlMaxSizeLength: UInt32 = 0x42F3
        static let docType: UInt32 = 0x4282
        static let docTypeVersion: UInt32 = 0x4287
        static let docTypeReadVersion: UInt32 = 0x4285
        static let segment: UInt32 = 0x1853_8067
        static let info: UInt32 = 0x1549_A966
        static let timestampScale: UInt32 = 0x2A_D7B1
        static let duration: UInt32 = 0x4489
        static let dateUTC: UInt32 = 0x4461
        static let title: UInt32 = 0x7BA9
        static let muxingApp: UInt32 = 0x4D80
        static let writingApp: UInt32 = 0x5741
        static let tracks: UInt32 = 0x1654_AE6B
        static let trackEntry: UInt32 = 0xAE
        static let trackNumber: UInt32 = 0xD7
        static let trackUID: UInt32 = 0x73C5
        static let trackType: UInt32 = 0x83
        static let flagLacing: UInt32 = 0x9C
        static let codecID: UInt32 = 0x86
        static let video: UInt32 = 0xE0
        static let pixelWidth: UInt32 = 0xB0
        static let pixelHeight: UInt32 = 0xBA
        static let cluster: UInt32 = 0x1F43_B675
        static let timestamp: UInt32 = 0xE7
        static let simpleBlock: UInt32 = 0xA3
    }
}
