//! Little-endian words read from a byte string at any offset, zero where the string ends
//! before the word does: the hash and compare of the memo and the padding of short texts read
//! short strings a word at a time with these. And the bit mask of the bytes of a 16-byte
//! block that pass a test, in vector instructions.

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

/// `b` zero-padded to 16 bytes (`None` if longer), read with at most two loads of a word
/// and built in registers: a copy into a buffer read back as a vector stalls the load until
/// the bytewise stores drain, which cost more than the search it feeds.
#[inline(always)]
pub(crate) fn padded(b: &[u8]) -> Option<[u8; 16]> {
    let n = b.len();
    let (word, half, byte) = (
        |at| word_at(b, at),
        |at| half_at(b, at),
        |at| byte_at(b, at),
    );
    // The first word, then the last one shifted down past the bytes they share.
    let (lo, hi) = match n {
        17.. => return None,
        8..=16 => (
            word(0),
            word(n - 8).checked_shr(8 * (16 - n) as u32).unwrap_or(0),
        ),
        4..=7 => {
            let tail = half(n - 4).checked_shr(8 * (8 - n) as u32).unwrap_or(0);
            (half(0) | tail << 32, 0)
        }
        _ => (byte(0) | byte(1) << 8 | byte(2) << 16, 0),
    };
    Some((u128::from(lo) | u128::from(hi) << 64).to_le_bytes())
}

/// The bytes of a 16-byte block that `test` accepts, as bits (bit k for byte k). With the
/// tests used here (five to eight branch-free comparisons), the compiler vectorizes the
/// loop for x86_64 and for wasm32 with simd128; tests of one to three comparisons stayed
/// scalar when tried (the tokenizer's scans use words instead).
#[inline(always)]
pub(crate) fn block_bits(block: &[u8; 16], test: impl Fn(u8) -> bool) -> u32 {
    let mut flags = [0u8; 16];
    for (f, &c) in flags.iter_mut().zip(block) {
        *f = u8::from(test(c));
    }
    let flags = u128::from_le_bytes(flags);
    // Eight 0/1 bytes to eight bits: the multiply moves byte k's bit to bit 56 + k, and no
    // two partial products meet, so nothing carries.
    let gather = |x: u64| (x.wrapping_mul(0x0102_0408_1020_4080) >> 56) as u32;
    gather(flags as u64) | gather((flags >> 64) as u64) << 8
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

    #[test]
    fn padding_keeps_every_byte_and_adds_zeros() {
        let text: Vec<u8> = (1..=20).collect();
        for n in 0..=16 {
            let mut want = [0u8; 16];
            want[..n].copy_from_slice(&text[..n]);
            assert_eq!(padded(&text[..n]), Some(want), "{n} bytes");
        }
        assert_eq!(padded(&text[..17]), None);
    }
}
