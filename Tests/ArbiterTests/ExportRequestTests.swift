@testable import Arbiter
import JSON
import Testing

/// One request type for every door: the download's query string, an export job's
/// JSON body and the command line's flags give the same options and the same errors.
@Suite struct ExportRequestTests {
    @Test func theThreeDoorsAgree() throws {
        let text: [String: ExportRequest.Field] = [
            "format": .text("openai"), "aggregate": .text("majority"), "min_agreement": .text("0.6"),
            "include_flagged": .text("true"), "margin": .text("1"),
        ]
        let json: [String: ExportRequest.Field] = [
            "format": .json("openai"), "aggregate": .json("majority"), "min_agreement": .json(0.6),
            "include_flagged": .json(true), "margin": .json(true),
        ]
        let download = try ExportRequest(fields: text, door: .download).options
        let job = try ExportRequest(fields: json, door: .job).options
        let command = try ExportRequest(fields: text, door: .commandLine).options
        for options in [download, job, command] {
            #expect(options.format == .openai && options.aggregate == .majority && options.minAgreement == 0.6)
            #expect(options.includeFlagged && options.margin)
        }
        // One set of defaults: the same model size from the API and the command line.
        #expect(
            job.rewardTraining.bits == 20 && command.rewardTraining.bits == 20 && job.rewardTraining.epochs == command.rewardTraining.epochs
        )
        #expect(job.rewardModel == "" && command.rewardModel == nil && download.rewardModel == nil)
    }

    @Test(arguments: [
        (
            ["format": ExportRequest.Field.text("xml")], ExportRequest.Door.download,
            "format: one of trl, openai, hh-rlhf, sft, raw, csv, helpsteer, rewrite-sft"
        ),
        (["format": .json(.string("xml"))], .job, "format: one of trl, openai, hh-rlhf, sft, raw, csv, helpsteer, rewrite-sft"),
        (["aggregate": .text("median")], .download, "format: one of trl, openai, hh-rlhf, sft, raw, csv, helpsteer, rewrite-sft"),
        (["format": .text("trl"), "min_agreement": .text("2")], .download, "min_agreement: a number from 0 to 1"),
        (["format": .json("trl"), "min_agreement": .json(2)], .job, "min_agreement: a number from 0 to 1"),
        (["format": .text("trl"), "include_flagged": .text("yes")], .download, "include_flagged: true or false"),
        (
            ["format": .text("trl"), "split": .text("0.1")], .download,
            "split: use an export job or the command line (arbiter export --split) for train/test files"
        ),
        (["format": .text("trl"), "bits": .text("12")], .download, "bits: unknown option"),
        (["format": .json("trl"), "bits": .json(24)], .job, "bits: a whole number from 8 to 20"),
        (["format": .json("raw"), "reward_model": .json(true)], .job, "reward_model: needs a pairwise format (trl, openai, hh-rlhf, sft)"),
        (["format": .json("trl"), "colour": .json("red")], .job, "colour: unknown option"),
    ])
    func badFieldsAreNamed(fields: [String: ExportRequest.Field], door: ExportRequest.Door, message: String) {
        #expect(throws: ValidationError(message)) { try ExportRequest(fields: fields, door: door) }
    }

    @Test func theCommandLineMayTrainBiggerModels() throws {
        let options = try ExportRequest(fields: ["format": .text("trl"), "bits": .text("24"), "epochs": .text("500")], door: .commandLine)
            .options
        #expect(options.rewardTraining.bits == 24 && options.rewardTraining.epochs == 500)
    }
}
