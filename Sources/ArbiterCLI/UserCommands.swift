import ArgumentParser
import Arbiter
import Glibc
import Storage

/// `arbiter user add`, `arbiter user passwd`.
struct UserCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "user", abstract: "Manage users.", subcommands: [Add.self, Passwd.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a user.")

        @OptionGroup var database: DatabaseOptions
        @Option(help: "Unique username.") var username: String
        @Option(help: "admin, reviewer or annotator.") var role: String
        @Flag(name: .customLong("password-stdin"), help: "Read the password (at least 10 characters) from the first line of stdin.")
        var passwordStdin = false

        func run() throws {
            guard let role = Role(rawValue: role) else { throw CLIError(message: "--role must be admin, reviewer or annotator") }
            var hash: String?
            if passwordStdin {
                guard let line = readLine(strippingNewline: true) else { throw CLIError(message: "--password-stdin: no password on stdin") }
                try Password.validate(line)
                hash = try Password.hash(line)
            }
            let user = try Commands.withDatabase(database) { db -> User in
                try db.transaction {
                    try AccountService.addUser(
                        db, username: username, role: role, passwordHash: hash, actor: nil, via: "cli", now: Clock.nowMilliseconds())
                }
            }
            Output.line("added \(user.role.rawValue) '\(user.username)' (id \(user.id))")
        }
    }
}

extension UserCommand {
    /// `arbiter user passwd`: sets a password (at a terminal it asks twice, without
    /// echo); every session of the person ends.
    struct Passwd: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set a person's password; their sessions end.",
            discussion: "At a terminal it asks for the password twice. Scripts pipe it in with --password-stdin.")

        @OptionGroup var database: DatabaseOptions
        @Option(help: "Whose password.") var username: String
        @Flag(name: .customLong("password-stdin"), help: "Read the password (at least 10 characters) from the first line of stdin.")
        var passwordStdin = false

        func run() throws {
            let password: String
            if passwordStdin {
                guard let line = readLine(strippingNewline: true) else { throw CLIError(message: "--password-stdin: no password on stdin") }
                password = line
            } else {
                guard isatty(0) == 1 else { throw CLIError(message: "stdin is not a terminal: pipe the password in with --password-stdin") }
                password = try Terminal.readSecret("New password for \(username): ")
                guard try Terminal.readSecret("Again: ") == password else {
                    throw CLIError(message: "the two passwords differ; nothing changed")
                }
            }
            try Password.validate(password)
            // Look the person up before spending scrypt time.
            _ = try Commands.withDatabase(database) { db in try Self.user(db, username) }
            let hash = try Password.hash(password)
            let user = try Commands.withDatabase(database) { db -> User in
                try db.transaction {
                    let user = try Self.user(db, username)
                    try PasswordChange.apply(db, user: user, hash: hash, actor: nil, via: "cli", now: Clock.nowMilliseconds())
                    return user
                }
            }
            Output.line("password set for '\(user.username)'; their sessions have ended")
        }

        static func user(_ db: any Database, _ username: String) throws -> User {
            guard let user = try Users.find(db, username: username) else { throw CLIError(message: "no user named '\(username)'") }
            return user
        }
    }
}

/// Reading a secret at the terminal with echo off.
enum Terminal {
    static func readSecret(_ prompt: String) throws -> String {
        var stderrPrompt = Array(prompt.utf8)
        _ = write(2, &stderrPrompt, stderrPrompt.count)
        var saved = termios()
        guard tcgetattr(0, &saved) == 0 else { throw CLIError(message: "cannot read the terminal's settings") }
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(0, TCSAFLUSH, &quiet)
        defer {
            tcsetattr(0, TCSAFLUSH, &saved)
            _ = write(2, "\n", 1)
        }
        guard let line = readLine(strippingNewline: true) else { throw CLIError(message: "no password entered") }
        return line
    }
}

/// `arbiter token create`.
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "token", abstract: "Manage API tokens.", subcommands: [Create.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an API token for a user and print it (shown once).")

        @OptionGroup var database: DatabaseOptions
        @Option(help: "The user the token acts as.") var username: String
        @Option(help: "A note to recognise the token by.") var label = ""

        func run() throws {
            let token = try Commands.withDatabase(database) { db -> String in
                do {
                    return try db.transaction {
                        try TokenService.create(db, username: username, label: label, actor: nil, via: "cli", now: Clock.nowMilliseconds())
                            .token
                    }
                } catch ServiceError.notFound {
                    throw CLIError(message: "no user named '\(username)'")
                } catch let error as Arbiter.ValidationError {
                    throw CLIError(message: error.message)
                }
            }
            Output.line(token)
        }
    }
}
