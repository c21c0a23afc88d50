//! Request decisions: from headers, then from the body the host hands over.
//!
//! WasmX calls `on_http_request_body` once with the whole body, and not at all for an empty
//! body. Headers cannot always tell whether a body follows (HTTP/2 needs no Content-Length),
//! so a plan that rejects the body blocks at the headers only when a body is announced, and
//! otherwise when the body arrives.

use crate::block::BlockReason;
use crate::config::Mode;

/// How the masker reads the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyKind {
    Json,
    Text,
}

/// The request headers a plan needs, as raw bytes (untrusted, maybe not UTF-8).
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestHeaders<'a> {
    pub content_type: Option<&'a [u8]>,
    pub content_encoding: Option<&'a [u8]>,
    pub content_length: Option<&'a [u8]>,
    pub transfer_encoding: Option<&'a [u8]>,
}

/// What to do with a body if one arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyPlan {
    Mask(BodyKind),
    Reject(BlockReason),
}

/// The decision at the request headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadersDecision {
    /// Block now: a body is announced and cannot be masked.
    Block(BlockReason),
    /// Continue, and apply the plan to the body if one arrives.
    Expect(BodyPlan),
}

/// The media type, lowercased, without parameters.
pub(crate) fn media_type(value: &[u8]) -> String {
    let end = value.iter().position(|b| *b == b';').unwrap_or(value.len());
    let essence = value.get(..end).unwrap_or_default();
    String::from_utf8_lossy(essence).trim().to_ascii_lowercase()
}

/// True for a missing, empty or `identity` content-encoding.
pub(crate) fn is_identity(encoding: Option<&[u8]>) -> bool {
    match encoding {
        None => true,
        Some(v) => {
            let v = media_type(v);
            v.is_empty() || v == "identity"
        }
    }
}

/// A Content-Length value; `None` when absent or not a plain decimal number.
pub(crate) fn content_length(value: Option<&[u8]>) -> Option<u64> {
    let text = std::str::from_utf8(value?).ok()?.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn body_kind(content_type: Option<&[u8]>) -> Option<BodyKind> {
    let media = media_type(content_type?);
    if media == "application/json" || media.ends_with("+json") {
        Some(BodyKind::Json)
    } else if media.starts_with("text/") {
        Some(BodyKind::Text)
    } else {
        None
    }
}

/// Decides from the request headers.
pub fn plan_request(headers: &RequestHeaders<'_>, max_body_bytes: usize) -> HeadersDecision {
    let length = content_length(headers.content_length);
    let announced = length.is_some_and(|n| n > 0) || headers.transfer_encoding.is_some();
    let plan = if !is_identity(headers.content_encoding) {
        BodyPlan::Reject(BlockReason::UnsupportedContentEncoding)
    } else {
        match body_kind(headers.content_type) {
            Some(kind) => BodyPlan::Mask(kind),
            None => BodyPlan::Reject(BlockReason::UnsupportedContentType),
        }
    };
    let too_large = length.is_some_and(|n| usize::try_from(n).map_or(true, |n| n > max_body_bytes));
    match plan {
        BodyPlan::Reject(reason) if announced => HeadersDecision::Block(reason),
        BodyPlan::Mask(_) if too_large => HeadersDecision::Block(BlockReason::BodyTooLarge {
            limit: max_body_bytes,
        }),
        plan => HeadersDecision::Expect(plan),
    }
}

/// Decides on the body WasmX delivered: `body_size` from the callback, `body` from
/// `get_http_request_body(0, body_size)`. A spooled body reads as `None`.
pub fn check_body(
    plan: BodyPlan,
    body_size: usize,
    body: Option<&[u8]>,
    max_body_bytes: usize,
) -> Result<BodyKind, BlockReason> {
    let kind = match plan {
        BodyPlan::Reject(reason) => return Err(reason),
        BodyPlan::Mask(kind) => kind,
    };
    if body_size > max_body_bytes {
        return Err(BlockReason::BodyTooLarge {
            limit: max_body_bytes,
        });
    }
    match body {
        Some(bytes) if bytes.len() == body_size => Ok(kind),
        _ => Err(BlockReason::BodyUnreadable),
    }
}

/// What the glue does with a block decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Send the block reply.
    Block(BlockReason),
    /// Detect mode: log the code it would have blocked with, forward unchanged.
    WouldBlock(BlockReason),
}

/// Detect mode never blocks: it reports and forwards.
pub fn verdict(mode: Mode, reason: BlockReason) -> Verdict {
    match mode {
        Mode::Enforce => Verdict::Block(reason),
        Mode::Detect => Verdict::WouldBlock(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = 1000;

    fn headers<'a>(
        ct: Option<&'a str>,
        ce: Option<&'a str>,
        cl: Option<&'a str>,
        te: Option<&'a str>,
    ) -> RequestHeaders<'a> {
        RequestHeaders {
            content_type: ct.map(str::as_bytes),
            content_encoding: ce.map(str::as_bytes),
            content_length: cl.map(str::as_bytes),
            transfer_encoding: te.map(str::as_bytes),
        }
    }

    #[test]
    fn headers_table() {
        use BlockReason::*;
        use HeadersDecision::{Block, Expect};
        let json = Expect(BodyPlan::Mask(BodyKind::Json));
        let text = Expect(BodyPlan::Mask(BodyKind::Text));
        let cases: &[(RequestHeaders<'_>, HeadersDecision)] = &[
            (
                headers(Some("application/json"), None, Some("10"), None),
                json,
            ),
            (
                headers(
                    Some("Application/JSON; charset=utf-8"),
                    None,
                    Some("10"),
                    None,
                ),
                json,
            ),
            (
                headers(
                    Some("application/vnd.api+json"),
                    None,
                    None,
                    Some("chunked"),
                ),
                json,
            ),
            (
                headers(Some("text/plain"), Some("identity"), Some("10"), None),
                text,
            ),
            (
                headers(
                    Some("application/json"),
                    Some(" IDENTITY "),
                    Some("10"),
                    None,
                ),
                json,
            ),
            (
                headers(Some("application/json"), Some("gzip"), Some("10"), None),
                Block(UnsupportedContentEncoding),
            ),
            (
                headers(
                    Some("application/json"),
                    Some("identity, gzip"),
                    None,
                    Some("chunked"),
                ),
                Block(UnsupportedContentEncoding),
            ),
            (
                headers(Some("application/json"), Some("br"), None, None),
                Expect(BodyPlan::Reject(UnsupportedContentEncoding)),
            ),
            (
                headers(Some("application/octet-stream"), None, Some("5"), None),
                Block(UnsupportedContentType),
            ),
            (
                headers(
                    Some("multipart/form-data; boundary=x"),
                    None,
                    None,
                    Some("chunked"),
                ),
                Block(UnsupportedContentType),
            ),
            (
                headers(None, None, Some("5"), None),
                Block(UnsupportedContentType),
            ),
            // No body announced: a GET without a type goes through; a body would still be checked.
            (
                headers(None, None, None, None),
                Expect(BodyPlan::Reject(UnsupportedContentType)),
            ),
            (
                headers(Some("image/png"), None, Some("0"), None),
                Expect(BodyPlan::Reject(UnsupportedContentType)),
            ),
            (
                headers(Some("application/json"), None, Some("1000"), None),
                json,
            ),
            (
                headers(Some("application/json"), None, Some("1001"), None),
                Block(BodyTooLarge { limit: MAX }),
            ),
            (
                headers(
                    Some("application/json"),
                    None,
                    Some("99999999999999999999999"),
                    None,
                ),
                json,
            ),
            (
                headers(Some("application/json"), None, Some("abc"), None),
                json,
            ),
        ];
        for (h, expected) in cases {
            assert_eq!(plan_request(h, MAX), *expected, "{h:?}");
        }
    }

    #[test]
    fn body_checks() {
        use BlockReason::*;
        let json = BodyPlan::Mask(BodyKind::Json);
        assert_eq!(check_body(json, 3, Some(b"{}x"), MAX), Ok(BodyKind::Json));
        assert_eq!(check_body(json, 3, None, MAX), Err(BodyUnreadable));
        assert_eq!(check_body(json, 3, Some(b"{}"), MAX), Err(BodyUnreadable));
        assert_eq!(
            check_body(json, MAX + 1, None, MAX),
            Err(BodyTooLarge { limit: MAX })
        );
        let reject = BodyPlan::Reject(UnsupportedContentType);
        assert_eq!(
            check_body(reject, 2, Some(b"ab"), MAX),
            Err(UnsupportedContentType)
        );
    }

    #[test]
    fn detect_mode_never_blocks() {
        let r = BlockReason::InvalidJson;
        assert_eq!(verdict(Mode::Enforce, r), Verdict::Block(r));
        assert_eq!(verdict(Mode::Detect, r), Verdict::WouldBlock(r));
    }

    #[test]
    fn helpers() {
        assert_eq!(content_length(Some(b" 42 ")), Some(42));
        assert_eq!(content_length(Some(b"-1")), None);
        assert_eq!(content_length(Some(b"")), None);
        assert_eq!(content_length(None), None);
        assert_eq!(
            media_type(b"Text/Event-Stream ; charset=utf-8"),
            "text/event-stream"
        );
        assert_eq!(media_type(&[0xff, b';']), "\u{fffd}");
        assert!(is_identity(Some(b"")));
        assert!(!is_identity(Some(b"deflate")));
    }
}
