//! Body buffer semantics of `proxy_set_buffer_bytes` / `proxy_get_buffer_bytes` in WasmX (WASMX.md §5.3),
//! which differ from the proxy-wasm spec.
//!
//! ```
//! use wasm_host_tests::body::{get, set};
//! let mut body = b"HelloWorld".to_vec();
//! set(&mut body, 5, 3, b"Wasm");
//! assert_eq!(body, b"HelloWas");
//! assert_eq!(get(&body, 3, 100), b"HelloWas"); // the start is ignored
//! ```

/// `set(start, size, data)` as WasmX does it: `set(0, 0, non-empty)` prepends; otherwise everything from
/// `start` on is dropped and `data[..min(len, size)]` is written at `start` (appended when `start` is past the
/// end); a `size` of 0 with `start > 0` counts as `len(data)`.
pub fn set(body: &mut Vec<u8>, start: usize, size: usize, data: &[u8]) {
    if start == 0 && size == 0 && !data.is_empty() {
        let mut joined = Vec::with_capacity(data.len() + body.len());
        joined.extend_from_slice(data);
        joined.extend_from_slice(body);
        *body = joined;
        return;
    }
    let size = if start > 0 && size == 0 {
        data.len()
    } else {
        size
    };
    let data = data.get(..size.min(data.len())).unwrap_or(data);
    body.truncate(start);
    if body.is_empty() && data.len() > body.capacity() {
        // Growing an emptied buffer would copy its stale bytes along: start a new one.
        *body = data.to_vec();
    } else {
        body.extend_from_slice(data);
    }
}

/// The spooled request body case (§5.1): the file body cannot be rewritten, the data is appended.
pub fn append_to_spooled(body: &mut Vec<u8>, start: usize, size: usize, data: &[u8]) {
    let size = if start > 0 && size == 0 {
        data.len()
    } else {
        size
    };
    let size = if start == 0 && size == 0 {
        data.len()
    } else {
        size
    };
    body.extend_from_slice(data.get(..size.min(data.len())).unwrap_or(data));
}

/// `get(start, max)`: WasmX ignores `start` and returns the first `min(len, max)` bytes.
pub fn get(body: &[u8], _start: usize, max: usize) -> &[u8] {
    body.get(..max.min(body.len())).unwrap_or(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after_set(initial: &str, start: usize, size: usize, data: &str) -> String {
        let mut body = initial.as_bytes().to_vec();
        set(&mut body, start, size, data.as_bytes());
        String::from_utf8(body).unwrap()
    }

    #[test]
    fn setter_table_of_wasmx() {
        let cases = [
            ("HelloWorld", 5, 3, "Wasm", "HelloWas"),
            ("hello", 5, 0, "LAST", "helloLAST"),
            ("hello", 9, 0, "LAST", "helloLAST"),
            ("hello", 0, 5, "longer body", "longe"),
            ("hello", 0, 11, "longer body", "longer body"),
            ("hello", 0, 0, "pre-", "pre-hello"),
            ("hello", 0, 0, "", ""),
            ("hello", 2, 10, "", "he"),
            ("", 0, 4, "new!", "new!"),
            ("abc", 1, 1, "XYZ", "aX"),
        ];
        for (initial, start, size, data, want) in cases {
            assert_eq!(
                after_set(initial, start, size, data),
                want,
                "set({start}, {size}, {data:?}) on {initial:?}"
            );
        }
    }

    #[test]
    fn safe_replacement_idiom_replaces_whole_body() {
        for (old, new) in [
            ("short", "a much longer body"),
            ("a much longer body", "short"),
            ("same!", "12345"),
        ] {
            let size = old.len().max(new.len());
            assert_eq!(after_set(old, 0, size, new), new);
        }
    }

    #[test]
    fn getter_ignores_start() {
        assert_eq!(get(b"HelloWorld", 5, 3), b"Hel");
        assert_eq!(get(b"HelloWorld", 0, 100), b"HelloWorld");
        assert_eq!(get(b"", 0, 10), b"");
    }

    #[test]
    fn spooled_body_appends() {
        let mut body = b"original".to_vec();
        append_to_spooled(&mut body, 0, 3, b"newtext");
        assert_eq!(body, b"originalnew");
    }
}
