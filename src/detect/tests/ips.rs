//! 1.8 IPv4 and IPv6, CIDR, and the 1.9 addresses that stay.

use super::{check, v};

#[test]
fn ipv4() {
    check(&[
        v!("10.0.1.17" => [PRIVATE_IP: "10.0.1.17"]),
        v!("172.16.0.1 172.31.255.255" => [PRIVATE_IP: "172.16.0.1", PRIVATE_IP: "172.31.255.255"]),
        v!("192.168.1.1" => [PRIVATE_IP: "192.168.1.1"]),
        v!("100.64.0.1 100.127.255.254" => [PRIVATE_IP: "100.64.0.1", PRIVATE_IP: "100.127.255.254"]),
        v!("172.32.0.1" => [PUBLIC_IP: "172.32.0.1"]),
        v!("100.128.0.1" => [PUBLIC_IP: "100.128.0.1"]),
        v!("203.0.113.12" => [PUBLIC_IP: "203.0.113.12"]),
        v!("52.52.41.150" => [PUBLIC_IP: "52.52.41.150"]),
        v!("\"PublicIpAddress\": \"34.253.223.13\"," => [PUBLIC_IP: "34.253.223.13"]),
        v!("10.0.0.0/16" => [PRIVATE_IP: "10.0.0.0"]),
        v!("203.0.113.0/24" => [PUBLIC_IP: "203.0.113.0"]),
        v!("at 10.0.1.17." => [PRIVATE_IP: "10.0.1.17"]),
        v!("10.0.1.17:8080" => [PRIVATE_IP: "10.0.1.17"]),
        v!("10.0.1.17-10.0.1.20" => [PRIVATE_IP: "10.0.1.17", PRIVATE_IP: "10.0.1.20"]),
        v!("(10.0.1.17)" => [PRIVATE_IP: "10.0.1.17"]),
    ]);
}

#[test]
fn not_ipv4() {
    check(&[
        v!("1.2.3.4" => []),
        v!("v2.11.0.1" => []),
        v!("version 4.5.63.2" => []),
        // Versions glued to their product's name, or pinned.
        v!("Mozilla/5.0 Chrome/124.0.0.0 Safari/537.36" => []),
        v!("linux-2.6.35.4/arch jdk-17.0.10.7 Django==4.2.11.1 pkg>=3.21.12.1" => []),
        // Addresses in URLs and after labels stay addresses.
        v!("http://54.239.28.85/ ip=52.52.41.150 host-a 34.253.223.13" =>
            [PUBLIC_IP: "54.239.28.85", PUBLIC_IP: "52.52.41.150", PUBLIC_IP: "34.253.223.13"]),
        v!("https://ipinfo.io/54.239.28.85/json GET /api/hosts/52.1.2.3" =>
            [PUBLIC_IP: "54.239.28.85", PUBLIC_IP: "52.1.2.3"]),
        v!("ip.addr==54.239.28.85 && ip.src!=52.94.76.1" =>
            [PUBLIC_IP: "54.239.28.85", PUBLIC_IP: "52.94.76.1"]),
        v!("1.2.3.4.5" => []),
        v!("10.0.1.17.5" => []),
        v!("256.1.1.1" => []),
        v!("10.0.01.1" => []),
        v!("10.0.1" => []),
        v!("127.0.0.1" => []),
        v!("0.0.0.0/0" => []),
        v!("169.254.169.254 169.254.169.253 169.254.169.123 169.254.170.2" => []),
        v!("224.0.0.1 255.255.255.0" => []),
        v!("2024.08.14" => []),
        v!("a10.0.1.17" => []),
        v!("10.0.1.17a" => []),
        v!(key = "Version", "52.52.41.150" => []),
        // A value that starts with a public-looking quad, under a key that names a version,
        // textual or the walker's. Private addresses are masked everywhere.
        v!(key = "EngineVersion", "10.2.3.4" => [PRIVATE_IP: "10.2.3.4"]),
        v!(key = "ImageVersion", "52.1.2.3-beta" => []),
        v!("{\"version_name\": \"1.0.2.94\", \"app_version_code\": \"10.2.3.4\"}" =>
            [PRIVATE_IP: "10.2.3.4"]),
        v!("image_version = \"52.1.2.3\"\nVERSION: 10.0.1.17" => [PRIVATE_IP: "10.0.1.17"]),
        // Free text under a version key, other keys, and a version named further back leave
        // an address one.
        v!(key = "VersionDescription", "moved DB to 52.1.2.3" => [PUBLIC_IP: "52.1.2.3"]),
        v!("{\"version\": 2, \"ip\": \"10.0.1.17\"}" => [PRIVATE_IP: "10.0.1.17"]),
        v!("\"versionless\": true, \"host\": \"52.1.2.3\"" => [PUBLIC_IP: "52.1.2.3"]),
        v!("\"conversion_ip\": \"52.1.2.3\", CONVERSION_IP=52.1.2.4" =>
            [PUBLIC_IP: "52.1.2.3", PUBLIC_IP: "52.1.2.4"]),
        v!(key = "conversionIp", "52.1.2.3" => [PUBLIC_IP: "52.1.2.3"]),
        v!("VERSION=52.1.2.3 and APP_VERSION: 52.1.2.4" => []),
    ]);
}

#[test]
fn ipv6() {
    check(&[
        v!("2001:db8:1234:1a00::" => [IPV6: "2001:db8:1234:1a00::"]),
        v!("2001:db8:1234:1a00::/64" => [IPV6: "2001:db8:1234:1a00::"]),
        v!("2001:0db8:85a3:0000:0000:8a2e:0370:7334" => [IPV6: "2001:0db8:85a3:0000:0000:8a2e:0370:7334"]),
        v!("fe80::1ff:fe23:4567:890a" => [IPV6: "fe80::1ff:fe23:4567:890a"]),
        v!("[2600:1f18::1]:443" => [IPV6: "2600:1f18::1"]),
        v!("::ffff:10.0.0.1" => [IPV6: "::ffff:10.0.0.1"]),
        v!("\"Ipv6Address\": \"2600:1f16:409:6700:e11d:d4d6:a785:ad8c\"" => [IPV6: "2600:1f16:409:6700:e11d:d4d6:a785:ad8c"]),
        // A label glued to the address by its colon.
        v!("v=spf1 ip6:2600:1f18:4a3:6902::/64 -all" => [IPV6: "2600:1f18:4a3:6902::"]),
        v!("addr:2600:1f18:4a3:6902::1" => [IPV6: "2600:1f18:4a3:6902::1"]),
        v!("X-Forwarded-For:2600:1f18:4a3:6902::7" => [IPV6: "2600:1f18:4a3:6902::7"]),
        v!("inet6:fe80::1ff:fe23:4567:890a" => [IPV6: "fe80::1ff:fe23:4567:890a"]),
        v!("fe80::1 and 2001:db8:0:0:1:0:0:1" => [IPV6: "fe80::1", IPV6: "2001:db8:0:0:1:0:0:1"]),
        v!("v=spf1 ip6:2600:1f18::/32 ~all, ::/0 and 2a05:d018::/36" => [IPV6: "2600:1f18::", IPV6: "2a05:d018::"]),
    ]);
}

#[test]
fn not_ipv6() {
    check(&[
        v!("::1" => []),
        v!("::" => []),
        v!("::/0" => []),
        v!("fd00:ec2::254 fd00:ec2::253 fd00:ec2::123" => []),
        v!("12:30:45" => []),
        v!("2024-08-14T01:13:23Z" => []),
        v!("ec2:DescribeInstances" => []),
        v!("std::vector" => []),
        v!("cache:dead::beef at12:30:45 ab:cd::ef" => []),
        // Code and byte strings that parse as addresses but are not written as one.
        v!("messagebus:x:100:102::/nonexistent alice:x:1000:1000::/home/alice" => []),
        v!("c::B0 => c::B50, bf16::E, F32::<BE>, arr[10::2], data[::100], nums[1000::2]" => []),
        v!("serial:AF:A2:8B:B9:33:AD:DA:AC keyid:5E:2F:11:22:33:44:55:66" => []),
        v!("ieee_address: 00:12:4b:00:1c:a1:b2:c3, wwpn 20:00:00:25:b5:00:00:0f" => []),
        v!("http://%5B::1]/" => []),
        v!("dead::beef" => []),
        v!("00:1a:2b:3c:4d:5e" => []),
        v!("2001:db8:1:2:3:4:5" => []),
        v!("arn:aws:eks:us-east-1:123456789012:cluster/c" => [ARN_EKS: "arn:aws:eks:us-east-1:123456789012:cluster/c"]),
    ]);
}
