//! 1.4 IAM unique IDs, access keys, secret keys, session tokens, Bedrock keys.

use super::{check, v};

#[test]
fn access_keys_and_unique_ids() {
    check(&[
        v!("AKIAIOSFODNN7EXAMPLE" => [ACCESS_KEY: "AKIAIOSFODNN7EXAMPLE"]),
        v!("ASIAIOSFODNN7EXAMPLE" => [ACCESS_KEY: "ASIAIOSFODNN7EXAMPLE"]),
        v!("A3T1IOSFODNN7EXAMPLE" => [ACCESS_KEY: "A3T1IOSFODNN7EXAMPLE"]),
        v!("AKIA0189IOSFODNN7EXA" => [ACCESS_KEY: "AKIA0189IOSFODNN7EXA"]),
        v!("AKIAXXXXXXXXXXXXXXXX" => [ACCESS_KEY: "AKIAXXXXXXXXXXXXXXXX"]),
        v!("key=AKIAIOSFODNN7EXAMPLE&x" => [ACCESS_KEY: "AKIAIOSFODNN7EXAMPLE"]),
        v!("AIDACKCEVSQ6C2EXAMPLE" => [IAM_ID: "AIDACKCEVSQ6C2EXAMPLE"]),
        v!("AROADBQP57FF2AEXAMPLE" => [IAM_ID: "AROADBQP57FF2AEXAMPLE"]),
        v!("AIPAJVQN4F5WVLGCJDRGM" => [IAM_ID: "AIPAJVQN4F5WVLGCJDRGM"]),
        v!("AGPAJQABLZS4A3QDU576Q" => [IAM_ID: "AGPAJQABLZS4A3QDU576Q"]),
        v!("ANPAJ2UCCR6DPCEXAMPLE" => [IAM_ID: "ANPAJ2UCCR6DPCEXAMPLE"]),
        v!("ANVAJ2UCCR6DPCEXAMPLE ABIAJ2UCCR6DPCEXAMPLE ACCAJ2UCCR6DPCEXAMPLE" =>
            [IAM_ID: "ANVAJ2UCCR6DPCEXAMPLE", IAM_ID: "ABIAJ2UCCR6DPCEXAMPLE", IAM_ID: "ACCAJ2UCCR6DPCEXAMPLE"]),
        v!("APKAEIBAERJR2EXAMPLE ASCAJ2UCCR6DPCEXAMPLE" => [IAM_ID: "APKAEIBAERJR2EXAMPLE", IAM_ID: "ASCAJ2UCCR6DPCEXAMPLE"]),
        v!("AROACLKWSDQRAOEXAMPLE:app1" => [IAM_ID: "AROACLKWSDQRAOEXAMPLE:app1"]),
        v!("AKIAI44QH8DHBEXAMPLE:my-role-session-name" => [IAM_ID: "AKIAI44QH8DHBEXAMPLE:my-role-session-name"]),
        v!("\"UserId\": \"AROACLKWSDQRAOEXAMPLE:app1\"," => [IAM_ID: "AROACLKWSDQRAOEXAMPLE:app1"]),
        v!("AROACLKWSDQRAOEXAMPLE: is the role" => [IAM_ID: "AROACLKWSDQRAOEXAMPLE"]),
    ]);
}

#[test]
fn not_keys() {
    check(&[
        v!("TODAYINASIAASACKOFRICEFELLOVER" => []),
        v!("AKIAIOSFODNN7EXAMPLEX" => []),
        v!("AKIAIOSFODNN7EXAMPL" => []),
        v!("XAKIAIOSFODNN7EXAMPLE" => []),
        v!("AKIAiosfodnn7example" => []),
        v!("AKIA" => []),
        v!("ASIA is a continent" => []),
        v!("AIDA" => []),
        v!("AWS_ACCESS_KEY_ID" => []),
        v!("I think AKIA prefixes matter" => []),
    ]);
}

#[test]
fn secret_keys_by_context() {
    check(&[
        v!("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" => [SECRET_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"]),
        v!("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" => [SECRET_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"]),
        v!("\"SecretAccessKey\": \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"" => [SECRET_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"]),
        v!("secretAccessKey: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" => [SECRET_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"]),
        v!(key = "SecretAccessKey", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" => [SECRET_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"]),
        v!("id AKIAIOSFODNN7EXAMPLE secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" =>
            [ACCESS_KEY: "AKIAIOSFODNN7EXAMPLE", SECRET_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"]),
        v!("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY AKIAIOSFODNN7EXAMPLE" =>
            [SECRET_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ACCESS_KEY: "AKIAIOSFODNN7EXAMPLE"]),
        v!("\"SecretAccessKey\": \"9drTJvcXLB89EXAMPLELB8923FB892xMFI\"" => [SECRET_KEY: "9drTJvcXLB89EXAMPLELB8923FB892xMFI"]),
        // Near an access key, as the value of any `key=`; not the tail of a padded token.
        v!("AKIAJ7Q3ZR5T2XWLMN4P secret=Zx9+Qm3k/PL0aBcDeFgHiJkLmNoPqRsTuVwXyZ12" =>
            [ACCESS_KEY: "AKIAJ7Q3ZR5T2XWLMN4P", SECRET_KEY: "Zx9+Qm3k/PL0aBcDeFgHiJkLmNoPqRsTuVwXyZ12"]),
        v!("ID=AKIAJ7Q3ZR5T2XWLMN4P\nSECRET=Zx9+Qm3k/PL0aBcDeFgHiJkLmNoPqRsTuVwXyZ12" =>
            [ACCESS_KEY: "AKIAJ7Q3ZR5T2XWLMN4P", SECRET_KEY: "Zx9+Qm3k/PL0aBcDeFgHiJkLmNoPqRsTuVwXyZ12"]),
        v!("AKIAJ7Q3ZR5T2XWLMN4P blob==Zx9+Qm3k/PL0aBcDeFgHiJkLmNoPqRsTuVwXyZ12" => [ACCESS_KEY: "AKIAJ7Q3ZR5T2XWLMN4P"]),
        v!(key = "aws_secret", "Zx9+Qm3k/PL0aBcDeFgHiJkLmNoPqRsTuVwXyZ12" => [SECRET_KEY: "Zx9+Qm3k/PL0aBcDeFgHiJkLmNoPqRsTuVwXyZ12"]),
        v!("\"AccessKeyId\": \"ASIAJEXAMPLEXEG2JICEA\"" => [ACCESS_KEY: "ASIAJEXAMPLEXEG2JICEA"]),
        v!("aws_access_key_id = AKIAEXAMPLE123456789X" => [ACCESS_KEY: "AKIAEXAMPLE123456789X"]),
        v!(key = "AccessKeyId", "ASIAJEXAMPLEXEG2JICEA" => [ACCESS_KEY: "ASIAJEXAMPLEXEG2JICEA"]),
        v!("\"AccessKeyId\": \"short\"" => []),
    ]);
}

#[test]
fn not_secrets_without_context() {
    check(&[
        v!("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" => []),
        v!("commit da39a3ee5e6b4b0d3255bfef95601890afd80709" => []),
        v!("AKIAIOSFODNN7EXAMPLE commit da39a3ee5e6b4b0d3255bfef95601890afd80709" => [ACCESS_KEY: "AKIAIOSFODNN7EXAMPLE"]),
        v!("aws_secret_access_key = tooShort" => []),
        v!("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEYX AKIAIOSFODNN7EXAMPLE" => [ACCESS_KEY: "AKIAIOSFODNN7EXAMPLE"]),
        v!("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" => []),
    ]);
}

#[test]
fn session_tokens() {
    check(&[
        v!("IQoJb3JpZ2luX2VjEOzAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/+abc=" => [SESSION_TOKEN: "IQoJb3JpZ2luX2VjEOzAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/+abc="]),
        v!("FwoGZXIvYXdzEBAaDFakeFakeFakeFakeFakeFake" => [SESSION_TOKEN: "FwoGZXIvYXdzEBAaDFakeFakeFakeFakeFakeFake"]),
        v!("AQoDYXdzEJr1K7lDAkgEXAMPLEtokenvalue000" => [SESSION_TOKEN: "AQoDYXdzEJr1K7lDAkgEXAMPLEtokenvalue000"]),
        v!("aws_session_token = SomeOtherTokenShape1234567890abcdef" => [SESSION_TOKEN: "SomeOtherTokenShape1234567890abcdef"]),
        v!("\"SessionToken\": \"SomeOtherTokenShape1234567890abcdef==\"" => [SESSION_TOKEN: "SomeOtherTokenShape1234567890abcdef=="]),
        v!("X-Amz-Security-Token=SomeOtherTokenShape1234567890%2Babc%3D&X-Amz-Date=1" => [SESSION_TOKEN: "SomeOtherTokenShape1234567890%2Babc%3D"]),
        v!("IQoJb3JpZ2luX2Vj" => []),
        v!("\"SessionToken\": \"short\"" => []),
        // Other header bytes before the markers trufflehog checks: long enough, a token.
        v!("IgoJb3JpZ2luX2VjEOzaXJlY3Rvcnk9dGVzdDEyMzQ1Njc4OTAxMjM0NTY3ODkwYWJjZGVmZ2hpamsaXJlY3Rvcnk9dGVzdDEyMzQ1Njc4OTAxMjM0NTY3ODkwYWJj==" => [SESSION_TOKEN: "IgoJb3JpZ2luX2VjEOzaXJlY3Rvcnk9dGVzdDEyMzQ1Njc4OTAxMjM0NTY3ODkwYWJjZGVmZ2hpamsaXJlY3Rvcnk9dGVzdDEyMzQ1Njc4OTAxMjM0NTY3ODkwYWJj=="]),
        v!("\"Token\" : \"AgoJb3JpZ2luX2VjEOzaXJlY3Rvcnk9dGVzdDEyMzQ1Njc4OTAxMjM0NTY3ODkwYWJjZGVmZ2hpamsaXJlY3Rvcnk9dGVzdDEyMzQ1Njc4OTAxMjM0NTY3ODkwYWJj==\"" => [SESSION_TOKEN: "AgoJb3JpZ2luX2VjEOzaXJlY3Rvcnk9dGVzdDEyMzQ1Njc4OTAxMjM0NTY3ODkwYWJjZGVmZ2hpamsaXJlY3Rvcnk9dGVzdDEyMzQ1Njc4OTAxMjM0NTY3ODkwYWJj=="]),
        v!("token FQoDYXdzEEOzaXJlY3Rvcnk9dGVzdDEyMzQ1Njc4OTAxMjM0NTY3ODkwYWJjZGVmZ2hpamsaXJlY3Rvcnk9dGVzdDEyMzQ1Njc4OTAxMjM0NTY3ODkwYWJj==." => [SESSION_TOKEN: "FQoDYXdzEEOzaXJlY3Rvcnk9dGVzdDEyMzQ1Njc4OTAxMjM0NTY3ODkwYWJjZGVmZ2hpamsaXJlY3Rvcnk9dGVzdDEyMzQ1Njc4OTAxMjM0NTY3ODkwYWJj=="]),
        v!("IgoJb3JpZ2luX2VjEOzAAAAAAAAAAAAAAA" => []),
        v!("From one Afoot Ironclad Frog" => []),
    ]);
}

#[test]
fn bedrock_long_lived_keys() {
    let key = format!("ABSK{}", "QmVkcm9ja0FQSUtleS1".repeat(7));
    let text = format!("key: {key}\n");
    let got = super::scan_checked(&super::detector(), &text, None);
    assert_eq!(got, vec![("BEDROCK_KEY".to_owned(), key.as_str())]);
    let short = format!("ABSK{}", "QmVk".repeat(10));
    assert!(super::scan_checked(&super::detector(), &short, None).is_empty());
}
