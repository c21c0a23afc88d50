//! Which parts of a Messages API body (request or response) must pass unchanged, and where
//! free-form user data starts.
//!
//! The rules apply only in the API's own structure ([`Mode::Api`]). Tool inputs and schemas,
//! and JSON found inside strings, are user data ([`Mode::Free`]): there a `"type"` or an
//! `"id"` is just a key and its value is scanned like any other.

/// Rule set for a walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rules {
    /// The Anthropic Messages API, both directions (also count_tokens, batches, SSE event data).
    MessagesApi,
    /// No rule: every string is scanned.
    None,
}

/// How a value is treated, decided from its key and its object's `type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// In the API's structure: the rules apply to its members.
    Api,
    /// User data: nothing is left unchanged.
    Free,
    /// Must pass unchanged, with everything inside it.
    Frozen,
}

/// Members whose values never change in the API's structure.
const FROZEN_KEYS: [&str; 4] = ["model", "role", "type", "cache_control"];

/// Members that never change in a typed object (a block, a source, a message, a delta):
/// identifiers the API issues or checks, values it signs, opaque tokens. In an object without
/// a `type` they are scanned: `{"id": "i-..."}` in an unknown part of a request is more
/// likely user data than an API identifier.
const FROZEN_IN_TYPED: [&str; 5] = [
    "id",
    "tool_use_id",
    "signature",
    // Web search results: opaque blobs the API wants back as they were.
    "encrypted_content",
    "encrypted_index",
];

/// The mode of the value of member `key` of an object in `parent` mode whose `type` is
/// `object_type` (`None` when missing, not a string, or given twice with different values).
pub fn member_mode(parent: Mode, key: &str, object_type: Option<&str>) -> Mode {
    if parent != Mode::Api {
        return parent;
    }
    if FROZEN_KEYS.contains(&key) || (object_type.is_some() && FROZEN_IN_TYPED.contains(&key)) {
        return Mode::Frozen;
    }
    let signed = match object_type {
        Some("thinking" | "thinking_delta") => key == "thinking",
        Some("redacted_thinking") => key == "data",
        // Images and PDFs; `data` of a `text` source is a plain document and is scanned.
        Some("base64") => key == "data",
        _ => false,
    };
    if signed {
        return Mode::Frozen;
    }
    // Tool inputs and schemas hold arbitrary JSON, whatever the block's `type` says.
    if key == "input" || key == "input_schema" {
        return Mode::Free;
    }
    Mode::Api
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_modes() {
        use Mode::*;
        let table: &[(Mode, &str, Option<&str>, Mode)] = &[
            (Api, "model", None, Frozen),
            (Api, "role", None, Frozen),
            (Api, "type", Some("text"), Frozen),
            (Api, "id", Some("tool_use"), Frozen),
            (Api, "id", Some("message"), Frozen),
            // Not in a typed object: scanned.
            (Api, "id", None, Api),
            (Api, "signature", None, Api),
            (Api, "model", None, Frozen),
            (Api, "role", None, Frozen),
            (Api, "cache_control", None, Frozen),
            (Api, "tool_use_id", Some("tool_result"), Frozen),
            (Api, "signature", Some("thinking"), Frozen),
            (Api, "cache_control", Some("text"), Frozen),
            (Api, "thinking", Some("thinking"), Frozen),
            (Api, "thinking", Some("thinking_delta"), Frozen),
            // The request's `thinking` config object is not a block.
            (Api, "thinking", None, Api),
            (Api, "data", Some("redacted_thinking"), Frozen),
            (Api, "data", Some("base64"), Frozen),
            (Api, "data", Some("text"), Api),
            (Api, "data", None, Api),
            (Api, "text", Some("text"), Api),
            (Api, "content", Some("tool_result"), Api),
            (Api, "input", Some("tool_use"), Free),
            (Api, "input", None, Free),
            (Api, "input_schema", None, Free),
            (Free, "type", None, Free),
            (Free, "id", Some("thinking"), Free),
            (Free, "data", Some("base64"), Free),
            (Frozen, "text", None, Frozen),
        ];
        for &(parent, key, ty, want) in table {
            assert_eq!(
                member_mode(parent, key, ty),
                want,
                "{parent:?} {key} {ty:?}"
            );
        }
    }
}
