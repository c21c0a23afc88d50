//! The per-exchange decisions the glue acts on: what to do with a request from its headers
//! and body ([`request`]), and with a response from its headers and chunks ([`response`]).
//!
//! ```
//! use aws_masker::exchange::request::{plan_request, BodyKind, BodyPlan, HeadersDecision, RequestHeaders};
//! use aws_masker::block::BlockReason;
//!
//! let json = RequestHeaders { content_type: Some(b"application/json"), ..Default::default() };
//! assert_eq!(plan_request(&json, 1024), HeadersDecision::Expect(BodyPlan::Mask(BodyKind::Json)));
//!
//! let gzip = RequestHeaders { content_encoding: Some(b"gzip"), content_length: Some(b"10"), ..json };
//! assert_eq!(plan_request(&gzip, 1024), HeadersDecision::Block(BlockReason::UnsupportedContentEncoding));
//! ```

pub mod request;
pub mod response;
