public import JSON
public import ModelEndpoints

extension ModelPool {
    /// Reads an endpoints file (see ``ModelEndpoint/load(json:environment:)``),
    /// with an optional `"moderation": {"base_url", "model"?, "api_key"|"api_key_env"}`.
    public static func load(json value: JSONValue, environment: (String) -> String?) throws(ValidationError) -> ModelPool {
        let endpoints = try ModelEndpoint.load(json: value, environment: environment)
        var moderation: ModelEndpoint?
        if let object = value["moderation"] {
            var entry = object.objectValue ?? [:]
            guard object.objectValue != nil else { throw ValidationError("moderation: expected an object {\"base_url\", ...}") }
            if entry["name"] == nil { entry["name"] = .string("moderation") }
            if entry["model"] == nil { entry["model"] = .string("omni-moderation-latest") }
            do {
                moderation = try ModelEndpoint.load(json: ["endpoints": .array([.object(entry)])], environment: environment).first
            } catch {
                let message = error.message
                throw ValidationError(message.hasPrefix("endpoints[0]") ? "moderation" + message.dropFirst("endpoints[0]".count) : message)
            }
        }
        return ModelPool(endpoints: endpoints, moderation: moderation)
    }
}
