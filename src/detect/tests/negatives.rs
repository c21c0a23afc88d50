//! 1.9: what must never be masked, in prose and in JSON.

use super::{check, v};

#[test]
fn regions_zones_endpoints_principals_actions() {
    check(&[
        v!("us-east-1 cn-north-1 us-gov-west-1 eusc-de-east-1 us-iso-east-1 us-isob-east-1 eu-isoe-west-1 us-isof-south-1" => []),
        v!("ap-southeast-2 me-central-1 af-south-1 il-central-1 mx-central-1 sa-east-1 ca-central-1" => []),
        v!("us-east-1a us-west-2-lax-1a use1-az2 usw2-az1" => []),
        v!("\"AvailabilityZone\": \"us-east-1a\", \"RegionName\": \"us-west-2\"" => []),
        v!("ec2.us-east-1.amazonaws.com sts.amazonaws.com s3.us-west-2.amazonaws.com sqs.us-east-1.amazonaws.com" => []),
        v!("ec2.us-east-1.api.aws lambda.amazonaws.com ecs-tasks.amazonaws.com" => []),
        v!("\"Service\": \"ec2.amazonaws.com\"" => []),
        v!("\"Action\": [\"ec2:DescribeInstances\", \"s3:GetObject\", \"iam:PassRole\"]" => []),
        v!("\"Condition\": {\"StringEquals\": {\"aws:SourceAccount\": \"${aws:PrincipalAccount}\"}}" => []),
        v!("arn:aws:iam::aws:policy/AdministratorAccess alias/aws/s3 alias/aws/ebs" => []),
        v!("169.254.169.254 fd00:ec2::254 169.254.169.253 fd00:ec2::253 169.254.169.123 fd00:ec2::123 169.254.170.2" => []),
        v!("127.0.0.1 0.0.0.0/0 ::1 ::/0 localhost" => []),
    ]);
}

#[test]
fn versions_dates_times_numbers_hashes() {
    check(&[
        v!("\"Version\": \"2012-10-17\"" => []),
        v!("API version 2016-11-15, CLI v2.11.0, boto3 1.34.12, Python 3.11.7" => []),
        v!("12:30:45 2024-08-14T01:13:23Z 2024-08-14T01:13:23.123+00:00" => []),
        v!("epoch 1472499213 and 1472499213109 ms" => []),
        v!("\"x-amzn-RequestId\": \"5da91650-94b1-11f0-81cf-0a23500e151b\"" => []),
        v!("request 1234abcd-12ab-34cd-56ef-1234567890ab" => []),
        v!("da39a3ee5e6b4b0d3255bfef95601890afd80709" => []),
        v!("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" => []),
        v!("\"X-Amz-Content-Sha256\": \"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"" => []),
        v!("image@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" => []),
        v!("\"Size\": 123456789012, \"Count\": 42" => []),
        v!("db.t3.micro m5.xlarge t3.nano gp3 io2" => []),
        v!("multi-az anti-i-pattern e-governance api- taxi- sub-net vpc-peering sg-rules" => []),
        v!("mongodb feedback blogs catalogs redis-cluster my-db-cluster" => []),
        v!("The quick brown fox: jumps. Over = the / lazy_dog - again." => []),
        v!("AWS_REGION=us-east-1 AWS_DEFAULT_OUTPUT=json AWS_PROFILE=dev" => []),
        v!("AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN" => []),
    ]);
}

#[test]
fn placeholders_are_not_detected_again() {
    let keys = crate::placeholder::Placeholders::new(b"0123456789abcdef0123456789abcdef");
    let d = super::detector();
    for label in crate::detect::Detector::builtin_labels() {
        for original in [
            "i-0b263919b6498b123",
            "123456789012",
            "AKIAIOSFODNN7EXAMPLE",
            "10.0.1.17",
        ] {
            let p = keys.derive(label, original, 0);
            let text = format!("see {p}, \"{p}\" and {p}.");
            let got = super::scan_checked(&d, &text, None);
            assert!(got.is_empty(), "{text}: {got:?}");
        }
    }
}
