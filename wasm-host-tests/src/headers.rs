//! Header maps as the filter sees them: pseudo-headers, case-insensitive lookup, and WasmX's special keys.

use crate::codec::Pair;
use crate::dispatch::DispatchResult;
use crate::state::{HttpState, Level};

/// The proxy-wasm map types WasmX serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MapKind {
    Request,
    Response,
    CallResponse,
}

impl MapKind {
    pub fn from_abi(map_type: i32) -> Option<Self> {
        match map_type {
            0 => Some(Self::Request),
            2 => Some(Self::Response),
            6 => Some(Self::CallResponse),
            _ => None,
        }
    }
}

/// How a setter changes a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Replace,
    Add,
    Remove,
}

pub(crate) fn eq(a: &[u8], b: &[u8]) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// First value of `name` in `headers`, case-insensitively.
pub fn find<'a>(headers: &'a [Pair], name: &[u8]) -> Option<&'a [u8]> {
    headers
        .iter()
        .find(|(k, _)| eq(k, name))
        .map(|(_, v)| v.as_slice())
}

fn status_text(status: u16) -> Vec<u8> {
    format!("{status:03}").into_bytes()
}

/// The whole map, with pseudo-headers after the regular ones (WasmX appends its "extras").
pub(crate) fn pairs(
    h: &HttpState,
    kind: MapKind,
    call: Option<&DispatchResult>,
) -> Option<Vec<Pair>> {
    match kind {
        MapKind::Request => {
            let mut all = h.request_headers.clone();
            for key in [&b":path"[..], b":method", b":scheme", b":authority"] {
                if let Some(v) = special(h, kind, key, call).filter(|v| !v.is_empty()) {
                    all.push((key.to_vec(), v));
                }
            }
            Some(all)
        }
        MapKind::Response => {
            let mut all = h.response_headers.clone();
            if let Some(v) = special(h, kind, b":status", call) {
                all.push((b":status".to_vec(), v));
            }
            Some(all)
        }
        MapKind::CallResponse => {
            let mut all = match call? {
                Ok(resp) => resp.headers.clone(),
                Err(_) => Vec::new(),
            };
            for key in [&b":status"[..], b":dispatch_status"] {
                if let Some(v) = special(h, kind, key, call) {
                    all.push((key.to_vec(), v));
                }
            }
            Some(all)
        }
    }
}

fn special(
    h: &HttpState,
    kind: MapKind,
    key: &[u8],
    call: Option<&DispatchResult>,
) -> Option<Vec<u8>> {
    match (kind, key) {
        (MapKind::Request, b":path") => Some(h.path.clone()),
        (MapKind::Request, b":method") => Some(h.method.clone()),
        (MapKind::Request, b":scheme") => Some(h.scheme.clone()),
        (MapKind::Request, b":authority") => Some(h.authority.clone()),
        (MapKind::Response, b":status") => {
            (h.response_status != 0).then(|| status_text(h.response_status))
        }
        (MapKind::CallResponse, b":status") => match call? {
            Ok(resp) => Some(status_text(resp.status)),
            Err(_) => None,
        },
        (MapKind::CallResponse, b":dispatch_status") => match call? {
            Ok(_) => Some(b"ok".to_vec()),
            Err(failure) => Some(failure.status_text().as_bytes().to_vec()),
        },
        _ => None,
    }
}

/// One value: special keys first, then the map.
pub(crate) fn value(
    h: &HttpState,
    kind: MapKind,
    key: &[u8],
    call: Option<&DispatchResult>,
) -> Option<Vec<u8>> {
    if key.starts_with(b":") {
        if let Some(v) = special(h, kind, &key.to_ascii_lowercase(), call) {
            return Some(v);
        }
    }
    let map = match kind {
        MapKind::Request => &h.request_headers,
        MapKind::Response => &h.response_headers,
        MapKind::CallResponse => match call? {
            Ok(resp) => &resp.headers,
            Err(_) => return None,
        },
    };
    find(map, key).map(<[u8]>::to_vec)
}

/// Applies a setter to the request or response map. Returns log lines WasmX would write.
pub(crate) fn apply(
    h: &mut HttpState,
    kind: MapKind,
    key: &[u8],
    value: &[u8],
    op: Op,
) -> Vec<(Level, String)> {
    let mut logs = Vec::new();
    let lower = key.to_ascii_lowercase();
    match (kind, lower.as_slice(), op) {
        (MapKind::Request, b":path", Op::Replace | Op::Add) => h.path = value.to_vec(),
        (MapKind::Request, b":method", Op::Replace | Op::Add) => h.method = value.to_vec(),
        (MapKind::Request, b":scheme" | b":authority", Op::Replace | Op::Add) => {
            logs.push((
                Level::Err,
                format!(
                    "cannot set read-only \"{}\" header",
                    String::from_utf8_lossy(key)
                ),
            ));
        }
        (MapKind::Response, b":status", Op::Replace | Op::Add) => {
            match std::str::from_utf8(value)
                .ok()
                .and_then(|s| s.parse::<u16>().ok())
            {
                Some(code @ 100..=599) => h.response_status = code,
                _ => logs.push((
                    Level::Warn,
                    format!(
                        "ignoring attempt to set invalid response status: \"{}\"",
                        String::from_utf8_lossy(value)
                    ),
                )),
            }
        }
        (_, k, _) if k.starts_with(b":") => {}
        _ => {
            let map = match kind {
                MapKind::Request => &mut h.request_headers,
                _ => &mut h.response_headers,
            };
            match op {
                Op::Add => map.push((key.to_vec(), value.to_vec())),
                Op::Remove => map.retain(|(k, _)| !eq(k, key)),
                Op::Replace => {
                    let first = map.iter().position(|(k, _)| eq(k, key));
                    map.retain(|(k, _)| !eq(k, key));
                    let at = first.unwrap_or(map.len()).min(map.len());
                    map.insert(at, (key.to_vec(), value.to_vec()));
                }
            }
        }
    }
    logs
}

/// Clears a map before `proxy_set_header_map_pairs`.
pub(crate) fn clear(h: &mut HttpState, kind: MapKind) {
    match kind {
        MapKind::Request => h.request_headers.clear(),
        MapKind::Response => h.response_headers.clear(),
        MapKind::CallResponse => {}
    }
}

/// `get_property` for the supported subset (WASMX.md §6.3); the path is dot-joined.
pub(crate) fn property(
    h: Option<&HttpState>,
    filter_name: &str,
    root_id: u32,
    path: &str,
) -> Option<Vec<u8>> {
    match path {
        "plugin_name" => return Some(filter_name.as_bytes().to_vec()),
        "plugin_root_id" => return Some(root_id.to_string().into_bytes()),
        "kong.nginx.subsystem" => return Some(b"http".to_vec()),
        "kong.client.protocol" => return Some(b"http".to_vec()),
        _ => {}
    }
    let h = h?;
    if let Some(name) = path.strip_prefix("request.headers.") {
        return find(&h.request_headers, name.as_bytes()).map(<[u8]>::to_vec);
    }
    if let Some(name) = path.strip_prefix("response.headers.") {
        return find(&h.response_headers, name.as_bytes()).map(<[u8]>::to_vec);
    }
    let url_path = h
        .path
        .split(|&b| b == b'?')
        .next()
        .unwrap_or_default()
        .to_vec();
    let query = h
        .path
        .iter()
        .position(|&b| b == b'?')
        .map(|i| h.path.get(i + 1..).unwrap_or_default().to_vec());
    match path {
        "request.path" => Some(h.path.clone()),
        "request.url_path" => Some(url_path),
        "request.query" => Some(query.unwrap_or_default()),
        "request.method" => Some(h.method.clone()),
        "request.scheme" => Some(h.scheme.clone()),
        "request.host" => Some(h.authority.clone()),
        "request.protocol" => Some(b"HTTP/1.1".to_vec()),
        "request.useragent" => find(&h.request_headers, b"user-agent").map(<[u8]>::to_vec),
        "request.referer" => find(&h.request_headers, b"referer").map(<[u8]>::to_vec),
        "request.id" => find(&h.request_headers, b"x-request-id").map(<[u8]>::to_vec),
        "request.size" => Some(h.request_body.len().to_string().into_bytes()),
        "response.code" => {
            (h.response_status != 0).then(|| h.response_status.to_string().into_bytes())
        }
        _ => None,
    }
}
