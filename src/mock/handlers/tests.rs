use super::*;

#[test]
fn every_endpoint_has_a_method_filter() {
    for e in ENDPOINTS {
        let filter = MethodFilter::try_from(e.method.clone());
        assert!(filter.is_ok(), "{} {}", e.method, e.route);
    }
}

#[test]
fn classification_matches_the_routes() {
    let sid = "/AdminInterface/restapi/v2/users/87927fb7-e185/sidTokens/clearPin";
    assert_eq!(classify(&Method::PATCH, sid), names::SID_CLEAR_PIN);
    assert_eq!(
        classify(&Method::PATCH, DS100_CLEAR_PIN_PATH),
        names::DS100_CLEAR_PIN
    );
    assert_eq!(
        classify(&Method::DELETE, DS100_DELETE_PATH),
        names::DS100_DELETE
    );
    assert_eq!(classify(&Method::GET, DS100_DELETE_PATH), names::OTHER);
    let user = "/AdminInterface/restapi/v1/users/87927fb7-e185";
    assert_eq!(classify(&Method::DELETE, user), names::USER_DELETE_NOW);
    let mark = format!("{user}/markDeleted");
    assert_eq!(classify(&Method::PUT, &mark), names::USER_MARK_DELETED);
    let assign = format!("{user}/sidTokens/assign");
    assert_eq!(classify(&Method::PATCH, &assign), names::SID_ASSIGN);
    let status = format!("{user}/userStatus");
    assert_eq!(classify(&Method::PUT, &status), names::USER_STATUS);
    let unassign = format!("{user}/sidTokens/unassign");
    assert_eq!(classify(&Method::PATCH, &unassign), names::SID_UNASSIGN);
    assert_eq!(
        classify(&Method::POST, USERS_LOOKUP_PATH),
        names::USERS_LOOKUP
    );
    let devices = "/AdminInterface/restapi/v2/users/87927fb7-e185/devices";
    assert_eq!(classify(&Method::GET, devices), names::DEVICES);
    let empty_user = "/AdminInterface/restapi/v2/users//sidTokens/clearPin";
    assert_eq!(classify(&Method::PATCH, empty_user), names::OTHER);
}
