//! An authorization server the tool must not trust blindly: an access token
//! said to live for ever, a token answer or discovery document of 150 MiB,
//! a discovery document naming another issuer or a token endpoint on
//! another host. Each is a clean refusal, or a clamped lifetime, never a
//! crash, a lost row or an assertion sent elsewhere.

use crate::fixture::*;
use securid_bulk::mock::HostileOAuth;

use crate::oauth::{run_oauth, tenant_with_client_as, Client};

fn hostile(dir: &std::path::Path, mode: HostileOAuth) -> (Tenant, Client) {
    tenant_with_client_as(dir, "rsa", &[], Some(mode))
}

#[test]
fn a_token_said_to_live_for_ever_is_kept_a_day_and_every_row_is_done() {
    let dir = temp_dir();
    let (tenant, client) = hostile(dir.path(), HostileOAuth::ExpiresForever);
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    let out = run_oauth(&tenant, &client, "ds100-clear-pin", &input, &["-j", "2"]);
    assert_exit(&out, 0);
    let rows = results(&results_path(&input));
    assert_eq!(rows.len(), input_rows(&input), "{}", stderr(&out));
    assert_eq!(count(&rows, "ok"), rows.len(), "{rows:?}");
    assert_eq!(tenant.stats().oauth.tokens_issued, 1);
}

#[test]
fn a_huge_token_answer_fails_cleanly_naming_the_token_endpoint() {
    let dir = temp_dir();
    let (tenant, client) = hostile(dir.path(), HostileOAuth::HugeTokenAnswer);
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    let out = run_oauth(&tenant, &client, "ds100-clear-pin", &input, &[]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    let endpoint = format!("{}/token", client.issuer);
    assert!(err.contains(&endpoint), "names the token endpoint: {err}");
    assert!(err.contains("64 KiB"), "{err}");
    assert_eq!(tenant.stats().applied_total("ds100-clear-pin"), 0);
}

/// Runs against a tenant whose discovery document is hostile in `mode`,
/// checks the run stopped before any token request, and gives its stderr.
fn refused_discovery(mode: HostileOAuth) -> (String, String) {
    let dir = temp_dir();
    let (tenant, client) = hostile(dir.path(), mode);
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    let out = run_oauth(&tenant, &client, "ds100-clear-pin", &input, &[]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    let document = format!("{}/.well-known/openid-configuration", client.issuer);
    assert!(err.contains(&document), "names the document: {err}");
    let oauth = tenant.stats().oauth;
    assert_eq!(oauth.token_requests, 0, "no assertion sent: {oauth:?}");
    assert!(!results_path(&input).exists(), "stopped before any row");
    (err, client.issuer)
}

#[test]
fn a_discovery_document_naming_another_issuer_is_refused() {
    let (err, issuer) = refused_discovery(HostileOAuth::IssuerMismatch);
    assert!(err.contains("its issuer"), "{err}");
    assert!(err.contains("other-tenant.auth.securid.com"), "{err}");
    assert!(err.contains(&issuer), "{err}");
}

#[test]
fn a_discovery_document_sending_the_token_to_another_host_is_refused() {
    let (err, _) = refused_discovery(HostileOAuth::TokenEndpointOffhost);
    assert!(err.contains("its token_endpoint"), "{err}");
    assert!(err.contains("collector.example.net"), "{err}");
    assert!(err.contains("--token-url"), "{err}");
}

#[test]
fn a_huge_discovery_document_is_refused() {
    let (err, _) = refused_discovery(HostileOAuth::HugeDiscovery);
    assert!(err.contains("64 KiB"), "{err}");
}
