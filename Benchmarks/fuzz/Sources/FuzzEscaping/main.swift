@_spi(Fuzzing) import Arbiter
import FuzzDriver
import Glibc

exit(
    runFuzzer { data, count in
        EscapingFuzzEntry.roundTrips(UnsafeBufferPointer(start: data, count: count))
        return 0
    })
