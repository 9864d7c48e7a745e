//! The catalog's entries: one `Operation` per bulk operation, with the
//! meaning of each status code from the vendor's pages, the lookups that may
//! fill a row's empty cells, how `--verify` reads the change back and the
//! OAuth permission the call needs.

use super::lookups::{
    DEVICES_CODES, DEVICES_PATH, DEVICES_PERMISSION, DS100_LOOKUP, SID_LOOKUP, TOKEN_BY_DEVICE,
    USERS_BY_USERNAME, USERS_LOOKUP, USER_BY_EMAIL, USER_BY_SID_TOKEN, USER_BY_USERNAME,
    USER_DEVICES,
};
use super::verify::{Expect, Verify};
use super::{Credential, Field, HttpMethod, Listing, Operation, Undo};

const DS100_CODES: &[(u16, &str)] = &[
    (400, "bad request: the tenant rejected the request syntax"),
    (
        403,
        "not authorised: the key needs the Help Desk or Super Administrator role",
    ),
    (404, "the user or the DS100 authenticator does not exist"),
    (429, "too many requests"),
    (500, "internal server error at the tenant"),
];

const SID_CODES: &[(u16, &str)] = &[
    (400, "bad request: the tenant rejected the request syntax"),
    (
        403,
        "not authorised: the key needs the Help Desk or Super Administrator role",
    ),
    (404, "the user or the hardware token does not exist"),
    (409, "the hardware token is not assigned to this user"),
    (429, "too many requests"),
    (500, "internal server error at the tenant"),
];

const USER_STATUS_CODES: &[(u16, &str)] = &[
    (400, "bad request: the tenant rejected the request syntax"),
    (
        403,
        "not authorised: the key needs the Help Desk or Super Administrator role",
    ),
    (404, "the user does not exist"),
    (409, "the tenant refused the status change for this user"),
    (429, "too many requests"),
    (500, "internal server error at the tenant"),
];

const USER_DELETE_CODES: &[(u16, &str)] = &[
    (
        403,
        "not authorised: the key needs the Super Administrator role",
    ),
    (404, "the user does not exist"),
    (
        405,
        "the user comes from a SCIM identity source: delete the user at the source",
    ),
    (
        409,
        "the user is still enabled or already pending deletion: run user-disable first",
    ),
    (429, "too many requests"),
    (500, "internal server error at the tenant"),
];

/// A user given by `userId`, `email` or `username`.
const BY_USER: &[super::Resolver] = &[USER_BY_EMAIL, USER_BY_USERNAME];
/// A SID700 token's user may also be found from the token itself.
const BY_USER_OR_SID_TOKEN: &[super::Resolver] =
    &[USER_BY_EMAIL, USER_BY_USERNAME, USER_BY_SID_TOKEN];
/// The user lookups a user's status is read back through.
const USER_READS: &[&super::Lookup] = &[&USERS_LOOKUP, &USERS_BY_USERNAME];
const DS100_READS: &[&super::Lookup] = &[&DS100_LOOKUP];
const SID_READS: &[&super::Lookup] = &[&SID_LOOKUP];

/// A DS100 OTP credential: named by its token serial or its device, held
/// by one user, listed among the user's authenticators.
pub static DS100_CREDENTIAL: Credential = Credential {
    kind: "DS100",
    device_type: "SecurID DS100",
    fields: &[
        (Field::TokenSerialNumber, "tokenSerialNumber"),
        (Field::DeviceSerialNumber, "deviceSerialNumber"),
    ],
    listing: &USER_DEVICES,
    held_by: DS100_READS,
};

/// A SID700 hardware token, named by its serial.
pub static SID700_CREDENTIAL: Credential = Credential {
    kind: "SID700",
    device_type: "SID700",
    fields: &[(Field::TokenSerialNumber, "tokenSerialNumber")],
    listing: &USER_DEVICES,
    held_by: SID_READS,
};

const DS100_MANAGE: &str = "rsa.authenticator.ds100.manage";
const SID_MANAGE: &str = "rsa.authenticator.sidtoken.manage";
const USER_MANAGE: &str = "rsa.user.manage";
/// Unconfirmed: no vendor page names markDeleted's permission.
const USER_DELETE_SOFT: &str = "rsa.user.delete.soft";

/// Undone by `inverse`; the tenant answers 200 again for a target already
/// in the wanted state, so only a read before the change tells a change
/// from a no-op.
const fn by(inverse: &'static Operation) -> Undo {
    Undo::By {
        inverse,
        refused_when_done: false,
        within_days: None,
    }
}

/// The DS100 credentials of the row's user on the row's device all carry
/// `status`.
const fn ds100_status(status: &'static str) -> Option<Verify> {
    Some(Verify {
        lookups: DS100_READS,
        owner: ("userId", Field::UserId),
        expect: Expect::Member("tokenStatus", status),
    })
}

const fn sid_status(status: &'static str) -> Option<Verify> {
    Some(Verify {
        lookups: SID_READS,
        owner: ("userId", Field::UserId),
        expect: Expect::Member("tokenStatus", status),
    })
}

const fn user_status(status: &'static str) -> Option<Verify> {
    user_status_member("userStatus", status)
}

/// A member of the user's record, as the user lookup answers it.
const fn user_status_member(member: &'static str, value: &'static str) -> Option<Verify> {
    Some(Verify {
        lookups: USER_READS,
        owner: ("id", Field::UserId),
        expect: Expect::Member(member, value),
    })
}

pub static DS100_CLEAR_PIN: Operation = Operation {
    name: "ds100-clear-pin",
    summary: "clear the PIN of a user's DS100 OTP credential (cannot be undone)",
    required: &[Field::UserId, Field::TokenSerialNumber],
    method: HttpMethod::Patch,
    path: "/AdminInterface/restapi/v1/ds100/clearPin/otp",
    body: &[Field::TokenSerialNumber, Field::UserId],
    fixed: &[],
    detail_fields: &["pinSet"],
    destructive: false,
    codes: DS100_CODES,
    resolvers: &[USER_BY_EMAIL, USER_BY_USERNAME, TOKEN_BY_DEVICE],
    // No lookup shows whether a PIN is set.
    verify: None,
    lists: None,
    credential: Some(&DS100_CREDENTIAL),
    permission: DS100_MANAGE,
    undo: Undo::Never,
};

pub static SID_CLEAR_PIN: Operation = Operation {
    name: "sid-clear-pin",
    summary: "clear the PIN of a user's SID700 hardware token (cannot be undone)",
    required: &[Field::UserId, Field::TokenSerialNumber],
    method: HttpMethod::Patch,
    path: "/AdminInterface/restapi/v2/users/{userId}/sidTokens/clearPin",
    body: &[Field::TokenSerialNumber],
    fixed: &[],
    detail_fields: &["pinSet"],
    destructive: false,
    codes: &[
        (404, "the user or the hardware token does not exist"),
        (409, "the hardware token is not assigned to this user"),
        (429, "too many requests"),
        (500, "internal server error at the tenant"),
    ],
    resolvers: BY_USER_OR_SID_TOKEN,
    verify: None,
    lists: None,
    credential: Some(&SID700_CREDENTIAL),
    permission: SID_MANAGE,
    undo: Undo::Never,
};

pub static DS100_DISABLE: Operation = Operation {
    name: "ds100-disable",
    summary: "disable a user's DS100 OTP credential (it can no longer authenticate)",
    required: &[Field::UserId, Field::DeviceSerialNumber],
    method: HttpMethod::Patch,
    path: "/AdminInterface/restapi/v1/ds100/disable/otp",
    body: &[Field::DeviceSerialNumber, Field::UserId],
    fixed: &[],
    detail_fields: &["tokenSerialNumber", "tokenStatus", "tokenStatusChangedAt"],
    destructive: true,
    codes: DS100_CODES,
    resolvers: BY_USER,
    verify: ds100_status("Disabled"),
    lists: None,
    credential: Some(&DS100_CREDENTIAL),
    permission: DS100_MANAGE,
    undo: by(&DS100_ENABLE),
};

pub static DS100_ENABLE: Operation = Operation {
    name: "ds100-enable",
    summary: "enable a user's DS100 OTP credential again (undoes ds100-disable)",
    required: &[Field::UserId, Field::DeviceSerialNumber],
    method: HttpMethod::Patch,
    path: "/AdminInterface/restapi/v1/ds100/enable/otp",
    body: &[Field::DeviceSerialNumber, Field::UserId],
    fixed: &[],
    detail_fields: &["tokenSerialNumber", "tokenStatus", "tokenStatusChangedAt"],
    destructive: false,
    codes: DS100_CODES,
    resolvers: BY_USER,
    verify: ds100_status("Enabled"),
    lists: None,
    credential: Some(&DS100_CREDENTIAL),
    permission: DS100_MANAGE,
    undo: by(&DS100_DISABLE),
};

pub static DS100_DELETE: Operation = Operation {
    name: "ds100-delete",
    summary: "delete a user's DS100 OTP credential (cannot be undone)",
    required: &[
        Field::UserId,
        Field::TokenSerialNumber,
        Field::DeviceSerialNumber,
    ],
    method: HttpMethod::Delete,
    path: "/AdminInterface/restapi/v1/ds100/delete/otp",
    body: &[
        Field::TokenSerialNumber,
        Field::DeviceSerialNumber,
        Field::UserId,
    ],
    fixed: &[],
    detail_fields: &[],
    destructive: true,
    codes: DS100_CODES,
    // The user first: picking the token on a shared device needs its owner.
    resolvers: &[USER_BY_EMAIL, USER_BY_USERNAME, TOKEN_BY_DEVICE],
    verify: Some(Verify {
        lookups: DS100_READS,
        owner: ("tokenSerialNumber", Field::TokenSerialNumber),
        expect: Expect::Gone,
    }),
    lists: None,
    credential: Some(&DS100_CREDENTIAL),
    permission: "rsa.authenticator.ds100.delete",
    undo: Undo::Never,
};

pub static SID_ENABLE: Operation = Operation {
    name: "sid-enable",
    summary: "enable a SID700 hardware token assigned to a user",
    required: &[Field::UserId, Field::TokenSerialNumber],
    method: HttpMethod::Patch,
    path: "/AdminInterface/restapi/v1/users/{userId}/sidTokens/enable",
    body: &[Field::TokenSerialNumber],
    fixed: &[],
    detail_fields: &["tokenStatus", "tokenStatusChangedBy"],
    destructive: false,
    codes: SID_CODES,
    resolvers: BY_USER_OR_SID_TOKEN,
    verify: sid_status("Enabled"),
    lists: None,
    credential: Some(&SID700_CREDENTIAL),
    permission: SID_MANAGE,
    undo: by(&SID_DISABLE),
};

pub static SID_DISABLE: Operation = Operation {
    name: "sid-disable",
    summary: "disable a user's SID700 hardware token (it can no longer authenticate)",
    required: &[Field::UserId, Field::TokenSerialNumber],
    method: HttpMethod::Patch,
    path: "/AdminInterface/restapi/v1/users/{userId}/sidTokens/disable",
    body: &[Field::TokenSerialNumber],
    fixed: &[],
    detail_fields: &["tokenStatus", "tokenStatusChangedBy"],
    destructive: true,
    codes: SID_CODES,
    resolvers: BY_USER_OR_SID_TOKEN,
    verify: sid_status("Disabled"),
    lists: None,
    credential: Some(&SID700_CREDENTIAL),
    permission: SID_MANAGE,
    undo: by(&SID_ENABLE),
};

pub static SID_UNASSIGN: Operation = Operation {
    name: "sid-unassign",
    summary: "take a SID700 hardware token away from its user",
    required: &[Field::UserId, Field::TokenSerialNumber],
    method: HttpMethod::Patch,
    path: "/AdminInterface/restapi/v1/users/{userId}/sidTokens/unassign",
    body: &[Field::TokenSerialNumber],
    fixed: &[],
    detail_fields: &["tokenState"],
    destructive: true,
    codes: SID_CODES,
    resolvers: BY_USER_OR_SID_TOKEN,
    verify: Some(Verify {
        lookups: SID_READS,
        owner: ("userId", Field::UserId),
        expect: Expect::Gone,
    }),
    lists: None,
    credential: Some(&SID700_CREDENTIAL),
    permission: SID_MANAGE,
    undo: by(&SID_ASSIGN),
};

pub static USER_DISABLE: Operation = Operation {
    name: "user-disable",
    summary: "disable a user (the user can no longer sign in)",
    required: &[Field::UserId],
    method: HttpMethod::Put,
    path: "/AdminInterface/restapi/v1/users/{userId}/userStatus",
    body: &[],
    fixed: &[("userStatus", "Disabled")],
    detail_fields: &["userStatus"],
    destructive: true,
    codes: USER_STATUS_CODES,
    resolvers: BY_USER,
    verify: user_status("Disabled"),
    lists: None,
    credential: None,
    permission: USER_MANAGE,
    undo: by(&USER_ENABLE),
};

pub static USER_ENABLE: Operation = Operation {
    name: "user-enable",
    summary: "enable a user again (undoes user-disable)",
    required: &[Field::UserId],
    method: HttpMethod::Put,
    path: "/AdminInterface/restapi/v1/users/{userId}/userStatus",
    body: &[],
    fixed: &[("userStatus", "Enabled")],
    detail_fields: &["userStatus"],
    destructive: false,
    codes: USER_STATUS_CODES,
    resolvers: BY_USER,
    verify: user_status("Enabled"),
    lists: None,
    credential: None,
    permission: USER_MANAGE,
    undo: by(&USER_DISABLE),
};

/// The console's delete: the user is kept, marked deleted, for seven days
/// before the tenant purges it, and can be taken back until then.
pub static USER_DELETE: Operation = Operation {
    name: "user-delete",
    summary: "mark a disabled user deleted (purged by the tenant seven days later; user-undelete takes it back until then)",
    required: &[Field::UserId],
    method: HttpMethod::Put,
    path: "/AdminInterface/restapi/v1/users/{userId}/markDeleted",
    body: &[],
    fixed: &[("markDeleted", "true")],
    detail_fields: &["markDeleted"],
    destructive: true,
    codes: &[
        (400, "bad request: the tenant rejected the request syntax"),
        (
            403,
            "not authorised: the key needs the Super Administrator or Help Desk Administrator role",
        ),
        (404, "the user does not exist"),
        (
            405,
            "the user comes from a SCIM identity source: delete the user at the source",
        ),
        (
            409,
            "the user is already pending deletion, or still enabled: run user-disable first",
        ),
        (429, "too many requests"),
        (500, "internal server error at the tenant"),
    ],
    resolvers: BY_USER,
    credential: None,
    verify: user_status_member("markDeleted", "true"),
    lists: None,
    permission: USER_DELETE_SOFT,
    // Marking a user already marked is refused with 409.
    undo: Undo::By {
        inverse: &USER_UNDELETE,
        refused_when_done: true,
        within_days: Some(7),
    },
};

pub static USER_UNDELETE: Operation = Operation {
    name: "user-undelete",
    summary: "take back a user's pending deletion (undoes user-delete within its seven days)",
    required: &[Field::UserId],
    method: HttpMethod::Put,
    path: "/AdminInterface/restapi/v1/users/{userId}/markDeleted",
    body: &[],
    fixed: &[("markDeleted", "false")],
    detail_fields: &["markDeleted"],
    destructive: false,
    codes: &[
        (400, "bad request: the tenant rejected the request syntax"),
        (
            403,
            "not authorised: the key needs the Super Administrator or Help Desk Administrator role",
        ),
        (
            404,
            "the user does not exist (a user past its seven days is purged for good)",
        ),
        (
            405,
            "the user comes from a SCIM identity source: restore the user at the source",
        ),
        (409, "the user is not pending deletion"),
        (429, "too many requests"),
        (500, "internal server error at the tenant"),
    ],
    resolvers: BY_USER,
    credential: None,
    verify: user_status_member("markDeleted", "false"),
    lists: None,
    permission: USER_DELETE_SOFT,
    // Taking back a mark that is not there is refused with 409.
    undo: Undo::By {
        inverse: &USER_DELETE,
        refused_when_done: true,
        within_days: None,
    },
};

pub static USER_DELETE_NOW: Operation = Operation {
    name: "user-delete-now",
    summary: "delete a disabled user now, without user-delete's seven days (cannot be undone)",
    required: &[Field::UserId],
    method: HttpMethod::Delete,
    path: "/AdminInterface/restapi/v1/users/{userId}",
    body: &[],
    fixed: &[],
    detail_fields: &[],
    destructive: true,
    codes: USER_DELETE_CODES,
    resolvers: BY_USER,
    verify: Some(Verify {
        lookups: USER_READS,
        owner: ("id", Field::UserId),
        expect: Expect::Gone,
    }),
    lists: None,
    credential: None,
    permission: "rsa.user.delete",
    undo: Undo::Never,
};

pub static SID_ASSIGN: Operation = Operation {
    name: "sid-assign",
    summary: "assign a SID700 hardware token to a user (undoes sid-unassign)",
    required: &[Field::UserId, Field::TokenSerialNumber],
    method: HttpMethod::Patch,
    path: "/AdminInterface/restapi/v1/users/{userId}/sidTokens/assign",
    body: &[Field::TokenSerialNumber],
    fixed: &[],
    detail_fields: &["tokenState"],
    destructive: false,
    codes: &[
        (400, "bad request: the tenant rejected the request syntax"),
        (
            403,
            "not authorised: the key needs the Help Desk or Super Administrator role",
        ),
        (404, "the user or the hardware token does not exist"),
        (409, "the hardware token is already assigned"),
        (429, "too many requests"),
        (500, "internal server error at the tenant"),
    ],
    // An unassigned token has no user to find: only the user's own keys.
    resolvers: BY_USER,
    credential: None,
    verify: Some(Verify {
        lookups: SID_READS,
        owner: ("userId", Field::UserId),
        expect: Expect::Held,
    }),
    lists: None,
    permission: SID_MANAGE,
    undo: by(&SID_UNASSIGN),
};

/// Every operation, in the order `securid-bulk operations` lists them:
/// what restores first, then what takes away, in the order an offboarding
/// runs (authenticators before the user, disable before delete).
pub static CATALOG: &[&Operation] = &[
    &DS100_CLEAR_PIN,
    &SID_CLEAR_PIN,
    &DS100_ENABLE,
    &SID_ENABLE,
    &SID_ASSIGN,
    &USER_ENABLE,
    &USER_UNDELETE,
    &DS100_DISABLE,
    &SID_DISABLE,
    &DS100_DELETE,
    &SID_UNASSIGN,
    &USER_DISABLE,
    &USER_DELETE,
    &USER_DELETE_NOW,
];

/// The columns `report` writes after the row's own, one line per
/// authenticator.
pub static AUTHENTICATORS: Listing = Listing {
    member: "devices",
    columns: &[
        "deviceType",
        "tokenSerialNumber",
        "deviceSerialNumber",
        "tokenStatus",
        "assignedAt",
    ],
    empty: "the user holds no authenticator",
    // The user lookup shows the mark; a row given by userId alone has no
    // key to look the user up by, and gets no note.
    note: Some((
        Verify {
            lookups: USER_READS,
            owner: ("id", Field::UserId),
            expect: Expect::Member("markDeleted", "true"),
        },
        "the user is pending deletion (marked deleted): the tenant purges the user seven days after the mark; user-undelete takes it back until then",
    )),
};

/// `securid-bulk report`: read-only, the authenticators each user holds.
/// Not in [`CATALOG`]: it changes nothing.
pub static REPORT: Operation = Operation {
    name: "report",
    summary: "list the authenticators each user holds, one line each (read-only)",
    required: &[Field::UserId],
    method: HttpMethod::Get,
    path: DEVICES_PATH,
    body: &[],
    fixed: &[],
    detail_fields: &[],
    destructive: false,
    codes: DEVICES_CODES,
    resolvers: BY_USER,
    verify: None,
    lists: Some(&AUTHENTICATORS),
    credential: None,
    permission: DEVICES_PERMISSION,
    undo: Undo::Nothing,
};
