//! The response side of an exchange: response headers, body chunks with WasmX's end-of-stream and buffering
//! rules (WASMX.md §5.2), and the log phase.

use crate::codec::Pair;
use crate::exchange::{CONTINUE, PAUSE};
use crate::headers;
use crate::matrix::Phase;
use crate::request::{
    content_length, to_pairs, to_strings, Exchange, RequestOutcome, ResponseHead,
};
use crate::state::Level;
use crate::worker::{host_line, Worker};

const HOP_BY_HOP: [&str; 4] = ["transfer-encoding", "connection", "keep-alive", "upgrade"];

const ERROR_500: &[u8] = b"<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n<body>\r\n<center><h1>500 Internal Server Error</h1></center>\r\n</body>\r\n</html>\r\n";

const ERROR_502: &[u8] = b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n";

/// nginx's own error response; the filter's response steps still run on it (if the filter is alive).
fn error_page(ex: &mut Exchange, status: u16, body: &[u8]) -> (u16, Vec<Pair>) {
    ex.local_body = Some(body.to_vec());
    let headers = vec![
        (b"content-type".to_vec(), b"text/html".to_vec()),
        (
            b"content-length".to_vec(),
            body.len().to_string().into_bytes(),
        ),
    ];
    (status, headers)
}

impl Worker {
    /// Runs the response-headers step on the upstream response head and returns the head the client gets.
    /// Pass `None` when there is no upstream response: for a local response or a failed filter (500), or,
    /// after [`RequestOutcome::Forward`], when the upstream could not be reached (502, as nginx answers).
    pub fn response_headers(
        &mut self,
        ex: &mut Exchange,
        upstream: Option<(u16, Vec<(String, String)>)>,
    ) -> ResponseHead {
        while let Some(pending) = ex.late.pop_front() {
            self.run_one(ex, pending);
        }
        let (status, headers) = if let Some(local) = &ex.http.local {
            let mut body = local.body.clone();
            if !body.is_empty() {
                body.push(b'\n');
            }
            let mut headers = local.headers.clone();
            headers.retain(|(k, _)| !headers::eq(k, b"content-length"));
            headers.push((
                b"content-length".to_vec(),
                body.len().to_string().into_bytes(),
            ));
            ex.local_body = Some(body);
            (local.status, headers)
        } else {
            match (upstream, &ex.outcome) {
                (Some((status, headers)), RequestOutcome::Forward(_)) => {
                    let headers: Vec<Pair> = to_pairs(&headers)
                        .into_iter()
                        .filter(|(k, _)| !HOP_BY_HOP.iter().any(|h| headers::eq(k, h.as_bytes())))
                        .collect();
                    (status, headers)
                }
                (None, RequestOutcome::Forward(_)) => error_page(ex, 502, ERROR_502),
                _ => error_page(ex, 500, ERROR_500),
            }
        };
        ex.original_cl = content_length(&headers);
        ex.http.response_status = status;
        ex.http.response_headers = headers;
        ex.http.response_started = true;
        let args = [
            ex.context_id as i32,
            ex.http.response_headers.len() as i32,
            0,
        ];
        if let Ok(action) = self.call(
            ex,
            Phase::ResponseHeaders,
            "proxy_on_response_headers",
            &args,
        ) {
            if let Some(body) = ex.http.local_replaced_body.take() {
                ex.http
                    .response_headers
                    .retain(|(k, _)| !headers::eq(k, b"content-length"));
                ex.original_cl = None;
                ex.local_body = Some(body);
            } else if action == Some(PAUSE) {
                ex.logs.push(host_line(
                    Level::Warn,
                    ex.context_id,
                    "\"ResponseHeaders\" returned \"PAUSE\": local response expected but none produced".to_string(),
                ));
            }
        }
        ex.http.headers_sent = true;
        let content_length = content_length(&ex.http.response_headers);
        ex.http.content_length_sent = content_length.is_some();
        ResponseHead {
            status: ex.http.response_status,
            headers: to_strings(&ex.http.response_headers),
            content_length,
        }
    }

    /// Runs the response-body step on one upstream chunk and returns the bytes to send to the client now
    /// (possibly none while the filter buffers). Chunks of a local or error response are ignored: that body
    /// is produced by [`Worker::finish`].
    pub fn response_body(&mut self, ex: &mut Exchange, chunk: &[u8]) -> Vec<u8> {
        if ex.local_body.is_some() || ex.finished {
            return Vec::new();
        }
        self.body_step(ex, chunk.to_vec(), false)
    }

    fn eos(ex: &Exchange, len: usize, last: bool) -> bool {
        match ex.original_cl {
            Some(cl) if cl > 0 => len as u64 == cl,
            _ => last,
        }
    }

    fn body_step(&mut self, ex: &mut Exchange, data: Vec<u8>, last: bool) -> Vec<u8> {
        if !ex.alive {
            return data;
        }
        if let Some(held) = ex.buffering.as_mut() {
            held.extend_from_slice(&data);
            let full = held.len() > self.settings.response_body_buffers;
            if !full && !last {
                return Vec::new();
            }
            let held = ex.buffering.take().unwrap_or_default();
            ex.buffering_used = true;
            let eos = Self::eos(ex, held.len(), last);
            return self.body_call(ex, held, eos);
        }
        let eos = Self::eos(ex, data.len(), last);
        if data.is_empty() && !eos {
            return Vec::new();
        }
        self.body_call(ex, data, eos)
    }

    fn body_call(&mut self, ex: &mut Exchange, data: Vec<u8>, eos: bool) -> Vec<u8> {
        ex.http.chunk = Some(data.clone());
        ex.http.in_body_filter = true;
        let args = [ex.context_id as i32, data.len() as i32, i32::from(eos)];
        let action = match self.call(ex, Phase::ResponseBody, "proxy_on_response_body", &args) {
            Ok(action) => action.unwrap_or(CONTINUE),
            Err(_) => return data,
        };
        let out = ex.http.chunk.take().unwrap_or_default();
        if action != PAUSE {
            return out;
        }
        if ex.buffering_used {
            ex.logs.push(host_line(
                Level::Err,
                ex.context_id,
                "invalid \"on_response_body\" return action (PAUSE): response body buffering already requested"
                    .to_string(),
            ));
            return out;
        }
        if eos {
            ex.buffering_used = true;
            return self.body_call(ex, out, eos);
        }
        ex.buffering = Some(out);
        Vec::new()
    }

    /// Ends the response: the local or error body, a buffered window, or the final empty end-of-stream call
    /// (none for a response with a non-zero Content-Length), then `on_done`, `on_log` and `on_delete`.
    /// Returns the last bytes for the client.
    pub fn finish(&mut self, ex: &mut Exchange) -> Vec<u8> {
        if ex.finished {
            return Vec::new();
        }
        let out = if ex.outcome == RequestOutcome::Hung {
            Vec::new()
        } else if let Some(body) = ex.local_body.take() {
            let out = if ex.alive {
                self.body_step(ex, body, true)
            } else {
                body
            };
            ex.local_body = Some(Vec::new());
            out
        } else if ex.buffering.is_some() {
            self.body_step(ex, Vec::new(), true)
        } else if matches!(ex.original_cl, Some(cl) if cl > 0) {
            Vec::new()
        } else {
            self.body_step(ex, Vec::new(), true)
        };
        ex.finished = true;
        if ex.alive && ex.created {
            let id = ex.context_id as i32;
            for export in ["proxy_on_done", "proxy_on_log", "proxy_on_delete"] {
                if self.call(ex, Phase::Log, export, &[id]).is_err() {
                    break;
                }
            }
        }
        out
    }
}
