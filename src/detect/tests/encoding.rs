//! Section 2: percent encoding (single and double) and case.

use super::{check, v};

#[test]
fn percent_encoded() {
    check(&[
        v!("arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2FAdmin" => [ARN_IAM_ROLE: "arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2FAdmin"]),
        v!("?role=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2FAdmin&x=1" => [ARN_IAM_ROLE: "arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2FAdmin"]),
        v!("arn%253Aaws%253Aiam%253A%253A123456789012%253Arole%252FAdmin" => [ARN_IAM_ROLE: "arn%253Aaws%253Aiam%253A%253A123456789012%253Arole%252FAdmin"]),
        v!("X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request" => [ACCESS_KEY: "AKIAIOSFODNN7EXAMPLE"]),
        v!("s3%3A%2F%2Fmy-bucket%2Fkey.txt" => [S3_URI: "s3%3A%2F%2Fmy-bucket%2Fkey.txt"]),
        v!("host=ip-10-0-1-17.ec2.internal%20now" => [EC2_HOST: "ip-10-0-1-17.ec2.internal"]),
        v!("i%2D0b263919b6498b123" => [EC2: "i%2D0b263919b6498b123"]),
        v!("ip%3D10.0.1.17" => [PRIVATE_IP: "10.0.1.17"]),
        v!("q=%22AccountId%22%3A%20%22123456789012%22" => [ACCOUNT: "123456789012"]),
        v!("X-Amz-Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024" => []),
        v!("100%25 done, 50%off %zz %4" => []),
        v!("caf%C3%A9 i-93633f9b" => [EC2: "i-93633f9b"]),
    ]);
}

#[test]
fn text_that_still_holds_json_escapes_is_read_decoded() {
    // JSON written into a string of a string (a log line, a Terraform plan, Python's repr of
    // a string): decoded once it still holds `\n`, `\t`, `\"`; whoever reads it decoded sees
    // a line break before the identifier, or a key in quotes before the value.
    check(&[
        v!(r"out: 'line1\nAKIAJ7Q3ZR5T2XWLMN4P'" => [ACCESS_KEY: "AKIAJ7Q3ZR5T2XWLMN4P"]),
        v!(r"cols\tAKIAJ7Q3ZR5T2XWLMN4P" => [ACCESS_KEY: "AKIAJ7Q3ZR5T2XWLMN4P"]),
        v!(r"Resources:\narn:aws:iam::987654321098:role/Deployer" => [ARN_IAM_ROLE: "arn:aws:iam::987654321098:role/Deployer"]),
        v!(r"a\n10.0.1.17" => [PRIVATE_IP: "10.0.1.17"]),
        v!(r"x\ti-0b263919b6498b123" => [EC2: "i-0b263919b6498b123"]),
        v!(r#"DEBUG creds={\"SecretAccessKey\":\"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"}"# => [SECRET_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"]),
        v!(r#"+ policy = "{\"Principal\":{\"AWS\":\"987654321098\"}}""# => [ACCOUNT: "987654321098"]),
        v!(r#"INFO params={\"Bucket\":\"secret-bkt-name\"}"# => [BUCKET: "secret-bkt-name"]),
        // Escaped twice (JSON in a string in a string).
        v!(r#"{\\\"Bucket\\\":\\\"secret-bkt-name\\\"}"# => [BUCKET: "secret-bkt-name"]),
        // An identifier spelled with escapes maps back to all of its raw text.
        v!(r"see \u0069-0b263919b6498b123" => [EC2: r"\u0069-0b263919b6498b123"]),
        // A backslash that starts no escape stays as it is: what follows maps back exactly.
        v!(r"C:\Users\Émile\temp AKIAJ7Q3ZR5T2XWLMN4P" => [ACCESS_KEY: "AKIAJ7Q3ZR5T2XWLMN4P"]),
        v!(r"\É\d \n arn:aws:iam::987654321098:role/R\" => [ARN_IAM_ROLE: r"arn:aws:iam::987654321098:role/R"]),
        v!(r"\n10.0.1.17\" => [PRIVATE_IP: "10.0.1.17"]),
        // Paths, regexes and escaped prose hold nothing.
        v!(r"C:\new\table\b.txt \d+\.\d+ caf\u00e9 \u0041WS" => []),
    ]);
}

#[test]
fn case_insensitive_prefixes_and_suffixes() {
    check(&[
        v!("I-0B263919B6498B123" => [EC2: "I-0B263919B6498B123"]),
        v!("SUBNET-04CCF456919E69055" => [SUBNET: "SUBNET-04CCF456919E69055"]),
        v!("IP-10-0-1-17.EC2.INTERNAL" => [EC2_HOST: "IP-10-0-1-17.EC2.INTERNAL"]),
        v!("MyDb.Cx1llnox7iyx.Us-West-2.Rds.AmazonAws.Com" => [RDS_HOST: "MyDb.Cx1llnox7iyx.Us-West-2.Rds.AmazonAws.Com"]),
        v!("ARN:AWS:S3:::B1" => [ARN_S3: "ARN:AWS:S3:::B1"]),
    ]);
}
