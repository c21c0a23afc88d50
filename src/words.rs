//! Little-endian words read from a byte string at any offset, zero where the string ends
//! before the word does: the hash and compare of the memo and the padding of short texts read
//! short strings a word at a time with these.

/// The eight bytes at `at`, or 0 if fewer remain.
#[inline(always)]
pub(crate) fn word_at(b: &[u8], at: usize) -> u64 {
    b.get(at..at.saturating_add(8))
        .and_then(|w| <[u8; 8]>::try_from(w).ok())
        .map_or(0, u64::from_le_bytes)
}

/// The four bytes at `at`, or 0 if fewer remain.
#[inline(always)]
pub(crate) fn half_at(b: &[u8], at: usize) -> u64 {
    b.get(at..at.saturating_add(4))
        .and_then(|w| <[u8; 4]>::try_from(w).ok())
        .map_or(0, |w| u64::from(u32::from_le_bytes(w)))
}

/// The byte at `at`, or 0 past the end.
#[inline(always)]
pub(crate) fn byte_at(b: &[u8], at: usize) -> u64 {
    b.get(at).map_or(0, |&c| u64::from(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_little_endian_and_zero_past_the_end() {
        let b = [1u8, 2, 3, 4, 5, 6, 7, 8, 9];
        assert_eq!(word_at(&b, 0), 0x0807_0605_0403_0201);
        assert_eq!(word_at(&b, 1), 0x0908_0706_0504_0302);
        assert_eq!(word_at(&b, 2), 0);
        assert_eq!(half_at(&b, 5), 0x0908_0706);
        assert_eq!(half_at(&b, 6), 0);
        assert_eq!((byte_at(&b, 8), byte_at(&b, 9)), (9, 0));
        assert_eq!(word_at(&b, usize::MAX), 0);
    }
}
