import ArgumentParser
import Arbiter
import Logging

/// `arbiter`: the command line. Parsing only; the work lives in the Arbiter module.
@main
struct ArbiterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "arbiter",
        abstract: "Collect human preference judgements for RLHF and DPO.",
        subcommands: [Serve.self]
    )
}
