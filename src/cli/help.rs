//! The help texts: each operation's own page, generated from its catalog
//! entry (what it does, its columns, its HTTP call, two examples), the
//! top-level examples for the everyday jobs, and what the simulated tenant
//! is for. A new catalog entry gets its page with no change here.

use crate::ops::{Field, Operation};

/// The opening of `securid-bulk <operation> --help`.
pub fn operation_page(op: &Operation) -> String {
    let mut page = format!("{}.\n\n", capitalised(op.summary));
    // An irreversible operation's summary says it cannot be undone.
    if let Some(inverse) = op.inverse() {
        page.push_str(&format!(
            "Each run writes <results stem>.undo.csv beside the results: the rows it \
             changed (not those already in the wanted state), ready for \
             `securid-bulk {} <file>`, which takes them back.\n\n",
            inverse.name
        ));
    }
    if op.destructive {
        page.push_str(
            "Asks for confirmation before the first request (type the operation and the \
             row count, or pass --yes when there is no terminal).\n\n",
        );
    }
    let required: Vec<String> = op.required.iter().map(|f| op.describe_column(*f)).collect();
    page.push_str(&format!("Required columns: {}\n", required.join(", ")));
    page.push_str(&format!("Optional columns: {}\n", optional_columns(op)));
    page.push_str(&format!(
        "HTTP call: {} {}{}\n",
        op.method.as_str(),
        op.path,
        body(op)
    ));
    page.push_str(&format!("OAuth permission: {}\n", op.permission));
    for resolver in op.resolvers {
        let lookup = resolver.lookup;
        page.push_str(&format!(
            "Lookup when {} is empty: {} {} {{{}}}\n",
            resolver.field,
            lookup.method.as_str(),
            lookup.path,
            lookup.key
        ));
    }
    if let Some(verify) = &op.verify {
        let reads: Vec<String> = verify
            .lookups
            .iter()
            .map(|l| format!("{} {} {{{}}}", l.method.as_str(), l.path, l.key))
            .collect();
        page.push_str(&format!(
            "Read back with --verify: {}\n",
            reads.join(" or ")
        ));
    }
    page.push_str(&format!(
        "\nExamples:\n  # check every row, send nothing\n  securid-bulk {name} {name}.csv --dry-run\n  \
         # run against the tenant of an admin API key file\n  securid-bulk {name} {name}.csv --key-file ~/securid/admin.key{yes}\n\n\
         Results go to <input stem>.results.csv beside the input, {lines}.",
        name = op.name,
        yes = if op.destructive { " --limit 5" } else { "" },
        lines = match op.lists {
            Some(_) => "one line per listed item (one for a row with none)",
            None => "one line per row",
        },
    ));
    page
}

/// Columns the operation reads that a row may leave out, and every other
/// column, which is copied to the results.
fn optional_columns(op: &Operation) -> String {
    let optional: Vec<&str> = op
        .fields()
        .filter(|f| !op.required.contains(f))
        .map(Field::wire_name)
        .collect();
    let mut text = optional.join(", ");
    if !text.is_empty() {
        text.push_str("; ");
    }
    text.push_str("any other column is copied to the results (e.g. ticket)");
    text
}

fn body(op: &Operation) -> String {
    if !op.has_body() {
        return String::new();
    }
    let members: Vec<String> = op
        .body
        .iter()
        .map(|f| f.wire_name().to_owned())
        .chain(op.fixed.iter().map(|(k, v)| format!("{k}: {v:?}")))
        .collect();
    format!(" {{{}}}", members.join(", "))
}

pub fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// After the top-level help: the three everyday jobs.
pub fn top_level_examples() -> String {
    let names: Vec<&str> = crate::ops::commands().map(|op| op.name).collect();
    format!(
        "Examples:\n  \
         # incident: clear the PINs of the users in a ticket's export\n  \
         securid-bulk ds100-clear-pin pins.csv --key-file ~/securid/admin.key\n\n  \
         # offboarding: disable the leavers' DS100 credentials (asks first)\n  \
         securid-bulk ds100-disable leavers.csv --profile prod\n\n  \
         # validate a file before the real run: every row checked, nothing sent\n  \
         securid-bulk ds100-delete leavers.csv --dry-run\n\n\
         `securid-bulk <OPERATION> --help` explains one operation ({});\n\
         `securid-bulk operations` lists their columns and HTTP calls.",
        names.join(", ")
    )
}

/// What `securid-bulk mock --help` opens with.
#[cfg(feature = "mock")]
pub const MOCK_ABOUT: &str = "Serve a simulated tenant for trials and tests";

#[cfg(feature = "mock")]
pub const MOCK_PAGE: &str = "Serve a simulated tenant for trials and tests.\n\n\
The simulated tenant answers the same methods, paths and bodies as a real \
SecurID Cloud tenant, in memory on loopback, seeded from samples/tenant.json \
(or generated users). Use it to learn the tool, to rehearse a run on a copy \
of the data, and to try rate limits, faults and hostile answers without \
touching a real tenant. It prints its URL, a static token and commands to \
paste, then serves until Ctrl-C; `--mock` on an operation starts the same \
tenant inside the run.";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{DS100_CLEAR_PIN, DS100_DELETE};

    #[test]
    fn an_operation_page_names_its_columns_call_and_examples() {
        let page = operation_page(&DS100_DELETE);
        assert!(page.starts_with("Delete a user's DS100"), "{page}");
        assert!(
            page.contains("Required columns: userId (or email or username)"),
            "{page}"
        );
        assert!(
            page.contains("OAuth permission: rsa.authenticator.ds100.delete"),
            "{page}"
        );
        assert!(page.contains("HTTP call: DELETE /AdminInterface"), "{page}");
        assert!(page.contains("Asks for confirmation"), "{page}");
        assert_eq!(page.matches("securid-bulk ds100-delete").count(), 2);
        let page = operation_page(&DS100_CLEAR_PIN);
        assert!(
            page.contains("Optional columns: deviceSerialNumber, email, username"),
            "{page}"
        );
        let page = operation_page(&crate::ops::USER_DISABLE);
        assert!(
            page.contains("PUT /AdminInterface/restapi/v1/users/{userId}/userStatus {userStatus: \"Disabled\"}"),
            "{page}"
        );
        assert!(page.ends_with("one line per row."), "{page}");
        let page = operation_page(&crate::ops::REPORT);
        assert!(
            page.ends_with("one line per listed item (one for a row with none)."),
            "{page}"
        );
        assert!(top_level_examples().contains(", report)"));
    }
}
