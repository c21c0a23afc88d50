//! 1.2 ARNs of every partition, service kinds, terminators, AWS-owned ARNs.

use super::{check, v};

#[test]
fn service_kinds() {
    check(&[
        v!("arn:aws:iam::123456789012:user/Mary_Major" => [ARN_IAM_USER: "arn:aws:iam::123456789012:user/Mary_Major"]),
        v!("arn:aws:iam::123456789012:role/service-role/my-role" => [ARN_IAM_ROLE: "arn:aws:iam::123456789012:role/service-role/my-role"]),
        v!("arn:aws:iam::123456789012:group/Admins" => [ARN: "arn:aws:iam::123456789012:group/Admins"]),
        v!("arn:aws:iam::123456789012:root" => [ARN: "arn:aws:iam::123456789012:root"]),
        v!("arn:aws:iam::111111111111:instance-profile/AmazonSSMRoleForInstancesQuickSetup" =>
            [ARN: "arn:aws:iam::111111111111:instance-profile/AmazonSSMRoleForInstancesQuickSetup"]),
        v!("arn:aws:sts::123456789012:assumed-role/Administrator/Shirley-Rodriguez" =>
            [ARN_STS: "arn:aws:sts::123456789012:assumed-role/Administrator/Shirley-Rodriguez"]),
        v!("arn:aws:s3:::amzn-s3-demo-bucket" => [ARN_S3: "arn:aws:s3:::amzn-s3-demo-bucket"]),
        v!("arn:aws:s3:us-west-2:123456789012:accesspoint/myaccesspoint" => [ARN_S3: "arn:aws:s3:us-west-2:123456789012:accesspoint/myaccesspoint"]),
        v!("arn:aws:lambda:us-east-2:123456789012:function:my-function:BLUE" => [ARN_LAMBDA: "arn:aws:lambda:us-east-2:123456789012:function:my-function:BLUE"]),
        v!("arn:aws:lambda:us-east-2:123456789012:function:f:$LATEST" => [ARN_LAMBDA: "arn:aws:lambda:us-east-2:123456789012:function:f:$LATEST"]),
        v!("arn:aws:sns:us-west-2:123456789012:my-sns-topic" => [ARN_SNS: "arn:aws:sns:us-west-2:123456789012:my-sns-topic"]),
        v!("arn:aws:dynamodb:us-west-2:111122223333:table/Forum" => [ARN_DYNAMODB: "arn:aws:dynamodb:us-west-2:111122223333:table/Forum"]),
        v!("arn:aws:cloudformation:us-east-1:123456789012:stack/Stack2/5da91650-94b1-11f0-81cf-0a23500e151b" =>
            [ARN_CFN_STACK: "arn:aws:cloudformation:us-east-1:123456789012:stack/Stack2/5da91650-94b1-11f0-81cf-0a23500e151b"]),
        v!("arn:aws:secretsmanager:us-west-2:123456789012:secret:MyTestDatabaseSecret-a1b2c3" =>
            [ARN_SECRET: "arn:aws:secretsmanager:us-west-2:123456789012:secret:MyTestDatabaseSecret-a1b2c3"]),
        v!("arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/app/my-load-balancer/50dc6c495c0c9188" =>
            [ARN_ELB: "arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/app/my-load-balancer/50dc6c495c0c9188"]),
        v!("arn:aws:ecs:us-west-2:123456789012:cluster/MyCluster" => [ARN_ECS: "arn:aws:ecs:us-west-2:123456789012:cluster/MyCluster"]),
        v!("arn:aws:eks:us-east-2:111122223333:cluster/my-eks-cluster" => [ARN_EKS: "arn:aws:eks:us-east-2:111122223333:cluster/my-eks-cluster"]),
        v!("arn:aws:acm:us-west-2:123456789012:certificate/6a55389b-306b-4e8c-a95c-0123456789ab" =>
            [ARN_ACM: "arn:aws:acm:us-west-2:123456789012:certificate/6a55389b-306b-4e8c-a95c-0123456789ab"]),
        v!("arn:aws:logs:us-east-1:123456789012:log-group:/aws/pipes/Demo_LogGroup" => [ARN_LOGS: "arn:aws:logs:us-east-1:123456789012:log-group:/aws/pipes/Demo_LogGroup"]),
        v!("arn:aws:ssm:us-west-2:786973925828:parameter/MyParameter" => [ARN_SSM: "arn:aws:ssm:us-west-2:786973925828:parameter/MyParameter"]),
        v!("arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab" => [ARN_KMS: "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"]),
        v!("arn:aws:rds:us-east-1:123456789012:db:mysql-db" => [ARN_RDS: "arn:aws:rds:us-east-1:123456789012:db:mysql-db"]),
        v!("arn:aws:ec2:us-east-1:123456789012:instance/i-0b263919b6498b123" => [ARN: "arn:aws:ec2:us-east-1:123456789012:instance/i-0b263919b6498b123"]),
        v!("arn:aws:sqs:us-east-1:123456789012:MyQueue" => [ARN: "arn:aws:sqs:us-east-1:123456789012:MyQueue"]),
        v!("arn:aws:cloudformation:us-east-1:123456789012:changeSet/cs/abc" => [ARN: "arn:aws:cloudformation:us-east-1:123456789012:changeSet/cs/abc"]),
    ]);
}

/// Some ARNs end at their account; the organizations ARN of a member names its account.
#[test]
fn account_only_and_member_accounts() {
    check(&[
        v!("\"namespaceArn\": \"arn:aws:iotthingsgraph:us-west-2:210987654321\"" =>
            [ARN: "arn:aws:iotthingsgraph:us-west-2:210987654321"]),
        v!("Principal: arn:aws:iam::210987654321. Then 210987654321 again" =>
            [ARN: "arn:aws:iam::210987654321", ACCOUNT: "210987654321"]),
        v!("arn:aws:iam::21098765432" => []),
        v!("arn:aws:route53:::hostedzone/hosted zone ID: the hosted zone" =>
            [ARN: "arn:aws:route53:::hostedzone/hosted"]),
        v!("arn:aws:route53:::hostedzone/Z3M3LMPEXAMPLE and Z3M3LMPEXAMPLE" =>
            [ARN: "arn:aws:route53:::hostedzone/Z3M3LMPEXAMPLE", HOSTED_ZONE: "Z3M3LMPEXAMPLE"]),
        v!("arn:aws:iam::2109876543210" => []),
        v!("arn:aws:iam::210987654321x" => []),
        v!("{\"Id\": \"222233334444\", \"Arn\": \"arn:aws:organizations::210987654321:account/o-a1b2c3d4e5/222233334444\"}" =>
            [ACCOUNT: "222233334444",
             ARN: "arn:aws:organizations::210987654321:account/o-a1b2c3d4e5/222233334444"]),
        v!("arn:aws:organizations::210987654321:policy/o-a1b2c3d4e5/service_control_policy/p-examplepolicyid111 and 111122223333" =>
            [ARN: "arn:aws:organizations::210987654321:policy/o-a1b2c3d4e5/service_control_policy/p-examplepolicyid111"]),
    ]);
}

#[test]
fn every_partition() {
    check(&[
        v!("arn:aws-cn:iam::123456789012:role/Admin" => [ARN_IAM_ROLE: "arn:aws-cn:iam::123456789012:role/Admin"]),
        v!("arn:aws-us-gov:s3:::gov-bucket" => [ARN_S3: "arn:aws-us-gov:s3:::gov-bucket"]),
        v!("arn:aws-iso:ec2:us-iso-east-1:123456789012:vpc/vpc-a01106c2" => [ARN: "arn:aws-iso:ec2:us-iso-east-1:123456789012:vpc/vpc-a01106c2"]),
        v!("arn:aws-iso-b:sns:us-isob-east-1:123456789012:t" => [ARN_SNS: "arn:aws-iso-b:sns:us-isob-east-1:123456789012:t"]),
        v!("arn:aws-iso-e:kms:eu-isoe-west-1:123456789012:key/k" => [ARN_KMS: "arn:aws-iso-e:kms:eu-isoe-west-1:123456789012:key/k"]),
        v!("arn:aws-iso-f:lambda:us-isof-south-1:123456789012:function:f" => [ARN_LAMBDA: "arn:aws-iso-f:lambda:us-isof-south-1:123456789012:function:f"]),
        v!("arn:aws-eusc:iam::123456789012:user/u" => [ARN_IAM_USER: "arn:aws-eusc:iam::123456789012:user/u"]),
        v!("arn:aws-future-partition:iam::123456789012:user/u" => [ARN_IAM_USER: "arn:aws-future-partition:iam::123456789012:user/u"]),
        v!("ARN:AWS:IAM::123456789012:ROLE/X" => [ARN_IAM_ROLE: "ARN:AWS:IAM::123456789012:ROLE/X"]),
        v!("Arn:aws:iam::123456789012:role/x" => [ARN_IAM_ROLE: "Arn:aws:iam::123456789012:role/x"]),
    ]);
}

#[test]
fn wildcards_and_substitutions_in_slots() {
    // Policies and templates: the account and resource are there whatever the other slots say.
    check(&[
        v!(r#""Resource": "arn:aws:logs:*:987654321098:log-group:/app/prod:*""# => [ARN_LOGS: "arn:aws:logs:*:987654321098:log-group:/app/prod:*"]),
        v!("arn:aws:ec2:*:987654321098:instance/*" => [ARN: "arn:aws:ec2:*:987654321098:instance/*"]),
        v!("arn:aws:iam::*:role/SecretProjectRole" => [ARN_IAM_ROLE: "arn:aws:iam::*:role/SecretProjectRole"]),
        v!("!Sub 'arn:${AWS::Partition}:iam::987654321098:role/DeployRole'" => [ARN_IAM_ROLE: "arn:${AWS::Partition}:iam::987654321098:role/DeployRole"]),
        v!("arn:aws:logs:${AWS::Region}:987654321098:log-group:app" => [ARN_LOGS: "arn:aws:logs:${AWS::Region}:987654321098:log-group:app"]),
        v!(r#"topic = "arn:aws:sns:${var.region}:987654321098:alerts-topic""# => [ARN_SNS: "arn:aws:sns:${var.region}:987654321098:alerts-topic"]),
        v!("arn:${data.aws_partition.current.partition}:s3:::logs-bucket-x" => [ARN_S3: "arn:${data.aws_partition.current.partition}:s3:::logs-bucket-x"]),
        // The account learned from one is masked where it stands alone.
        v!("arn:aws:sns:*:987654321098:t and account 987654321098" => [ARN_SNS: "arn:aws:sns:*:987654321098:t", ACCOUNT: "987654321098"]),
        // Patterns that name nothing of anyone's, and public AWS resources: left alone.
        v!("arn:aws:sns:*:*:* arn:aws:kms:*:*:key/* arn:aws:iam::*:role/* arn:aws:logs:*:*:log-group:*" => []),
        v!("arn:${data.aws_partition.current.partition}:iam::${local.account_id}:root" => []),
        v!(r#""arn:aws:s3:::${var.bucket}/*""# => []),
        v!("arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-sonnet-20240229-v1:0" => []),
        v!("arn:aws:states:::lambda:invoke arn:aws:ssm:us-east-1::parameter/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64" => []),
        // What a list glues to a skipped one is still read.
        v!("--resources arn:aws:states:::lambda:invoke,arn:aws:lambda:us-east-1:123456789012:function:f" =>
            [ARN_LAMBDA: "arn:aws:lambda:us-east-1:123456789012:function:f"]),
        v!("arn:aws:iam::aws:policy/ReadOnlyAccess,arn:aws:iam::123456789012:role/R" =>
            [ARN_IAM_ROLE: "arn:aws:iam::123456789012:role/R"]),
        // A lone name is something even with a wildcard account.
        v!("arn:aws:sqs:*:*:payments-queue" => [ARN: "arn:aws:sqs:*:*:payments-queue"]),
        v!("arn:aws:sns:${AWS::Region}:${AWS::AccountId}:orders-topic" => [ARN_SNS: "arn:aws:sns:${AWS::Region}:${AWS::AccountId}:orders-topic"]),
        // A bucket, a path or a name is something: masked, substitutions and all.
        v!("arn:aws:s3:::logs/*" => [ARN_S3: "arn:aws:s3:::logs/*"]),
        v!("arn:aws:s3:::${var.bucket}/private/${var.user}" => [ARN_S3: "arn:aws:s3:::${var.bucket}/private/${var.user}"]),
        v!("arn:aws:bedrock:us-east-1:987654321098:provisioned-model/abc" => [ARN: "arn:aws:bedrock:us-east-1:987654321098:provisioned-model/abc"]),
        // Not ARNs: no partition, an unclosed or spaced substitution.
        v!("arn:foo:iam::987654321098:role/x arn:${ AWS }:iam::1:role/y arn:${x:iam::1:role/z" => []),
    ]);
}

#[test]
fn terminators_and_punctuation() {
    check(&[
        v!("\"arn:aws:iam::123456789012:role/Admin\"" => [ARN_IAM_ROLE: "arn:aws:iam::123456789012:role/Admin"]),
        v!("see arn:aws:iam::123456789012:role/Admin." => [ARN_IAM_ROLE: "arn:aws:iam::123456789012:role/Admin"]),
        v!("arn:aws:iam::123456789012:role/Admin, then" => [ARN_IAM_ROLE: "arn:aws:iam::123456789012:role/Admin"]),
        v!("(arn:aws:iam::123456789012:role/Admin)" => [ARN_IAM_ROLE: "arn:aws:iam::123456789012:role/Admin"]),
        v!("arn:aws:iam::123456789012:role/a,b.c@d=e+f" => [ARN_IAM_ROLE: "arn:aws:iam::123456789012:role/a,b.c@d=e+f"]),
        v!("arn:aws:s3:::bucket/key with space" => [ARN_S3: "arn:aws:s3:::bucket/key"]),
        // Read decoded, the escaped slash is a slash: one ARN, as a JSON reader sees it.
        v!("arn:aws:s3:::my-bucket\\/logs" => [ARN_S3: "arn:aws:s3:::my-bucket\\/logs"]),
        v!("<arn:aws:sns:us-east-1:123456789012:t>" => [ARN_SNS: "arn:aws:sns:us-east-1:123456789012:t"]),
        v!("[\"arn:aws:sns:us-east-1:123456789012:a\",\"arn:aws:sns:us-east-1:123456789012:b\"]" =>
            [ARN_SNS: "arn:aws:sns:us-east-1:123456789012:a", ARN_SNS: "arn:aws:sns:us-east-1:123456789012:b"]),
        v!("arn:aws:logs:us-east-1:123456789012:log-group:*" => [ARN_LOGS: "arn:aws:logs:us-east-1:123456789012:log-group:*"]),
        // Every bucket: a pattern that names none (see wildcards_and_substitutions_in_slots).
        v!("arn:aws:s3:::*" => []),
        v!("?a=arn:aws:sns:us-east-1:123456789012:t&b=1" => [ARN_SNS: "arn:aws:sns:us-east-1:123456789012:t"]),
    ]);
}

#[test]
fn not_arns() {
    check(&[
        // AWS-managed: no customer data.
        v!("arn:aws:iam::aws:policy/AdministratorAccess" => []),
        v!("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole" => []),
        v!("arn:" => []),
        v!("arn:aws" => []),
        v!("arn:aws:iam" => []),
        v!("arn:aws:iam::123456789012:" => []),
        v!("arn:gcp:iam::123456789012:role/x" => []),
        v!("learn:aws:iam::123456789012:role/x" => []),
        v!("barn: the animals" => []),
        v!("an arn: it identifies" => []),
        v!("ec2:DescribeInstances s3:GetObject aws:SourceAccount" => []),
    ]);
}
