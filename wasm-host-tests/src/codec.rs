//! The proxy-wasm header map wire format.
//!
//! A map is `u32 count`, then `count` pairs of `u32 key_len, u32 value_len`, then for each pair the key
//! bytes, a NUL, the value bytes and a NUL. All integers are little endian.
//!
//! ```
//! use wasm_host_tests::codec::{decode_map, encode_map};
//! let pairs = vec![(b":path".to_vec(), b"/v1/messages".to_vec())];
//! let wire = encode_map(&pairs);
//! assert_eq!(decode_map(&wire), Ok(pairs));
//! ```

use std::fmt;

/// One header: name and value, as bytes.
pub type Pair = (Vec<u8>, Vec<u8>);

/// Why a serialized map was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapError {
    /// The buffer ends before byte `needed`; it has `len` bytes.
    Truncated { needed: usize, len: usize },
    /// The byte after a key or value at `offset` is not NUL.
    MissingNul { offset: usize },
    /// `extra` bytes follow the last pair.
    TrailingBytes { extra: usize },
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { needed, len } => {
                write!(f, "map truncated: needs {needed} bytes, has {len}")
            }
            Self::MissingNul { offset } => {
                write!(f, "map entry not nul-terminated at byte {offset}")
            }
            Self::TrailingBytes { extra } => write!(f, "map has {extra} trailing bytes"),
        }
    }
}

impl std::error::Error for MapError {}

/// Serializes pairs in the proxy-wasm map format.
pub fn encode_map(pairs: &[Pair]) -> Vec<u8> {
    let data: usize = pairs.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
    let mut out = Vec::with_capacity(4 + pairs.len() * 8 + data);
    out.extend_from_slice(&len_u32(pairs.len()).to_le_bytes());
    for (k, v) in pairs {
        out.extend_from_slice(&len_u32(k.len()).to_le_bytes());
        out.extend_from_slice(&len_u32(v.len()).to_le_bytes());
    }
    for (k, v) in pairs {
        out.extend_from_slice(k);
        out.push(0);
        out.extend_from_slice(v);
        out.push(0);
    }
    out
}

/// Parses a proxy-wasm map. An empty buffer is an empty map (the SDK sends one for no headers).
pub fn decode_map(bytes: &[u8]) -> Result<Vec<Pair>, MapError> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let count = read_u32(bytes, 0)? as usize;
    let sizes_end =
        count
            .checked_mul(8)
            .and_then(|n| n.checked_add(4))
            .ok_or(MapError::Truncated {
                needed: usize::MAX,
                len: bytes.len(),
            })?;
    if sizes_end > bytes.len() {
        return Err(MapError::Truncated {
            needed: sizes_end,
            len: bytes.len(),
        });
    }
    let mut pairs = Vec::with_capacity(count);
    let mut at = sizes_end;
    for i in 0..count {
        let key_len = read_u32(bytes, 4 + i * 8)? as usize;
        let value_len = read_u32(bytes, 8 + i * 8)? as usize;
        let key = take(bytes, &mut at, key_len)?;
        let value = take(bytes, &mut at, value_len)?;
        pairs.push((key, value));
    }
    if at != bytes.len() {
        return Err(MapError::TrailingBytes {
            extra: bytes.len() - at,
        });
    }
    Ok(pairs)
}

fn take(bytes: &[u8], at: &mut usize, len: usize) -> Result<Vec<u8>, MapError> {
    let end = at.checked_add(len).ok_or(MapError::Truncated {
        needed: usize::MAX,
        len: bytes.len(),
    })?;
    let data = bytes.get(*at..end).ok_or(MapError::Truncated {
        needed: end + 1,
        len: bytes.len(),
    })?;
    match bytes.get(end) {
        Some(0) => {}
        Some(_) => return Err(MapError::MissingNul { offset: end }),
        None => {
            return Err(MapError::Truncated {
                needed: end + 1,
                len: bytes.len(),
            })
        }
    }
    *at = end + 1;
    Ok(data.to_vec())
}

fn read_u32(bytes: &[u8], at: usize) -> Result<u32, MapError> {
    let word = bytes
        .get(at..at + 4)
        .and_then(|s| <[u8; 4]>::try_from(s).ok())
        .ok_or(MapError::Truncated {
            needed: at + 4,
            len: bytes.len(),
        })?;
    Ok(u32::from_le_bytes(word))
}

fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(k: &str, v: &str) -> Pair {
        (k.as_bytes().to_vec(), v.as_bytes().to_vec())
    }

    #[test]
    fn round_trips() {
        let cases = vec![
            vec![],
            vec![pair("", "")],
            vec![
                pair(":method", "POST"),
                pair(":path", "/v1/messages?beta=true"),
                pair("x", ""),
            ],
            vec![(vec![0xff, b'k'], vec![1, 2, 3])],
        ];
        for pairs in cases {
            let wire = encode_map(&pairs);
            assert_eq!(decode_map(&wire), Ok(pairs));
        }
    }

    #[test]
    fn layout_matches_the_abi() {
        let wire = encode_map(&[pair("ab", "c")]);
        assert_eq!(
            wire,
            [1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, b'a', b'b', 0, b'c', 0]
        );
    }

    #[test]
    fn empty_buffer_is_empty_map() {
        assert_eq!(decode_map(&[]), Ok(vec![]));
    }

    #[test]
    fn rejects_malformed_input() {
        let good = encode_map(&[pair("key", "value"), pair("k2", "v2")]);
        for cut in 1..good.len() {
            assert!(
                decode_map(&good[..cut]).is_err(),
                "prefix of {cut} bytes accepted"
            );
        }
        let mut extra = good.clone();
        extra.push(7);
        assert_eq!(
            decode_map(&extra),
            Err(MapError::TrailingBytes { extra: 1 })
        );
        let mut no_nul = good.clone();
        let nul_after_key = 4 + 16 + 3;
        no_nul[nul_after_key] = b'x';
        assert_eq!(
            decode_map(&no_nul),
            Err(MapError::MissingNul {
                offset: nul_after_key
            })
        );
        let huge_count = [0xff, 0xff, 0xff, 0xff];
        assert!(matches!(
            decode_map(&huge_count),
            Err(MapError::Truncated { .. })
        ));
        let huge_len = [1, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 0];
        assert!(matches!(
            decode_map(&huge_len),
            Err(MapError::Truncated { .. })
        ));
    }
}
