//! Golden tests on realistic text built from AWS CLI example output (awscli examples/ec2,
//! sts, s3, iam): every finding, in order.

use super::{detector, scan_checked};

#[test]
fn describe_instances_output() {
    let text = r#"aws ec2 describe-instances --instance-ids i-1234567890abcdef0

    {
        "Reservations": [
            {
                "Groups": [],
                "Instances": [
                    {
                        "AmiLaunchIndex": 0,
                        "ImageId": "ami-0abcdef1234567890",
                        "InstanceId": "i-1234567890abcdef0",
                        "InstanceType": "t3.nano",
                        "KeyName": "my-key-pair",
                        "LaunchTime": "2022-11-15T10:48:59+00:00",
                        "Placement": {
                            "AvailabilityZone": "us-east-2a",
                            "Tenancy": "default"
                        },
                        "PrivateDnsName": "ip-10-0-0-157.us-east-2.compute.internal",
                        "PrivateIpAddress": "10.0.0.157",
                        "PublicDnsName": "ec2-34-253-223-13.us-east-2.compute.amazonaws.com",
                        "PublicIpAddress": "34.253.223.13",
                        "SubnetId": "subnet-04a636d18e83cfacb",
                        "VpcId": "vpc-1234567890abcdef0",
                        "Architecture": "x86_64",
                        "VolumeId": "vol-02e6ccdca7de29cf2",
                        "ClientToken": "1234abcd-1234-abcd-1234-d46a8903e9bc",
                        "IamInstanceProfile": {
                            "Arn": "arn:aws:iam::111111111111:instance-profile/AmazonSSMRoleForInstancesQuickSetup",
                            "Id": "111111111111111111111"
                        },
                        "NetworkInterfaces": [
                            {
                                "OwnerId": "111111111111",
                                "MacAddress": "06:a2:2b:f9:4c:67",
                                "Ipv6Addresses": [{"Ipv6Address": "2600:1f16:409:6700:e11d:d4d6:a785:ad8c"}],
                                "SecurityGroups": [{"GroupName": "my-sg", "GroupId": "sg-0abcdef1234567890"}]
                            }
                        ]
                    }
                ],
                "OwnerId": "111111111111",
                "ReservationId": "r-1234567890abcdef0"
            }
        ]
    }"#;
    let got = scan_checked(&detector(), text, None);
    let got: Vec<(&str, &str)> = got.iter().map(|(l, s)| (l.as_str(), *s)).collect();
    assert_eq!(
        got,
        [
            ("EC2", "i-1234567890abcdef0"),
            ("AMI", "ami-0abcdef1234567890"),
            ("EC2", "i-1234567890abcdef0"),
            ("EC2_HOST", "ip-10-0-0-157.us-east-2.compute.internal"),
            ("PRIVATE_IP", "10.0.0.157"),
            (
                "EC2_HOST",
                "ec2-34-253-223-13.us-east-2.compute.amazonaws.com"
            ),
            ("PUBLIC_IP", "34.253.223.13"),
            ("SUBNET", "subnet-04a636d18e83cfacb"),
            ("VPC", "vpc-1234567890abcdef0"),
            ("VOLUME", "vol-02e6ccdca7de29cf2"),
            (
                "ARN",
                "arn:aws:iam::111111111111:instance-profile/AmazonSSMRoleForInstancesQuickSetup"
            ),
            ("ACCOUNT", "111111111111"),
            ("IPV6", "2600:1f16:409:6700:e11d:d4d6:a785:ad8c"),
            ("SECURITY_GROUP", "sg-0abcdef1234567890"),
            ("ACCOUNT", "111111111111"),
            ("RESERVATION", "r-1234567890abcdef0"),
        ]
    );
}

#[test]
fn credentials_and_identity() {
    let text = r#"$ aws sts get-caller-identity
{
    "UserId": "AIDASAMPLEUSERID",
    "Account": "123456789012",
    "Arn": "arn:aws:iam::123456789012:user/DevAdmin"
}
$ aws sts assume-role --role-arn arn:aws:iam::123456789012:role/xaccounts3access --role-session-name s3-access-example
{
    "AssumedRoleUser": {
        "AssumedRoleId": "AROA3XFRBF535PLBIFPI4:s3-access-example",
        "Arn": "arn:aws:sts::123456789012:assumed-role/xaccounts3access/s3-access-example"
    },
    "Credentials": {
        "SecretAccessKey": "9drTJvcXLB89EXAMPLELB8923FB892xMFI",
        "SessionToken": "AQoXdzELDDY//////////wEaoAK1wvxJY12r2IrDFT2IvAzTCn3zHoZ7YNtpiQLF0MqZye/qwjzP2iEXAMPLEbw/m3hsj8VBTkPORGvr9jM5sgP+w9IZWZnU+LWhmg+a5fDi2oTGUYcdg9uexQ4mtCHIHfi4citgqZTgco40Yqr4lIlo4V2b2Dyauk0eYFNebHtYlFVgAUj+7Indz3LU0aTWk1WKIjHmmMCIoTkyYp/k7kUG7moeEYKSitwQIi6Gjn+nyzM+PtoA3685ixzv0R7i5rjQi0YE0lf1oeie3bDiNHncmzosRM6SFiPzSvp6h/32xQuZsjcypmwsPSDtTPYcs0+YN/8BRi2/IcrxSpnWEXAMPLEXSDFTAQAM6Dl9zR0tXoybnlrZIwMLlMi1Kcgo5OytwU=",
        "Expiration": "2016-03-15T00:05:07Z",
        "AccessKeyId": "ASIAJEXAMPLEXEG2JICEA"
    }
}
export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE
export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
"#;
    let got = scan_checked(&detector(), text, None);
    let got: Vec<(&str, &str)> = got.iter().map(|(l, s)| (l.as_str(), *s)).collect();
    assert_eq!(
        got,
        [
            ("ACCOUNT", "123456789012"),
            ("ARN_IAM_USER", "arn:aws:iam::123456789012:user/DevAdmin"),
            ("ARN_IAM_ROLE", "arn:aws:iam::123456789012:role/xaccounts3access"),
            ("IAM_ID", "AROA3XFRBF535PLBIFPI4:s3-access-example"),
            ("ARN_STS", "arn:aws:sts::123456789012:assumed-role/xaccounts3access/s3-access-example"),
            ("SECRET_KEY", "9drTJvcXLB89EXAMPLELB8923FB892xMFI"),
            ("SESSION_TOKEN", "AQoXdzELDDY//////////wEaoAK1wvxJY12r2IrDFT2IvAzTCn3zHoZ7YNtpiQLF0MqZye/qwjzP2iEXAMPLEbw/m3hsj8VBTkPORGvr9jM5sgP+w9IZWZnU+LWhmg+a5fDi2oTGUYcdg9uexQ4mtCHIHfi4citgqZTgco40Yqr4lIlo4V2b2Dyauk0eYFNebHtYlFVgAUj+7Indz3LU0aTWk1WKIjHmmMCIoTkyYp/k7kUG7moeEYKSitwQIi6Gjn+nyzM+PtoA3685ixzv0R7i5rjQi0YE0lf1oeie3bDiNHncmzosRM6SFiPzSvp6h/32xQuZsjcypmwsPSDtTPYcs0+YN/8BRi2/IcrxSpnWEXAMPLEXSDFTAQAM6Dl9zR0tXoybnlrZIwMLlMi1Kcgo5OytwU="),
            ("ACCESS_KEY", "ASIAJEXAMPLEXEG2JICEA"),
            ("ACCESS_KEY", "AKIAIOSFODNN7EXAMPLE"),
            ("SECRET_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        ]
    );
}
