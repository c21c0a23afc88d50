//! The one place that decides what a blocked client receives.
//!
//! A block is a local reply in the Anthropic error shape, so SDK clients show the message:
//! `{"type":"error","error":{"type":"invalid_request_error","code":"...","message":"aws-masker: ..."}}`.
//! The stable code is also sent in the `x-aws-masker-block` header (Kong answers local
//! replies from a request step with these headers; from the response-headers step it drops
//! them, the body still carries the code). Messages never contain request content.
//!
//! ```
//! use aws_masker::block::{reply, BlockReason};
//!
//! let r = reply(BlockReason::InvalidJson, 400);
//! assert_eq!(r.status, 400);
//! assert_eq!(r.headers[1], ("x-aws-masker-block", "invalid_json"));
//! let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
//! assert_eq!(body["error"]["type"], "invalid_request_error");
//! ```

/// Header that carries the block code.
pub const BLOCK_HEADER: &str = "x-aws-masker-block";

/// Why a request was blocked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockReason {
    UnsupportedContentType,
    UnsupportedContentEncoding,
    /// Over `max_body_bytes` (the limit, in bytes).
    BodyTooLarge {
        limit: usize,
    },
    /// The body was spooled to a file: raise `nginx_http_client_body_buffer_size`.
    BodyUnreadable,
    InvalidJson,
    InvalidUtf8,
    NestingTooDeep,
    /// A masking error the filter has no specific code for.
    MaskFailed,
    /// Storing the mappings through the bridge failed (`on_store_failure: block`).
    StoreFailed,
    /// The filter itself failed (never the request's fault).
    Internal,
}

/// Every reason, for defining one metric per reason.
pub const ALL_REASONS: &[BlockReason] = &[
    BlockReason::UnsupportedContentType,
    BlockReason::UnsupportedContentEncoding,
    BlockReason::BodyTooLarge { limit: 0 },
    BlockReason::BodyUnreadable,
    BlockReason::InvalidJson,
    BlockReason::InvalidUtf8,
    BlockReason::NestingTooDeep,
    BlockReason::MaskFailed,
    BlockReason::StoreFailed,
    BlockReason::Internal,
];

impl BlockReason {
    /// The stable code (header, metric name, log lines).
    pub fn code(self) -> &'static str {
        match self {
            BlockReason::UnsupportedContentType => "unsupported_content_type",
            BlockReason::UnsupportedContentEncoding => "unsupported_content_encoding",
            BlockReason::BodyTooLarge { .. } => "body_too_large",
            BlockReason::BodyUnreadable => "body_unreadable",
            BlockReason::InvalidJson => "invalid_json",
            BlockReason::InvalidUtf8 => "invalid_utf8",
            BlockReason::NestingTooDeep => "nesting_too_deep",
            BlockReason::MaskFailed => "mask_failed",
            BlockReason::StoreFailed => "store_failed",
            BlockReason::Internal => "internal_error",
        }
    }

    /// The reason for a masking error code (`MaskError::code()`).
    pub fn from_mask_code(code: &str, max_body_bytes: usize) -> BlockReason {
        match code {
            "body_too_large" => BlockReason::BodyTooLarge {
                limit: max_body_bytes,
            },
            "invalid_json" => BlockReason::InvalidJson,
            "invalid_utf8" => BlockReason::InvalidUtf8,
            "nesting_too_deep" => BlockReason::NestingTooDeep,
            _ => BlockReason::MaskFailed,
        }
    }

    /// True when the request caused the block (status `block_status`); false for failures
    /// of the filter or the bridge (503).
    pub fn caused_by_request(self) -> bool {
        !matches!(self, BlockReason::StoreFailed | BlockReason::Internal)
    }

    fn explanation(self) -> String {
        match self {
            BlockReason::UnsupportedContentType => {
                "the request body is neither JSON nor text, so it cannot be checked for AWS identifiers".into()
            }
            BlockReason::UnsupportedContentEncoding => {
                "the request body is compressed (content-encoding), so it cannot be checked for AWS identifiers".into()
            }
            BlockReason::BodyTooLarge { limit } => {
                format!("the request body is larger than the limit of {limit} bytes (max_body_bytes)")
            }
            BlockReason::BodyUnreadable => {
                "the gateway could not read the request body (raise nginx_http_client_body_buffer_size to at least max_body_bytes)".into()
            }
            BlockReason::InvalidJson => "the request body is not valid JSON".into(),
            BlockReason::InvalidUtf8 => "the request body is not valid UTF-8".into(),
            BlockReason::NestingTooDeep => "the request body's JSON is nested too deeply".into(),
            BlockReason::MaskFailed => "the request body could not be masked".into(),
            BlockReason::StoreFailed => {
                "the masking store is unavailable, so the request was not forwarded".into()
            }
            BlockReason::Internal => "the masking filter failed, so the request was not forwarded".into(),
        }
    }
}

const FALLBACK_BODY: &[u8] =
    br#"{"type":"error","error":{"type":"api_error","message":"aws-masker: request blocked"}}"#;

/// The Anthropic error shape, fields in the order the API sends them.
#[derive(serde::Serialize)]
struct ErrorBody<'a> {
    r#type: &'static str,
    error: ErrorDetail<'a>,
}

#[derive(serde::Serialize)]
struct ErrorDetail<'a> {
    r#type: &'static str,
    code: &'static str,
    message: &'a str,
}

/// A local reply to send instead of forwarding the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub headers: [(&'static str, &'static str); 2],
    pub body: Vec<u8>,
}

/// Builds the reply for `reason`. `block_status` is the configured status for blocks the
/// request caused; filter or bridge failures answer 503.
pub fn reply(reason: BlockReason, block_status: u16) -> Reply {
    let (status, error_type) = if reason.caused_by_request() {
        (block_status, "invalid_request_error")
    } else {
        (503, "api_error")
    };
    let message = format!(
        "aws-masker: request blocked ({}): {}",
        reason.code(),
        reason.explanation()
    );
    let body = ErrorBody {
        r#type: "error",
        error: ErrorDetail {
            r#type: error_type,
            code: reason.code(),
            message: &message,
        },
    };
    // Serializing static strings and a String cannot fail; fall back to a fixed body anyway.
    let body = serde_json::to_vec(&body).unwrap_or_else(|_| FALLBACK_BODY.to_vec());
    Reply {
        status,
        headers: [
            ("content-type", "application/json"),
            (BLOCK_HEADER, reason.code()),
        ],
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn request_caused_blocks_use_block_status_and_invalid_request_error() {
        for &reason in ALL_REASONS.iter().filter(|r| r.caused_by_request()) {
            let r = reply(reason, 422);
            assert_eq!(r.status, 422, "{reason:?}");
            assert!(r
                .body
                .starts_with(br#"{"type":"error","error":{"type":"invalid_request_error""#));
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(body["type"], "error");
            assert_eq!(body["error"]["type"], "invalid_request_error");
            assert_eq!(body["error"]["code"], reason.code());
            let message = body["error"]["message"].as_str().unwrap();
            assert!(message.starts_with("aws-masker: "), "{message}");
            assert!(message.contains(reason.code()), "{message}");
            assert_eq!(r.headers[1], (BLOCK_HEADER, reason.code()));
        }
    }

    #[test]
    fn filter_and_store_failures_are_503_api_error() {
        for reason in [BlockReason::StoreFailed, BlockReason::Internal] {
            let r = reply(reason, 400);
            assert_eq!(r.status, 503);
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(body["error"]["type"], "api_error");
        }
    }

    #[test]
    fn codes_are_distinct_and_metric_safe() {
        let mut codes: Vec<&str> = ALL_REASONS.iter().map(|r| r.code()).collect();
        assert!(codes.iter().all(|c| c
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')));
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), ALL_REASONS.len());
    }

    #[test]
    fn mask_codes_map_to_reasons() {
        assert_eq!(
            BlockReason::from_mask_code("body_too_large", 7),
            BlockReason::BodyTooLarge { limit: 7 }
        );
        assert_eq!(
            BlockReason::from_mask_code("invalid_json", 7),
            BlockReason::InvalidJson
        );
        assert_eq!(
            BlockReason::from_mask_code("invalid_utf8", 7),
            BlockReason::InvalidUtf8
        );
        assert_eq!(
            BlockReason::from_mask_code("nesting_too_deep", 7),
            BlockReason::NestingTooDeep
        );
        assert_eq!(
            BlockReason::from_mask_code("something_new", 7),
            BlockReason::MaskFailed
        );
    }

    #[test]
    fn too_large_names_the_limit() {
        let r = reply(BlockReason::BodyTooLarge { limit: 1024 }, 413);
        assert_eq!(r.status, 413);
        assert!(String::from_utf8(r.body).unwrap().contains("1024 bytes"));
    }
}
