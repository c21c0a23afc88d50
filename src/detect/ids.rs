//! Resource IDs of the `<prefix>-<tail>` family (EC2, VPC, EFS, Organizations, KMS
//! multi-Region keys, Bedrock short-lived keys), anchored on the `-` after the prefix.

use super::bytes::{
    all, any, at, before, eq_ic, is_alnum, is_base64, is_hex, run, run_back, slice,
};
use super::kinds::*;
use super::KindId;

/// What may follow a prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tail {
    /// 17 or 8 hex, or (second tier) 8 to 17 alphanumerics with a digit.
    Id,
    /// `8-4-4-4-12` alphanumerics (Spot Fleet, EC2 Fleet).
    Uuid,
    /// `[a-z0-9]{10,32}` with a digit (Organizations ID).
    Org,
    /// `[0-9a-z]{4,32}-[a-z0-9]{8,32}` (organizational unit).
    OrgUnit,
    /// Exactly 10 `[a-z0-9]` with a digit and a letter (Elastic Beanstalk environment).
    Beanstalk,
    /// 32 hex (KMS multi-Region key).
    Mrk,
    /// Base64 of 20 or more characters (Bedrock short-lived key).
    Base64,
    /// An IPv4 address written with dashes (`ip-10-0-1-17`, `ec2-203-0-113-12`).
    DashedIp,
}

type Entry = (&'static [u8], KindId, Tail);

/// Prefixes whose first segment is `word`: the rest of the prefix after `word-`, longest first.
fn entries(word: &[u8]) -> &'static [Entry] {
    use Tail::*;
    match word {
        b"i" => &[(b"", EC2, Id)],
        b"r" => &[(b"", RESERVATION, Id)],
        b"ami" | b"aki" | b"ari" => &[(b"", AMI, Id)],
        b"vol" => &[(b"", VOLUME, Id)],
        b"snap" => &[(b"", SNAPSHOT, Id)],
        b"vpc" => &[(b"cidr-assoc-", CIDR_ASSOC, Id), (b"", VPC, Id)],
        b"subnet" => &[(b"cidr-assoc-", CIDR_ASSOC, Id), (b"", SUBNET, Id)],
        b"sg" => &[(b"", SECURITY_GROUP, Id)],
        b"sgr" => &[(b"", SG_RULE, Id)],
        b"eni" => &[(b"attach-", ENI_ATTACH, Id), (b"", ENI, Id)],
        b"igw" => &[(b"", IGW, Id)],
        b"eigw" => &[(b"", EIGW, Id)],
        b"nat" => &[(b"", NAT_GW, Id)],
        b"rtb" => &[(b"", ROUTE_TABLE, Id)],
        b"rtbassoc" => &[(b"", RTB_ASSOC, Id)],
        b"acl" => &[(b"", NACL, Id)],
        b"aclassoc" => &[(b"", NACL_ASSOC, Id)],
        b"eipalloc" => &[(b"", EIP_ALLOC, Id)],
        b"eipassoc" => &[(b"", EIP_ASSOC, Id)],
        b"tgw" => &[
            (b"mcast-domain-", TGW_MCAST, Id),
            (b"attach-", TGW_ATTACH, Id),
            (b"rtb-", TGW_RTB, Id),
            (b"", TGW, Id),
        ],
        b"vpce" => &[(b"svc-", VPCE_SVC, Id), (b"", VPCE, Id)],
        b"pcx" => &[(b"", PEERING, Id)],
        b"lt" => &[(b"", LAUNCH_TEMPLATE, Id)],
        b"key" => &[(b"", KEY_PAIR, Id)],
        b"pg" => &[(b"", PLACEMENT_GROUP, Id)],
        b"dopt" => &[(b"", DHCP_OPTIONS, Id)],
        b"cgw" => &[(b"", CUSTOMER_GW, Id)],
        b"vgw" => &[(b"", VPN_GW, Id)],
        b"vpn" => &[(b"", VPN, Id)],
        b"pl" => &[(b"", PREFIX_LIST, Id)],
        b"cr" => &[(b"", CAPACITY_RES, Id)],
        b"crf" => &[(b"", CR_FLEET, Id)],
        b"h" => &[(b"", DEDICATED_HOST, Id)],
        b"hr" => &[(b"", HOST_RES, Id)],
        b"fl" => &[(b"", FLOW_LOG, Id)],
        b"sir" => &[(b"", SPOT_REQUEST, Id)],
        b"sfr" => &[(b"", SPOT_FLEET, Uuid)],
        b"fleet" => &[(b"", EC2_FLEET, Uuid)],
        b"ipam" => &[
            (b"pool-", IPAM_POOL, Id),
            (b"scope-", IPAM_SCOPE, Id),
            (b"", IPAM, Id),
        ],
        b"cvpn" => &[(b"endpoint-", CLIENT_VPN, Id)],
        b"tmf" | b"tmt" | b"tms" => &[(b"", TRAFFIC_MIRROR, Id)],
        b"cagw" => &[(b"", CARRIER_GW, Id)],
        b"lgw" => &[(b"rtb-", LGW_RTB, Id), (b"", LOCAL_GW, Id)],
        b"afi" | b"agfi" => &[(b"", FPGA_IMAGE, Id)],
        b"import" => &[(b"ami-", IMPORT_TASK, Id), (b"snap-", IMPORT_TASK, Id)],
        b"export" => &[(b"ami-", EXPORT_TASK, Id)],
        b"iip" => &[(b"assoc-", IIP_ASSOC, Id)],
        b"fs" => &[(b"", EFS, Id)],
        b"fsmt" => &[(b"", EFS_MOUNT, Id)],
        b"fsap" => &[(b"", EFS_AP, Id)],
        b"e" => &[(b"", BEANSTALK_ENV, Beanstalk)],
        b"o" => &[(b"", ORG, Org)],
        b"ou" => &[(b"", ORG_UNIT, OrgUnit)],
        b"mrk" => &[(b"", KMS_KEY, Mrk)],
        b"bedrock" => &[(b"api-key-", BEDROCK_KEY, Base64)],
        b"ip" | b"ec2" => &[(b"", EC2_HOST, DashedIp)],
        _ => &[],
    }
}

/// First segments of every prefix in [`entries`] (and `--` flags are handled elsewhere).
const WORDS: &[&[u8]] = &[
    b"i",
    b"r",
    b"ami",
    b"aki",
    b"ari",
    b"vol",
    b"snap",
    b"vpc",
    b"subnet",
    b"sg",
    b"sgr",
    b"eni",
    b"igw",
    b"eigw",
    b"nat",
    b"rtb",
    b"rtbassoc",
    b"acl",
    b"aclassoc",
    b"eipalloc",
    b"eipassoc",
    b"tgw",
    b"vpce",
    b"pcx",
    b"lt",
    b"key",
    b"pg",
    b"dopt",
    b"cgw",
    b"vgw",
    b"vpn",
    b"pl",
    b"cr",
    b"crf",
    b"h",
    b"hr",
    b"fl",
    b"sir",
    b"sfr",
    b"fleet",
    b"ipam",
    b"cvpn",
    b"tmf",
    b"tmt",
    b"tms",
    b"cagw",
    b"lgw",
    b"afi",
    b"agfi",
    b"import",
    b"export",
    b"iip",
    b"fs",
    b"fsmt",
    b"fsap",
    b"e",
    b"o",
    b"ou",
    b"mrk",
    b"bedrock",
    b"ip",
];

/// Bit `b` of entry `a` is set when some word of [`WORDS`] ends in letters `a`, `b` (index
/// 26 stands for "no letter": one-letter words).
const LAST_TWO: [u32; 27] = {
    let mut t = [0u32; 27];
    let mut w = 0;
    while w < WORDS.len() {
        let word = WORDS[w];
        let n = word.len();
        let last = (word[n - 1] - b'a') as usize;
        let prev = if n >= 2 {
            (word[n - 2] - b'a') as usize
        } else {
            26
        };
        t[prev] |= 1 << last;
        w += 1;
    }
    t
};

/// Cheap necessary condition of [`at_hyphen`]: the two letters before the `-` at `h` end
/// some prefix word. Rejects most hyphenated English (`well-known`, `on-call`).
#[inline]
pub(crate) fn may_end_prefix(b: &[u8], h: usize) -> bool {
    let last = before(b, h).to_ascii_lowercase();
    let prev = before(b, h.saturating_sub(1)).to_ascii_lowercase();
    // `ec2-203-0-113-12`: the one prefix word that ends in a digit.
    if last == b'2' && prev == b'c' {
        return true;
    }
    if !last.is_ascii_lowercase() || h == 0 {
        return false;
    }
    let row = if prev.is_ascii_lowercase() {
        usize::from(prev - b'a')
    } else if is_alnum(prev) {
        return false;
    } else {
        26
    };
    LAST_TWO
        .get(row)
        .is_some_and(|bits| bits & (1 << (last - b'a')) != 0)
}

/// End of `tail` starting at `p`, if it matches there.
pub(crate) fn tail_end(b: &[u8], p: usize, tail: Tail) -> Option<usize> {
    let n = run(b, p, is_alnum);
    let s = slice(b, p, p + n);
    let digit = |s: &[u8]| any(s, |c| c.is_ascii_digit());
    let ok = match tail {
        Tail::Id => ((n == 17 || n == 8) && all(s, is_hex)) || ((8..=17).contains(&n) && digit(s)),
        Tail::Org => {
            (10..=32).contains(&n)
                && all(s, |c| c.is_ascii_lowercase() || c.is_ascii_digit())
                && digit(s)
        }
        Tail::Beanstalk => {
            n == 10
                && all(s, |c| c.is_ascii_lowercase() || c.is_ascii_digit())
                && digit(s)
                && any(s, |c| c.is_ascii_lowercase())
        }
        Tail::Mrk => n == 32 && all(s, is_hex),
        Tail::OrgUnit => {
            let lower = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
            let m = run(b, p + n + 1, is_alnum);
            let ok = (4..=32).contains(&n)
                && all(s, lower)
                && at(b, p + n) == b'-'
                && (8..=32).contains(&m)
                && all(slice(b, p + n + 1, p + n + 1 + m), lower);
            return ok.then_some(p + n + 1 + m);
        }
        Tail::Uuid => return uuid_end(b, p),
        Tail::DashedIp => return dashed_ip_end(b, p),
        Tail::Base64 => {
            let m = run(b, p, is_base64);
            let pad = run(b, p + m, |c| c == b'=').min(2);
            return (m >= 20).then_some(p + m + pad);
        }
    };
    ok.then_some(p + n)
}

/// End of four octets (0-255) joined by `-` at `p`.
fn dashed_ip_end(b: &[u8], p: usize) -> Option<usize> {
    let mut q = p;
    for k in 0..4 {
        if k > 0 {
            if at(b, q) != b'-' {
                return None;
            }
            q += 1;
        }
        let n = run(b, q, |c| c.is_ascii_digit());
        let octet = slice(b, q, q + n)
            .iter()
            .fold(0u32, |acc, c| acc * 10 + u32::from(c - b'0'));
        if n == 0 || n > 3 || octet > 255 {
            return None;
        }
        q += n;
    }
    Some(q)
}

/// End of a UUID-shaped `8-4-4-4-12` run of alphanumerics at `p` (documentation writes
/// `EXAMPLE` and `xmpl` in them, so hex is not required).
pub(crate) fn uuid_end(b: &[u8], p: usize) -> Option<usize> {
    let mut q = p;
    for (k, len) in [8usize, 4, 4, 4, 12].into_iter().enumerate() {
        if k > 0 {
            if at(b, q) != b'-' {
                return None;
            }
            q += 1;
        }
        if run(b, q, is_alnum) != len {
            return None;
        }
        q += len;
    }
    Some(q)
}

/// A prefixed ID whose first `-` is at `h`: its span and kind.
pub(crate) fn at_hyphen(b: &[u8], h: usize) -> Option<(usize, usize, KindId)> {
    let w = run_back(b, h, 9, is_alnum);
    if w == h || is_alnum(before(b, w)) || !at(b, w).is_ascii_alphabetic() {
        return None;
    }
    let mut word = [0u8; 8];
    let len = h - w;
    for (slot, c) in word.iter_mut().zip(slice(b, w, h)) {
        *slot = c.to_ascii_lowercase();
    }
    for (rest, kind, tail) in entries(word.get(..len)?) {
        let p = h + 1;
        if !rest.is_empty() && !eq_ic(b, p, rest) {
            continue;
        }
        if let Some(end) = tail_end(b, p + rest.len(), *tail) {
            if !is_alnum(at(b, end)) {
                return Some((w, end, *kind));
            }
        }
    }
    None
}
