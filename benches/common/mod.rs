//! Deterministic bodies shared by the benchmarks: realistic text about AWS (about 1 MiB, or a
//! given size), with about one identifier per 300 bytes ("dense") or none ("clean").
#![allow(dead_code)]

/// A linear congruential generator: the same bodies on every run and machine.
#[derive(Clone)]
pub struct Lcg(pub u64);

impl Lcg {
    pub fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as usize % n.max(1)
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

pub const SIZE: usize = 1 << 20;

/// Sentences an operator writes or reads, with the usual near-misses (regions, endpoints,
/// versions, times, request ids) and no identifier.
pub const PROSE: &[&str] = &[
    "The deployment finished without errors, and the service is now serving traffic in two regions. ",
    "Before you change the launch configuration, check the health checks of the target group. ",
    "We rotated the credentials yesterday; the old keys were deactivated at 14:30:00 UTC on 2024-08-14. ",
    "Multi-AZ deployments fail over automatically, so a well-known anti-pattern is to pin clients to one zone. ",
    "Version 2.11.0 of the CLI added pagination for this call (see the changelog for v2.10.3 too). ",
    "Can you explain why the e-commerce front end is slow after 6 p.m.? The p99 latency is 1.8 s. ",
    "Use the us-east-1 endpoint ec2.us-east-1.amazonaws.com, not sts.amazonaws.com, for this request. ",
    "The policy grants ec2:DescribeInstances and s3:GetObject to the service principal lambda.amazonaws.com. ",
    "Our on-call engineer looked at the dashboards: CPU at 73%, memory at 41%, and 12 open tickets. ",
    "Request 5da91650-94b1-11f0-81cf-0a23500e151b returned HTTP 503; retrying with exponential back-off. ",
    "The café team in São Paulo — and the one in Zürich — want the report by Friday. ",
];

/// A few accounts and buckets (a real body names few), used inside the identifiers below.
const ACCOUNTS: &[&str] = &["111122223333", "123456789012", "444455556666"];
const BUCKETS: &[&str] = &[
    "prod-us-west-2-uploads",
    "amzn-s3-demo-bucket",
    "team-logs-2024",
];

/// Identifier number `n`: one of many kinds, most of them distinct.
pub fn identifier(n: usize) -> String {
    let h = (n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let a = ACCOUNTS[n % ACCOUNTS.len()];
    let b = BUCKETS[n % BUCKETS.len()];
    let (o1, o2, o3) = (1 + (h >> 8) % 250, 1 + (h >> 16) % 250, 1 + (h >> 24) % 250);
    match n % 14 {
        0 | 7 => format!("i-{:017x}", h >> 4),
        1 => format!("vpc-{:017x}", h >> 4),
        2 => format!("subnet-{:017x}", h >> 4),
        3 => format!("sg-{:017x}", h >> 4),
        4 => format!("arn:aws:iam::{a}:role/service-role-{}", n % 50),
        5 => format!("arn:aws:lambda:us-west-2:{a}:function:handler-{}", n % 40),
        6 => format!("10.{o1}.{o2}.{o3}"),
        8 => format!("ip-10-{o1}-{o2}-{o3}.us-west-2.compute.internal"),
        9 => format!("s3://{b}/logs/2024/{}.gz", n % 100),
        10 => format!("arn:aws:s3:::{b}/exports/{}", n % 60),
        11 => format!("ami-{:017x}", h >> 4),
        12 => format!("db-{}.cx1llnox7iyx.us-west-2.rds.amazonaws.com", n % 30),
        _ => format!("vol-{:017x}", h >> 4),
    }
}

/// Stands where an identifier would be in the clean body: same look, no identifier.
const DECOYS: &[&str] = &[
    "web-server-nineteen",
    "t3.micro",
    "us-west-2b",
    "running",
    "v2.15.3",
];

/// Identifier numbers one body draws from.
const IDENTIFIERS: usize = 5000;

/// Builds a body and counts the identifiers it wrote.
#[derive(Clone)]
struct Writer {
    rng: Lcg,
    dense: bool,
    ids: usize,
    /// Bytes of body written so far (estimated from the content) and when the next id is due.
    len: usize,
    due: usize,
    /// Added to identifier numbers: another variant of a body names other identifiers.
    offset: usize,
}

impl Writer {
    /// An identifier if one is due, else a decoy.
    fn value(&mut self) -> String {
        if self.len >= self.due {
            self.due = self.len + 155;
            if self.dense {
                self.ids += 1;
                return identifier(self.rng.below(IDENTIFIERS) + self.offset);
            }
        }
        self.rng.pick(DECOYS).to_owned()
    }

    fn prose(&mut self, len: usize) -> String {
        let mut s = String::new();
        while s.len() < len {
            s.push_str(self.rng.pick(PROSE));
            self.len += 90;
            if self.len >= self.due {
                let v = self.value();
                s.push_str(&format!("Check {v} next. "));
            }
        }
        s
    }

    /// `aws ec2 describe-instances` output for two instances, as the CLI prints it.
    fn cli_output(&mut self) -> String {
        let mut instances = Vec::new();
        for _ in 0..2 {
            let field = |w: &mut Writer, cost: usize| {
                w.len += cost;
                w.value()
            };
            let inst = serde_json::json!({
                "AmiLaunchIndex": 0,
                "ImageId": field(self, 60),
                "InstanceId": field(self, 60),
                "InstanceType": "t3.micro",
                "LaunchTime": "2024-08-14T01:13:23+00:00",
                "Monitoring": {"State": "disabled"},
                "Placement": {"AvailabilityZone": "us-west-2b", "GroupName": "", "Tenancy": "default"},
                "PrivateDnsName": field(self, 80),
                "PrivateIpAddress": field(self, 60),
                "State": {"Code": 16, "Name": "running"},
                "SubnetId": field(self, 60),
                "VpcId": field(self, 60),
                "Architecture": "x86_64",
                "BlockDeviceMappings": [{"DeviceName": "/dev/xvda",
                    "Ebs": {"AttachTime": "2024-08-14T01:13:24+00:00", "DeleteOnTermination": true,
                            "Status": "attached", "VolumeId": field(self, 200)}}],
                "EbsOptimized": false,
                "Tags": [{"Key": "Name", "Value": "web-server"}],
            });
            instances.push(inst);
        }
        let owner = if self.dense {
            ACCOUNTS[0]
        } else {
            "not-an-account"
        };
        self.len += 300;
        let doc = serde_json::json!({"Reservations": [{"Groups": [], "Instances": instances,
            "OwnerId": owner, "ReservationId": "r-none"}]});
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    }
}

/// A Messages API request of about [`SIZE`] bytes: user prose, assistant text with AWS CLI
/// tool calls, and tool results holding the CLI's JSON output (JSON inside strings).
/// Returns the body and the number of identifiers written into it.
pub fn request_body(dense: bool) -> (Vec<u8>, usize) {
    build(dense, SIZE, false, 0)
}

/// A request like [`request_body`] of `size` bytes, give or take a sentence: whole turns while
/// they fit, then a user message of prose fills the rest.
pub fn request_body_sized(dense: bool, size: usize) -> (Vec<u8>, usize) {
    build(dense, size, true, 0)
}

/// [`request_body_sized`] with the same text around other identifiers (variant 0 is that
/// body): most of its instance, volume and subnet ids, addresses and hosts are new, while
/// its accounts, buckets and role names come from the same few (as a company's do).
pub fn request_body_variant(dense: bool, size: usize, variant: usize) -> (Vec<u8>, usize) {
    build(dense, size, true, variant * IDENTIFIERS)
}

/// Bytes around the messages (`model`, `max_tokens`, `system`) and around one user message.
const ENVELOPE: usize = 130;
const USER_FRAME: usize = 32;

/// Turns until `target` bytes; with `fit`, no turn goes past it and prose fills the rest
/// (without, the last turn may: the 1 MiB bodies of the criterion benches stay as they were).
fn build(dense: bool, target: usize, fit: bool, offset: usize) -> (Vec<u8>, usize) {
    let mut w = Writer {
        rng: Lcg(42),
        dense,
        ids: 0,
        len: 0,
        due: 150,
        offset,
    };
    let mut messages = Vec::new();
    let mut turn = 0;
    let mut size = 0;
    while size < target {
        let before = w.clone();
        let msg = match turn % 3 {
            0 => serde_json::json!({"role": "user", "content": w.prose(1500)}),
            1 => {
                let text = w.prose(400);
                let id = w.value();
                w.len += 120;
                serde_json::json!({"role": "assistant", "content": [
                    {"type": "text", "text": text},
                    {"type": "tool_use", "id": format!("toolu_{turn:08}"), "name": "aws_cli",
                     "input": {"command": format!("aws ec2 describe-instances --instance-ids {id}")}}]})
            }
            _ => serde_json::json!({"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": format!("toolu_{:08}", turn - 1),
                 "content": w.cli_output()}]}),
        };
        let len = serde_json::to_string(&msg).map_or(0, |s| s.len()) + 1;
        if fit && size + len + ENVELOPE > target {
            w = before;
            break;
        }
        size += len;
        w.len = size;
        messages.push(msg);
        turn += 1;
    }
    // Sentences run to about 100 bytes: aim half of one short so the body ends near `target`.
    let rest = target.saturating_sub(size + ENVELOPE + USER_FRAME + 50);
    if fit && rest > 0 {
        messages.push(serde_json::json!({"role": "user", "content": w.prose(rest)}));
    }
    let body = serde_json::json!({
        "model": "claude-sonnet-4-5-20250929", "max_tokens": 4096,
        "system": "You are an AWS operations assistant.", "messages": messages,
    });
    (serde_json::to_vec(&body).unwrap_or_default(), w.ids)
}

/// The text of every message of a (masked) request, joined: what a model answering about
/// it would write back, placeholders included.
pub fn answer_text(body: &[u8]) -> String {
    fn collect(v: &serde_json::Value, out: &mut String) {
        match v {
            serde_json::Value::String(s) => {
                out.push_str(s);
                out.push('\n');
            }
            serde_json::Value::Array(items) => items.iter().for_each(|i| collect(i, out)),
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    let prose = matches!(k.as_str(), "text" | "content" | "command");
                    if prose || v.is_array() || v.is_object() {
                        collect(v, out);
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = String::new();
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        collect(&v["messages"], &mut out);
    }
    out
}

/// A non-streamed Messages API response whose one text block is `text`.
pub fn response_json(text: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn", "usage": {"input_tokens": 1000, "output_tokens": 1000},
    }))
    .unwrap_or_default()
}

/// `text` as a Messages API event stream of ~20-byte `text_delta`s.
pub fn sse_stream(text: &str) -> Vec<u8> {
    let mut out = String::new();
    out.push_str("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[]}}\n\n");
    out.push_str("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n");
    let mut at = 0;
    while at < text.len() {
        let mut end = (at + 20).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        let piece = serde_json::to_string(&text[at..end]).unwrap_or_default();
        out.push_str("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":");
        out.push_str(&piece);
        out.push_str("}}\n\n");
        at = end;
    }
    out.push_str(
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
    );
    out.push_str("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
    out.into_bytes()
}
