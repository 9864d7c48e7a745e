use super::*;
use crate::input::ColumnMap;
use crate::ops::{DS100_DELETE, SID_CLEAR_PIN};
use crate::secret::Secret;

fn checked(op: &'static Operation, header: &[&str], row: &[&str]) -> Checked {
    let columns = ColumnMap::build(
        std::path::Path::new("t.csv"),
        csv::StringRecord::from(header.to_vec()),
        op,
    )
    .unwrap();
    let raw = crate::input::RawRow {
        line: 2,
        record: csv::StringRecord::from(row.to_vec()),
    };
    crate::input::check_row(op, &columns, &raw)
}

fn client(base: &str) -> Client {
    let config = ClientConfig {
        base_url: Url::parse(base).unwrap(),
        timeout: Duration::from_secs(1),
        rate: Rate::Unlimited,
        retry: RetryPolicy::default(),
        concurrency: 1,
        proxy: None,
    };
    Client::new(
        &config,
        Arc::new(TokenProvider::fixed(Secret::new("t"))),
        Arc::default(),
    )
    .unwrap()
}

const USER: &str = "87927fb7-e185-4c33-c7e3-8e077675973c";

#[test]
fn user_id_lands_in_its_own_path_segment() {
    let row = checked(
        &SID_CLEAR_PIN,
        &["userId", "tokenSerialNumber"],
        &[USER, "001"],
    );
    let url = client("https://acme.example/").url_for(&SID_CLEAR_PIN, &row);
    assert_eq!(
        url.as_str(),
        format!("https://acme.example/AdminInterface/restapi/v2/users/{USER}/sidTokens/clearPin")
    );
}

#[test]
fn paths_without_row_values_come_built_with_the_base() {
    let row = checked(
        &DS100_DELETE,
        &["userId", "tokenSerialNumber", "deviceSerialNumber"],
        &[USER, "014010008038", "140100080"],
    );
    let url = client("https://gw.example/securid/").url_for(&DS100_DELETE, &row);
    assert_eq!(
        url.as_str(),
        "https://gw.example/securid/AdminInterface/restapi/v1/ds100/delete/otp"
    );
    let user = checked(&crate::ops::USER_DISABLE, &["userId"], &[USER]);
    assert_eq!(
        request_body(&crate::ops::USER_DISABLE, &user).as_deref(),
        Some(r#"{"userStatus":"Disabled"}"#)
    );
    assert_eq!(request_body(&crate::ops::USER_DELETE_NOW, &user), None);
    assert_eq!(
        request_body(&crate::ops::USER_DELETE, &user).as_deref(),
        Some(r#"{"markDeleted":true}"#)
    );
    let fixed = fixed_urls(&Url::parse("https://gw.example/securid/").unwrap());
    assert!(fixed.contains_key(DS100_DELETE.path));
    assert!(
        !fixed.contains_key(SID_CLEAR_PIN.path),
        "the SID path takes the user"
    );
}

#[test]
fn a_path_prefix_on_the_base_is_kept() {
    let row = checked(
        &SID_CLEAR_PIN,
        &["userId", "tokenSerialNumber"],
        &[USER, "001"],
    );
    let url = client("https://gw.example/securid").url_for(&SID_CLEAR_PIN, &row);
    assert!(url.path().starts_with("/securid/AdminInterface/"), "{url}");
}

#[test]
fn body_keeps_serials_as_strings_with_leading_zeros() {
    let row = checked(
        &DS100_DELETE,
        &["userId", "tokenSerialNumber", "deviceSerialNumber"],
        &[USER, "014010008038", "140100080"],
    );
    let body: serde_json::Value =
        serde_json::from_str(&request_body(&DS100_DELETE, &row).unwrap()).unwrap();
    assert_eq!(body["tokenSerialNumber"], "014010008038");
    assert_eq!(body["deviceSerialNumber"], "140100080");
    assert_eq!(body["userId"], USER);
    assert_eq!(
        request_body(&DS100_DELETE, &row).unwrap(),
        format!(
            r#"{{"tokenSerialNumber":"014010008038","deviceSerialNumber":"140100080","userId":"{USER}"}}"#
        )
    );
}
