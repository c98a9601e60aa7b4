@_spi(Fuzzing) import Arbiter
import Glibc

// libFuzzer harness. SwiftPM makes this file the program's entry point, so it
// hands control to libFuzzer's driver (LLVMFuzzerRunDriver) with the callback.
@_silgen_name("LLVMFuzzerRunDriver")
func runDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
exit(runDriver(&argc, &argv) { data, count in
    EscapingFuzzEntry.roundTrips(UnsafeBufferPointer(start: data, count: count))
    return 0
})
