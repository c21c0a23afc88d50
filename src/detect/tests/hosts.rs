//! 1.5 Host names of every partition; service endpoints left alone.

use super::{check, v};

#[test]
fn customer_hosts() {
    check(&[
        v!("ip-10-0-1-17.ec2.internal" => [EC2_HOST: "ip-10-0-1-17.ec2.internal"]),
        v!("ip-10-0-0-157.us-east-2.compute.internal" => [EC2_HOST: "ip-10-0-0-157.us-east-2.compute.internal"]),
        v!("i-0123456789abcdef.us-west-2.compute.internal" => [EC2_HOST: "i-0123456789abcdef.us-west-2.compute.internal"]),
        v!("ec2-203-0-113-12.compute-1.amazonaws.com" => [EC2_HOST: "ec2-203-0-113-12.compute-1.amazonaws.com"]),
        v!("ec2-52-52-41-150.us-west-2.compute.amazonaws.com" => [EC2_HOST: "ec2-52-52-41-150.us-west-2.compute.amazonaws.com"]),
        v!("EC2-203-0-113-12.COMPUTE-1.AMAZONAWS.COM" => [EC2_HOST: "EC2-203-0-113-12.COMPUTE-1.AMAZONAWS.COM"]),
        v!("my-load-balancer-1234567890.us-west-2.elb.amazonaws.com" => [ELB_HOST: "my-load-balancer-1234567890.us-west-2.elb.amazonaws.com"]),
        v!("internal-my-lb-1234567890.us-west-2.elb.amazonaws.com" => [ELB_HOST: "internal-my-lb-1234567890.us-west-2.elb.amazonaws.com"]),
        v!("my-network-load-balancer-5d1b75f4f1cee11e.elb.us-west-2.amazonaws.com" => [ELB_HOST: "my-network-load-balancer-5d1b75f4f1cee11e.elb.us-west-2.amazonaws.com"]),
        v!("mydb.cx1llnox7iyx.us-west-2.rds.amazonaws.com" => [RDS_HOST: "mydb.cx1llnox7iyx.us-west-2.rds.amazonaws.com"]),
        v!("my-sv2-cluster.cluster-cekycexample.us-east-2.rds.amazonaws.com:5432" => [RDS_HOST: "my-sv2-cluster.cluster-cekycexample.us-east-2.rds.amazonaws.com"]),
        v!("my-cluster.cluster-ro-cekycexample.us-east-2.rds.amazonaws.com" => [RDS_HOST: "my-cluster.cluster-ro-cekycexample.us-east-2.rds.amazonaws.com"]),
        v!("my-mem-cluster.abcdef.cfg.use1.cache.amazonaws.com" => [CACHE_HOST: "my-mem-cluster.abcdef.cfg.use1.cache.amazonaws.com"]),
        v!("my-redis-rg.abcdef.ng.0001.use1.cache.amazonaws.com" => [CACHE_HOST: "my-redis-rg.abcdef.ng.0001.use1.cache.amazonaws.com"]),
        v!("daxcluster.ey3o9d.clustercfg.dax.usw2.cache.amazonaws.com" => [CACHE_HOST: "daxcluster.ey3o9d.clustercfg.dax.usw2.cache.amazonaws.com"]),
        v!("mycluster.coqoarplqhsn.us-east-1.redshift.amazonaws.com" => [REDSHIFT_HOST: "mycluster.coqoarplqhsn.us-east-1.redshift.amazonaws.com"]),
        v!("search-imdb-movies-oopcnjfn6ugofer3zx5iadxxca.eu-west-1.es.amazonaws.com" => [OPENSEARCH_HOST: "search-imdb-movies-oopcnjfn6ugofer3zx5iadxxca.eu-west-1.es.amazonaws.com"]),
        v!("https://A0DCCD80A04F01705DD065655C30CC3D.yl4.us-west-2.eks.amazonaws.com" => [EKS_HOST: "A0DCCD80A04F01705DD065655C30CC3D.yl4.us-west-2.eks.amazonaws.com"]),
        v!("123456789012.dkr.ecr.us-east-1.amazonaws.com/golang-app:latest" => [ECR_HOST: "123456789012.dkr.ecr.us-east-1.amazonaws.com/golang-app:latest"]),
        v!("https://1wm2dx1f33.execute-api.us-west-2.amazonaws.com/prod" => [APIGW_HOST: "1wm2dx1f33.execute-api.us-west-2.amazonaws.com"]),
        v!("https://abcdefghijklmnopqrstuvwxyz123456.lambda-url.us-east-1.on.aws/" => [LAMBDA_URL: "abcdefghijklmnopqrstuvwxyz123456.lambda-url.us-east-1.on.aws"]),
        v!("https://sqs.us-east-1.amazonaws.com/80398EXAMPLE/MyQueue" => [SQS_URL: "sqs.us-east-1.amazonaws.com/80398EXAMPLE/MyQueue"]),
        v!("https://queue.amazonaws.com/123456789012/MyQueue" => [SQS_URL: "queue.amazonaws.com/123456789012/MyQueue"]),
        v!("examplebucket.s3.amazonaws.com" => [S3_HOST: "examplebucket.s3.amazonaws.com"]),
        v!("prod-us-west-2-uploads.s3-us-west-2.amazonaws.com" => [S3_HOST: "prod-us-west-2-uploads.s3-us-west-2.amazonaws.com"]),
        v!("my.dotted.bucket.s3.us-east-1.amazonaws.com" => [S3_HOST: "my.dotted.bucket.s3.us-east-1.amazonaws.com"]),
        v!("bucket.s3.dualstack.us-east-1.amazonaws.com" => [S3_HOST: "bucket.s3.dualstack.us-east-1.amazonaws.com"]),
        v!("amzn-s3-demo-bucket.s3-website-us-west-2.amazonaws.com" => [S3_HOST: "amzn-s3-demo-bucket.s3-website-us-west-2.amazonaws.com"]),
        v!("amzn-s3-demo-bucket.s3-website.us-west-2.amazonaws.com" => [S3_HOST: "amzn-s3-demo-bucket.s3-website.us-west-2.amazonaws.com"]),
        v!("myap-123456789012.s3-accesspoint.us-west-2.amazonaws.com" => [S3_HOST: "myap-123456789012.s3-accesspoint.us-west-2.amazonaws.com"]),
        v!("base--usw2-az1--x-s3.s3express-usw2-az1.us-west-2.amazonaws.com" => [S3_HOST: "base--usw2-az1--x-s3.s3express-usw2-az1.us-west-2.amazonaws.com"]),
        v!("vpce-0f89a33420c1931d7-bluzidnv.elasticloadbalancing.us-east-1.vpce.amazonaws.com" => [VPCE_HOST: "vpce-0f89a33420c1931d7-bluzidnv.elasticloadbalancing.us-east-1.vpce.amazonaws.com"]),
        v!("vpce-1a2b3c4d-5e6f-us-east-1a.neptune-graph.us-east-1.vpce.amazonaws.com" => [VPCE_HOST: "vpce-1a2b3c4d-5e6f-us-east-1a.neptune-graph.us-east-1.vpce.amazonaws.com"]),
        v!("d111111abcdef8.cloudfront.net" => [CLOUDFRONT_HOST: "d111111abcdef8.cloudfront.net"]),
        v!("a1b2c3d4e5f6g7-ats.iot.us-east-1.amazonaws.com" => [AWS_HOST: "a1b2c3d4e5f6g7-ats.iot.us-east-1.amazonaws.com"]),
        v!("mydocdb.cluster-abc123.us-east-1.docdb.amazonaws.com" => [AWS_HOST: "mydocdb.cluster-abc123.us-east-1.docdb.amazonaws.com"]),
    ]);
}

#[test]
fn other_partitions() {
    check(&[
        v!("mydb.abc123.cn-north-1.rds.amazonaws.com.cn" => [RDS_HOST: "mydb.abc123.cn-north-1.rds.amazonaws.com.cn"]),
        v!("ec2-52-80-1-2.cn-north-1.compute.amazonaws.com.cn" => [EC2_HOST: "ec2-52-80-1-2.cn-north-1.compute.amazonaws.com.cn"]),
        v!("bucket.s3.us-gov-west-1.amazonaws.com" => [S3_HOST: "bucket.s3.us-gov-west-1.amazonaws.com"]),
        v!("mydb.abc123.us-iso-east-1.rds.c2s.ic.gov" => [RDS_HOST: "mydb.abc123.us-iso-east-1.rds.c2s.ic.gov"]),
        v!("mydb.abc123.us-isob-east-1.rds.sc2s.sgov.gov" => [RDS_HOST: "mydb.abc123.us-isob-east-1.rds.sc2s.sgov.gov"]),
        v!("mydb.abc123.eu-isoe-west-1.rds.cloud.adc-e.uk" => [RDS_HOST: "mydb.abc123.eu-isoe-west-1.rds.cloud.adc-e.uk"]),
        v!("mydb.abc123.us-isof-south-1.rds.csp.hci.ic.gov" => [RDS_HOST: "mydb.abc123.us-isof-south-1.rds.csp.hci.ic.gov"]),
        v!("mydb.abc123.eusc-de-east-1.rds.amazonaws.eu" => [RDS_HOST: "mydb.abc123.eusc-de-east-1.rds.amazonaws.eu"]),
        v!("bucket.s3.dualstack.us-east-1.api.aws" => [S3_HOST: "bucket.s3.dualstack.us-east-1.api.aws"]),
    ]);
}

#[test]
fn service_endpoints_left_alone() {
    check(&[
        v!("ec2.us-east-1.amazonaws.com" => []),
        v!("https://sts.amazonaws.com/" => []),
        v!("s3.us-west-2.amazonaws.com" => []),
        v!("https://sqs.us-east-1.amazonaws.com" => []),
        v!("ec2.amazonaws.com lambda.amazonaws.com" => []),
        v!("runtime.sagemaker.us-east-1.amazonaws.com" => []),
        v!("api.ecr.us-east-1.amazonaws.com" => []),
        v!("bedrock-runtime.us-east-1.amazonaws.com" => []),
        v!("ec2.us-east-1.api.aws" => []),
        v!("sts.cn-north-1.amazonaws.com.cn" => []),
        v!("rds.us-east-1.amazonaws.com" => []),
        v!("elasticloadbalancing.us-east-1.amazonaws.com" => []),
        v!("dynamodb-fips.us-gov-west-1.amazonaws.com" => []),
        v!("amazonaws.com" => []),
        v!("cloudfront.net" => []),
        v!("com.amazonaws.vpce.us-east-1.vpce-svc-03d5ebb7d9579a2b3" => [VPCE_SVC: "vpce-svc-03d5ebb7d9579a2b3"]),
        v!("foo.amazonaws.com.evil.example" => []),
        v!("www.amazonaws.community" => []),
        v!("my.internal.wiki" => []),
        // Service principals shaped like a bucket's or a cluster's host.
        v!("\"Service\": \"logging.s3.amazonaws.com\"; enable server access logging" => []),
        v!("batchoperations.s3.amazonaws.com storage-lens.s3.amazonaws.com access-grants.s3.amazonaws.com" => []),
        v!("\"Service\": \"pods.eks.amazonaws.com\"" => []),
        v!("https://oidc.eks.eu-west-1.amazonaws.com" => []),
        v!("a2i-runtime.sagemaker.us-east-1.amazonaws.com" => []),
        v!("member.org.stacksets.cloudformation.amazonaws.com" => []),
        v!("<R xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"> the doc" => []),
        // ...but a bucket's host is still one, and an issuer URL names its cluster.
        v!("mylogs.s3.amazonaws.com for mylogs" => [S3_HOST: "mylogs.s3.amazonaws.com", BUCKET: "mylogs"]),
        v!("\"oidc.eks.eu-west-1.amazonaws.com/id/0A1B2C3D4E5F60718293A4B5C6D7E8F9:sub\"" =>
            [EKS_HOST: "oidc.eks.eu-west-1.amazonaws.com/id/0A1B2C3D4E5F60718293A4B5C6D7E8F9"]),
    ]);
}

#[test]
fn s3_path_style_and_uris() {
    check(&[
        v!("https://s3.dualstack.us-west-2.amazonaws.com/bucketname/key" => [BUCKET: "bucketname"]),
        v!("https://s3.amazonaws.com/examplebucket/photos/x.jpg" => [BUCKET: "examplebucket"]),
        v!("https://s3.us-east-1.amazonaws.com/" => []),
        v!("s3://amzn-s3-demo-bucket/test.txt" => [S3_URI: "s3://amzn-s3-demo-bucket/test.txt"]),
        v!("s3://amzn-s3-demo-bucket" => [S3_URI: "s3://amzn-s3-demo-bucket"]),
        v!("aws s3 cp s3://my-bucket/a/b.txt ." => [S3_URI: "s3://my-bucket/a/b.txt"]),
        v!("\"s3://my-bucket/prefix/\"," => [S3_URI: "s3://my-bucket/prefix/"]),
        v!("S3://my-bucket/x" => [S3_URI: "S3://my-bucket/x"]),
        v!("s3://" => []),
        v!("s3://AB" => []),
        v!("xs3://my-bucket" => []),
    ]);
}

#[test]
fn dashed_addresses_without_a_suffix() {
    check(&[
        v!("node ip-10-0-1-17 is ready" => [EC2_HOST: "ip-10-0-1-17"]),
        v!("\"PrivateDnsName\": \"ip-10-0-0-157\"" => [EC2_HOST: "ip-10-0-0-157"]),
        v!("ec2-203-0-113-12" => [EC2_HOST: "ec2-203-0-113-12"]),
        v!("EC2-203-0-113-12" => [EC2_HOST: "EC2-203-0-113-12"]),
        v!("ip-10-0-1-17.us-west-2.compute.internal" => [EC2_HOST: "ip-10-0-1-17.us-west-2.compute.internal"]),
        v!("ip-10-0-1" => []),
        v!("ip-10-0-1-256" => []),
        v!("ip-10-0-1-17x" => []),
        v!("ip-address ec2-instance ec2-user" => []),
    ]);
}
