import ArgumentParser
import HummingbirdBcrypt

import struct Foundation.Data
import class Foundation.FileHandle

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `ExampleServer hash-password`: makes the bcrypt hash of a password for `users:` in the configuration file,
/// `--user NAME:HASH` or a users file.
struct HashPassword: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hash-password",
        abstract: "Print the bcrypt hash of a password, for users: in the configuration file or --user NAME:HASH.",
        discussion: """
            On a terminal it asks for the password twice without showing it. From a pipe it reads one line, whose \
            newline is not part of the password: echo "$PASSWORD" | ExampleServer hash-password
            """
    )

    @Option(help: "The bcrypt cost: each step doubles the time a login and a guess take (default: 12).")
    var cost: UInt8 = 12

    func validate() throws {
        guard (4...31).contains(cost) else { throw ValidationError("--cost must be from 4 to 31") }
    }

    func run() throws {
        let password: String
        if isatty(STDIN_FILENO) == 1 {
            let first = try PasswordPrompt.read(prompt: "Password: ")
            let second = try PasswordPrompt.read(prompt: "Again: ")
            guard first == second else { throw StartupError("the two passwords differ: nothing was hashed") }
            password = first
        } else {
            guard let line = readLine(strippingNewline: true) else {
                throw StartupError("no password on standard input: pipe one line, or run it on a terminal")
            }
            password = line.hasSuffix("\r") ? String(line.dropLast()) : line
        }
        guard !password.isEmpty else { throw StartupError("the password is empty: nothing was hashed") }
        // bcrypt uses the first 72 bytes only: a longer password would accept anything that starts the same.
        guard password.utf8.count <= 72 else {
            throw StartupError("the password is longer than 72 bytes, the most bcrypt uses: choose a shorter one")
        }
        print(Bcrypt.hash(password, cost: cost))
    }
}

/// Reads a password from the terminal without showing it.
enum PasswordPrompt {
    static func read(prompt: String) throws(StartupError) -> String {
        FileHandle.standardError.write(Data(prompt.utf8))
        var saved = termios()
        guard tcgetattr(STDIN_FILENO, &saved) == 0 else {
            throw StartupError("cannot read the terminal's settings to hide the password")
        }
        var hidden = saved
        hidden.c_lflag &= ~tcflag_t(ECHO)
        guard tcsetattr(STDIN_FILENO, TCSAFLUSH, &hidden) == 0 else {
            throw StartupError("cannot hide the password on this terminal")
        }
        let line = readLine(strippingNewline: true)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved)
        FileHandle.standardError.write(Data("\n".utf8))
        guard let line else { throw StartupError("no password given") }
        return line
    }
}
