import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// An HTTP/1.1 client on a plain socket that sends exactly the bytes a test gives it and reads the answer byte by
/// byte: for pipelining, stray bytes and half-closes, and, with a small receive buffer, for a viewer that stops
/// reading while the test wants it to (what a phone on a slow link looks like to the server).
///
/// `@unchecked Sendable`: it is used by one test task at a time, whose blocking reads run on a thread of their own
/// while that task waits for them; nothing else touches it meanwhile.
final class RawConnection: @unchecked Sendable {
    private let fd: Int32
    private var reader = MultipartReader()

    /// A viewer of `path` with a 4 KiB receive buffer.
    static func viewer(port: Int, path: String = "/video_feed") throws -> RawConnection {
        let connection = try RawConnection(port: port, receiveBuffer: 4096)
        connection.send("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        return connection
    }

    init(port: Int, receiveBuffer: Int32? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        if var receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receiveBuffer, socklen_t(MemoryLayout<Int32>.size))
        }
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
    }

    /// Sends bytes as they are.
    func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
    }

    /// Sends raw bytes; `false` when the connection is closed (the server has reset it).
    func sendBytes(_ bytes: UnsafeRawPointer, count: Int) -> Bool {
        Glibc.send(fd, bytes, count, Int32(MSG_NOSIGNAL)) == count
    }

    /// Closes the sending side: the server reads the end of the input.
    func closeForWriting() {
        shutdown(fd, Int32(SHUT_WR))
    }

    /// Reads `count` bytes of a body.
    func readBody(count: Int) async throws -> [UInt8] {
        try await Self.blocking { try self.readExactly(count) }
    }

    /// Reads everything until the server closes the connection, or `limit` bytes; throws if the server sends
    /// nothing and keeps the connection open for 10 s.
    func readUntilClosed(limit: Int = 1 << 20) async throws -> [UInt8] {
        try await Self.blocking {
            var bytes: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while bytes.count < limit {
                let got = buffer.withUnsafeMutableBytes { recv(self.fd, $0.baseAddress, $0.count, 0) }
                // A reset is a close too (a server that closes with bytes of ours unread resets the connection).
                if got < 0, errno == ECONNRESET { break }
                guard got >= 0 else { throw POSIXError(.ETIMEDOUT) }  // 10 s without the server closing
                guard got > 0 else { break }
                bytes += buffer[0..<got]
            }
            return bytes
        }
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
        return Array(try readExactly(size + 2).dropLast(2))
    }

    private func readExactly(_ count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let got = bytes.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + filled, $0.count - filled, 0) }
            guard got > 0 else { throw POSIXError(.EIO) }
            filled += got
        }
        return bytes
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
