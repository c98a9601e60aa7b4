@_spi(Fuzzing) import HTTPServer
import FuzzDriver
import Glibc

exit(
    runFuzzer { data, count in
        HTTPFuzzEntry.request(UnsafeBufferPointer(start: data, count: count))
        return 0
    })
