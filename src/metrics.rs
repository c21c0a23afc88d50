//! Names of the filter's counters. WasmX prefixes them with `pw:<filter name>:`; Kong 3.9+
//! exposes them to Prometheus.
//!
//! ```
//! use aws_masker::metrics;
//! use aws_masker::block::BlockReason;
//!
//! assert_eq!(metrics::blocks(BlockReason::InvalidJson), "blocks_invalid_json");
//! assert_eq!(metrics::identifiers("ARN_IAM_ROLE"), "identifiers_masked_ARN_IAM_ROLE");
//! ```

use crate::block::BlockReason;

/// Requests whose body was masked (something replaced).
pub const REQUESTS_MASKED: &str = "requests_masked";
/// All identifiers masked, every kind.
pub const IDENTIFIERS_MASKED: &str = "identifiers_masked";
/// Requests forwarded unchanged in detect mode that had findings or would have been blocked.
pub const DETECT_MODE_PASSTHROUGHS: &str = "detect_mode_passthroughs";
/// Placeholders put back in responses.
pub const PLACEHOLDERS_RESTORED: &str = "placeholders_restored";
/// Placeholder-shaped tokens in responses that the exchange did not know.
pub const PLACEHOLDERS_UNKNOWN: &str = "placeholders_unknown";
/// Responses passed unchanged because they were compressed.
pub const RESTORE_SKIPPED_ENCODED: &str = "restore_skipped_encoded";
/// SSE events longer than the event limit, passed unrestored (their placeholders left).
pub const RESTORE_SKIPPED_OVERSIZED: &str = "restore_skipped_oversized";
/// Node-cache entries that hold another original under the same placeholder (found when
/// writing one), or that this `token_secret` does not derive (found when reading one).
pub const NODE_CACHE_CONFLICTS: &str = "node_cache_conflicts";

/// Exchanges whose mappings the bridge stored (and lookups it answered).
pub const STORE_OK: &str = "store_ok";
/// Exchanges the open circuit breaker failed fast (no dispatch).
pub const CIRCUIT_OPEN_REJECTIONS: &str = "circuit_open_rejections";

/// Every fixed counter.
pub const FIXED: &[&str] = &[
    REQUESTS_MASKED,
    IDENTIFIERS_MASKED,
    DETECT_MODE_PASSTHROUGHS,
    PLACEHOLDERS_RESTORED,
    PLACEHOLDERS_UNKNOWN,
    RESTORE_SKIPPED_ENCODED,
    RESTORE_SKIPPED_OVERSIZED,
    NODE_CACHE_CONFLICTS,
    STORE_OK,
    CIRCUIT_OPEN_REJECTIONS,
];

/// Blocks for one reason.
pub fn blocks(reason: BlockReason) -> String {
    format!("blocks_{}", reason.code())
}

/// Failed store steps for one reason (`store::FAILURE_CODES`).
pub fn store_failures(code: &str) -> String {
    format!("store_failures_{code}")
}

/// Identifiers masked of one kind (a label: `[A-Z][A-Z0-9_]*`).
pub fn identifiers(label: &str) -> String {
    format!("{IDENTIFIERS_MASKED}_{label}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::ALL_REASONS;

    #[test]
    fn names_are_distinct() {
        let mut names: Vec<String> = FIXED.iter().map(|s| (*s).to_owned()).collect();
        names.extend(ALL_REASONS.iter().map(|r| blocks(*r)));
        names.extend(
            crate::store::FAILURE_CODES
                .iter()
                .map(|c| store_failures(c)),
        );
        names.push(identifiers("EC2"));
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n);
        assert!(names
            .iter()
            .all(|n| n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')));
    }
}
