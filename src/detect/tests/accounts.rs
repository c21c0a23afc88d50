//! 1.3 Account IDs: only in a context, in every listed form.

use super::{check, check_with, v};
use crate::detect::{Detector, DetectorConfig};

#[test]
fn json_keys_in_text() {
    check(&[
        v!("\"AccountId\": \"123456789012\"" => [ACCOUNT: "123456789012"]),
        v!("\"accountId\":\"123456789012\"" => [ACCOUNT: "123456789012"]),
        v!("\"AwsAccountId\": \"123456789012\"" => [ACCOUNT: "123456789012"]),
        v!("\"awsAccountId\": \"123456789012\"" => [ACCOUNT: "123456789012"]),
        v!("\"OwnerId\": \"123456789012\"" => [ACCOUNT: "123456789012"]),
        v!("\"InstanceOwnerId\": \"123456789012\"" => [ACCOUNT: "123456789012"]),
        v!("\"NetworkInterfaceOwnerId\": \"123456789012\"" => [ACCOUNT: "123456789012"]),
        v!("\"VpcOwnerId\": \"123456789012\"" => [ACCOUNT: "123456789012"]),
        v!("\"PeerOwnerId\": \"123456789012\"" => [ACCOUNT: "123456789012"]),
        v!("\"GroupOwnerId\": \"123456789012\"" => [ACCOUNT: "123456789012"]),
        v!("\"UserId\": \"123456789012\"" => [ACCOUNT: "123456789012"]),
        v!("\"RequesterId\": \"123456789012\"" => [ACCOUNT: "123456789012"]),
        v!("\"registryId\": \"123456789012\"" => [ACCOUNT: "123456789012"]),
        v!("\"ExpectedBucketOwner\": \"123456789012\"" => [ACCOUNT: "123456789012"]),
        v!("\"QueueOwnerAWSAccountId\": \"123456789012\"" => [ACCOUNT: "123456789012"]),
        v!("\"SourceAccount\": \"123456789012\"" => [ACCOUNT: "123456789012"]),
        v!("\"OwnerAccountId\": \"123456789012\"" => [ACCOUNT: "123456789012"]),
        v!("\"Account\": \"123456789012\"" => [ACCOUNT: "123456789012"]),
        v!("\"Principal\": {\"AWS\": \"123456789012\"}" => [ACCOUNT: "123456789012"]),
        v!("\"aws:SourceAccount\": \"123456789012\"" => [ACCOUNT: "123456789012"]),
        v!("\"UserId\": \"123456789012:my-federated-user-name\"" => [ACCOUNT: "123456789012"]),
        v!("\"OwnerIds\": [\"111122223333\", \"444455556666\"]" => [ACCOUNT: "111122223333", ACCOUNT: "444455556666"]),
        v!("'AccountId': '123456789012'" => [ACCOUNT: "123456789012"]),
        v!("\"CatalogId\": \"123456789012\"" => [ACCOUNT: "123456789012"]),
        v!("\"AdministratorId\": \"123456789012\", \"MasterId\": \"210987654321\"" =>
            [ACCOUNT: "123456789012", ACCOUNT: "210987654321"]),
        v!("\"ResourceOwner\": \"123456789012\"" => [ACCOUNT: "123456789012"]),
        v!("{\"TargetId\": \"111619863336\"} --target-id 333333333333" =>
            [ACCOUNT: "111619863336", ACCOUNT: "333333333333"]),
        v!("\"AccountIdsToAdd\": [\"123412341234\"], \"AccountIdsToRemove\": [\"210987654321\"]" =>
            [ACCOUNT: "123412341234", ACCOUNT: "210987654321"]),
        v!("{\"Principal\": \"432143214321\"} --principal 432143214322 \"aws:SourceOwner\": \"999999999988\"" =>
            [ACCOUNT: "432143214321", ACCOUNT: "432143214322", ACCOUNT: "999999999988"]),
        v!("\"Principal\": \"s3.amazonaws.com\"" => []),
        // YAML lists under an account key, one item a line.
        v!("Principal:\n  AWS:\n    - arn:aws:iam::123456789012:root\n    - '999999999999'\n" =>
            [ARN: "arn:aws:iam::123456789012:root", ACCOUNT: "999999999999"]),
        v!("owners:\n  - 099720109476\naccounts:\r\n  - \"123456789012\"\r\n  - 234567890123 # prod\nname: x" =>
            [ACCOUNT: "099720109476", ACCOUNT: "123456789012", ACCOUNT: "234567890123"]),
        v!("aws:SourceAccount:\n  - '999999999990'" => [ACCOUNT: "999999999990"]),
        v!("Accounts:\n  - !Ref Prod\n  - 123456789012\nowners:\n  - \"${X}\"\n  - 210987654321" =>
            [ACCOUNT: "123456789012", ACCOUNT: "210987654321"]),
        v!("steps:\n  - 123456789012\nowners:\n  - 12345678901234\n  - '123456789012x'" => []),
        // Terraform's principals block, and EC2's XML.
        v!("principals {\n    type        = \"AWS\"\n    identifiers = [\"999999999995\"]\n  }" =>
            [ACCOUNT: "999999999995"]),
        v!("principals {\n    type        = \"Service\"\n    identifiers = [\"123456789012\"]\n  }" => []),
        v!("<ownerId>210987654326</ownerId><groupOwnerId>123456789012</groupOwnerId>" =>
            [ACCOUNT: "210987654326", ACCOUNT: "123456789012"]),
        v!("<Bucket>acmelogs</Bucket> and acmelogs; x->ownerId>123456789012" =>
            [BUCKET: "acmelogs", BUCKET: "acmelogs"]),
        v!("\"VpcEndpointOwner\": \"123456789012\"" => [ACCOUNT: "123456789012"]),
        v!("--user-ids 123456789012" => [ACCOUNT: "123456789012"]),
        v!("\"UserIds\": [\"123456789012\"]" => [ACCOUNT: "123456789012"]),
        // A VPC flow log record (default format): version 2, the account, the interface.
        v!("2 123456789012 eni-0a1b2c3d4e5f67890 10.0.1.17 10.0.2.9 443 49152 6 10 840 1 2 ACCEPT OK" =>
            [ACCOUNT: "123456789012", ENI: "eni-0a1b2c3d4e5f67890", PRIVATE_IP: "10.0.1.17", PRIVATE_IP: "10.0.2.9"]),
        v!("v1.2 123456789012 eni-0a1b2c3d4e5f67890 and 3 123456789012 eni-0a1b2c3d" =>
            [ENI: "eni-0a1b2c3d4e5f67890", ENI: "eni-0a1b2c3d"]),
        // Those keys with other values (`ResourceOwner` can be `SELF`).
        v!("\"ResourceOwner\": \"SELF\", \"CatalogId\": \"1234\"" => []),
    ]);
}

#[test]
fn labels_in_prose_config_and_cli() {
    check(&[
        v!("account 123456789012" => [ACCOUNT: "123456789012"]),
        v!("in AWS account 123456789012." => [ACCOUNT: "123456789012"]),
        v!("Account ID: 1234-5678-9012" => [ACCOUNT: "1234-5678-9012"]),
        v!("Account ID 123456789012" => [ACCOUNT: "123456789012"]),
        v!("account number 123456789012" => [ACCOUNT: "123456789012"]),
        v!("accounts 111122223333 and 444455556666" => [ACCOUNT: "111122223333", ACCOUNT: "444455556666"]),
        v!("ACCOUNT 123456789012" => [ACCOUNT: "123456789012"]),
        v!("ACCOUNTS: 111122223333, 444455556666" => [ACCOUNT: "111122223333", ACCOUNT: "444455556666"]),
        v!("TARGET ACCOUNT 123456789012 (prod)" => [ACCOUNT: "123456789012"]),
        v!("The billing report lists ACCOUNT 123456789012 as the payer of this organization." => [ACCOUNT: "123456789012"]),
        v!("An Account ID: 123456789012 and ACCOUNT 444455556666" => [ACCOUNT: "123456789012", ACCOUNT: "444455556666"]),
        v!("AWS_ACCOUNT_ID=123456789012" => [ACCOUNT: "123456789012"]),
        v!("aws_account_id = 123456789012" => [ACCOUNT: "123456789012"]),
        v!("account_id: 123456789012" => [ACCOUNT: "123456789012"]),
        v!("--owner-ids 111122223333 444455556666" => [ACCOUNT: "111122223333", ACCOUNT: "444455556666"]),
        v!("--aws-account-ids 111122223333" => [ACCOUNT: "111122223333"]),
        v!("--account-id 111122223333" => [ACCOUNT: "111122223333"]),
        v!("--expected-bucket-owner 111122223333" => [ACCOUNT: "111122223333"]),
        v!("aws ec2 describe-images --owners 987654321098 amazon" => [ACCOUNT: "987654321098"]),
        v!("s3://trail-bucket/AWSLogs/987654321098/CloudTrail/us-east-1/2024/" => [S3_URI: "s3://trail-bucket/AWSLogs/987654321098/CloudTrail/us-east-1/2024/"]),
        v!("prefix AWSLogs/987654321098/CloudTrail then 987654321098 again" => [ACCOUNT: "987654321098", ACCOUNT: "987654321098"]),
        v!("{\"Key\": \"AWSLogs/987654321098/elasticloadbalancing/x\"}" => [ACCOUNT: "987654321098"]),
        v!("owners = [\"987654321098\", \"amazon\"]" => [ACCOUNT: "987654321098"]),
        // As Markdown writes labels: tables, bold, code, a dash.
        v!("| Account ID | 987654321098 |" => [ACCOUNT: "987654321098"]),
        v!("**Account ID:** 987654321098" => [ACCOUNT: "987654321098"]),
        v!("account: `987654321098`" => [ACCOUNT: "987654321098"]),
        v!("Account ID - 987654321098" => [ACCOUNT: "987654321098"]),
    ]);
}

#[test]
fn integer_and_hyphen_forms() {
    check(&[
        v!("\"AccountId\": 123456789012" => [ACCOUNT: "123456789012"]),
        v!("\"AccountId\": 12345678901," => [ACCOUNT: "12345678901"]),
        v!("\"AccountId\": 123456789" => [ACCOUNT: "123456789"]),
        v!("\"AccountId\": 12345678" => []),
        v!("\"AccountId\": \"1234-5678-9012\"" => [ACCOUNT: "1234-5678-9012"]),
        v!(key = "AccountId", "123456789012" => [ACCOUNT: "123456789012"]),
        v!(key = "AccountId", "12345678901" => [ACCOUNT: "12345678901"]),
        v!(key = "accountId", "1234-5678-9012" => [ACCOUNT: "1234-5678-9012"]),
        v!(key = "OwnerId", "amazon" => []),
        v!(key = "RequesterId", "AIDACKCEVSQ6C2EXAMPLE" => [IAM_ID: "AIDACKCEVSQ6C2EXAMPLE"]),
        v!(key = "UserId", "123456789012:my-user" => [ACCOUNT: "123456789012"]),
        v!(key = "Name", "123456789012" => []),
    ]);
}

#[test]
fn no_context_no_account() {
    check(&[
        v!("123456789012" => []),
        v!("order 123456789012 shipped" => []),
        v!("call +1 123456789012" => []),
        v!("an-instance-1472499213109" => []),
        v!("1472499213109" => []),
        v!("\"Timestamp\": 1472499213109" => []),
        v!("\"AccountId\": \"1234567890123\"" => []),
        v!("\"AccountId\": \"12345678901a\"" => []),
        v!("account 1234567890123" => []),
        v!("the account was closed in 2019" => []),
        v!("\"OwnerId\": \"amazon\"" => []),
        v!("2024-08-14 1234-5678" => []),
        v!("\"Count\": 123456789012" => []),
        v!("accounting 123456789012" => []),
    ]);
}

#[test]
fn learned_in_context_masked_bare() {
    check(&[
        v!("bare 123456789012 then arn:aws:iam::123456789012:role/Admin" =>
            [ACCOUNT: "123456789012", ARN_IAM_ROLE: "arn:aws:iam::123456789012:role/Admin"]),
        v!("arn:aws:iam::123456789012:role/Admin and 123456789012 but not 1234567890123" =>
            [ARN_IAM_ROLE: "arn:aws:iam::123456789012:role/Admin", ACCOUNT: "123456789012"]),
        v!("123456789012.dkr.ecr.us-east-1.amazonaws.com/app then 123456789012" =>
            [ECR_HOST: "123456789012.dkr.ecr.us-east-1.amazonaws.com/app", ACCOUNT: "123456789012"]),
        v!("https://sqs.us-east-1.amazonaws.com/123456789012/MyQueue owner 123456789012" =>
            [SQS_URL: "sqs.us-east-1.amazonaws.com/123456789012/MyQueue", ACCOUNT: "123456789012"]),
    ]);
}

#[test]
fn bare_accounts_opt_in() {
    let d = Detector::new(&DetectorConfig {
        bare_account_ids: true,
        ..DetectorConfig::default()
    })
    .unwrap();
    check_with(
        &d,
        &[
            v!("order 123456789012 shipped" => [ACCOUNT: "123456789012"]),
            v!("1472499213109" => []),
            v!("x123456789012" => []),
            v!("2024-08-14" => []),
        ],
    );
}

/// A YAML list is read to its end, however long.
#[test]
fn long_yaml_lists_are_read_whole() {
    let items: Vec<String> = (0..300)
        .map(|k| format!("{:012}", 100_000_000_000u64 + k))
        .collect();
    let text = format!(
        "accounts:\n{}",
        items
            .iter()
            .map(|a| format!("  - {a}\n"))
            .collect::<String>()
    );
    let d = Detector::new(&DetectorConfig::default()).unwrap();
    let mut known = crate::detect::KnownValues::default();
    let mut out = Vec::new();
    d.scan_known(&text, None, &mut known, &mut out);
    assert_eq!(out.len(), 300, "{out:?}");
}
