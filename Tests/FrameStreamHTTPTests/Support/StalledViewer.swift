import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A viewer on a plain socket with a small receive buffer, which stops reading while the test wants it to: what a
/// phone on a slow link looks like to the server.
/// Used by one test task at a time; its blocking reads run on a thread of their own while that task waits.
final class StalledViewer: @unchecked Sendable {
    private let fd: Int32
    private var reader = MultipartReader()

    init(port: Int, path: String = "/video_feed") throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var receiveBuffer: Int32 = 4096
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receiveBuffer, socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
    }

    /// Reads the response head, up to the start of the body.
    func readHead() async throws -> String {
        try await Self.blocking { try self.readHeadNow() }
    }

    /// Reads until the next part is complete.
    func nextPart() async throws -> ReceivedPart {
        try await Self.blocking { try self.nextPartNow() }
    }

    /// Runs a blocking read on a thread of its own, so that the concurrency pool the server runs on stays free.
    private static func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try body() })
            }
        }
    }

    private func readHeadNow() throws -> String {
        var head: [UInt8] = []
        var byte: UInt8 = 0
        while !head.suffix(4).elementsEqual([13, 10, 13, 10]) {
            guard recv(fd, &byte, 1, 0) == 1 else { throw POSIXError(.EIO) }
            head.append(byte)
        }
        return String(decoding: head, as: UTF8.self)
    }

    /// The body is chunked, so chunk framing is removed first.
    private func nextPartNow() throws -> ReceivedPart {
        while true {
            if let part = try reader.nextPart() { return part }
            reader.feed(try readChunk())
        }
    }

    private func readChunk() throws -> [UInt8] {
        var sizeLine: [UInt8] = []
        var byte: UInt8 = 0
        while !sizeLine.suffix(2).elementsEqual([13, 10]) {
            guard recv(fd, &byte, 1, 0) == 1 else { throw POSIXError(.EIO) }
            sizeLine.append(byte)
        }
        let size = Int(String(decoding: sizeLine.dropLast(2), as: UTF8.self), radix: 16) ?? 0
        var chunk = [UInt8](repeating: 0, count: size + 2)
        var filled = 0
        while filled < chunk.count {
            let got = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + filled, $0.count - filled, 0) }
            guard got > 0 else { throw POSIXError(.EIO) }
            filled += got
        }
        return Array(chunk.dropLast(2))
    }

    private var isOpen = true

    /// Closes the connection at once.
    func close() {
        if isOpen { Glibc.close(fd) }
        isOpen = false
    }

    deinit {
        close()
    }
}
