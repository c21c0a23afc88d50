//! Inputs and checks shared by the tests that run the built aws-masker filter, here and in the bridge's
//! end-to-end test: a token secret, an EC2 instance id to mask, Messages API bodies, and the shapes of a
//! placeholder, a masked upstream request and a store-failure block.
//!
//! ```
//! use wasm_host_tests::scenario::{ec2_body, placeholder_in, EC2};
//! assert!(String::from_utf8_lossy(&ec2_body()).contains(EC2));
//! let text = "see AWS_EC2_0123456789ABC now";
//! assert_eq!(placeholder_in(text, "EC2").as_deref(), Some("AWS_EC2_0123456789ABC"));
//! ```

use crate::Report;

/// A token secret for tests (32 characters).
pub const SECRET: &str = "Xq3v9Jk2Lm8Np4Rs7Tu1Wy6Za5Bc0DeF";

/// An EC2 instance id, which the filter masks as `AWS_EC2_…`.
pub const EC2: &str = "i-0123456789abcdef0";

/// The characters after `AWS_<KIND>_` in a placeholder.
const PLACEHOLDER_TAIL: usize = 13;

/// A Messages API request body with one user message of `text` (inserted as is: no JSON escaping).
pub fn messages_body(text: &str) -> Vec<u8> {
    format!(r#"{{"model":"m","messages":[{{"role":"user","content":"{text}"}}]}}"#).into_bytes()
}

/// A Messages API request body that asks about [`EC2`].
pub fn ec2_body() -> Vec<u8> {
    messages_body(&format!("why is {EC2} down?"))
}

/// The first placeholder of `kind` (`EC2`, `VPC`, …) in `text`, if any.
pub fn placeholder_in(text: &str, kind: &str) -> Option<String> {
    let prefix = format!("AWS_{kind}_");
    let start = text.find(&prefix)?;
    text.get(start..start + prefix.len() + PLACEHOLDER_TAIL)
        .map(str::to_string)
}

/// Asserts that the request went upstream with [`EC2`] masked.
pub fn assert_masked_upstream(r: &Report) {
    assert!(r.upstream_request.is_some(), "not forwarded");
    let text = r
        .upstream_request
        .as_ref()
        .map(|up| String::from_utf8_lossy(&up.body).into_owned())
        .unwrap_or_default();
    assert!(!text.contains(EC2) && text.contains("AWS_EC2_"), "{text}");
}

/// Asserts that the filter blocked the request because the store step failed: never forwarded, a 503 with
/// `x-aws-masker-block: store_failed` and an API error body naming the cause.
pub fn assert_store_failed(r: &Report) {
    assert!(r.upstream_request.is_none(), "never forwarded");
    let client = r.response.as_ref();
    let text = client.map(|c| c.text()).unwrap_or_default();
    assert_eq!(client.map(|c| c.status), Some(503), "{text}");
    assert_eq!(
        client.and_then(|c| c.header("x-aws-masker-block")),
        Some("store_failed")
    );
    assert!(
        text.contains(r#""type":"error""#) && text.contains("store_failed"),
        "{text}"
    );
}
