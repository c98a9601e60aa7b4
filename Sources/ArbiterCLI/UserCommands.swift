import ArgumentParser
import Arbiter
import Storage

/// `arbiter user add`.
struct UserCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "user", abstract: "Manage users.", subcommands: [Add.self])

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
                    let user = try UserRepository.add(db, username: username, role: role)
                    if let hash { try UserRepository.setPasswordHash(db, userID: user.id, hash: hash) }
                    try Audit.record(db, actor: nil, action: "user_added", target: username,
                                     details: JSONObjectText(["role": role.rawValue, "via": "cli"]), now: Clock.nowMilliseconds())
                    return user
                }
            }
            Output.line("added \(user.role.rawValue) '\(user.username)' (id \(user.id))")
        }
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
                guard let user = try UserRepository.find(db, username: username) else { throw CLIError(message: "no user named '\(username)'") }
                guard user.canLogIn, !user.disabled else { throw CLIError(message: "user '\(username)' cannot log in") }
                return try UserRepository.createToken(db, userID: user.id, label: label)
            }
            Output.line(token)
        }
    }
}
