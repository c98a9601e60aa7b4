@_spi(Fuzzing) import Arbiter
import FuzzDriver
import Glibc

exit(
    runFuzzer { data, count in
        ImportFuzzEntry.jsonl(UnsafeBufferPointer(start: data, count: count))
        return 0
    })
