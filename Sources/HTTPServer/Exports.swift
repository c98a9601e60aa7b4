/// The server's API speaks in the shared HTTP types (status, headers, errors that
/// become responses): importing the server brings them.
@_exported public import HTTPCore
