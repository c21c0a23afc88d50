//! HMAC-SHA256 of four messages at once, for the placeholders of a body.
//!
//! In the engine SHA-256 has no hardware help: a placeholder costs two or three compressions
//! in scalar code, and a body of new identifiers spends about a third of its masking time in
//! them. Four SHA-256 computations side by side, one per lane of a 128-bit vector (Wasm SIMD
//! in the filter), do four compressions for the instructions of about one and a half.
//!
//! [`Keyed`] holds the key's inner and outer states (after the first block of each HMAC
//! pass, computed once); [`Keyed::mac4`] finishes four messages of at most
//! [`MAX_MESSAGE`] bytes. Natively the lanes are plain arrays (the tests check every result
//! against the `hmac` crate, which the scalar path uses).

use sha2::{Digest, Sha256};

/// Longest message [`Keyed::mac4`] takes: after the 64-byte inner key block, the message and
/// its padding fill at most two blocks.
pub(crate) const MAX_MESSAGE: usize = 2 * 64 - 9;

const BLOCK: usize = 64;

/// How many blocks the inner hash of a message of `len` bytes takes after the key block
/// (`None` past [`MAX_MESSAGE`]).
pub(crate) fn inner_blocks(len: usize) -> Option<usize> {
    (len <= MAX_MESSAGE).then_some(if len + 9 <= BLOCK { 1 } else { 2 })
}

const IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

const K: [u32; 64] = [
    0x428a_2f98,
    0x7137_4491,
    0xb5c0_fbcf,
    0xe9b5_dba5,
    0x3956_c25b,
    0x59f1_11f1,
    0x923f_82a4,
    0xab1c_5ed5,
    0xd807_aa98,
    0x1283_5b01,
    0x2431_85be,
    0x550c_7dc3,
    0x72be_5d74,
    0x80de_b1fe,
    0x9bdc_06a7,
    0xc19b_f174,
    0xe49b_69c1,
    0xefbe_4786,
    0x0fc1_9dc6,
    0x240c_a1cc,
    0x2de9_2c6f,
    0x4a74_84aa,
    0x5cb0_a9dc,
    0x76f9_88da,
    0x983e_5152,
    0xa831_c66d,
    0xb003_27c8,
    0xbf59_7fc7,
    0xc6e0_0bf3,
    0xd5a7_9147,
    0x06ca_6351,
    0x1429_2967,
    0x27b7_0a85,
    0x2e1b_2138,
    0x4d2c_6dfc,
    0x5338_0d13,
    0x650a_7354,
    0x766a_0abb,
    0x81c2_c92e,
    0x9272_2c85,
    0xa2bf_e8a1,
    0xa81a_664b,
    0xc24b_8b70,
    0xc76c_51a3,
    0xd192_e819,
    0xd699_0624,
    0xf40e_3585,
    0x106a_a070,
    0x19a4_c116,
    0x1e37_6c08,
    0x2748_774c,
    0x34b0_bcb5,
    0x391c_0cb3,
    0x4ed8_aa4a,
    0x5b9c_ca4f,
    0x682e_6ff3,
    0x748f_82ee,
    0x78a5_636f,
    0x84c8_7814,
    0x8cc7_0208,
    0x90be_fffa,
    0xa450_6ceb,
    0xbef9_a3f7,
    0xc671_78f2,
];

/// Four 32-bit lanes.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod lanes {
    use core::arch::wasm32::{
        i32x4_shl, u32x4, u32x4_add, u32x4_extract_lane, u32x4_shr, u32x4_splat, v128,
        v128_bitselect, v128_or, v128_xor,
    };

    #[derive(Clone, Copy)]
    pub(super) struct X4(v128);

    impl X4 {
        #[inline(always)]
        pub(super) fn splat(v: u32) -> X4 {
            X4(u32x4_splat(v))
        }
        #[inline(always)]
        pub(super) fn new(l: [u32; 4]) -> X4 {
            X4(u32x4(l[0], l[1], l[2], l[3]))
        }
        #[inline(always)]
        pub(super) fn lanes(self) -> [u32; 4] {
            [
                u32x4_extract_lane::<0>(self.0),
                u32x4_extract_lane::<1>(self.0),
                u32x4_extract_lane::<2>(self.0),
                u32x4_extract_lane::<3>(self.0),
            ]
        }
        #[inline(always)]
        pub(super) fn add(self, o: X4) -> X4 {
            X4(u32x4_add(self.0, o.0))
        }
        #[inline(always)]
        pub(super) fn xor(self, o: X4) -> X4 {
            X4(v128_xor(self.0, o.0))
        }
        #[inline(always)]
        pub(super) fn shr(self, n: u32) -> X4 {
            X4(u32x4_shr(self.0, n))
        }
        #[inline(always)]
        pub(super) fn rotr(self, n: u32) -> X4 {
            X4(v128_or(u32x4_shr(self.0, n), i32x4_shl(self.0, 32 - n)))
        }
        /// Bits of `a` where `mask` has ones, else of `b`.
        #[inline(always)]
        pub(super) fn select(mask: X4, a: X4, b: X4) -> X4 {
            X4(v128_bitselect(a.0, b.0, mask.0))
        }
    }
}

/// Four 32-bit lanes, as an array (native builds: the tests, and targets without Wasm SIMD).
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod lanes {
    #[derive(Clone, Copy)]
    pub(super) struct X4([u32; 4]);

    impl X4 {
        #[inline(always)]
        fn map2(self, o: X4, f: impl Fn(u32, u32) -> u32) -> X4 {
            let (a, b) = (self.0, o.0);
            X4([f(a[0], b[0]), f(a[1], b[1]), f(a[2], b[2]), f(a[3], b[3])])
        }
        #[inline(always)]
        pub(super) fn splat(v: u32) -> X4 {
            X4([v; 4])
        }
        #[inline(always)]
        pub(super) fn new(l: [u32; 4]) -> X4 {
            X4(l)
        }
        #[inline(always)]
        pub(super) fn lanes(self) -> [u32; 4] {
            self.0
        }
        #[inline(always)]
        pub(super) fn add(self, o: X4) -> X4 {
            self.map2(o, u32::wrapping_add)
        }
        #[inline(always)]
        pub(super) fn xor(self, o: X4) -> X4 {
            self.map2(o, |a, b| a ^ b)
        }
        #[inline(always)]
        pub(super) fn shr(self, n: u32) -> X4 {
            X4(self.0.map(|a| a >> n))
        }
        #[inline(always)]
        pub(super) fn rotr(self, n: u32) -> X4 {
            X4(self.0.map(|a| a.rotate_right(n)))
        }
        /// Bits of `a` where `mask` has ones, else of `b`.
        #[inline(always)]
        pub(super) fn select(mask: X4, a: X4, b: X4) -> X4 {
            let ab = a.map2(b, |a, b| a ^ b);
            // b ^ ((a ^ b) & mask): `a`'s bits where the mask is set, `b`'s elsewhere.
            b.map2(ab.map2(mask, |ab, m| ab & m), |b, d| b ^ d)
        }
    }
}

use lanes::X4;

/// One SHA-256 compression in each lane: `w` is the block, as big-endian words, and is used
/// as the message schedule. Out of line: it is large, and called two or three times per batch.
#[inline(never)]
fn compress(state: &mut [X4; 8], w: &mut [X4; 16]) {
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
    for (t, k) in K.iter().enumerate() {
        let wt = if t < 16 {
            w[t]
        } else {
            let (w15, w2) = (w[(t + 1) % 16], w[(t + 14) % 16]);
            let s0 = w15.rotr(7).xor(w15.rotr(18)).xor(w15.shr(3));
            let s1 = w2.rotr(17).xor(w2.rotr(19)).xor(w2.shr(10));
            let v = w[t % 16].add(s0).add(w[(t + 9) % 16]).add(s1);
            w[t % 16] = v;
            v
        };
        let sum1 = e.rotr(6).xor(e.rotr(11)).xor(e.rotr(25));
        let ch = X4::select(e, f, g);
        let t1 = h.add(sum1).add(ch).add(X4::splat(*k)).add(wt);
        let sum0 = a.rotr(2).xor(a.rotr(13)).xor(a.rotr(22));
        // The majority: `c` where `a` and `b` differ, else `a`.
        let maj = X4::select(a.xor(b), c, a);
        let t2 = sum0.add(maj);
        h = g;
        g = f;
        f = e;
        e = d.add(t1);
        d = c;
        c = b;
        b = a;
        a = t1.add(t2);
    }
    for (s, v) in state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
        *s = s.add(v);
    }
}

/// The HMAC-SHA256 key's states after its inner and outer key blocks.
#[derive(Clone)]
pub(crate) struct Keyed {
    inner: [u32; 8],
    outer: [u32; 8],
}

impl Keyed {
    pub(crate) fn new(secret: &[u8]) -> Keyed {
        let mut key = [0u8; BLOCK];
        if secret.len() > BLOCK {
            let digest = Sha256::digest(secret);
            key.iter_mut().zip(digest.iter()).for_each(|(k, d)| *k = *d);
        } else {
            key.iter_mut().zip(secret).for_each(|(k, s)| *k = *s);
        }
        // One compression of the padded key, the same in every lane.
        let state_after = |pad: u8| {
            let mut w: [X4; 16] = std::array::from_fn(|t| {
                let mut b = [0u8; 4];
                for (j, byte) in b.iter_mut().enumerate() {
                    *byte = key.get(4 * t + j).map_or(0, |k| k ^ pad);
                }
                X4::splat(u32::from_be_bytes(b))
            });
            let mut state = IV.map(X4::splat);
            compress(&mut state, &mut w);
            state.map(|s| s.lanes()[0])
        };
        Keyed {
            inner: state_after(0x36),
            outer: state_after(0x5c),
        }
    }

    /// HMAC-SHA256 of four messages, as the digests' big-endian words; `None` if one is longer
    /// than [`MAX_MESSAGE`].
    pub(crate) fn mac4(&self, messages: [&[u8]; 4]) -> Option<[[u32; 8]; 4]> {
        // Each message padded as the inner hash sees it (after the key block): the message,
        // 0x80, zeros, and the bit length of key block and message in the last 8 bytes.
        let mut padded = [[0u8; 2 * BLOCK]; 4];
        let mut two_blocks = [0u32; 4];
        for ((buf, two), m) in padded.iter_mut().zip(&mut two_blocks).zip(messages) {
            let n = m.len();
            let blocks = inner_blocks(n)?;
            buf.get_mut(..n)?.copy_from_slice(m);
            *buf.get_mut(n)? = 0x80;
            let end = blocks * BLOCK;
            *two = if blocks == 1 { 0 } else { u32::MAX };
            let bits = ((BLOCK + n) as u64 * 8).to_be_bytes();
            buf.get_mut(end - 8..end)?.copy_from_slice(&bits);
        }
        let word = |lane: &[u8; 2 * BLOCK], at: usize| {
            let mut b = [0u8; 4];
            b.copy_from_slice(lane.get(at..at + 4).unwrap_or(&[0; 4]));
            u32::from_be_bytes(b)
        };
        let block = |k: usize| -> [X4; 16] {
            std::array::from_fn(|t| {
                let at = k * BLOCK + 4 * t;
                X4::new(padded.each_ref().map(|lane| word(lane, at)))
            })
        };
        let mut state = self.inner.map(X4::splat);
        compress(&mut state, &mut block(0));
        if two_blocks.iter().any(|&t| t != 0) {
            let one = state;
            compress(&mut state, &mut block(1));
            let mask = X4::new(two_blocks);
            for (s, o) in state.iter_mut().zip(one) {
                *s = X4::select(mask, *s, o);
            }
        }
        // The outer hash: the inner digest, padded, after the outer key block.
        let mut w = [X4::splat(0); 16];
        w[..8].copy_from_slice(&state);
        w[8] = X4::splat(0x8000_0000);
        w[15] = X4::splat(((BLOCK + 32) * 8) as u32);
        let mut state = self.outer.map(X4::splat);
        compress(&mut state, &mut w);
        let words = state.map(X4::lanes);
        Some(std::array::from_fn(|lane| words.map(|w| w[lane])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, Mac};
    use proptest::prelude::*;

    fn reference(secret: &[u8], message: &[u8]) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
        mac.update(message);
        mac.finalize().into_bytes().into()
    }

    fn bytes(words: [u32; 8]) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (o, w) in out.chunks_mut(4).zip(words) {
            o.copy_from_slice(&w.to_be_bytes());
        }
        out
    }

    #[test]
    fn every_message_length_and_both_key_forms_give_the_hmac() {
        for secret in [
            &b"a secret of at least thirty-two bytes"[..],
            &[7u8; 100][..],
        ] {
            let keyed = Keyed::new(secret);
            let text: Vec<u8> = (0..=MAX_MESSAGE as u8)
                .map(|i| i.wrapping_mul(37))
                .collect();
            for n in 0..=MAX_MESSAGE {
                // Lanes of other lengths beside it: one block and two, in every lane.
                let lens = [n, (n + 50) % (MAX_MESSAGE + 1), 3, MAX_MESSAGE - n];
                let messages = lens.map(|l| &text[..l]);
                let got = keyed.mac4(messages).unwrap();
                for (g, m) in got.into_iter().zip(messages) {
                    assert_eq!(bytes(g), reference(secret, m), "{} bytes", m.len());
                }
            }
        }
    }

    #[test]
    fn a_message_over_the_limit_is_refused() {
        let keyed = Keyed::new(b"a secret of at least thirty-two bytes");
        let long = [0u8; MAX_MESSAGE + 1];
        assert!(keyed.mac4([&long[..], b"", b"", b""]).is_none());
    }

    proptest! {
        #[test]
        fn four_random_messages_give_their_hmacs(
            secret in proptest::collection::vec(any::<u8>(), 0..130),
            messages in proptest::collection::vec(
                proptest::collection::vec(any::<u8>(), 0..=MAX_MESSAGE), 4),
        ) {
            let keyed = Keyed::new(&secret);
            let got = keyed
                .mac4([&messages[0][..], &messages[1][..], &messages[2][..], &messages[3][..]])
                .unwrap();
            for (g, m) in got.into_iter().zip(&messages) {
                prop_assert_eq!(bytes(g), reference(&secret, m));
            }
        }
    }
}
