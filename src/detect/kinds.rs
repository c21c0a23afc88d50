//! The built-in kinds: one constant per kind and the label table they index.

use super::KindId;

macro_rules! kinds {
    ($($name:ident),* $(,)?) => {
        #[allow(non_camel_case_types, clippy::upper_case_acronyms, dead_code)]
        #[repr(u16)]
        enum Index { $($name),* }
        $(pub(crate) const $name: KindId = KindId(Index::$name as u16);)*
        /// Labels of the built-in kinds, indexed by [`KindId`].
        pub(crate) const LABELS: &[&str] = &[$(stringify!($name)),*];
    };
}

kinds! {
    // 1.1 EC2 / VPC-style resource IDs.
    EC2, RESERVATION, AMI, VOLUME, SNAPSHOT, VPC, SUBNET, SECURITY_GROUP, SG_RULE, ENI, ENI_ATTACH,
    IGW, EIGW, NAT_GW, ROUTE_TABLE, RTB_ASSOC, NACL, NACL_ASSOC, EIP_ALLOC, EIP_ASSOC, TGW,
    TGW_ATTACH, TGW_RTB, TGW_MCAST, VPCE, VPCE_SVC, PEERING, LAUNCH_TEMPLATE, KEY_PAIR,
    PLACEMENT_GROUP, DHCP_OPTIONS, CUSTOMER_GW, VPN_GW, VPN, PREFIX_LIST, CAPACITY_RES, CR_FLEET,
    DEDICATED_HOST, HOST_RES, FLOW_LOG, SPOT_REQUEST, SPOT_FLEET, EC2_FLEET, IPAM, IPAM_POOL,
    IPAM_SCOPE, CLIENT_VPN, TRAFFIC_MIRROR, CARRIER_GW, LOCAL_GW, LGW_RTB, FPGA_IMAGE, IMPORT_TASK,
    EXPORT_TASK, CIDR_ASSOC, IIP_ASSOC, EFS, EFS_MOUNT, EFS_AP, BEANSTALK_ENV,
    // 1.2 ARNs.
    ARN_IAM_USER, ARN_IAM_ROLE, ARN_STS, ARN_S3, ARN_LAMBDA, ARN_SNS, ARN_DYNAMODB, ARN_CFN_STACK,
    ARN_SECRET, ARN_ELB, ARN_ECS, ARN_EKS, ARN_ACM, ARN_LOGS, ARN_SSM, ARN_KMS, ARN_RDS, ARN,
    // 1.3, 1.4 accounts and credentials.
    ACCOUNT, IAM_ID, ACCESS_KEY, SECRET_KEY, SESSION_TOKEN, BEDROCK_KEY, ORG, ORG_UNIT, ORG_ROOT,
    ORG_POLICY,
    // 1.5 hosts.
    EC2_HOST, ELB_HOST, RDS_HOST, CACHE_HOST, REDSHIFT_HOST, OPENSEARCH_HOST, EKS_HOST, ECR_HOST,
    APIGW_HOST, LAMBDA_URL, SQS_URL, S3_HOST, S3_URI, VPCE_HOST, CLOUDFRONT_HOST, AWS_HOST,
    // 1.6, 1.7 context kinds.
    BUCKET, KMS_KEY, KMS_ALIAS, HOSTED_ZONE, CF_DISTRIBUTION, APIGW, COGNITO_POOL, HSM_CLUSTER,
    // 1.8 addresses.
    PRIVATE_IP, PUBLIC_IP, IPV6,
}
