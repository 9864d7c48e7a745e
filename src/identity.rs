//! Which run made an output: the tenant it acted on, the operation, the
//! input and the input's SHA-256. Every output records it (each results
//! line, the retry file, the summary), and a file reused by a later run
//! (`--resume`, an output given as input) is checked against it. The
//! tenant's label is rendered here and nowhere else.

use reqwest::Url;

/// The label of the simulated tenant (`--mock`), whatever port it drew: a
/// rehearsal resumes another rehearsal, never a real tenant's run.
pub const SIMULATED_TENANT: &str = "the simulated tenant";

/// The label of a dry run that named no tenant (nothing sent, no
/// `--base-url`): it matches no tenant's results.
pub const NO_TENANT: &str = "no tenant (a dry run that named none)";

/// A tenant's label: `scheme://host:port`, the port written even when it
/// is the scheme's default, so `https://t.example` and
/// `https://t.example:443` are one tenant.
pub fn tenant_label(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port_or_known_default() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    }
}

/// The columns a retry file adds after the input's own, so the file says
/// which run left its rows to do: a later run refuses it as input to
/// another operation. A retry file given as input again keeps them in
/// place, refreshed.
pub const RETRY_COLUMNS: [&str; 3] = ["retry.operation", "retry.tenant", "retry.input_sha256"];

/// The columns an undo file adds after the inverse operation's fields:
/// the tenant its run changed and the operation it takes back, so a later
/// run given it as input refuses another tenant or operation.
pub const UNDO_COLUMNS: [&str; 2] = ["tenant", "undoes"];

/// What one run records in its outputs, built once per run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunIdentity {
    /// The catalog name of the operation.
    pub operation: &'static str,
    /// [`tenant_label`], [`SIMULATED_TENANT`] or [`NO_TENANT`].
    pub tenant: String,
    /// The input as typed (`-` for standard input).
    pub input: String,
    /// The SHA-256 of the input's bytes, lower-case hex.
    pub input_sha256: String,
}

impl RunIdentity {
    /// The values of [`RETRY_COLUMNS`].
    pub fn retry_cells(&self) -> [&str; 3] {
        [self.operation, &self.tenant, &self.input_sha256]
    }
}

/// Lower-case hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_name_scheme_host_and_port() {
        let label = |text: &str| tenant_label(&Url::parse(text).unwrap());
        assert_eq!(
            label("https://acme.access.securid.com/"),
            "https://acme.access.securid.com:443"
        );
        assert_eq!(
            label("https://acme.access.securid.com:443/x"),
            "https://acme.access.securid.com:443"
        );
        assert_eq!(label("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(label("http://[::1]:9/"), "http://[::1]:9");
    }

    #[test]
    fn hex_is_lower_case_and_padded() {
        assert_eq!(hex(&[0, 0xab, 0x0f]), "00ab0f");
    }
}
