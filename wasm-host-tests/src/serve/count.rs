//! Counting placeholders (`AWS_<KIND>_<hash>`) in a byte stream split anywhere, by kind label. The gateway
//! compares what went in and out of the filter: placeholders the filter added to a request were masked,
//! placeholders that left a response were restored. Only labels and counts are kept, never text.
//!
//! ```
//! use wasm_host_tests::serve::count::Counter;
//! let mut c = Counter::default();
//! c.feed(b"x AWS_EC2_ABCDEFGHIJ");
//! c.feed(b"KLM y AWS_NOT_A_PLACEHOLDER");
//! c.finish();
//! assert_eq!(c.total(), 1);
//! assert_eq!(c.by_kind().get("EC2"), Some(&1));
//! ```

use std::collections::BTreeMap;

use aws_masker::placeholder::{
    is_placeholder_byte, shaped_len, HASH_LEN, MAX_PLACEHOLDER_LEN, PREFIX,
};
use memchr::memmem;

/// Placeholder counts of one stream.
#[derive(Debug, Default, Clone)]
pub struct Counter {
    pending: Vec<u8>,
    counts: BTreeMap<String, u64>,
}

impl Counter {
    /// Counts the placeholders of a whole buffer.
    pub fn of(bytes: &[u8]) -> Self {
        let mut c = Self::default();
        c.feed(bytes);
        c.finish();
        c
    }

    /// Feeds the next piece of the stream.
    pub fn feed(&mut self, piece: &[u8]) {
        self.pending.extend_from_slice(piece);
        let keep = self.scan(false);
        self.pending.drain(..keep);
    }

    /// Ends the stream.
    pub fn finish(&mut self) {
        self.scan(true);
        self.pending.clear();
    }

    /// Counts complete candidates in `pending`; returns how many leading bytes can be dropped.
    fn scan(&mut self, last: bool) -> usize {
        let buf = &self.pending;
        let mut at = 0;
        let finder = memmem::Finder::new(PREFIX.as_bytes());
        while let Some(found) = buf.get(at..).and_then(|rest| finder.find(rest)) {
            let start = at + found;
            let rest = buf.get(start..).unwrap_or_default();
            let run = rest.iter().take_while(|b| is_placeholder_byte(**b)).count();
            if run == rest.len() && !last && run <= MAX_PLACEHOLDER_LEN {
                // The run reaches the end of what arrived: the placeholder may go on in the next piece.
                return start;
            }
            match shaped_len(rest) {
                Some(len) if len <= MAX_PLACEHOLDER_LEN => {
                    let label = rest
                        .get(PREFIX.len()..len.saturating_sub(HASH_LEN + 1))
                        .unwrap_or_default();
                    *self
                        .counts
                        .entry(String::from_utf8_lossy(label).into_owned())
                        .or_default() += 1;
                    at = start + len;
                }
                _ => at = start + run.max(1),
            }
        }
        // A prefix of `AWS_` may be cut at the end.
        buf.len()
            .saturating_sub(PREFIX.len() - 1)
            .max(at.min(buf.len()))
    }

    /// Counts by kind label.
    pub fn by_kind(&self) -> &BTreeMap<String, u64> {
        &self.counts
    }

    /// All placeholders counted.
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    /// Per kind, how many more `self` has than `other` (kinds with no surplus left out).
    pub fn surplus_over(&self, other: &Counter) -> BTreeMap<String, u64> {
        self.counts
            .iter()
            .filter_map(|(k, n)| {
                let extra = n.saturating_sub(other.counts.get(k).copied().unwrap_or(0));
                (extra > 0).then(|| (k.clone(), extra))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &str = "AWS_ARN_IAM_ROLE_ABCDEFGHIJKLM";

    #[test]
    fn every_split_of_a_stream_counts_the_same() {
        let text = format!("{{\"a\":\"{P}\",\"b\":\"AWS_EC2_ABCDEFGHIJKLM.\",\"c\":\"AWS_X\"}}");
        let whole = Counter::of(text.as_bytes());
        assert_eq!(whole.total(), 2);
        assert_eq!(whole.by_kind().get("ARN_IAM_ROLE"), Some(&1));
        for cut in 0..=text.len() {
            let mut c = Counter::default();
            c.feed(&text.as_bytes()[..cut]);
            c.feed(&text.as_bytes()[cut..]);
            c.finish();
            assert_eq!(c.by_kind(), whole.by_kind(), "cut at {cut}");
        }
        for step in 1..4 {
            let mut c = Counter::default();
            text.as_bytes().chunks(step).for_each(|p| c.feed(p));
            c.finish();
            assert_eq!(c.by_kind(), whole.by_kind(), "step {step}");
        }
    }

    #[test]
    fn surplus_is_per_kind_and_never_negative() {
        let a = Counter::of(format!("{P} {P} AWS_EC2_ABCDEFGHIJKLM").as_bytes());
        let b = Counter::of(format!("{P} AWS_S3_ABCDEFGHIJKLM").as_bytes());
        let surplus = a.surplus_over(&b);
        assert_eq!(surplus.get("ARN_IAM_ROLE"), Some(&1));
        assert_eq!(surplus.get("EC2"), Some(&1));
        assert_eq!(surplus.get("S3"), None);
    }

    #[test]
    fn long_runs_do_not_grow_the_buffer() {
        let mut c = Counter::default();
        for _ in 0..1000 {
            c.feed(b"AWS_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        }
        assert!(c.pending.len() <= 2 * MAX_PLACEHOLDER_LEN + 80);
        c.finish();
        assert_eq!(c.total(), 0);
    }
}
