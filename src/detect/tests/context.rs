//! 1.6, 1.7 Context kinds: buckets, KMS, Route 53, CloudFront, API Gateway, Cognito,
//! CloudHSM, Organizations roots and policies, Beanstalk environments.

use super::{check, v};

#[test]
fn buckets() {
    check(&[
        v!("\"Bucket\": \"my-bucket\"" => [BUCKET: "my-bucket"]),
        v!("\"BucketName\": \"my.bucket.name\"" => [BUCKET: "my.bucket.name"]),
        v!("\"bucketName\": \"logs-2024\"" => [BUCKET: "logs-2024"]),
        v!("\"S3BucketName\": \"cfn-templates\"" => [BUCKET: "cfn-templates"]),
        v!("\"S3Bucket\": \"lambda-code\"" => [BUCKET: "lambda-code"]),
        v!("\"LoggingBucket\": \"access-logs\"" => [BUCKET: "access-logs"]),
        v!("bucket=my-bucket&key=x" => [BUCKET: "my-bucket"]),
        v!("--bucket my-bucket --key x" => [BUCKET: "my-bucket"]),
        v!("--bucket=my-bucket" => [BUCKET: "my-bucket"]),
        v!(key = "Bucket", "my-bucket" => [BUCKET: "my-bucket"]),
        v!(key = "destinationBucketName", "my-bucket" => [BUCKET: "my-bucket"]),
        v!("\"Bucket\": \"My_Bucket\"" => []),
        v!("\"Bucket\": \"ab\"" => []),
        v!("\"Bucket\": \"10.0.1.17\"" => [PRIVATE_IP: "10.0.1.17"]),
        v!("\"Bucket\": \"arn:aws:s3:::b1\"" => [ARN_S3: "arn:aws:s3:::b1"]),
        v!("\"Bucket\": \"a..b\"" => []),
        v!("\"Bucket\": \"-abc\"" => []),
        // Never guessed from words (pitfall 8).
        v!("blogs and catalogs and my-logs-bucket" => []),
        // Code that names things `bucket`: unquoted plain words are not buckets...
        v!("fn bucket_range(&self, bucket: usize) -> Range<usize>" => []),
        v!("let bucket = byte / 64;" => []),
        v!("hash->buckets = buckets;" => []),
        v!("bucket = value\nprint(value)" => []),
        // ...but names that look like one, quoted values, CLI flags, env files and YAML are.
        v!("S3_BUCKET=acmebackups" => [BUCKET: "acmebackups"]),
        v!("bucket: acmeinvoices" => [BUCKET: "acmeinvoices"]),
        v!("bucket: my-logs-2024" => [BUCKET: "my-logs-2024"]),
        v!("bucket = \"mybucket\"" => [BUCKET: "mybucket"]),
        v!("--bucket mybucket" => [BUCKET: "mybucket"]),
        v!("the bucket is full" => []),
        // Literals and the names code gives variables are never learned as buckets (each
        // would be masked everywhere in the body).
        v!("RestrictPublicBuckets: true\nassociate_public_ip_address = true" => []),
        v!("restrict_public_buckets = true and BucketKeyEnabled: true" => []),
        v!(key = "ObjectLockEnabledForBucket", "true" => []),
        v!("buckets: default\nthe default name" => []),
        v!("s3.get_object(Bucket=name, Key=key) with the default name" => []),
        v!("const params = { Bucket: bucket, Key: key };" => []),
        v!("source_bucket = event[\"Records\"][0] and event" => []),
        v!("Bucket=logs-2024, Key=key" => [BUCKET: "logs-2024"]),
        v!("BUCKET=acmelogs; aws s3 ls acmelogs" => [BUCKET: "acmelogs", BUCKET: "acmelogs"]),
        // The CLI's shorthand and INI files name buckets with plain words too.
        v!("aws rekognition detect-labels --image \"S3Object={Bucket=acmephotos,Name=x.jpg}\"" =>
            [BUCKET: "acmephotos"]),
        v!("--code S3Bucket=acmecode,S3Key=function.zip" => [BUCKET: "acmecode"]),
        v!("LoggingEnabled={TargetBucket=acmelogs,TargetPrefix=x}" => [BUCKET: "acmelogs"]),
        v!("BucketName: acmelogs, Region: us-east-1" => [BUCKET: "acmelogs"]),
        v!("bucket_name = acmelogs\nsource_bucket = acmesrc;" =>
            [BUCKET: "acmelogs", BUCKET: "acmesrc"]),
        v!("dest_bucket=acmelogs; aws s3 ls" => [BUCKET: "acmelogs"]),
        // Code under any bucket key: calls, indexes, references into code's namespaces,
        // types, and prose after a flag are never learned.
        v!("s3_bucket_name=dict(),\nfilters = dict(name=name)" => []),
        v!("BUCKET_NAME = os.environ['BUCKET_NAME']\nprint(os.environ)" => []),
        v!("s3_bucket = module.params.get(\"s3_bucket\")\nmodule.params.get(\"x\")" => []),
        v!("filtered_buckets = list(x)\ny = list(z)" => []),
        v!("def f(number_of_buckets: int, create_bucket: bool = True) -> int:" => []),
        v!("bucket_name = sys.argv[1]; const bucketName = event.bucket;" => []),
        v!("bucket = each.value\nbucket = var.bucket\ntarget_bucket = local.name" => []),
        v!("\"TargetBucket\": logging[\"TargetBucket\"]" => []),
        v!("Use --s3-bucket with a name, or pass it with --s3-bucket next time." => []),
        v!("BITBUCKET = \"bitbucket-pipelines\"" => []),
        // A name with a remark after it, and a host name, are no code.
        v!("Bucket: acme-prod-logs (versioning enabled)" => [BUCKET: "acme-prod-logs"]),
        v!("--bucket acme-prod-logs [required] --bucket env.acme-corp.com" =>
            [BUCKET: "acme-prod-logs", BUCKET: "env.acme-corp.com"]),
        // Dotted bucket names are host names, whatever their first word.
        v!("bucket: data.example.com" => [BUCKET: "data.example.com"]),
        // A flag padded to a column is help text, its description no value; a value with a
        // shape is a value however far it is.
        v!("--secret-access-key  q8Lw3Ke9Zt1Rb7Yp0Xn4Vm2Qs6Du5Hf8Jc3Ga1Po --owners  123456789012" =>
            [SECRET_KEY: "q8Lw3Ke9Zt1Rb7Yp0Xn4Vm2Qs6Du5Hf8Jc3Ga1Po", ACCOUNT: "123456789012"]),
        v!("--bucket   acme-prod-logs --rest-api-id  1wm2dx1f33" =>
            [BUCKET: "acme-prod-logs", APIGW: "1wm2dx1f33"]),
        v!("Options:\n  --source-bucket          where to copy from\n  --bucket  use a bucket" => []),
        // Learned in context, masked bare.
        v!("s3://data-lake-raw/x then data-lake-raw again, not data-lake-raw-2" =>
            [S3_URI: "s3://data-lake-raw/x", BUCKET: "data-lake-raw"]),
        v!("arn:aws:s3:::corp-secrets/a and corp-secrets" => [ARN_S3: "arn:aws:s3:::corp-secrets/a", BUCKET: "corp-secrets"]),
    ]);
}

/// Keys padded to a column (`terraform fmt`, aligned YAML and INI files) keep their values.
#[test]
fn padded_keys() {
    check(&[
        v!("    bucket         = \"acme-tfstate-prod\"" => [BUCKET: "acme-tfstate-prod"]),
        v!("bucket\t= \"acme-tfstate-prod\"" => [BUCKET: "acme-tfstate-prod"]),
        v!("BucketName:        acme-tfstate-prod" => [BUCKET: "acme-tfstate-prod"]),
        v!("S3_BUCKET=\tacme-tfstate-prod" => [BUCKET: "acme-tfstate-prod"]),
        v!("aws_secret_access_key   = q8Lw3Ke9Zt1Rb7Yp0Xn4Vm2Qs6Du5Hf8Jc3Ga1Po" =>
            [SECRET_KEY: "q8Lw3Ke9Zt1Rb7Yp0Xn4Vm2Qs6Du5Hf8Jc3Ga1Po"]),
        v!("aws_secret_access_key\t=\tq8Lw3Ke9Zt1Rb7Yp0Xn4Vm2Qs6Du5Hf8Jc3Ga1Po" =>
            [SECRET_KEY: "q8Lw3Ke9Zt1Rb7Yp0Xn4Vm2Qs6Du5Hf8Jc3Ga1Po"]),
        v!("SecretAccessKey      : q8Lw3Ke9Zt1Rb7Yp0Xn4Vm2Qs6Du5Hf8Jc3Ga1Po" =>
            [SECRET_KEY: "q8Lw3Ke9Zt1Rb7Yp0Xn4Vm2Qs6Du5Hf8Jc3Ga1Po"]),
        v!("  kms_key_id     = \"4f2b8c1e-9d3a-4c7b-8e2f-1a6d5c9b3e70\"" =>
            [KMS_KEY: "4f2b8c1e-9d3a-4c7b-8e2f-1a6d5c9b3e70"]),
        v!("  owner_id     = \"210987654321\"" => [ACCOUNT: "210987654321"]),
        v!("  owners       = [\n    \"210987654321\"\n  ]" => [ACCOUNT: "210987654321"]),
        v!("owner_ids = [\n\t\"210987654321\"\n]" => [ACCOUNT: "210987654321"]),
        v!("owner_ids = [\r\n            \"210987654321\"\r\n]" => [ACCOUNT: "210987654321"]),
        // A subscript's key (environment variables set in code).
        v!("os.environ[\"AWS_SECRET_ACCESS_KEY\"] = \"q8Lw3Ke9Zt1Rb7Yp0Xn4Vm2Qs6Du5Hf8Jc3Ga1Po\"" =>
            [SECRET_KEY: "q8Lw3Ke9Zt1Rb7Yp0Xn4Vm2Qs6Du5Hf8Jc3Ga1Po"]),
        v!("os.environ['AWS_ACCOUNT_ID'] = '111122223333'; ENV[\"S3_BUCKET\"]=\"acme-logs\"" =>
            [ACCOUNT: "111122223333", BUCKET: "acme-logs"]),
        v!("values[\"name\"] = \"acme-logs\"" => []),
        // Markdown tables: a key in one cell, its value in the next.
        v!("| aws_secret_access_key | q8Lw3Ke9Zt1Rb7Yp0Xn4Vm2Qs6Du5Hf8Jc3Ga1Po |" =>
            [SECRET_KEY: "q8Lw3Ke9Zt1Rb7Yp0Xn4Vm2Qs6Du5Hf8Jc3Ga1Po"]),
        v!("| KmsKeyId | 4f2b8c1e-9d3a-4c7b-8e2f-1a6d5c9b3e70 |" =>
            [KMS_KEY: "4f2b8c1e-9d3a-4c7b-8e2f-1a6d5c9b3e70"]),
        // ...but a pipe after a bucket variable sends it to a command.
        v!("echo $bucket | aws s3 cp - s3://x-logs/a" => [S3_URI: "s3://x-logs/a"]),
        v!("echo $AWS_SECRET_ACCESS_KEY | base64" => []),
        // A line break ends the key's reach.
        v!("bucket =\nacme-tfstate-prod" => []),
    ]);
}

#[test]
fn kms() {
    check(&[
        v!("\"KeyId\": \"1234abcd-12ab-34cd-56ef-1234567890ab\"" => [KMS_KEY: "1234abcd-12ab-34cd-56ef-1234567890ab"]),
        v!("\"KmsKeyId\": \"b0844d6c-xmpl-4463-97a4-d49f50839966\"" => [KMS_KEY: "b0844d6c-xmpl-4463-97a4-d49f50839966"]),
        v!("\"TargetKeyId\": \"1234abcd-12ab-34cd-56ef-1234567890ab\"" => [KMS_KEY: "1234abcd-12ab-34cd-56ef-1234567890ab"]),
        v!(key = "KeyId", "1234abcd-12ab-34cd-56ef-1234567890ab" => [KMS_KEY: "1234abcd-12ab-34cd-56ef-1234567890ab"]),
        v!("--key-id 1234abcd-12ab-34cd-56ef-1234567890ab" => [KMS_KEY: "1234abcd-12ab-34cd-56ef-1234567890ab"]),
        v!("\"RequestId\": \"1234abcd-12ab-34cd-56ef-1234567890ab\"" => []),
        v!("request 1234abcd-12ab-34cd-56ef-1234567890ab failed" => []),
        v!("\"AccessKeyId\": \"AKIAIOSFODNN7EXAMPLE\"" => [ACCESS_KEY: "AKIAIOSFODNN7EXAMPLE"]),
        v!("arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab and 1234abcd-12ab-34cd-56ef-1234567890ab" =>
            [ARN_KMS: "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", KMS_KEY: "1234abcd-12ab-34cd-56ef-1234567890ab"]),
        v!("alias/ExampleAlias" => [KMS_ALIAS: "alias/ExampleAlias"]),
        v!("\"AliasName\": \"alias/my-key_1\"" => [KMS_ALIAS: "alias/my-key_1"]),
        v!("alias/aws/s3" => []),
        v!("targets/lambda_alias/defaults/main.yml and my-alias/x" => []),
        v!("names that begin with alias/aws are reserved" => []),
        v!("\"AliasName\": \"alias/aws\"" => []),
        v!("alias/awsome-key" => [KMS_ALIAS: "alias/awsome-key"]),
        v!("malias/x" => []),
    ]);
}

#[test]
fn route53_cloudfront_apigw() {
    check(&[
        v!("\"HostedZoneId\": \"Z3M3LMPEXAMPLE\"" => [HOSTED_ZONE: "Z3M3LMPEXAMPLE"]),
        v!("/hostedzone/Z2R2ITUGPM61AM" => [HOSTED_ZONE: "Z2R2ITUGPM61AM"]),
        v!(key = "HostedZoneId", "Z3M3LMPEXAMPLE" => [HOSTED_ZONE: "Z3M3LMPEXAMPLE"]),
        v!("Z3M3LMPEXAMPLE" => []),
        v!("\"HostedZoneId\": \"z3m3\"" => []),
        v!("\"DistributionId\": \"EDFDVBD6EXAMPLE\"" => [CF_DISTRIBUTION: "EDFDVBD6EXAMPLE"]),
        v!("--distribution-id E1XNX8R2GOAABC" => [CF_DISTRIBUTION: "E1XNX8R2GOAABC"]),
        v!("EDFDVBD6EXAMPLE" => []),
        v!("\"DistributionId\": \"EXAMPLE\"" => []),
        v!("\"restApiId\": \"1wm2dx1f33\"" => [APIGW: "1wm2dx1f33"]),
        v!("api_id = response[\"id\"]\napiId: deployment" => []),
        v!("\"ApiId\": \"aabbccddee\" restApiId: a1b2c3d4e5 (prod stage)" =>
            [APIGW: "aabbccddee", APIGW: "a1b2c3d4e5"]),
        v!(key = "restApiId", "zxqwvbnmpl" => [APIGW: "zxqwvbnmpl"]),
        v!("\"ApiId\": \"a1b2c3d4\"" => [APIGW: "a1b2c3d4"]),
        v!("/restapis/1wm2dx1f33/stages" => [APIGW: "1wm2dx1f33"]),
        v!("--rest-api-id 1wm2dx1f33" => [APIGW: "1wm2dx1f33"]),
        v!("\"ApiId\": \"ab\"" => []),
    ]);
}

#[test]
fn cognito_hsm_orgs_beanstalk() {
    check(&[
        v!("us-west-2_aaaaaaaaa" => [COGNITO_POOL: "us-west-2_aaaaaaaaa"]),
        v!("\"UserPoolId\": \"eu-central-1_AbC123xyZ\"" => [COGNITO_POOL: "eu-central-1_AbC123xyZ"]),
        v!("us-west-2_" => []),
        v!("x86_64 python3_11 us-west-2" => []),
        v!("\"ClusterId\": \"cluster-jxhlf7644ne\"" => [HSM_CLUSTER: "cluster-jxhlf7644ne"]),
        v!("cluster-jxhlf7644ne" => []),
        v!("\"RootId\": \"r-1ab2\"" => [ORG_ROOT: "r-1ab2"]),
        v!("\"ParentId\": \"ou-6hi7-8j91kl2m\"" => [ORG_UNIT: "ou-6hi7-8j91kl2m"]),
        v!("\"PolicyId\": \"p-FullAWSAccess\"" => [ORG_POLICY: "p-FullAWSAccess"]),
        v!("\"PolicyId\": \"p-examplepolicyid111\"" => [ORG_POLICY: "p-examplepolicyid111"]),
        v!("\"Id\": \"o-abcdefghij\"" => []),
        v!("\"OrganizationId\": \"o-abcdefghij\"" => [ORG: "o-abcdefghij"]),
        v!("\"EnvironmentId\": \"e-abcdefghij\"" => [BEANSTALK_ENV: "e-abcdefghij"]),
        v!("r-1ab2 p-FullAWSAccess" => []),
    ]);
}
